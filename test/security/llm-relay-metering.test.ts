/**
 * The LLM relay's budget cannot be bypassed (docs/SECURITY.md "The LLM relay", reservations): on
 * PostgreSQL (real concurrent connections), 20 parallel calls of one job with a budget for two pass
 * two and refuse the rest with the 402; a request body is read as JSON, so an escaped `stream` key
 * still gets usage asked for and counted, a body that is not JSON is a 400 and a compressed one a
 * 415, none forwarded; a call cut short before its usage frame, or an answer without usage, is
 * charged its estimate (a call that never reached the upstream costs nothing: llm-relay.test.ts).
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { gzipSync } from 'node:zlib'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { startTestApp, stopOwnCluster, type TestApp } from '../helpers.ts'
import { start as startLlm, type FakeLlm } from '../fixtures/fake-llm.ts'
import { PER_CALL, PROTOCOL_CALLS, WORKER_KEY, bearer, relayClient, type Call } from './llm-relay-calls.ts'

let t: TestApp
let llm: FakeLlm
let project: number
const { claimJob, endJob, settings, usage, budget, call } = relayClient(() => t, () => project)
const fakeUrl = () => `http://localhost:${new URL(llm.url).port}`

test.before(async () => {
  llm = await startLlm({ models: ['fake-model'] })
  t = await startTestApp({ kind: 'postgres', env: { TERARCHITECT_WORKER_API_KEY: WORKER_KEY } })
  await settings({ WORKER_LLM_URL: fakeUrl(), WORKER_API_KEY: 'sk-metering-0123456789', DIRECTOR_MAX_TOKENS: 1_000_000 })
  project = (await t.api('POST', '/api/projects', { name: 'llm-relay-metering', repo_url: 'https://git.example/acme/metering.git' })).body.id
})

test.after(async () => {
  await t?.close()
  await llm?.close()
  await stopOwnCluster()
})

/** Runs `fn` with WORKER_LLM_URL on `upstream`, then points it back at the fake LLM and closes `upstream`. */
async function withUpstream<U extends { url: string; close(): Promise<void> }>(upstream: U, fn: (upstream: U) => Promise<void>): Promise<void> {
  await settings({ WORKER_LLM_URL: upstream.url })
  try {
    await fn(upstream)
  } finally {
    await settings({ WORKER_LLM_URL: fakeUrl() })
    await upstream.close()
  }
}

/** Each protocol's call with a stated output maximum of 100: estimated at 100 + (body bytes / 4) ≈ 130–160. */
const BOUNDED: Record<string, Call> = {
  anthropic: PROTOCOL_CALLS.anthropic!,
  'openai-chat': { ...PROTOCOL_CALLS['openai-chat']!, body: { ...(PROTOCOL_CALLS['openai-chat']!.body as object), max_tokens: 100 } },
  'openai-responses': { ...PROTOCOL_CALLS['openai-responses']!, body: { ...(PROTOCOL_CALLS['openai-responses']!.body as object), max_output_tokens: 100 } },
  gemini: { ...PROTOCOL_CALLS.gemini!, body: { ...(PROTOCOL_CALLS.gemini!.body as object), generationConfig: { maxOutputTokens: 100 } } },
}

test('20 parallel calls of one job with a budget for two: two pass, 18 are refused with the 402, nothing stays reserved', async () => {
  await settings({ DIRECTOR_MAX_TOKENS: 2 * PER_CALL })
  try {
    for (const [name, c] of Object.entries(BOUNDED)) {
      const job = await claimJob()
      const before = llm.requests.length
      const answers = await Promise.all(Array.from({ length: 20 }, () => call(c, job.agent_token)))
      const passed = answers.filter((a) => a.status === 200)
      const refused = answers.filter((a) => a.status === 402)
      assert.is(passed.length, 2, `${name}: ${answers.map((a) => a.status).join(' ')}`)
      assert.is(refused.length, 18, name)
      assert.is(llm.requests.length - before, 2, `${name}: only the calls that passed were forwarded`)
      for (const answer of refused) assert.match(answer.text, `token budget of job ${job.job_id} exhausted (`)
      assert.equal(await budget(job.job_id), { used: 2 * PER_CALL, reserved: 0 }, name)
      assert.equal((await usage(job.job_id)).worker, { input: 200, output: 40, calls: 2 }, name)
      // Sequentially the budget is spent: the next call is refused with the figures.
      const next = await call(c, job.agent_token)
      assert.is(next.status, 402)
      assert.match(next.text, `token budget of job ${job.job_id} exhausted (240 of 240 tokens)`)
      await endJob(job)
    }
  } finally {
    await settings({ DIRECTOR_MAX_TOKENS: 1_000_000 })
  }
})

/** A Chat Completions upstream that reports usage only when asked, as real providers do; it keeps each body it got. */
async function strictChatUpstream() {
  const bodies: any[] = []
  const server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8'))
    bodies.push(body)
    if (body.stream !== true) {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content: 'no usage here' } }] }))
      return
    }
    res.writeHead(200, { 'content-type': 'text/event-stream' })
    res.write('data: {"choices":[{"index":0,"delta":{"content":"hi"}}]}\n\n')
    if (body.stream_options?.include_usage === true) res.write('data: {"choices":[],"usage":{"prompt_tokens":7,"completion_tokens":3}}\n\n')
    res.end('data: [DONE]\n\n')
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, bodies, close: () => new Promise<void>((resolve) => server.close(() => resolve())) }
}

test('an escaped "stream" key still gets usage asked for and counted; an answer without usage is charged its estimate', async () => {
  await withUpstream(await strictChatUpstream(), async (upstream) => {
    const job = await claimJob()
    // `str\u0065am` is `stream` to every JSON parser, but not to a search for the text "stream".
    const escaped = String.raw`{"model":"m","str\u0065am":true,"messages":[{"role":"user","content":"hello"}]}`
    const res = await call({ path: '/api/relay/llm/worker/chat/completions', headers: bearer, body: escaped }, job.agent_token)
    assert.is(res.status, 200, res.text)
    assert.equal(upstream.bodies[0].stream_options, { include_usage: true })
    assert.equal(await usage(job.job_id), { worker: { input: 7, output: 3, calls: 1 } })

    // Not streaming, max_tokens 50, and the upstream reports no usage: the estimate is charged.
    const plain = { model: 'm', max_tokens: 50, messages: [{ role: 'user', content: 'hello' }] }
    const answered = await call({ path: '/api/relay/llm/worker/chat/completions', headers: bearer, body: plain }, job.agent_token)
    assert.is(answered.status, 200)
    const input = Math.ceil(Buffer.byteLength(JSON.stringify(plain)) / 4)
    assert.equal(await usage(job.job_id), { worker: { input: 7 + input, output: 3 + 50, calls: 2 } })
    assert.equal(await budget(job.job_id), { used: 10 + input + 50, reserved: 0 })
    await endJob(job)
  })
})

test('a compressed body is a 415 and a body that is not a JSON object a 400, in the protocol\'s shape, none forwarded', async () => {
  const job = await claimJob()
  const before = llm.requests.length
  for (const [name, c] of Object.entries(PROTOCOL_CALLS)) {
    const gzipped = await call({ ...c, body: new Blob([gzipSync(JSON.stringify(c.body))]) }, job.agent_token, { 'content-encoding': 'gzip' })
    assert.is(gzipped.status, 415, `${name}: ${gzipped.text}`)
    assert.match(gzipped.json.error.message, 'content-encoding "gzip" is not accepted')
    if (name === 'anthropic') assert.is(gzipped.json.type, 'error')
    if (name === 'gemini') assert.is(gzipped.json.error.status, 'INVALID_ARGUMENT')
    for (const body of ['{"model": "fake-model", "stream": tru', '[1, 2]', '']) {
      const bad = await call({ ...c, body }, job.agent_token)
      assert.is(bad.status, 400, `${name} ${JSON.stringify(body)}: ${bad.text}`)
      assert.match(bad.json.error.message, /the request body (is not JSON|must be a JSON object)/)
    }
  }
  // Uncompressed `identity` is fine.
  assert.is((await call(PROTOCOL_CALLS['openai-chat']!, job.agent_token, { 'content-encoding': 'identity' })).status, 200)
  assert.is(llm.requests.length, before + 1, 'only the plain call was forwarded')
  assert.equal(await budget(job.job_id), { used: PER_CALL, reserved: 0 })
  await endJob(job)
})

/** An upstream that sends one SSE frame and then holds the answer until the client goes away. */
async function holdingUpstream() {
  const seen: { bytes: number }[] = []
  const server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    let bytes = 0
    for await (const chunk of req) bytes += (chunk as Buffer).length
    seen.push({ bytes })
    res.writeHead(200, { 'content-type': 'text/event-stream' })
    res.write('event: response.created\ndata: {"type":"response.created","choices":[],"response":{"status":"in_progress"}}\n\n')
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen, close: () => new Promise<void>((resolve) => { server.close(() => resolve()); server.closeAllConnections() }) }
}

const until = async (what: string, check: () => Promise<boolean>) => {
  const deadline = Date.now() + 5000
  while (!(await check())) {
    if (Date.now() > deadline) assert.unreachable(what)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

test('a client that goes away before the usage frame is charged the estimate (Chat Completions, Responses)', async () => {
  await withUpstream(await holdingUpstream(), async (upstream) => {
    for (const name of ['openai-chat', 'openai-responses']) {
      const c = BOUNDED[name]!
      const job = await claimJob()
      const abort = new AbortController()
      const res = await fetch(t.url + c.path, { method: 'POST', headers: { 'content-type': 'application/json', ...c.headers(job.agent_token) }, body: JSON.stringify(c.body), signal: abort.signal })
      assert.is(res.status, 200)
      await res.body!.getReader().read()
      const input = Math.ceil(upstream.seen.at(-1)!.bytes / 4)
      // While the answer is held, the estimate is reserved.
      assert.equal(await budget(job.job_id), { used: 0, reserved: input + 100 }, name)
      abort.abort()
      await until(`${name}: the reservation was settled`, async () => (await budget(job.job_id)).reserved === 0)
      assert.equal(await budget(job.job_id), { used: input + 100, reserved: 0 }, name)
      assert.equal(await usage(job.job_id), { worker: { input, output: 100, calls: 1 } }, name)
      await endJob(job)
    }
  })
})

test.run()
