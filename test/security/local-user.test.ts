/**
 * Local mode with agents as an OS user of their own (AGENT_LOCAL_USER; issue 10, acceptance 2 in
 * local mode). The suite runs as root, as a coordinator that may switch users must; it creates the
 * user `terarchitect-agent` when it is missing (useradd --system --create-home, as the runbook).
 *
 * - The coordinator refuses a user that does not exist, root, its own user, and a start as non-root
 *   (the real entrypoint run as the agent user), each naming the variable; unset and run as root,
 *   it warns that local agents run as root.
 * - The local executor starts the agent with the user's uid and gid (no supplementary groups), in a
 *   job directory of the user's own (HOME, the workspace, TMPDIR) removed after the run, with only
 *   PATH, LANG, the user's identity and the job's variables in its environment.
 * - End to end, through the real coordinator holding the worker key and a forge token in its
 *   environment: a local-mode ticket runs (the Director through the LLM relay, an `aider` stand-in
 *   as the worker: the real CLIs are installed under root's home, which the agent user cannot
 *   enter), opens its PR, and leaves the person's dirty checkout exactly as it was. Its setup and
 *   test commands search every /proc/<pid>/environ, `env`, $HOME, the workspace, TMPDIR, the app's
 *   data dir (created by the operator as 0755: the app narrows it to 0700), the coordinator's state
 *   dir and the coordinator's own environ, and write what they found where this test reads it: the
 *   job token (in the agent's own environ) and none of the forge token, the LLM keys, the worker
 *   key, the app's master key or the admin token. Then the stored-secrets scan.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { spawnSync } from 'node:child_process'
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { lookupUser, type LocalUser } from '../../core/agent/local-user.ts'
import { resolveCoordinatorConfig } from '../../core/coordinator-config.ts'
import { isAppError } from '../../core/errors.ts'
import type { JobSpec, OutputChunk } from '../../core/executor.ts'
import { createLogger } from '../../core/log.ts'
import { local } from '../../plugins/executors/local.ts'
import type { LlmRequest, Reply } from '../fixtures/fake-llm.ts'
import { DIRECTOR_MODEL, createTicket, getTicket, remoteGit, startWorld, writeAiderStub, type World } from '../bench/agent-harness.ts'
import { dirtyCheckout, leftoverWorktrees, snapshot, ticketStory } from '../checkout-fixtures.ts'
import { spawnCoordinator, type CoordinatorProcess } from '../coordinator-fixtures.ts'
import { ROOT, waitFor } from '../helpers.ts'
import { assertWorldClean } from '../secret-scan.ts'

const AGENT_USER = 'terarchitect-agent'
const WORKER_KEY = 'twk_local_user_suite_0123456789abcdef'

/** The agent user, created once (idempotent: a concurrent creation by another run is fine). */
function ensureAgentUser(): LocalUser {
  if (!lookupUser(AGENT_USER)) {
    const made = spawnSync('useradd', ['--system', '--create-home', AGENT_USER], { encoding: 'utf8' })
    if (made.status !== 0 && !lookupUser(AGENT_USER)) throw new Error(`useradd ${AGENT_USER}: ${made.stderr}`)
  }
  return lookupUser(AGENT_USER)!
}

const user = ensureAgentUser()
/** 0755: the agent user reaches the stand-in CLI and its findings dir; what is private lies below. */
const scratch = mkdtempSync(join(tmpdir(), 'local-user-'))
chmodSync(scratch, 0o755)
test.after(() => rmSync(scratch, { recursive: true, force: true }))

/** A directory the agent user owns (0700): where its searches write what they found. */
function agentDir(name: string): string {
  const dir = join(scratch, name)
  mkdirSync(dir, { mode: 0o700 })
  chownSync(dir, user.uid, user.gid)
  return dir
}

const refusal = (env: Record<string, string>): string => {
  try {
    resolveCoordinatorConfig({ TERARCHITECT_WORKER_API_KEY: WORKER_KEY, ...env })
  } catch (error) {
    assert.ok(isAppError(error), String(error))
    assert.ok(error.details.some((d) => d.path === 'AGENT_LOCAL_USER'), JSON.stringify(error.details))
    return error.message
  }
  return assert.unreachable('the configuration was accepted') as never
}

/** The real coordinator entrypoint run as the agent user, with `env`: its exit code and stderr. */
function coordinatorAsAgentUser(env: Record<string, string>) {
  const run = spawnSync(process.execPath, ['--import', './scripts/ts-register.mjs', 'coordinator.ts'], {
    cwd: ROOT, uid: user.uid, gid: user.gid, encoding: 'utf8', timeout: 30_000,
    env: { PATH: process.env.PATH, HOME: tmpdir(), TERARCHITECT_API_URL: 'http://127.0.0.1:9', TERARCHITECT_WORKER_API_KEY: WORKER_KEY, ...env },
  })
  return { code: run.status, stderr: run.stderr }
}

test('AGENT_LOCAL_USER: refused when missing, root, the coordinator\'s own user or on a coordinator that is not root; unset as root: a warning', async () => {
  assert.match(refusal({ AGENT_LOCAL_USER: 'no-such-user-h1' }), /AGENT_LOCAL_USER: no such user "no-such-user-h1"/)
  assert.match(refusal({ AGENT_LOCAL_USER: 'root' }), /AGENT_LOCAL_USER: root is root/)
  assert.match(refusal({ AGENT_LOCAL_USER: '-oops' }), /AGENT_LOCAL_USER/)
  assert.is(resolveCoordinatorConfig({ TERARCHITECT_WORKER_API_KEY: WORKER_KEY }).agentLocalUser, undefined)
  assert.equal(resolveCoordinatorConfig({ TERARCHITECT_WORKER_API_KEY: WORKER_KEY, AGENT_LOCAL_USER: AGENT_USER }).agentLocalUser, user)

  // The real entrypoint, started as a user that is not root: it refuses to start, naming the variable.
  const other = coordinatorAsAgentUser({ AGENT_LOCAL_USER: 'nobody' })
  assert.is(other.code, 1, other.stderr)
  assert.match(other.stderr, /AGENT_LOCAL_USER: running agents as nobody needs a coordinator started as root/)
  const self = coordinatorAsAgentUser({ AGENT_LOCAL_USER: AGENT_USER })
  assert.is(self.code, 1, self.stderr)
  assert.match(self.stderr, `AGENT_LOCAL_USER: ${AGENT_USER} is the coordinator's own user`)

  // As root without it: the coordinator says at start that local agents run as root.
  const coordinator = spawnCoordinator({ TERARCHITECT_API_URL: 'http://127.0.0.1:9', TERARCHITECT_WORKER_API_KEY: WORKER_KEY, LOG_LEVEL: 'info' })
  try {
    const warning = await coordinator.waitForLog(/^local agents run as root/, 30_000)
    assert.is(warning.level, 'warn')
    assert.match(warning.msg, 'AGENT_LOCAL_USER')
  } finally {
    await coordinator.stop()
  }
})

test('the local executor runs the agent as the user, in a job directory of its own, with a minimal environment', async () => {
  const spec: JobSpec = {
    jobId: 41, ticketId: 7, projectId: 3, kind: 'ticket', executionMode: 'local', projectPath: scratch, labels: {}, timeoutMs: 60_000,
    env: { TERARCHITECT_API_URL: 'http://127.0.0.1:5010', TERARCHITECT_AGENT_TOKEN: 'tj1.job-token', PROJECT_PATH: scratch, AGENT_WORKSPACE: '/root/elsewhere' },
  }
  const script = [
    'echo "ids=$(id -u) $(id -g) $(id -G)"',
    'echo "cwd=$(pwd)"',
    'for d in "$HOME" "$AGENT_WORKSPACE" "$TMPDIR"; do echo "dir=$(stat -c "%u %a" "$d") $d"; done',
    'echo "coordinator-environ=$(head -c 100 /proc/$COORDINATOR_PID/environ 2>&1)"',
    // The job root stays the coordinator's: the agent can pass through it, not rename what is in it
    // (its clean-up as root can then never be steered elsewhere by a swapped directory).
    'echo "root=$(stat -c "%u %a" "$(dirname "$HOME")")"',
    'mv "$HOME" "$(dirname "$HOME")/moved" 2>/dev/null && echo "rename=done" || echo "rename=refused"',
    'env | sort | sed "s/^/env:/"',
  ].join('\n')
  const executor = local({ user, command: ['/bin/sh', '-c', script.replace('$COORDINATOR_PID', String(process.pid))], log: createLogger('error') })
  let out = ''
  const result = await executor.run(spec, (chunk: OutputChunk) => (out += chunk.text), new AbortController().signal)
  assert.is(result.exitCode, 0, out)

  assert.match(out, `ids=${user.uid} ${user.gid} ${user.gid}\n`, 'the user\'s uid and gid, no supplementary group of root\'s')
  const env = new Map(out.split('\n').filter((line) => line.startsWith('env:')).map((line) => {
    const [key, ...value] = line.slice(4).split('=')
    return [key!, value.join('=')]
  }))
  const home = env.get('HOME')!
  const jobDir = home.replace(/\/home$/, '')
  assert.match(jobDir, `${tmpdir()}/terarchitect-agent-job-41-`)
  assert.is(env.get('AGENT_WORKSPACE'), `${jobDir}/workspace`, 'the workspace is the job directory\'s, not the one the job env named')
  assert.is(env.get('TMPDIR'), `${jobDir}/tmp`)
  assert.match(out, `cwd=${home}\n`)
  for (const dir of [home, `${jobDir}/workspace`, `${jobDir}/tmp`]) assert.match(out, `dir=${user.uid} 700 ${dir}\n`)
  assert.match(out, 'root=0 711\n')
  assert.match(out, 'rename=refused\n')
  assert.is(env.get('USER'), AGENT_USER)
  assert.is(env.get('TERARCHITECT_AGENT_TOKEN'), 'tj1.job-token')
  assert.is(env.has('PROJECT_PATH'), false, 'PROJECT_PATH is left out: the agent clones instead of adding a worktree to the checkout')
  // Only these (sh adds PWD, SHLVL and _): nothing else of this process's environment.
  const allowed = new Set(['PATH', 'LANG', 'HOME', 'USER', 'LOGNAME', 'SHELL', 'TMPDIR', 'TERARCHITECT_API_URL', 'TERARCHITECT_AGENT_TOKEN', 'AGENT_WORKSPACE', 'PWD', 'SHLVL', '_'])
  // Node itself copies NODE_V8_COVERAGE into every child's environment while the test runner collects coverage.
  if (process.env.NODE_V8_COVERAGE) allowed.add('NODE_V8_COVERAGE')
  assert.equal([...env.keys()].filter((key) => !allowed.has(key)), [])
  assert.match(out, /coordinator-environ=.*Permission denied/, 'the coordinator\'s environ is another uid\'s')
  assert.not.ok(existsSync(jobDir), 'the job directory is removed after the run')
})

// --- End to end, through the real coordinator ---------------------------------------------------

/** The Director plans once and accepts; the worker is the `aider` stand-in (no LLM call of its own). */
function script(request: LlmRequest): Reply {
  if (request.lastUserText.includes('Plan the work')) return { text: '{"plan": "write HEALTH.md", "prompt": "Create HEALTH.md."}' }
  return { text: JSON.stringify({ complete: true, next_prompt: '', summary: 'HEALTH.md added.' }) }
}

/** The search, as a project command: its findings go to `findings/<stage>-<time>` (no output cap or redaction in between). */
function search(stage: string, where: { findings: string; data: string; state: string; checkout: string; coordinatorPid: number }): string {
  return [
    `out=${where.findings}/${stage}-$(date +%s%N)`,
    '{',
    'echo "== id"; id',
    'echo "== home $HOME"',
    'echo "== env"; env',
    'echo "== proc"; for f in /proc/[0-9]*/environ; do echo "-- $f"; tr "\\0" "\\n" < "$f" 2>&1; echo; done',
    `echo "== coordinator"; echo "coordinator-environ: $(tr "\\0" "\\n" 2>&1 < /proc/${where.coordinatorPid}/environ)"`,
    `echo "== data"; echo "data-dir: $(ls -a ${where.data} 2>&1)"; cat ${where.data}/worker.key ${where.data}/secret.key 2>&1`,
    `echo "== state"; echo "state-dir: $(ls -a ${where.state} 2>&1)"`,
    `echo "== checkout"; echo "checkout: $(ls -a ${where.checkout} 2>&1)"`,
    `echo "== files"; find "$HOME" "$PWD" "\${TMPDIR:-/tmp}" ${where.data} ${where.state} -type f -size -2M ! -path "*/.git/objects/*" 2>/dev/null | sort -u | while read -r f; do echo "-- $f"; cat "$f" 2>&1; echo; done`,
    '} > "$out" 2>&1',
    `echo "secret search (${stage}): $(grep -c "^-- /proc" "$out") environ files, $(wc -c < "$out") bytes"`,
    'true',
  ].join('\n')
}

test('a local-mode ticket as the agent user: its PR opens, the checkout is untouched, and its commands find the job token and no other secret', async () => {
  const findings = agentDir('findings')
  const stub = writeAiderStub(join(scratch, 'aider-stub'), join(findings, 'aider-record.txt'))
  chmodSync(stub, 0o755)
  // As an operator's `mkdir /var/lib/terarchitect` leaves it: 0755. The app narrows it at start.
  const data = join(scratch, 'data')
  mkdirSync(data, { mode: 0o755 })
  chmodSync(data, 0o755)
  const state = join(scratch, 'state')
  mkdirSync(state, { mode: 0o755 })
  chmodSync(state, 0o755)
  // The person's checkout, in a home of theirs the agent user cannot enter.
  const person = join(scratch, 'person')
  mkdirSync(person, { mode: 0o700 })
  const checkout = join(person, 'widgets')
  // The coordinator's temp dir: where the job directories are made (checked empty afterwards).
  const coordinatorTmp = join(scratch, 'coordinator-tmp')
  mkdirSync(coordinatorTmp, { mode: 0o755 })

  // No TERARCHITECT_WORKER_API_KEY for the app: it generates worker.key in its data dir, as `npm start` does.
  const world: World = await startWorld({
    script,
    settings: { WORKER_MODE: 'aider' },
    appEnv: { TERARCHITECT_DATA_DIR: data, TERARCHITECT_WORKER_API_KEY: '' },
  })
  let coordinator: CoordinatorProcess | undefined
  try {
    assert.is(statSync(data).mode & 0o777, 0o700, 'the app narrowed its data dir to 0700')
    assert.is(statSync(join(data, 'worker.key')).mode & 0o777, 0o600)
    const workerKey = readFileSync(join(data, 'worker.key'), 'utf8').trim()
    const masterKey = readFileSync(join(data, 'secret.key'), 'utf8').trim()
    await world.settings({ AGENT_LLM_URL: world.llm.url, AGENT_MODEL: DIRECTOR_MODEL, AGENT_API_KEY: world.secrets.directorKey })

    dirtyCheckout(world.bare, checkout, world.repoUrl)
    const before = snapshot(checkout)
    // The coordinator holds the worker key and a forge token in its environment (the runbook's remote setup).
    coordinator = spawnCoordinator({
      TERARCHITECT_API_URL: world.t.url,
      TERARCHITECT_WORKER_API_KEY: workerKey,
      GITHUB_TOKEN: world.secrets.githubToken,
      PROJECT_ID: String(world.projectId),
      AGENT_LOCAL_USER: AGENT_USER,
      AGENT_HOST_COMMAND: JSON.stringify([process.execPath, '--import', pathToFileURL(join(ROOT, 'scripts/ts-register.mjs')).href, join(ROOT, 'agent.ts')]),
      PATH: [stub, process.env.PATH].join(':'),
      TMPDIR: coordinatorTmp,
      CLAIM_WAIT_SEC: '5',
      HEARTBEAT_MAX_SEC: '1',
      LOG_LEVEL: 'info',
    }, state)
    await coordinator.waitForLog(/^coordinator started$/, 60_000)
    assert.is(statSync(state).mode & 0o777, 0o700, 'the coordinator narrowed its state dir to 0700')
    assert.not.ok(coordinator.logs.some((record) => /^local agents run as root/.test(record.msg)), 'no root warning with AGENT_LOCAL_USER set')

    const where = { findings, data, state, checkout, coordinatorPid: coordinator.child.pid! }
    const patched = await world.t.api('PATCH', `/api/projects/${world.projectId}`, {
      execution_mode: 'local', project_path: checkout, setup_command: search('setup', where), test_command: search('test', where),
    }, world.people)
    assert.is(patched.status, 200, JSON.stringify(patched.body))

    const ticket = await createTicket(world, { title: 'Health as the agent user' })
    const run = await world.t.api('POST', `/api/projects/${world.projectId}/tickets/${ticket.id}/run`, undefined, world.people)
    assert.is(run.status, 201, JSON.stringify(run.body))
    const ended = await waitFor(async () => {
      const t = await getTicket(world, ticket.id)
      return ['succeeded', 'failed', 'cancelled'].includes(t.job?.status) ? t : null
    }, 240_000, 'the job to end')
    assert.is(ended.job.status, 'succeeded', `${ended.job.error}\n${await ticketStory(world, ticket.id)}\n${coordinator.lines.slice(-20).join('\n')}`)

    // The job's work: its branch and PR, through the relays, and the person's checkout as it was.
    assert.is(remoteGit(world, ['show', `ticket-${ticket.id}:HEALTH.md`]), 'healthy\n')
    const pulls = world.gh.state.repo('acme/widgets')?.pulls ?? []
    assert.is(pulls.filter((pull: { head: { ref: string } }) => pull.head.ref === `ticket-${ticket.id}`).length, 1, 'one PR')
    assert.equal(snapshot(checkout), before)
    assert.equal(leftoverWorktrees(checkout), [])
    assert.equal(readdirSync(coordinatorTmp).filter((name) => name.startsWith('terarchitect-agent-job-')), [], 'the job directory was removed')
    assert.match(readFileSync(join(findings, 'aider-record.txt'), 'utf8'), 'ENV', 'the worker ran as the agent user (it wrote to its own dir)')

    // The searches: both ran, as the agent user, and found the job token and nothing else secret.
    const files = readdirSync(findings).filter((name) => /^(setup|test)-/.test(name))
    assert.ok(files.some((name) => name.startsWith('setup-')) && files.some((name) => name.startsWith('test-')), files.join(', '))
    const secrets = { ...world.secrets, generatedWorkerKey: workerKey, masterKey }
    for (const file of files) {
      const text = readFileSync(join(findings, file), 'utf8')
      assert.match(text, `uid=${user.uid}(${AGENT_USER}) gid=${user.gid}`, `${file}: ran as the agent user`)
      assert.match(text, /^== home \S+\/terarchitect-agent-job-\d+-\w+\/(home|tmp)\//m, `${file}: HOME under the job directory`)
      assert.match(text, /TERARCHITECT_AGENT_TOKEN=tj1\./, `${file}: the job token, in the agent's own environ (the search reached it)`)
      assert.ok((text.match(/^-- \/proc\/\d+\/environ$/gm) ?? []).length >= 3, `${file}: environ files searched`)
      assert.match(text, /^coordinator-environ: .*Permission denied/m, `${file}: the coordinator's environ: ${/^coordinator-environ.*$/m.exec(text)?.[0]}`)
      assert.match(text, /^data-dir: .*Permission denied/m, `${file}: the app's data dir`)
      assert.match(text, /^state-dir: .*Permission denied/m, `${file}: the coordinator's state dir`)
      assert.match(text, /^checkout: .*Permission denied/m, `${file}: the person's checkout (in their 0700 home)`)
      for (const [name, value] of Object.entries(secrets)) assert.not.ok(text.includes(value), `${name} found by the search in ${file}`)
    }

    await assertWorldClean(world, { 'coordinator log': coordinator.lines }, { extra: { 'generated worker key (worker.key)': workerKey, 'master key (secret.key)': masterKey } })
  } finally {
    await coordinator?.stop()
    await world.close()
  }
})

test.run()
