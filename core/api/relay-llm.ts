/**
 * HTTP entry of the LLM relay: `/api/relay/llm/<purpose>/<protocol path>` with `purpose` one of
 * `worker`, `director`, `embeddings` (core/services/llm-relay.ts). Served before the router: the
 * protocol paths are open-ended (`…/v1beta/models/<m>:streamGenerateContent`), the credential
 * arrives in whichever header the calling CLI uses for its API key, and the body is streamed, not
 * parsed. Access: a running job's token only (never the worker key, never a person).
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { AppContext } from '../context.ts'
import { RELAY_PURPOSES, relayLlmRequest } from '../services/llm-relay.ts'
import { sendRelayError, wireOfPath } from '../services/llm-relay-protocols.ts'
import { RELAY_PREFIX, type RelayPurpose } from '../services/llm-relay-urls.ts'

/** Decided on the normalised path (dot segments resolved), as the router and the coordinator's forwarder see it. */
export function isRelayRequest(req: IncomingMessage): boolean {
  return (req.url ?? '').includes('/relay/llm/') && pathOf(req).startsWith(RELAY_PREFIX)
}

function pathOf(req: IncomingMessage): string {
  try {
    return new URL(req.url ?? '/', 'http://relay').pathname
  } catch {
    return ''
  }
}

/** Handles a request `isRelayRequest` accepted. Never throws. */
export function relayLlmHandler(ctx: AppContext) {
  return async function relayLlm(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://relay')
    const path = url.pathname.slice(RELAY_PREFIX.length)
    const slash = path.indexOf('/')
    const purpose = (slash < 0 ? path : path.slice(0, slash)) as RelayPurpose
    const rest = slash < 0 ? '' : path.slice(slash)
    if (!RELAY_PURPOSES.includes(purpose)) {
      req.resume()
      sendRelayError(res, wireOfPath(rest), 404, 'not_found', `unknown relay purpose ${JSON.stringify(purpose)}; expected ${RELAY_PURPOSES.join(', ')}`)
      return
    }
    await relayLlmRequest(ctx, req, res, purpose, rest, url.searchParams, wireOfPath(rest))
  }
}
