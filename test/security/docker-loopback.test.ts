/**
 * Single-box Docker with everything on loopback (issue 10, acceptance 4 and 2 in docker mode).
 *
 * The app listens on 127.0.0.1 only, and so do the fixtures it relays to (the fake LLM, the fake
 * GitHub API, the git remote): an agent container can reach none of them directly. The real
 * coordinator process (docker-dood, the agent image test/agent-image.test.ts builds) forwards the
 * agent routes and relays from the Docker bridge (core/coordinator/forwarder.ts); through it a
 * ticket runs end to end with each of the four real CLIs.
 *
 * Every one of those runs also searches for secrets from inside its container: the project's
 * setup_command (before the CLI) and test_command (after it) read every /proc/<pid>/environ they
 * can, `env`, every file under $HOME, the workspace, /tmp and /cache, and the container specs
 * through the mounted Docker socket, and write what they found to the project's cache volume
 * (read here from the host: no redaction or output cap in between). The forge token, the LLM keys,
 * the worker key and the admin token must be absent; the job token must be found in the container
 * spec (the search really ran). They also probe the network: people routes through the forwarder
 * are 404, and the app's own port on the bridge answers nothing. Then a docker-dind coordinator
 * runs one more ticket through a forwarder of its own, and everything the runs stored is searched.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { DockerEngine } from '../../plugins/executors/docker/engine.ts'
import { isDockerError } from '../../plugins/executors/docker/errors.ts'
import { defaultScript, type LlmRequest, type Reply, type Script } from '../fixtures/fake-llm.ts'
import { ensureDocker } from '../docker-fixtures.ts'
import { removeCoordinatorContainers, spawnCoordinator, type CoordinatorProcess } from '../coordinator-fixtures.ts'
import { firstHost } from '../../core/coordinator/reachability.ts'
import { waitFor } from '../helpers.ts'
import { DIRECTOR_MODEL, buildAgentImage, createTicket, getTicket, remoteGit, startWorld, ticketEvents, type World } from '../bench/agent-harness.ts'
import { assertWorldClean } from '../secret-scan.ts'

/** The tag test/agent-image.test.ts builds; built here only when missing (from the base image, cached layers). */
const TAG = 'terarchitect-agent:test'
const COORDINATOR_ID = `docker-loopback-${process.pid}`
const CACHE_PREFIX = `terarchitect-test-loopback-${process.pid}`
const CLIS = ['claude-code', 'codex', 'opencode', 'gemini']

let engine: DockerEngine
let world: World
let coordinator: CoordinatorProcess
/** The log lines of every coordinator this file ran (searched for secrets at the end). */
const coordinatorLines: string[][] = []
let forwarderUrl = ''
/** Where the forwarder listens on this host: the bridge's gateway address and its port. */
let bridgeAddress = ''
/** Container specs seen while jobs ran (what `docker inspect` shows anyone with the socket). */
const specs = new Map<string, { env: string[]; extraHosts: string[] }>()
let watching = true

/**
 * The search, as a project command. `stage` names its findings file. Output on the job: one
 * summary line (the findings themselves go to the cache volume).
 */
function search(stage: string, appPort: number): string {
  return [
    `out=/cache/findings/${stage}-$(date +%s%N); mkdir -p /cache/findings`,
    '{',
    'echo "== env"; env',
    'echo "== proc"; for f in /proc/[0-9]*/environ; do echo "-- $f"; tr "\\0" "\\n" < "$f" 2>/dev/null; echo; done',
    'echo "== files"; find "$HOME" /workspace "$PWD" /tmp /cache -path /cache/findings -prune -o -type f -size -2M ! -path "*/.git/objects/*" ! -path "*/node_modules/*" -print 2>/dev/null | sort -u | while read -r f; do echo "-- $f"; cat "$f" 2>/dev/null; echo; done',
    'echo "== docker"; for c in $(docker ps -q); do docker inspect "$c"; done',
    'echo "== probe"',
    `for p in /api/settings /api/projects /api/worker/settings; do echo "forwarder $p $(node -e 'fetch(process.argv[1]).then(r=>console.log(r.status),e=>console.log(e.cause?.code||e.message))' "${forwarderUrl}$p")"; done`,
    `echo "app-port $(node -e 'fetch(process.argv[1]).then(r=>console.log(r.status),e=>console.log(e.cause?.code||e.message))' "http://host.docker.internal:${appPort}/api/settings")"`,
    '} > "$out" 2>&1',
    'echo "secret search (' + stage + '): $(grep -c "^-- /proc" "$out") environ files, $(grep -c "^-- /" "$out") files and environs, $(grep -c "\\"Env\\"" "$out") container specs, $(wc -c < "$out") bytes"',
    'true',
  ].join('\n')
}

/** The worker's script, with a Director (its own model and key, through the LLM relay too) that plans once and accepts. */
function withDirector(worker: Script): Script {
  return (request: LlmRequest): Reply | Promise<Reply> => {
    if (request.model !== DIRECTOR_MODEL) return worker(request)
    if (request.lastUserText.includes('Plan the work')) return { text: '{"plan": "write the file", "prompt": "Create the health file."}' }
    return { text: JSON.stringify({ complete: true, next_prompt: '', summary: 'Health file added.' }) }
  }
}

async function cacheDir(): Promise<string> {
  return (await engine.volumeInspect(`${CACHE_PREFIX}-p${world.projectId}`)).Mountpoint
}

test.before(async () => {
  engine = await ensureDocker()
  try {
    await engine.imageInspect(TAG)
  } catch (error) {
    if (!isDockerError(error, 'docker_not_found')) throw error
    // No Aider needed: INSTALL_AIDER=never skips asking pip's index for it (up to 30 s where none answers).
    const built = await buildAgentImage(TAG, { INSTALL_AIDER: 'never' })
    if (built.code !== 0) throw new Error(`the agent image did not build:\n${built.output.slice(-3000)}`)
  }
  // Everything on loopback: the app (HOST 127.0.0.1) and the LLM, GitHub and git fixtures.
  world = await startWorld({ script: withDirector(defaultScript({ path: 'HEALTH.md', content: 'healthy\n', finalText: 'Added HEALTH.md.' })) })
  for (const url of [world.t.url, world.llm.url, world.gh.url, world.git.url]) assert.is(new URL(url).hostname, '127.0.0.1', url)
  await world.settings({ AGENT_LLM_URL: world.llm.url, AGENT_MODEL: DIRECTOR_MODEL, AGENT_API_KEY: world.secrets.directorKey })
  coordinator = spawnCoordinator({
    TERARCHITECT_API_URL: world.t.url,
    TERARCHITECT_WORKER_API_KEY: world.secrets.workerApiKey,
    COORDINATOR_ID,
    PROJECT_ID: String(world.projectId),
    AGENT_IMAGE: TAG,
    AGENT_DOCKER_MODE: 'dood',
    AGENT_CACHE_VOLUME: CACHE_PREFIX,
    AGENT_FALLBACK_TO_HOST: 'false',
    LOG_LEVEL: 'info',
  })
  coordinatorLines.push(coordinator.lines)
  const reach = await coordinator.waitForLog(/^agent containers reach the app through /, 60000)
  forwarderUrl = /through (http:\/\/host\.docker\.internal:\d+)/.exec(reach.msg)![1]!
  bridgeAddress = /\((\d+\.\d+\.\d+\.\d+):\d+\)/.exec(reach.msg)![1]!
  await coordinator.waitForLog(/^coordinator started$/, 60000)
  const appPort = Number(new URL(world.t.url).port)
  const patched = await world.t.api('PATCH', `/api/projects/${world.projectId}`, { setup_command: search('setup', appPort), test_command: search('test', appPort) }, world.people)
  assert.is(patched.status, 200, JSON.stringify(patched.body))
  // What `docker inspect` shows of each job container while it runs.
  void (async () => {
    while (watching) {
      for (const c of await engine.containerList({ labels: [`terarchitect.coordinator_id=${COORDINATOR_ID}`] }).catch(() => [])) {
        if (specs.has(c.Id)) continue
        const info = await engine.containerInspect(c.Id).catch(() => null)
        // Config.Env is what the daemon hands anyone who inspects (the typed ContainerInfo leaves it out).
        if (info) specs.set(c.Id, { env: (info.Config as { Env?: string[] }).Env ?? [], extraHosts: info.HostConfig.ExtraHosts ?? [] })
      }
      await new Promise((resolve) => setTimeout(resolve, 200))
    }
  })()
})

test.after(async () => {
  watching = false
  await coordinator?.stop()
  if (engine) {
    await removeCoordinatorContainers(engine, [COORDINATOR_ID])
    if (world) await engine.volumeRemove(`${CACHE_PREFIX}-p${world.projectId}`, { force: true }).catch(() => {})
    engine.close()
  }
  await world?.close()
})

test('the coordinator forwards from the Docker bridge: the app and the fixtures stay on 127.0.0.1', async () => {
  const forwarder = new URL(forwarderUrl)
  assert.is.not(forwarder.port, new URL(world.t.url).port, 'agents do not use the app\'s own port')
  const ipam = (await engine.networkInspect('bridge')).IPAM.Config?.[0]
  const gateway = ipam?.Gateway || (ipam?.Subnet ? firstHost(ipam.Subnet) : undefined)
  assert.is(bridgeAddress, gateway, 'the forwarder listens on the bridge\'s gateway')
  // From this host the forwarder answers on the gateway address, agent routes only.
  const settings = await fetch(`http://${gateway}:${forwarder.port}/api/settings`)
  assert.is(settings.status, 404)
  const context = await fetch(`http://${gateway}:${forwarder.port}/api/projects/${world.projectId}/tickets/1/worker-context`)
  assert.is(context.status, 401, 'an agent route reaches the app, which wants a job token')
  // And the app itself is not on the gateway.
  const direct = await fetch(`http://${gateway}:${new URL(world.t.url).port}/api/settings`).then((r) => r.status, (error) => (error as { cause?: { code?: string } }).cause?.code)
  assert.is(direct, 'ECONNREFUSED')
})

for (const mode of CLIS) {
  test(`${mode}: a ticket runs end to end in the agent image through the forwarder`, async () => {
    const path = `HEALTH-${mode}.md`
    world.llm.setScript(withDirector(defaultScript({ path, content: `healthy (${mode})\n`, finalText: `Added ${path}.` })))
    await world.settings({ WORKER_MODE: mode })
    const ticket = await createTicket(world, { title: `Health from a container on loopback (${mode})` })
    const run = await world.t.api('POST', `/api/projects/${world.projectId}/tickets/${ticket.id}/run`, undefined, world.people)
    assert.is(run.status, 201, JSON.stringify(run.body))
    const started = Date.now()
    const job = await waitFor(async () => {
      const row = (await world.t.api('GET', `/api/jobs/${run.body.job.id}`, undefined, world.people)).body
      return ['succeeded', 'failed', 'cancelled'].includes(row.status) ? row : null
    }, 4 * 60 * 1000, `the ${mode} job to end`)
    assert.is(job.status, 'succeeded', `${job.error}\n${job.output_tail}\n${coordinator.lines.slice(-30).join('\n')}`)
    assert.is(job.executor, 'docker-dood')
    console.log(`docker-loopback: ${mode} ${((Date.now() - started) / 1000).toFixed(1)} s`)

    assert.is(remoteGit(world, ['show', `ticket-${ticket.id}:${path}`]), `healthy (${mode})\n`)
    const pull = world.gh.state.repo('acme/widgets')!.pulls.find((p) => p.head.ref === `ticket-${ticket.id}`)
    assert.ok(pull, 'PR opened through the forge relay')
    const updated = await getTicket(world, ticket.id)
    assert.is(updated.column_id, 'in_review')
    assert.is(updated.pr_url, pull!.html_url)
    const events = await ticketEvents(world, ticket.id)
    assert.ok(events.some((e) => e.step === 'worker' && e.event?.kind === 'tool_call'), 'the CLI\'s tool calls are job events')
    assert.ok(events.some((e) => e.step === 'clone' && e.summary.includes(forwarderUrl)), 'cloned through the forwarder')
    assert.ok(events.some((e) => e.step === 'setup' && e.summary.includes('setup command')), 'the secret search ran as setup_command')
  })
}

test('each container\'s spec: the forwarder URL and the job token, no other secret', () => {
  assert.ok(specs.size >= CLIS.length, `saw ${specs.size} job containers`)
  const secrets = Object.entries(world.secrets)
  for (const [id, spec] of specs) {
    assert.ok(spec.env.includes(`TERARCHITECT_API_URL=${forwarderUrl}`), `${id.slice(0, 12)}: ${spec.env.filter((e) => e.startsWith('TERARCHITECT_API_URL')).join()}`)
    assert.ok(spec.env.some((e) => e.startsWith('TERARCHITECT_AGENT_TOKEN=tj1.')))
    assert.ok(spec.extraHosts.includes('host.docker.internal:host-gateway'))
    const text = spec.env.join('\n')
    for (const [name, value] of secrets) assert.not.ok(text.includes(value), `${name} in the container spec`)
  }
})

test('the searches from inside each container found the job token and none of the forge token, LLM keys, worker key or admin token', async () => {
  const dir = join(await cacheDir(), 'findings')
  const files = readdirSync(dir)
  assert.ok(files.filter((f) => f.startsWith('setup-')).length >= CLIS.length, `setup searches: ${files.join(', ')}`)
  assert.ok(files.filter((f) => f.startsWith('test-')).length >= CLIS.length, `test searches: ${files.join(', ')}`)
  for (const file of files) {
    const text = readFileSync(join(dir, file), 'utf8')
    for (const section of ['== env', '== proc', '== files', '== docker', '== probe']) assert.match(text, section, `${file}: ${section}`)
    assert.match(text, /"TERARCHITECT_AGENT_TOKEN=tj1\.[^"]+"/, `${file}: the job token in the container spec read through the socket (the search reached it)`)
    assert.ok((text.match(/^-- \/proc\/\d+\/environ$/gm) ?? []).length >= 3, `${file}: environ files searched`)
    for (const [name, value] of Object.entries(world.secrets)) assert.not.ok(text.includes(value), `${name} found by the search in ${file}`)
    // The container reaches agent routes only: people routes are 404 at the forwarder, the app's port is closed.
    for (const path of ['/api/settings', '/api/projects', '/api/worker/settings']) assert.match(text, `forwarder ${path} 404`, `${file}: ${path}`)
    assert.match(text, /^app-port (ECONNREFUSED|EHOSTUNREACH|ETIMEDOUT)/m, `${file}: the app's own port from the container`)
  }
})

test('dind: a coordinator in docker-dind mode runs a ticket through its own forwarder (the dind agent is a container of the host\'s daemon too)', async () => {
  await coordinator.stop()
  // The search needs the host's socket (dood); the dind agent's inner daemon shows only its own containers.
  const patched = await world.t.api('PATCH', `/api/projects/${world.projectId}`, { setup_command: null, test_command: null }, world.people)
  assert.is(patched.status, 200, JSON.stringify(patched.body))
  const dind = spawnCoordinator({
    TERARCHITECT_API_URL: world.t.url,
    TERARCHITECT_WORKER_API_KEY: world.secrets.workerApiKey,
    COORDINATOR_ID: `${COORDINATOR_ID}-dind`,
    PROJECT_ID: String(world.projectId),
    AGENT_IMAGE: TAG,
    AGENT_DOCKER_MODE: 'dind',
    AGENT_CACHE_VOLUME: '',
    AGENT_FALLBACK_TO_HOST: 'false',
    LOG_LEVEL: 'info',
  })
  coordinatorLines.push(dind.lines)
  try {
    const reach = await dind.waitForLog(/^agent containers reach the app through /, 60000)
    const url = /through (http:\/\/host\.docker\.internal:\d+)/.exec(reach.msg)![1]!
    await dind.waitForLog(/^coordinator started$/, 60000)
    world.llm.setScript(withDirector(defaultScript({ path: 'HEALTH-dind.md', content: 'healthy (dind)\n', finalText: 'Added HEALTH-dind.md.' })))
    await world.settings({ WORKER_MODE: 'claude-code' })
    const ticket = await createTicket(world, { title: 'Health from dind on loopback' })
    const run = await world.t.api('POST', `/api/projects/${world.projectId}/tickets/${ticket.id}/run`, undefined, world.people)
    assert.is(run.status, 201, JSON.stringify(run.body))
    const job = await waitFor(async () => {
      const row = (await world.t.api('GET', `/api/jobs/${run.body.job.id}`, undefined, world.people)).body
      return ['succeeded', 'failed', 'cancelled'].includes(row.status) ? row : null
    }, 4 * 60 * 1000, 'the dind job to end')
    assert.is(job.status, 'succeeded', `${job.error}\n${job.output_tail}\n${dind.lines.slice(-30).join('\n')}`)
    assert.is(job.executor, 'docker-dind')
    assert.is(remoteGit(world, ['show', `ticket-${ticket.id}:HEALTH-dind.md`]), 'healthy (dind)\n')
    const events = await ticketEvents(world, ticket.id)
    assert.ok(events.some((e) => e.step === 'clone' && e.summary.includes(url)), 'cloned through the dind coordinator\'s forwarder')
  } finally {
    await dind.stop()
    await removeCoordinatorContainers(engine, [`${COORDINATOR_ID}-dind`])
  }
})

test('nothing the run stored holds a secret: every table, PR bodies, the app\'s and coordinators\' logs, agent output', async () => {
  const jobs = (await world.t.api('GET', `/api/projects/${world.projectId}/jobs?limit=100`, undefined, world.people)).body as unknown[]
  assert.ok(jobs.length >= CLIS.length, `${jobs.length} jobs`)
  await assertWorldClean(world, { 'coordinator log': coordinatorLines.flat() })
})

test.run()
