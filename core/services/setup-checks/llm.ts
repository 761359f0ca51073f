/**
 * "Test" for the worker LLM, the Director LLM and the embedding service: one minimal real request,
 * from the app's host, with the protocol the configured CLI speaks, to the upstream URL the LLM
 * relay would call (the relay's own endpoint table and URL spelling: llm-relay-protocols.ts) with
 * the key the relay would put in. A generating request asks for 1 output token (Responses: 16, its
 * smallest accepted maximum), so a test costs a few tokens.
 */
import type { AppContext } from '../../context.ts'
import { WORKER_MODES } from '../../settings.ts'
import { findEndpoint, type Wire } from '../llm-relay-protocols.ts'
import { RELAY_SETTINGS } from '../llm-relay.ts'
import type { RelayPurpose } from '../llm-relay-urls.ts'
import { resolveProjectSettings, withheldMessage } from '../project-settings-resolve.ts'
import { resolveSettings } from '../settings.ts'
import { CHECK_TIMEOUT_MS, discard, hostOf, outcome, unreachable, type CheckOutcome } from './outcome.ts'

export type WorkerMode = (typeof WORKER_MODES)[number]

/** What each worker CLI sends, as data: the relay path it calls and the header its key goes in. */
const WORKER_WIRES: Record<WorkerMode, { wire: Wire; path: (model: string) => string; label: string }> = {
  'claude-code': { wire: 'anthropic', path: () => '/v1/messages', label: 'Anthropic Messages' },
  opencode: { wire: 'openai-chat', path: () => '/chat/completions', label: 'OpenAI Chat Completions' },
  aider: { wire: 'openai-chat', path: () => '/chat/completions', label: 'OpenAI Chat Completions' },
  codex: { wire: 'openai-responses', path: () => '/responses', label: 'OpenAI Responses' },
  gemini: { wire: 'gemini', path: (model) => `/v1beta/models/${model}:generateContent`, label: 'Gemini' },
}

/** Where the URL of each purpose should point, said when the service answers 404. */
export const URL_HINTS: Record<WorkerMode | 'director' | 'embeddings', string> = {
  'claude-code': 'Claude Code wants the Anthropic base URL without /v1 (e.g. https://api.anthropic.com)',
  opencode: 'OpenCode wants an OpenAI-compatible base URL; a bare host gets /v1 (e.g. https://api.openai.com/v1)',
  aider: 'Aider wants an OpenAI-compatible base URL; a bare host gets /v1',
  codex: 'Codex wants an OpenAI-compatible base URL serving /responses; a bare host gets /v1',
  gemini: 'Gemini CLI wants the Gemini base URL without /v1beta (e.g. https://generativelanguage.googleapis.com)',
  director: 'the Director wants an OpenAI-compatible URL serving /v1/chat/completions',
  embeddings: 'the embedding service wants an OpenAI-compatible URL serving /v1/embeddings',
}

function requestBody(wire: Wire, model: string): unknown {
  const messages = [{ role: 'user', content: 'Reply with OK.' }]
  switch (wire) {
    case 'anthropic': return { model, max_tokens: 1, messages }
    case 'openai-responses': return { model, input: 'Reply with OK.', max_output_tokens: 16 }
    case 'gemini': return { contents: [{ role: 'user', parts: [{ text: 'Reply with OK.' }] }], generationConfig: { maxOutputTokens: 1 } }
    case 'openai-embeddings': return model ? { model, input: 'ping' } : { input: 'ping' }
    default: return { model, max_tokens: 1, messages }
  }
}

function keyHeaders(wire: Wire, key: string | undefined): Record<string, string> {
  if (!key) return {}
  if (wire === 'anthropic') return { 'x-api-key': key }
  if (wire === 'gemini') return { 'x-goog-api-key': key }
  return { authorization: `Bearer ${key}` }
}

interface Target {
  purpose: RelayPurpose
  what: string
  hint: string
  wire: Wire
  path: string
  model: string | undefined
  modelKey: string
  /** The embedding service may have a default model. */
  modelOptional?: boolean
}

async function probe({ values: settings, withheld }: TestSettings, target: Target): Promise<CheckOutcome> {
  const names = RELAY_SETTINGS[target.purpose]
  const configured = settings[names.url]
  if (!configured) return outcome('not_configured', null, `${names.url} is not set: there is no ${target.what} to test.`)
  // The same-level rule: nothing is sent to a URL the project set without its own key.
  const movedBy = withheld?.get(names.key)
  if (movedBy) return outcome('not_configured', null, withheldMessage(names.key, movedBy))
  if (!target.model && !target.modelOptional) return outcome('not_configured', null, `${target.modelKey} is not set: name the model the ${target.what} should use.`)
  const found = findEndpoint('POST', target.path)
  if (!found || !found.endpoint.purposes.includes(target.purpose)) {
    return outcome('not_configured', null, `${target.modelKey} "${target.model}" is not a model name the relay forwards (letters, digits, . _ -).`)
  }
  const url = found.endpoint.upstream(configured, target.purpose, found.match)
  const headers = { 'content-type': 'application/json', 'anthropic-version': '2023-06-01', 'accept-encoding': 'identity', ...keyHeaders(target.wire, settings[names.key]) }
  let res: Response
  try {
    res = await fetch(url, { method: 'POST', headers, body: JSON.stringify(requestBody(target.wire, target.model ?? '')), redirect: 'manual', signal: AbortSignal.timeout(CHECK_TIMEOUT_MS) })
  } catch (error) {
    return unreachable(`the ${target.what}`, url, error)
  }
  await discard(res)
  return classify(res.status, target, names, url)
}

function classify(status: number, target: Target, names: { url: string; key: string }, url: string): CheckOutcome {
  const where = hostOf(url)
  if (status >= 200 && status < 300) return outcome('ok', status, `the ${target.what} at ${where} answered${target.model ? ` with model ${target.model}` : ''}.`)
  if (status === 401 || status === 403) {
    return outcome('wrong_key', status, `the ${target.what} at ${where} refused the key (${status}): check ${names.key}.`)
  }
  if (status === 404 || status === 405 || (status >= 300 && status < 400)) {
    return outcome('wrong_url', status, `${where} answered ${status} for ${new URL(url).pathname}: ${names.url} is not the right base URL; ${target.hint}.`)
  }
  if (status === 400 || status === 422) {
    return outcome('rejected', status, `the ${target.what} refused the request (${status}): check ${target.modelKey} ("${target.model}") and that the service speaks ${target.wire}.`)
  }
  if (status === 429) return outcome('rejected', status, `the ${target.what} is rate limiting or out of quota (429); the URL and key were accepted.`)
  return outcome('rejected', status, `the ${target.what} answered ${status}: the service has a problem; try again later.`)
}

/** The values a test reads: the app's settings, or a project's effective ones with the secrets the same-level rule withholds. */
interface TestSettings { values: Record<string, string>; withheld?: Map<string, string> }
const settingsOf = async (ctx: AppContext, projectId?: number): Promise<TestSettings> =>
  projectId === undefined ? { values: await resolveSettings(ctx) } : resolveProjectSettings(ctx, projectId)

/** Tests the worker LLM as `mode` (default WORKER_MODE) would call it, with the app's or project `projectId`'s settings. */
export async function testWorkerLlm(ctx: AppContext, mode?: WorkerMode, projectId?: number): Promise<CheckOutcome> {
  const settings = await settingsOf(ctx, projectId)
  const cli = (mode ?? settings.values.WORKER_MODE ?? 'opencode') as WorkerMode
  const spec = WORKER_WIRES[cli] ?? WORKER_WIRES.opencode
  const model = settings.values.WORKER_MODEL
  return probe(settings, { purpose: 'worker', what: `worker LLM (${cli}, ${spec.label})`, hint: URL_HINTS[cli], wire: spec.wire, path: spec.path(model ?? ''), model, modelKey: 'WORKER_MODEL' })
}

export async function testDirectorLlm(ctx: AppContext, projectId?: number): Promise<CheckOutcome> {
  const settings = await settingsOf(ctx, projectId)
  return probe(settings, { purpose: 'director', what: 'Director LLM', hint: URL_HINTS.director, wire: 'openai-chat', path: '/v1/chat/completions', model: settings.values.AGENT_MODEL, modelKey: 'AGENT_MODEL' })
}

export async function testEmbeddings(ctx: AppContext): Promise<CheckOutcome> {
  const settings = await resolveSettings(ctx)
  return probe({ values: settings }, { purpose: 'embeddings', what: 'embedding service', hint: URL_HINTS.embeddings, wire: 'openai-embeddings', path: '/v1/embeddings', model: settings.MEMORY_EMBEDDING_MODEL, modelKey: 'MEMORY_EMBEDDING_MODEL', modelOptional: true })
}
