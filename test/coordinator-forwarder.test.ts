// test-runner: alone
/**
 * The coordinator's machine-route forwarder (core/coordinator/forwarder.ts) and how the coordinator
 * uses it (core/coordinator/reachability.ts): agent routes and
 * relays pass to the app, everything else is 404 before the app sees it; what passes is streamed
 * both ways and reaches the app with its headers (the job token among them) unchanged.
 * Against a recording upstream (what exactly arrives) and against the real app (its route table
 * is the forwarder's list; a job token works through the forwarder, people routes do not).
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createHash, randomBytes } from 'node:crypto'
import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http'
import { AGENT_PATH_PREFIXES, AGENT_ROUTES, startForwarder, type Forwarder } from '../core/coordinator/forwarder.ts'
import { openContainerReach, withAgentApiUrl } from '../core/coordinator/reachability.ts'
import type { ContainerExecutors } from '../core/coordinator/types.ts'
import type { Executor, JobSpec } from '../core/executor.ts'
import { createLogger } from '../core/log.ts'
import { RELAY_PREFIX } from '../core/services/llm-relay-urls.ts'
import { createRunnableProject, createTicket, startTestApp, type TestApp } from './helpers.ts'

const log = createLogger('error', { test: 'forwarder' })

interface Seen { method: string; url: string; headers: IncomingHttpHeaders; bodyHash: string; bytes: number }

/** An upstream that records what reaches it; `/…/info/refs` answers a two-part SSE stream released by `next()`. */
async function startRecorder() {
  const seen: Seen[] = []
  let release: () => void = () => {}
  const server: Server = createServer((req, res) => {
    const hash = createHash('sha256')
    let bytes = 0
    req.on('data', (chunk: Buffer) => {
      hash.update(chunk)
      bytes += chunk.length
    })
    req.on('end', () => {
      const record = { method: req.method!, url: req.url!, headers: req.headers, bodyHash: hash.digest('hex'), bytes }
      seen.push(record)
      if (req.url!.includes('/cancel-requested')) {
        res.writeHead(200, { 'content-type': 'text/event-stream', 'x-upstream': 'yes' })
        res.write('data: first\n\n')
        release = () => res.end('data: second\n\n')
        return
      }
      res.writeHead(201, { 'content-type': 'application/json', 'x-upstream': 'yes' })
      res.end(JSON.stringify({ bytes, hash: record.bodyHash }))
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    seen,
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    next: () => release(),
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections()
      server.close(() => resolve())
    }),
  }
}

/** A request with the path sent byte for byte (fetch would resolve `..` before sending). */
function raw(port: number, method: string, path: string, headers: Record<string, string> = {}, body?: Buffer | string) {
  return new Promise<{ status: number; headers: IncomingHttpHeaders; text: string }>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers }, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => (text += chunk))
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, text }))
    })
    req.on('error', reject)
    req.end(body)
  })
}

let recorder: Awaited<ReturnType<typeof startRecorder>>
let toRecorder: Forwarder
let t: TestApp
let toApp: Forwarder

test.before(async () => {
  recorder = await startRecorder()
  toRecorder = await startForwarder({ appUrl: recorder.url, host: '127.0.0.1', log })
  t = await startTestApp({ kind: 'pglite' })
  toApp = await startForwarder({ appUrl: t.url, host: '127.0.0.1', log })
})

test.after(async () => {
  await toRecorder?.close()
  await toApp?.close()
  await recorder?.close()
  await t?.close()
})

test('the forwarder lists exactly the app\'s agent routes and relays (derived from the route table)', () => {
  const key = (route: { method: string; path: string }) => `${route.method} ${route.path}`
  const appSide = t.app.routes.filter((route) => route.access === 'agent' || route.path.startsWith('/api/relay/')).map(key).sort()
  assert.ok(appSide.length >= 12, `too few agent routes found: ${appSide.join(', ')}`)
  assert.equal([...AGENT_ROUTES].map(key).sort(), appSide)
  // The LLM relay is served before the router (open-ended paths): its prefix, not routes.
  assert.equal([...AGENT_PATH_PREFIXES], [RELAY_PREFIX])
})

const REFUSED: [string, string][] = [
  ['GET', '/'],
  ['GET', '/index.html'],
  ['GET', '/api/settings'],
  ['PUT', '/api/settings'],
  ['GET', '/api/projects'],
  ['GET', '/api/health'],
  ['POST', '/api/worker/jobs/start'],
  ['GET', '/api/worker/settings'],
  ['POST', '/api/worker/jobs/1/heartbeat'],
  ['GET', '/api/jobs/1'],
  ['GET', '/api/projects/1/tickets/2'],
  ['PATCH', '/api/projects/1/tickets/2'],
  ['POST', '/api/projects/1/tickets/2/run'],
  ['GET', '/api/projects/1/tickets/2/logs'],
  ['POST', '/api/projects/1/tickets/2/worker-context'],
  ['GET', '/api/events'],
  ['POST', '/api/auth/login'],
  ['GET', '/api/projects/1/tickets/2/worker-context/../../../../../settings'],
  ['GET', '/api/projects/1/tickets/2/%2e%2e/%2e%2e/%2e%2e/%2e%2e/settings'],
  ['GET', '/api/relay/llm/../../settings'],
  ['GET', '/api/relay/git/1/2/repo.git/info/refs/../../../../../../../settings'],
  ['GET', 'http://forwarder.test/api/settings'],
  ['GET', '//api/settings'],
  ['GET', '/api/projects//tickets/2/worker-context'],
]

test('people routes, /api/settings, /api/worker/*, the UI and tricked paths → 404 here; the app never sees them', async () => {
  for (const [method, path] of REFUSED) {
    const answer = await raw(toRecorder.port, method, path, { authorization: 'Bearer tj1.some-job-token' })
    assert.is(answer.status, 404, `${method} ${path}`)
    assert.match(answer.text, 'is not an agent route', `${method} ${path}`)
  }
  assert.equal(recorder.seen, [], 'nothing refused reached the upstream')
})

test('agent routes pass with their headers and body unchanged: the job token as sent, nothing added', async () => {
  const token = `tj1.${randomBytes(24).toString('base64url')}`
  const body = JSON.stringify({ events: [{ step: 'worker', summary: 'hello' }] })
  const answer = await raw(toRecorder.port, 'POST', '/api/projects/7/tickets/9/logs?x=1', {
    authorization: `Bearer ${token}`, 'content-type': 'application/json', 'x-custom': 'kept', host: 'host.docker.internal:1234',
  }, body)
  assert.is(answer.status, 201)
  assert.is(answer.headers['x-upstream'], 'yes')
  const seen = recorder.seen.at(-1)!
  assert.is(seen.url, '/api/projects/7/tickets/9/logs?x=1')
  assert.is(seen.headers.authorization, `Bearer ${token}`)
  assert.is(seen.headers['x-custom'], 'kept')
  assert.is(seen.headers.host, 'host.docker.internal:1234')
  assert.is(seen.bodyHash, createHash('sha256').update(body).digest('hex'))
  for (const name of ['forwarded', 'x-forwarded-for', 'x-forwarded-host', 'x-real-ip', 'via']) assert.is(seen.headers[name], undefined, name)
  // The LLM relay's open-ended paths and the git relay pass too.
  const gemini = await raw(toRecorder.port, 'POST', '/api/relay/llm/worker/v1beta/models/m:streamGenerateContent?alt=sse', { 'x-goog-api-key': token }, '{}')
  assert.is(gemini.status, 201)
  assert.is(recorder.seen.at(-1)!.headers['x-goog-api-key'], token)
})

test('a long request body streams through intact (a git push)', async () => {
  const pack = randomBytes(24 * 1024 * 1024)
  const answer = await raw(toRecorder.port, 'POST', '/api/relay/git/3/4/repo.git/git-receive-pack', { 'content-type': 'application/x-git-receive-pack-request', authorization: 'Basic eDp0ajEuYWJj' }, pack)
  assert.is(answer.status, 201)
  assert.equal(JSON.parse(answer.text), { bytes: pack.length, hash: createHash('sha256').update(pack).digest('hex') })
})

test('a streamed answer is passed on as it comes (SSE: the first event arrives before the upstream ends)', async () => {
  const text = await new Promise<string>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: toRecorder.port, method: 'GET', path: '/api/projects/1/tickets/2/cancel-requested' }, (res) => {
      let got = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => {
        got += chunk
        // The upstream holds its second event until the first has arrived here.
        if (got === 'data: first\n\n') recorder.next()
      })
      res.on('end', () => resolve(got))
    })
    req.on('error', reject)
    req.setTimeout(5000, () => req.destroy(new Error('the first event never arrived: the answer is buffered')))
    req.end()
  })
  assert.is(text, 'data: first\n\ndata: second\n\n')
})

test('the hop costs little: time to the first byte of an answer, direct and through the forwarder (p50 printed; ceiling 5 ms added)', async () => {
  const firstByte = (port: number) => new Promise<number>((resolve, reject) => {
    const started = process.hrtime.bigint()
    const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/api/projects/1/tickets/2/logs', headers: { 'content-type': 'application/json' } }, (res) => {
      res.once('data', () => resolve(Number(process.hrtime.bigint() - started) / 1e6))
      res.resume()
    })
    req.on('error', reject)
    req.end('{}')
  })
  const port = Number(new URL(recorder.url).port)
  const direct: number[] = []
  const forwarded: number[] = []
  for (let i = 0; i < 300; i++) {
    direct.push(await firstByte(port))
    forwarded.push(await firstByte(toRecorder.port))
  }
  const p50 = (values: number[]) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)]!
  const added = p50(forwarded) - p50(direct)
  console.log(`forwarder: time to first byte p50 direct ${p50(direct).toFixed(2)} ms, forwarded ${p50(forwarded).toFixed(2)} ms (+${added.toFixed(2)} ms)`)
  recorder.seen.length = 0
  assert.ok(added < 5, `the forwarder adds ${added.toFixed(2)} ms at p50`)
})

test('against the app: a running job\'s token reads its worker-context through the forwarder; people and worker routes do not pass', async () => {
  const project = await createRunnableProject(t)
  const ticket = await createTicket(t, project.id, { column_id: 'in_progress' })
  const claim = await t.api('POST', '/api/worker/jobs/start', { project_id: project.id, coordinator_id: 'forwarder-test' })
  assert.is(claim.status, 200, JSON.stringify(claim.body))
  const agent = { authorization: `Bearer ${claim.body.agent_token}` }
  const context = await raw(toApp.port, 'GET', `/api/projects/${project.id}/tickets/${ticket.id}/worker-context`, agent)
  assert.is(context.status, 200, context.text)
  assert.is(JSON.parse(context.text).ticket.id, ticket.id)
  // The app's own refusals come through as they are: no credential → 401 from the app.
  const anonymous = await raw(toApp.port, 'GET', `/api/projects/${project.id}/tickets/${ticket.id}/worker-context`)
  assert.is(anonymous.status, 401)
  const relay = await raw(toApp.port, 'POST', `${RELAY_PREFIX}worker/v1/chat/completions`, { 'content-type': 'application/json' }, '{}')
  assert.is(relay.status, 401, relay.text)
  // The app is on loopback with no admin token and no account: a local request is its admin.
  // Through the forwarder that never happens, because people routes do not pass at all.
  assert.is((await t.api('GET', '/api/settings')).status, 200)
  for (const [method, path] of [['GET', '/api/settings'], ['GET', '/api/projects'], ['POST', '/api/worker/jobs/start'], ['GET', `/api/jobs/${claim.body.job_id}`]]) {
    const answer = await raw(toApp.port, method!, path!, { ...agent, 'content-type': 'application/json' }, method === 'POST' ? '{}' : undefined)
    assert.is(answer.status, 404, `${method} ${path}`)
  }
})

test('how containers reach the app: loopback URL → the forwarder\'s URL; not loopback → as it is; an address not of this host → the fallback, said in the log', async () => {
  const lines: string[] = []
  const logged = createLogger('info', {}, (line) => lines.push(line))
  const opened = await openContainerReach(t.url, '127.0.0.1', logged)
  try {
    assert.ok(opened.forwarder)
    assert.is(opened.agentApiUrl, `http://host.docker.internal:${opened.forwarder!.port}`)
    assert.ok(lines.some((line) => line.includes('agent containers reach the app through')))
    const context = await raw(opened.forwarder!.port, 'GET', '/api/settings')
    assert.is(context.status, 404)
  } finally {
    await opened.forwarder?.close()
  }
  assert.equal(await openContainerReach('http://app.internal:5010', '127.0.0.1', logged), {})
  lines.length = 0
  // 192.0.2.1 (a documentation address) is no address of this host: listening there fails.
  assert.equal(await openContainerReach(t.url, '192.0.2.1', logged), {})
  assert.ok(lines.some((line) => line.includes('could not listen on the Docker bridge address 192.0.2.1')), lines.join('\n'))
  assert.ok(lines.some((line) => line.includes('agent containers will not reach the app')), lines.join('\n'))
})

test('container jobs get the forwarder\'s URL once it runs; until then, the job env\'s own', async () => {
  const seen: string[] = []
  const executor: Executor = { name: 'fake', probe: async () => ({ ok: true }), run: async (spec) => (seen.push(spec.env.TERARCHITECT_API_URL!), { exitCode: 0 }) }
  const containers: ContainerExecutors = { name: 'fake', forImage: () => executor, ping: async () => ({ ok: true }), reconcile: async () => [] }
  let url: string | undefined
  const wrapped = withAgentApiUrl(containers, () => url)
  const spec = { jobId: 1, ticketId: 1, projectId: 1, kind: 'ticket', executionMode: 'docker', projectPath: null, env: { TERARCHITECT_API_URL: 'http://127.0.0.1:5010', JOB_ID: '1' }, labels: {}, timeoutMs: 1000 } as JobSpec
  await wrapped.forImage('x').run(spec, () => {}, new AbortController().signal)
  url = 'http://host.docker.internal:40123'
  await wrapped.forImage('x').run(spec, () => {}, new AbortController().signal)
  // While the forwarder is being started, a run waits for the decision.
  const deciding = withAgentApiUrl(containers, () => new Promise((resolve) => setTimeout(() => resolve('http://host.docker.internal:40124'), 50)))
  await deciding.forImage('x').run(spec, () => {}, new AbortController().signal)
  assert.equal(seen, ['http://127.0.0.1:5010', 'http://host.docker.internal:40123', 'http://host.docker.internal:40124'])
  assert.is(spec.env.TERARCHITECT_API_URL, 'http://127.0.0.1:5010', 'the spec itself is left as it was')
})

test.run()
