// test-runner: slow
/**
 * The agent image: it builds here FROM the locally imported base (scripts/build-agent-image.sh →
 * Engine API), its CLI pins match scripts/provision-clis.sh, and one ticket runs end to end inside
 * it through the docker-dood executor's `run()` (the container reaches the app on the host through
 * host.docker.internal, so it listens on 0.0.0.0 and requires its tokens; the app relays git, the
 * forge and the LLM to the fixtures on the host); then the whole stack: the real coordinator process claims
 * a ticket moved to In Progress and runs it in the image. The dind entrypoint is checked with
 * docker-dind: a private dockerd starts inside and answers. In both modes the command runs as the
 * image's unprivileged user `agent` (uid 1000), and dockerd alone stays root.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { JobSpec, OutputChunk } from '../core/executor.ts'
import { jobEnv } from '../core/coordinator/job-env.ts'
import { createLogger } from '../core/log.ts'
import { dockerDood } from '../plugins/executors/docker/dood.ts'
import { dockerDind } from '../plugins/executors/docker/dind.ts'
import { defaultScript } from './fixtures/fake-llm.ts'
import { ensureDocker } from './docker-fixtures.ts'
import { ROOT, waitFor } from './helpers.ts'
import { spawnCoordinator } from './coordinator-fixtures.ts'
import { buildAgentImage, createTicket, holdJob, getTicket, remoteGit, runAndClaim, startWorld, ticketEvents, timedScript, type World } from './bench/agent-harness.ts'
import { assertWorldClean } from './secret-scan.ts'

const TAG = 'terarchitect-agent:test'
const log = createLogger('warn', { test: 'agent-image' })
let world: World
let built = false
const coordinatorLog: string[] = []


test.before(async () => {
  await ensureDocker()
})

test.after(async () => {
  await world?.close()
})

test('Dockerfile.agent pins the same CLI versions as scripts/provision-clis.sh', () => {
  const dockerfile = readFileSync(join(ROOT, 'Dockerfile.agent'), 'utf8')
  const pins = readFileSync(join(ROOT, 'scripts/provision-clis.sh'), 'utf8')
  const pin = (name: string) => new RegExp(`"${name}\\|[^|]+\\|([^|]+)\\|`).exec(pins)?.[1]
  const arg = (name: string) => new RegExp(`^ARG ${name}=(\\S+)$`, 'm').exec(dockerfile)?.[1]
  assert.is(arg('CLAUDE_CODE_VERSION'), pin('claude'))
  assert.is(arg('OPENCODE_VERSION'), pin('opencode'))
  assert.is(arg('CODEX_VERSION'), pin('codex'))
  assert.is(arg('GEMINI_CLI_VERSION'), pin('gemini'))
  assert.match(dockerfile, /^ARG BASE_IMAGE=node:20-bookworm-slim$/m)
})

// The pattern is assembled so that this file does not match it itself.
const HOST_NAMED = new RegExp(['(deb|registry|pypi)\\.[a-z]+\\.(org|com)', 'npm' + 'js', '\\b(' + ['gh' + 'cr', 'qu' + 'ay', 'g' + 'cr'].join('|') + ')\\.io\\b', 'public\\.' + 'ecr\\.aws', 'hub\\.' + 'docker'].join('|'))

test('no package registry or mirror host is named in the repository (the build takes them from this host\'s npm, pip and apt)', () => {
  const files = spawnSync('git', ['ls-files', '--cached', '--others', '--exclude-standard'], { cwd: ROOT, encoding: 'utf8' }).stdout.split('\n')
  const named = files.filter((file) => file && file !== 'package-lock.json' && existsSync(join(ROOT, file)))
    .filter((file) => HOST_NAMED.test(readFileSync(join(ROOT, file), 'utf8')))
  assert.ok(files.length > 100, 'git listed too few files for this check to mean anything')
  assert.equal(named, [])
})

test('the image builds here from terarchitect-base:bookworm', async () => {
  const result = await buildAgentImage(TAG)
  assert.is(result.code, 0, result.output.slice(-4000))
  assert.match(result.output, 'FROM terarchitect-base:bookworm')
  assert.match(result.output, `Successfully tagged ${TAG}`)
  console.log(`agent-image: build ${result.seconds.toFixed(1)} s`)
  built = true
})

test('the image holds the prepared Codex HOME: first-run state only, no thread, nothing of the run that made it, read-only for `agent`', async () => {
  if (!built) assert.unreachable('the image did not build')
  const command = ['sh', '-c', [
    'echo "templates=$AGENT_WORKER_HOME_TEMPLATES user=$(id -un)"',
    'cd "$AGENT_WORKER_HOME_TEMPLATES/codex" && find . -path ./.codex/skills -prune -o -print | sort | sed "s/^/entry /"',
    'test -f .codex/skills/.system/.codex-system-skills.marker && echo skills=unpacked',
    '(touch .codex/probe-write 2>/dev/null && echo template=writable) || echo template=read-only',
    // A thread's row would name the directory the CLI ran in (prepare-codex-cwd-…).
    'grep -rl -e prepare-only-no-such-session -e prepare-codex- . || echo run=absent',
  ].join('; ')]
  const { exitCode, text } = await runInDood(command, { jobId: 999_997 })
  assert.is(exitCode, 0, text)
  assert.match(text, 'templates=/opt/terarchitect/worker-homes user=agent\n')
  assert.match(text, 'entry ./.codex/state_5.sqlite\n')
  assert.match(text, 'skills=unpacked\n')
  assert.match(text, 'template=read-only\n')
  assert.match(text, 'run=absent\n')
  // No thread was opened to make it (no session, no thread history), and nothing of that run's own stays.
  for (const gone of ['sessions', 'thread_history_1.sqlite', 'shell_snapshots', 'installation_id', 'thread-writer-locks', '.tmp', 'tmp', 'config.toml']) {
    assert.not.match(text, `entry ./.codex/${gone}`, gone)
  }
})

/** Runs `command` in the image through docker-dood, as a job's container; its exit code and output. */
async function runInDood(command: string[], options: { jobId: number; cacheVolume?: string }): Promise<{ exitCode: number | null; text: string }> {
  const executor = dockerDood({ image: TAG, cacheVolume: options.cacheVolume ?? '', coordinatorId: 'agent-image-test', log, command })
  const output: OutputChunk[] = []
  const spec: JobSpec = { jobId: options.jobId, ticketId: null, projectId: 1, kind: 'ticket', executionMode: 'docker', projectPath: null, env: {}, labels: {}, timeoutMs: 60_000 }
  try {
    const result = await executor.run(spec, (chunk) => output.push(chunk), new AbortController().signal)
    return { exitCode: result.exitCode, text: output.map((chunk) => chunk.text).join('') }
  } finally {
    await executor.close?.()
  }
}

// Claude Code as the quickest; Codex because inside a container it needs CODEX_SANDBOX (set by the image).
for (const mode of ['claude-code', 'codex']) {
  test(`${mode}: a ticket runs end to end inside the image through the docker-dood executor`, async () => {
    if (!built) assert.unreachable('the image did not build')
    const timed = timedScript(defaultScript({ path: 'HEALTH.md', content: 'healthy\n', finalText: 'Added HEALTH.md in a container.' }))
    world ??= await startWorld({ host: '0.0.0.0' })
    world.llm.setScript(timed.script)
    await world.settings({ WORKER_MODE: mode, WORKER_LLM_URL: world.llm.url, GITHUB_API_URL: world.gh.url })
    const ticket = await createTicket(world, { title: `Health from a container (${mode})` })
    const job = await runAndClaim(world, ticket.id)
    const spec: JobSpec = {
      jobId: job.job_id, ticketId: job.ticket_id, projectId: job.project_id, kind: 'ticket', executionMode: 'docker', projectPath: null,
      env: jobEnv(job, { apiUrl: world.t.url }), labels: { 'terarchitect.test': 'agent-image' }, timeoutMs: 10 * 60 * 1000,
    }
    const executor = dockerDood({ image: TAG, cacheVolume: '', coordinatorId: 'agent-image-test', log })
    const output: OutputChunk[] = []
    const started = Date.now()
    const lease = holdJob(world, job)
    try {
      const result = await executor.run(spec, (chunk) => output.push(chunk), new AbortController().signal)
      await lease.report(result.exitCode)
      const text = output.map((chunk) => chunk.text).join('')
      assert.is(result.exitCode, 0, text.slice(-4000))
      assert.match(text, '[complete]')
    } finally {
      await executor.close?.()
    }
    const first = timed.firstWorkerRequestAt()
    assert.ok(first, 'the worker in the container reached the fake LLM')
    console.log(`agent-image: ${mode} container run ${((Date.now() - started) / 1000).toFixed(1)} s, start → first worker request ${((first! - started) / 1000).toFixed(1)} s`)

    assert.is(remoteGit(world, ['show', `ticket-${ticket.id}:HEALTH.md`]), 'healthy\n')
    const pull = world.gh.state.repo('acme/widgets')!.pulls.find((p) => p.head.ref === `ticket-${ticket.id}`)
    assert.ok(pull, 'PR opened from the container')
    const updated = await getTicket(world, ticket.id)
    assert.is(updated.column_id, 'in_review')
    assert.is(updated.pr_url, pull!.html_url)
    const events = await ticketEvents(world, ticket.id)
    assert.ok(events.some((e) => e.step === 'worker' && e.event?.kind === 'tool_call'))
    assert.ok(events.some((e) => e.step === 'clone' && e.summary.includes('host.docker.internal')), 'cloned through the rewritten URL')
  })
}

test('the whole stack: a ticket moved to In Progress is claimed by the real coordinator, which runs the image with Claude Code', async () => {
  if (!built) assert.unreachable('the image did not build')
  world ??= await startWorld({ host: '0.0.0.0' })
  world.llm.setScript(defaultScript({ path: 'STACK.md', content: 'whole stack\n', finalText: 'Added STACK.md.' }))
  await world.settings({ WORKER_MODE: 'claude-code', WORKER_LLM_URL: world.llm.url, GITHUB_API_URL: world.gh.url })
  const coordinator = spawnCoordinator({
    TERARCHITECT_API_URL: world.t.url,
    TERARCHITECT_WORKER_API_KEY: world.secrets.workerApiKey,
    PROJECT_ID: String(world.projectId),
    AGENT_IMAGE: TAG,
    AGENT_DOCKER_MODE: 'dood',
    AGENT_CACHE_VOLUME: '',
    AGENT_FALLBACK_TO_HOST: 'false',
    LOG_LEVEL: 'info',
  })
  try {
    await coordinator.waitForLog(/^coordinator started$/, 60000)
    const ticket = await createTicket(world, { title: 'Whole stack' })
    const run = await world.t.api('POST', `/api/projects/${world.projectId}/tickets/${ticket.id}/run`, undefined, world.people)
    assert.is(run.status, 201, JSON.stringify(run.body))
    const job = await waitFor(async () => {
      const row = (await world.t.api('GET', `/api/jobs/${run.body.job.id}`, undefined, world.people)).body
      return ['succeeded', 'failed', 'cancelled'].includes(row.status) ? row : null
    }, 5 * 60 * 1000, 'the job to end')
    assert.is(job.status, 'succeeded', `${job.error}\n${job.output_tail}\n${coordinator.lines.slice(-40).join('\n')}`)
    assert.is(job.executor, 'docker-dood')
    assert.is(remoteGit(world, ['show', `ticket-${ticket.id}:STACK.md`]), 'whole stack\n')
    const updated = await getTicket(world, ticket.id)
    assert.is(updated.column_id, 'in_review')
    assert.ok(updated.pr_url, 'PR link on the ticket')
    const events = await ticketEvents(world, ticket.id)
    assert.ok(events.some((e) => e.step === 'worker' && e.event?.kind === 'tool_call'), 'the CLI\'s tool calls are job events')
  } finally {
    await coordinator.stop()
    coordinatorLog.push(...coordinator.lines)
  }
})

/** Prints the uid and user the command runs as, its HOME, the owners of /workspace and /cache, dockerd's uid, and the daemon it reaches. */
const WHO_AM_I = ['sh', '-c', [
  'echo "uid=$(id -u) user=$(id -un) home=$HOME"',
  'echo "owners=$(stat -c %U /workspace /cache | tr "\\n" " ")"',
  'for p in /proc/[0-9]*; do [ "$(cat $p/comm 2>/dev/null)" = dockerd ] && echo "dockerd-uid=$(stat -c %u $p)"; done',
  'grep NoNewPrivs /proc/self/status',
  'docker info --format "daemon {{.ServerVersion}}"',
].join('; ')]

test('dood: the command runs as `agent` (uid 1000) with no-new-privileges, owns /workspace and its fresh cache volume, and reaches the mounted daemon', async () => {
  if (!built) assert.unreachable('the image did not build')
  const volume = `terarchitect-test-cache-${process.pid}`
  try {
    const { exitCode, text } = await runInDood(WHO_AM_I, { jobId: 999_998, cacheVolume: volume })
    assert.is(exitCode, 0, text)
    assert.match(text, 'uid=1000 user=agent home=/home/agent\n')
    assert.match(text, 'owners=agent agent \n')
    assert.match(text, /NoNewPrivs:\s+1\n/)
    assert.match(text, /daemon \d+\.\d+/)
    assert.not.match(text, 'dockerd-uid=', 'dood started a dockerd of its own')
  } finally {
    const engine = await ensureDocker()
    await engine.volumeRemove(`${volume}-p1`, { force: true }).catch(() => {})
    engine.close()
  }
})

test('dind: the entrypoint starts a private dockerd (root) before the command, which runs as `agent` and reaches it', async () => {
  if (!built) assert.unreachable('the image did not build')
  const executor = dockerDind({ image: TAG, cacheVolume: '', coordinatorId: 'agent-image-test', log, command: WHO_AM_I })
  const output: OutputChunk[] = []
  try {
    const spec: JobSpec = { jobId: 999_999, ticketId: null, projectId: 1, kind: 'ticket', executionMode: 'docker', projectPath: null, env: {}, labels: {}, timeoutMs: 5 * 60 * 1000 }
    const result = await executor.run(spec, (chunk) => output.push(chunk), new AbortController().signal)
    const text = output.map((chunk) => chunk.text).join('')
    assert.is(result.exitCode, 0, text.slice(-3000))
    assert.match(text, 'agent-entrypoint: dockerd ready')
    assert.match(text, 'uid=1000 user=agent home=/home/agent\n')
    assert.match(text, 'dockerd-uid=0\n')
    assert.match(text, /daemon \d+\.\d+/)
  } finally {
    await executor.close?.()
  }
})

test('nothing the suite stored holds a secret: database, fake GitHub, app log, agent output', async () => {
  assert.ok(world, 'the suite ran agents')
  await assertWorldClean(world, { 'coordinator log': coordinatorLog })
})

test.run()
