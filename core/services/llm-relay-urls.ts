/**
 * How LLM base URLs are spelled per wire protocol, shared by the worker plugins (what a CLI is
 * given) and the LLM relay (what it calls upstream for a configured WORKER_LLM_URL, AGENT_LLM_URL or
 * EMBEDDING_SERVICE_URL), plus the relay's own base URL the agent hands its CLI and Director.
 */

const trimSlash = (url: string) => url.replace(/\/+$/, '')

/**
 * Base URL for an OpenAI-compatible client that appends `/chat/completions` or `/responses`:
 * a bare host gets `/v1`, a URL with a path (`…/v1`, `…/api/v1`, `…/openai`) is kept as given.
 */
export function openAiBaseUrl(url: string): string {
  const base = trimSlash(url)
  try {
    return new URL(base).pathname.replace(/\/+$/, '') === '' ? `${base}/v1` : base
  } catch {
    return base
  }
}

/** Base URL for a client that appends its own version segment (`/v1` Anthropic, `/v1beta` Gemini). */
export function hostBaseUrl(url: string, versionSegment: string): string {
  const base = trimSlash(url)
  return base.endsWith(versionSegment) ? base.slice(0, -versionSegment.length) : base
}

/**
 * An OpenAI-style endpoint (`chat/completions`, `embeddings`, `models`) from a configured URL given
 * as a bare host, a base ending in a version (`/v1`, `/v1beta`) or the endpoint itself: the spelling
 * the Director and the embedding service have always accepted.
 */
export function versionedEndpoint(url: string, leaf: string): string {
  let base = trimSlash(url)
  if (base.endsWith(`/${leaf}`)) return base
  for (const known of ['/chat/completions', '/embeddings', '/responses', '/models']) {
    if (base.endsWith(known)) base = base.slice(0, -known.length)
  }
  return /\/v\d+[a-z]*$/.test(base) ? `${base}/${leaf}` : `${base}/v1/${leaf}`
}

export type RelayPurpose = 'worker' | 'director' | 'embeddings'

/** Path prefix of the relay in the app; `<prefix><purpose>/…` is one relay. */
export const RELAY_PREFIX = '/api/relay/llm/'

/** The relay base an agent gives its CLI (`worker`) or its Director client (`director`). */
export function relayBaseUrl(apiUrl: string, purpose: RelayPurpose): string {
  return `${trimSlash(apiUrl)}${RELAY_PREFIX}${purpose}`
}
