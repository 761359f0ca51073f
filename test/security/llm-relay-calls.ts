/**
 * What the LLM relay suites share: one call per wire protocol as each CLI sends it, and a client
 * for an app under test (claim a job, end it, change settings, call the relay, read the job's usage
 * and budget rows).
 */
import type { TestApp } from '../helpers.ts'

export const WORKER_KEY = 'llm-relay-worker-key-0123456789'
export const WORKER = { authorization: `Bearer ${WORKER_KEY}` }
/** Tokens the fake LLM reports per answer (FAKE_USAGE: 100 in, 20 out). */
export const PER_CALL = 120

export interface Claimed { job_id: number; claim_seq: number; ticket_id: number; project_id: number; agent_token: string }

export interface Call {
  path: string
  headers: (token: string) => Record<string, string>
  /** JSON-encoded unless a string or a Blob (sent as is). */
  body?: unknown
  method?: string
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` })
const TOOLS = [{ name: 'Write', description: 'write', input_schema: { type: 'object', properties: { file_path: { type: 'string' } } } }]

/** One call per protocol, as each CLI sends it when given the relay base. */
export const PROTOCOL_CALLS: Record<string, Call> = {
  anthropic: {
    path: '/api/relay/llm/worker/v1/messages',
    headers: (token) => ({ 'x-api-key': token, 'anthropic-version': '2023-06-01' }),
    body: { model: 'fake-model', max_tokens: 100, stream: true, tools: TOOLS, messages: [{ role: 'user', content: 'hello' }] },
  },
  'openai-chat': {
    path: '/api/relay/llm/worker/chat/completions',
    headers: bearer,
    body: { model: 'fake-model', stream: true, messages: [{ role: 'user', content: 'hello' }] },
  },
  'openai-responses': {
    path: '/api/relay/llm/worker/responses',
    headers: bearer,
    body: { model: 'fake-model', stream: true, store: false, input: [{ role: 'user', content: [{ type: 'input_text', text: 'hello' }] }] },
  },
  gemini: {
    path: '/api/relay/llm/worker/v1beta/models/fake-model:streamGenerateContent?alt=sse',
    headers: (token) => ({ 'x-goog-api-key': token }),
    body: { contents: [{ role: 'user', parts: [{ text: 'hello' }] }] },
  },
}

export interface RelayAnswer { status: number; text: string; json: any }

/** A client for the app `app()` returns, working in project `project()` (both set in `before`). */
export function relayClient(app: () => TestApp, project: () => number) {
  const must = async (what: string, res: Promise<{ status: number; body: any }>) => {
    const answer = await res
    if (answer.status >= 300) throw new Error(`${what}: ${answer.status} ${JSON.stringify(answer.body)}`)
    return answer.body
  }
  return {
    async claimJob(): Promise<Claimed> {
      const ticket = await must('ticket', app().api('POST', `/api/projects/${project()}/tickets`, { title: 'Relay LLM calls' }))
      await must('run', app().api('POST', `/api/projects/${project()}/tickets/${ticket.id}/run`))
      return must('claim', app().api('POST', '/api/worker/jobs/start', { project_id: project(), coordinator_id: 'llm-relay-tests' }, WORKER))
    },
    async endJob(job: Claimed): Promise<void> {
      await must('fail', app().api('POST', `/api/worker/jobs/${job.job_id}/fail`, { coordinator_id: 'llm-relay-tests', claim_seq: job.claim_seq, error: 'stopped' }, WORKER))
    },
    async settings(values: Record<string, string | number | null>): Promise<void> {
      await must('settings', app().api('PUT', '/api/settings', { values }))
    },
    /** The job's `llm_usage` rows by purpose. */
    async usage(jobId: number): Promise<Record<string, { input: number; output: number; calls: number }>> {
      const rows = await app().app.ctx.sql`select purpose, input_tokens, output_tokens, calls from llm_usage where job_id = ${jobId}`
      return Object.fromEntries(rows.map((row: any) => [row.purpose, { input: Number(row.input_tokens), output: Number(row.output_tokens), calls: row.calls }]))
    },
    /** The job's `llm_budget` row (zeros before its first metered call). */
    async budget(jobId: number): Promise<{ used: number; reserved: number }> {
      const [row] = await app().app.ctx.sql`select used, reserved from llm_budget where job_id = ${jobId}`
      return { used: Number(row?.used ?? 0), reserved: Number(row?.reserved ?? 0) }
    },
    async call(c: Call, token: string, extraHeaders: Record<string, string> = {}): Promise<RelayAnswer> {
      const res = await fetch(app().url + c.path, {
        method: c.method ?? (c.body === undefined ? 'GET' : 'POST'),
        headers: { ...(c.body === undefined ? {} : { 'content-type': 'application/json' }), ...c.headers(token), ...extraHeaders },
        body: c.body === undefined ? undefined : typeof c.body === 'string' || c.body instanceof Blob ? c.body : JSON.stringify(c.body),
      })
      const text = await res.text()
      let json: any
      try {
        json = JSON.parse(text)
      } catch {}
      return { status: res.status, text, json }
    },
  }
}
