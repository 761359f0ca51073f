/**
 * The LLM relay (docs/SECURITY.md "The LLM relay"): each wire protocol a CLI, the Director or an
 * embedding caller speaks goes through `/api/relay/llm/<purpose>/…` to the fake LLM with the real key
 * in place of the job token (the fake sees the key, never the token); answers stream through as they
 * are produced; each answer's tokens are recorded for the job, and once DIRECTOR_MAX_TOKENS is
 * reached further calls are refused in the protocol's own error shape; callers without a running
 * job's token are refused before anything is forwarded; a `localhost` upstream is reached from the app.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { startTestApp, type TestApp } from '../helpers.ts'
import { fingerprint, start as startLlm, type FakeLlm } from '../fixtures/fake-llm.ts'
import { createSecretBox } from '../../core/secrets.ts'
import { createUsageMeter } from '../../core/services/llm-relay-usage.ts'
import { PER_CALL, PROTOCOL_CALLS, WORKER_KEY, bearer, relayClient } from './llm-relay-calls.ts'

const LLM_KEY = 'sk-relay-worker-llm-key-0123456789'
const DIRECTOR_KEY = 'sk-relay-director-key-0123456789'
const EMBEDDING_KEY = 'sk-relay-embedding-key-0123456789'

let t: TestApp
let llm: FakeLlm
let project: number
const { claimJob, endJob, settings, usage, budget, call } = relayClient(() => t, () => project)

test.before(async () => {
  llm = await startLlm({ models: ['fake-model', 'other-model'] })
  t = await startTestApp({ kind: 'pglite', env: { TERARCHITECT_WORKER_API_KEY: WORKER_KEY } })
  const port = new URL(llm.url).port
  await settings({
    // `localhost`, as a gateway on the app's machine is usually configured: the app dials it, not the agent.
    WORKER_LLM_URL: `http://localhost:${port}`,
    WORKER_API_KEY: LLM_KEY,
    AGENT_LLM_URL: `${llm.url}/v1`,
    AGENT_API_KEY: DIRECTOR_KEY,
    EMBEDDING_SERVICE_URL: llm.url,
    EMBEDDING_API_KEY: EMBEDDING_KEY,
    DIRECTOR_MAX_TOKENS: 1_000_000,
  })
  const created = await t.api('POST', '/api/projects', { name: 'llm-relay', repo_url: 'https://git.example/acme/relay.git' })
  project = created.body.id
})

test.after(async () => {
  await t?.close()
  await llm?.close()
})

test('each protocol reaches a localhost upstream with the real key in the token\'s header; the job\'s tokens are recorded', async () => {
  const job = await claimJob()
  for (const [name, c] of Object.entries(PROTOCOL_CALLS)) {
    const before = llm.requests.length
    const res = await call(c, job.agent_token)
    assert.is(res.status, 200, `${name}: ${res.text.slice(0, 300)}`)
    assert.match(res.text, 'data: ', `${name} answered as a stream`)
    const seen = llm.requests.slice(before)
    assert.is(seen.length, 1, `${name}: one upstream call`)
    assert.is(seen[0]!.protocol, name)
    assert.is(seen[0]!.keyFingerprint, fingerprint(LLM_KEY), `${name}: the upstream got WORKER_API_KEY`)
    assert.is(seen[0]!.path.includes('key='), false)
  }
  // Chat Completions streams report usage only when asked: the relay asked.
  const chat = llm.requests.find((r) => r.protocol === 'openai-chat')!
  assert.equal((chat.body as any).stream_options, { include_usage: true })
  // Gemini's header kept its name; Anthropic's too.
  assert.match(llm.requests.find((r) => r.protocol === 'gemini')!.headers['x-goog-api-key'] ?? '', '<redacted sha256:')
  assert.match(llm.requests.find((r) => r.protocol === 'anthropic')!.headers['x-api-key'] ?? '', '<redacted sha256:')
  assert.not.ok(llm.keyWasSent(job.agent_token), 'the job token never reached the LLM')
  assert.equal(await usage(job.job_id), { worker: { input: 400, output: 80, calls: 4 } })

  // Non-streaming Gemini and Anthropic answers are counted too; lists and token counts are not.
  const plain = await call({ ...PROTOCOL_CALLS.gemini!, path: '/api/relay/llm/worker/v1beta/models/fake-model:generateContent' }, job.agent_token)
  assert.is(plain.status, 200)
  assert.is(plain.json.usageMetadata.totalTokenCount, PER_CALL)
  const models = await call({ path: '/api/relay/llm/worker/v1/models', headers: bearer }, job.agent_token)
  assert.is(models.status, 200)
  assert.equal(models.json.data.map((m: any) => m.id), ['fake-model', 'other-model'])
  const counted = await call({ path: '/api/relay/llm/worker/v1/messages/count_tokens', headers: (token) => ({ 'x-api-key': token }), body: { model: 'fake-model', messages: [] } }, job.agent_token)
  assert.is(counted.status, 200)
  assert.equal(await usage(job.job_id), { worker: { input: 500, output: 100, calls: 5 } })
  await endJob(job)
})

test('the Director and embeddings purposes use their own URL and key', async () => {
  const job = await claimJob()
  const before = llm.requests.length
  const director = await call({ path: '/api/relay/llm/director/v1/chat/completions', headers: bearer, body: { model: 'director-model', messages: [{ role: 'user', content: 'plan' }] } }, job.agent_token)
  assert.is(director.status, 200, director.text)
  assert.is(director.json.usage.total_tokens, PER_CALL)
  const embedded = await call({ path: '/api/relay/llm/embeddings/v1/embeddings', headers: bearer, body: { model: 'e', input: ['one two three', 'four'] } }, job.agent_token)
  assert.is(embedded.status, 200, embedded.text)
  assert.is(embedded.json.data.length, 2)
  const [directorCall, embeddingCall] = llm.requests.slice(before)
  assert.is(directorCall!.keyFingerprint, fingerprint(DIRECTOR_KEY))
  assert.is(directorCall!.path, '/v1/chat/completions')
  assert.is(embeddingCall!.keyFingerprint, fingerprint(EMBEDDING_KEY))
  assert.is(embeddingCall!.path, '/v1/embeddings')
  assert.equal(await usage(job.job_id), { director: { input: 100, output: 20, calls: 1 }, embeddings: { input: 4, output: 0, calls: 1 } })

  // A purpose reaches only its protocol: no Anthropic call on the Director's key, no chat on the embedding key.
  for (const path of ['/api/relay/llm/director/v1/messages', '/api/relay/llm/embeddings/v1/chat/completions', '/api/relay/llm/worker/v1/embeddings', '/api/relay/llm/nobody/v1/chat/completions', '/api/relay/llm/worker/v1beta/models/..%2F..:generateContent']) {
    const res = await call({ path, headers: bearer, body: { model: 'x', messages: [] } }, job.agent_token)
    assert.is(res.status, 404, path)
  }
  assert.is(llm.requests.length, before + 2, 'nothing else was forwarded')
  await endJob(job)
})

test('no credential, the worker key, a forged token, a key in the URL and an ended job\'s token are refused in the protocol\'s shape', async () => {
  const job = await claimJob()
  const forged = createSecretBox('another-app-master-key-0123456789').signJobToken({
    jobId: job.job_id, ticketId: job.ticket_id, projectId: job.project_id, attempt: 1, claim: 1, exp: Math.floor(Date.now() / 1000) + 3600,
  } as any)
  const before = llm.requests.length
  const anthropic = PROTOCOL_CALLS.anthropic!
  const none = await call({ ...anthropic, headers: () => ({}) }, '')
  assert.is(none.status, 401)
  assert.is(none.json.type, 'error')
  assert.is(none.json.error.type, 'authentication_error')
  const inQuery = await call({ ...PROTOCOL_CALLS.gemini!, path: `${PROTOCOL_CALLS.gemini!.path}&key=${job.agent_token}`, headers: () => ({}) }, '')
  assert.is(inQuery.status, 401)
  assert.is(inQuery.json.error.status, 'UNAUTHENTICATED')
  assert.match(inQuery.json.error.message, 'not accepted')
  for (const token of [WORKER_KEY, forged, `${job.agent_token}x`]) {
    const res = await call(PROTOCOL_CALLS['openai-chat']!, token)
    assert.is(res.status, 401, token.slice(0, 8))
    assert.is(res.json.error.type, 'authentication_error')
  }
  await endJob(job)
  const ended = await call(anthropic, job.agent_token)
  assert.is(ended.status, 401)
  assert.match(ended.json.error.message, `job ${job.job_id} is failed`)
  assert.is(llm.requests.length, before, 'nothing was forwarded')
})

test('DIRECTOR_MAX_TOKENS: once a job\'s relayed tokens reach it, each protocol refuses with the budget named', async () => {
  await settings({ DIRECTOR_MAX_TOKENS: 100 })
  try {
    for (const [name, c] of Object.entries(PROTOCOL_CALLS)) {
      const job = await claimJob()
      assert.is((await call(c, job.agent_token)).status, 200, `${name}: the first call is within budget`)
      const before = llm.requests.length
      const refused = await call(c, job.agent_token)
      assert.is(refused.status, 402, `${name}: ${refused.text}`)
      const message = `token budget of job ${job.job_id} exhausted (${PER_CALL} of 100 tokens)`
      if (name === 'anthropic') assert.equal(refused.json, { type: 'error', error: { type: 'billing_error', message } })
      else if (name === 'gemini') assert.equal(refused.json, { error: { code: 402, message, status: 'FAILED_PRECONDITION' } })
      else assert.equal(refused.json, { error: { message, type: 'billing_error', code: 'token_budget_exhausted', param: null } })
      assert.is(llm.requests.length, before, `${name}: the refused call was not forwarded`)
      // Lists still answer: a CLI starting up is not a spend.
      assert.is((await call({ path: '/api/relay/llm/worker/v1/models', headers: bearer }, job.agent_token)).status, 200)
      await endJob(job)
    }
  } finally {
    await settings({ DIRECTOR_MAX_TOKENS: 1_000_000 })
  }
})

/** An upstream that sends one SSE frame, then waits for `release()` before the rest. */
async function slowUpstream() {
  let release!: () => void
  const released = new Promise<void>((resolve) => (release = resolve))
  const state = { finished: false, closedEarly: false }
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    req.resume()
    res.writeHead(200, { 'content-type': 'text/event-stream' })
    res.write('data: {"choices":[{"index":0,"delta":{"content":"first"}}]}\n\n')
    res.once('close', () => {
      if (!state.finished) state.closedEarly = true
    })
    void released.then(() => {
      state.finished = true
      res.write('data: {"choices":[],"usage":{"prompt_tokens":7,"completion_tokens":3}}\n\n')
      res.end('data: [DONE]\n\n')
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, state, release, close: () => new Promise<void>((resolve) => { server.close(() => resolve()); server.closeAllConnections() }) }
}

test('the first chunk arrives before the upstream finishes; a client that goes away aborts the upstream call', async () => {
  const slow = await slowUpstream()
  await settings({ WORKER_LLM_URL: slow.url })
  try {
    const job = await claimJob()
    const c = PROTOCOL_CALLS['openai-chat']!
    const res = await fetch(t.url + c.path, { method: 'POST', headers: { 'content-type': 'application/json', ...c.headers(job.agent_token) }, body: JSON.stringify(c.body) })
    const reader = res.body!.getReader()
    const first = new TextDecoder().decode((await reader.read()).value)
    assert.match(first, '"first"')
    assert.is(slow.state.finished, false, 'the first frame was relayed while the upstream still held the rest')
    slow.release()
    let rest = ''
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) rest += new TextDecoder().decode(chunk.value)
    assert.match(rest, '[DONE]')
    assert.equal(await usage(job.job_id), { worker: { input: 7, output: 3, calls: 1 } })
    await endJob(job)
  } finally {
    await slow.close()
  }

  const hanging = await slowUpstream()
  await settings({ WORKER_LLM_URL: hanging.url })
  try {
    const job = await claimJob()
    const c = PROTOCOL_CALLS['openai-chat']!
    const abort = new AbortController()
    const res = await fetch(t.url + c.path, { method: 'POST', headers: { 'content-type': 'application/json', ...c.headers(job.agent_token) }, body: JSON.stringify(c.body), signal: abort.signal })
    await res.body!.getReader().read()
    abort.abort()
    const deadline = Date.now() + 5000
    while (!hanging.state.closedEarly && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20))
    assert.ok(hanging.state.closedEarly, 'the upstream call was closed when the client went away')
    await endJob(job)
  } finally {
    hanging.release()
    await hanging.close()
    await settings({ WORKER_LLM_URL: `http://localhost:${new URL(llm.url).port}` })
  }
})

test('an unreachable upstream is a 502 naming the setting, and the call costs nothing; an unset one a 503', async () => {
  const job = await claimJob()
  await settings({ WORKER_LLM_URL: 'http://127.0.0.1:9' })
  try {
    const res = await call(PROTOCOL_CALLS.anthropic!, job.agent_token)
    assert.is(res.status, 502)
    assert.match(res.json.error.message, 'WORKER_LLM_URL unreachable from the app')
    // The call was reserved for, never sent: the reservation is released and nothing charged.
    assert.equal(await budget(job.job_id), { used: 0, reserved: 0 })
    assert.equal(await usage(job.job_id), {})
    await settings({ WORKER_LLM_URL: null })
    const unset = await call(PROTOCOL_CALLS.gemini!, job.agent_token)
    assert.is(unset.status, 503)
    assert.match(unset.json.error.message, 'WORKER_LLM_URL is not set')
  } finally {
    await settings({ WORKER_LLM_URL: `http://localhost:${new URL(llm.url).port}` })
    await endJob(job)
  }
})

test('usage is read from each protocol\'s frames however the stream is cut into chunks', () => {
  const streams: [Parameters<typeof createUsageMeter>[0], string, { input: number; output: number }][] = [
    ['anthropic', 'event: message_start\ndata: {"type":"message_start","message":{"usage":{"input_tokens":10,"cache_read_input_tokens":5,"output_tokens":1}}}\n\nevent: content_block_delta\ndata: {"type":"content_block_delta","delta":{"type":"text_delta","text":"héllo usage"}}\n\nevent: message_delta\ndata: {"type":"message_delta","usage":{"output_tokens":42}}\n\n', { input: 15, output: 42 }],
    ['openai-chat', 'data: {"choices":[{"delta":{"content":"x"}}]}\r\n\r\ndata: {"choices":[],"usage":{"prompt_tokens":7,"completion_tokens":3}}\r\n\r\ndata: [DONE]\r\n\r\n', { input: 7, output: 3 }],
    ['openai-responses', 'event: response.completed\ndata: {"type":"response.completed","response":{"usage":{"input_tokens":9,"output_tokens":4}}}\n\n', { input: 9, output: 4 }],
    ['gemini', 'data: {"candidates":[],"usageMetadata":{"promptTokenCount":3,"candidatesTokenCount":1}}\n\ndata: {"candidates":[],"usageMetadata":{"promptTokenCount":3,"candidatesTokenCount":6,"thoughtsTokenCount":2}}', { input: 3, output: 8 }],
  ]
  for (const [wire, text, expected] of streams) {
    const bytes = Buffer.from(text)
    for (const size of [1, 3, 17, bytes.length]) {
      const meter = createUsageMeter(wire, 'text/event-stream; charset=utf-8')
      for (let i = 0; i < bytes.length; i += size) meter.push(bytes.subarray(i, i + size))
      assert.equal(meter.end(), expected, `${wire} in chunks of ${size}`)
    }
  }
  const json = createUsageMeter('gemini', 'application/json')
  json.push(Buffer.from('[{"usageMetadata":{"promptTokenCount":2,"candidatesTokenCount":1}},'))
  json.push(Buffer.from('{"usageMetadata":{"promptTokenCount":2,"candidatesTokenCount":5}}]'))
  assert.equal(json.end(), { input: 2, output: 5 })
})

test('worker-context carries no LLM URL or key: only the models, the budgets and whether a Director is configured', async () => {
  const job = await claimJob()
  const context = await t.api('GET', `/api/projects/${job.project_id}/tickets/${job.ticket_id}/worker-context`, undefined, { authorization: `Bearer ${job.agent_token}` })
  assert.is(context.status, 200, JSON.stringify(context.body))
  const given = context.body.settings as Record<string, string>
  for (const key of ['WORKER_LLM_URL', 'WORKER_API_KEY', 'AGENT_LLM_URL', 'AGENT_API_KEY', 'EMBEDDING_SERVICE_URL', 'EMBEDDING_API_KEY']) {
    assert.not.ok(key in given, `${key} reached the agent`)
  }
  const text = JSON.stringify(context.body)
  for (const secret of [LLM_KEY, DIRECTOR_KEY, EMBEDDING_KEY, llm.url, `localhost:${new URL(llm.url).port}`]) assert.not.ok(text.includes(secret), secret)
  assert.is(given.DIRECTOR_ENABLED, 'false', 'AGENT_MODEL is unset: no Director')
  await settings({ AGENT_MODEL: 'director-model' })
  const directed = await t.api('GET', `/api/projects/${job.project_id}/tickets/${job.ticket_id}/worker-context`, undefined, { authorization: `Bearer ${job.agent_token}` })
  assert.is(directed.body.settings.DIRECTOR_ENABLED, 'true')
  assert.is(directed.body.settings.AGENT_MODEL, 'director-model')
  await settings({ AGENT_MODEL: null })
  await endJob(job)
})

test.run()
