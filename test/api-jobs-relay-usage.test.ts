/**
 * The jobs API carries what each job spent through the LLM relay (`relay_usage`: input and output
 * tokens and calls over every purpose), as the relay counted it from the provider's usage fields:
 * real relayed calls (worker and Director) against the fake LLM, then the job read back through
 * `GET /api/jobs/:id`, `GET /api/jobs` and `GET /api/projects/:id/jobs`. A job with no relayed call
 * has `relay_usage: null`, and the lists read every job's totals in one query.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { startTestApp, type TestApp } from './helpers.ts'
import { start as startLlm, type FakeLlm } from './fixtures/fake-llm.ts'
import { PER_CALL, PROTOCOL_CALLS, WORKER_KEY, relayClient, type Call } from './security/llm-relay-calls.ts'

let t: TestApp
let llm: FakeLlm
let project: number
const { claimJob, endJob, settings, usage, call } = relayClient(() => t, () => project)

const DIRECTOR_CALL: Call = { ...PROTOCOL_CALLS['openai-chat']!, path: '/api/relay/llm/director/chat/completions' }

test.before(async () => {
  llm = await startLlm({ models: ['fake-model'] })
  t = await startTestApp({ kind: 'pglite', env: { TERARCHITECT_WORKER_API_KEY: WORKER_KEY } })
  const fake = `http://localhost:${new URL(llm.url).port}`
  await settings({
    WORKER_LLM_URL: fake, WORKER_API_KEY: 'sk-usage-worker-0123456789',
    AGENT_LLM_URL: fake, AGENT_API_KEY: 'sk-usage-director-0123456789', AGENT_MODEL: 'fake-model', DIRECTOR_MAX_TOKENS: 1_000_000,
  })
  project = (await t.api('POST', '/api/projects', { name: 'relay-usage', repo_url: 'https://git.example/acme/relay-usage.git' })).body.id
})

test.after(async () => {
  await t?.close()
  await llm?.close()
})

test('jobs carry their relayed tokens and calls (null without any), on the job and in both lists', async () => {
  const spent = await claimJob()
  for (const c of [PROTOCOL_CALLS.anthropic!, PROTOCOL_CALLS['openai-chat']!, DIRECTOR_CALL]) {
    const answer = await call(c, spent.agent_token)
    assert.is(answer.status, 200, answer.text.slice(0, 300))
  }
  await endJob(spent)
  const idle = await claimJob()
  await endJob(idle)

  const rows = await usage(spent.job_id)
  assert.equal(Object.keys(rows).sort(), ['director', 'worker'], 'both purposes were metered')
  const expected = {
    input_tokens: rows.worker!.input + rows.director!.input,
    output_tokens: rows.worker!.output + rows.director!.output,
    calls: rows.worker!.calls + rows.director!.calls,
  }
  assert.is(expected.calls, 3)
  assert.is(expected.input_tokens + expected.output_tokens, 3 * PER_CALL, 'the fake LLM\'s usage fields, counted by the relay')

  const one = await t.api('GET', `/api/jobs/${spent.job_id}`)
  assert.is(one.status, 200)
  assert.equal(one.body.relay_usage, expected)
  assert.is((await t.api('GET', `/api/jobs/${idle.job_id}`)).body.relay_usage, null)

  for (const path of ['/api/jobs?limit=10', `/api/projects/${project}/jobs?limit=10`]) {
    const list = await t.api('GET', path)
    assert.is(list.status, 200, path)
    const byId = new Map(list.body.map((job: { id: number; relay_usage: unknown }) => [job.id, job.relay_usage]))
    assert.equal(byId.get(spent.job_id), expected, path)
    assert.is(byId.get(idle.job_id), null, path)
  }
})

test.run()
