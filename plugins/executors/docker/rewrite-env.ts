/**
 * Inside a container, `localhost` is the container itself. A job env written for the host (the
 * app at http://localhost:5010, a git remote at http://127.0.0.1:…) is rewritten so those URLs
 * point at the host through `host.docker.internal` (mapped by `ExtraHosts: host-gateway`).
 */

export const HOST_GATEWAY_NAME = 'host.docker.internal'

/**
 * A value counts as a URL only when the whole (trimmed) value is one absolute `scheme://` URL with
 * no whitespace: `http://localhost:5010/api` is rewritten, `see http://localhost` (free text),
 * `localhost:5432` (no scheme) and `git@localhost:repo` are left alone.
 */
const URL_SHAPE = /^([a-z][a-z0-9+.-]*:\/\/)([^/?#@\s]*@)?(\[[^\]\s]*\]|[^/?#:\s]*)(.*)$/is

/** Hosts that mean "this machine": `localhost`, any 127.x.x.x, `[::1]`. */
function isLoopbackHost(host: string): boolean {
  const name = host.toLowerCase()
  return name === 'localhost' || name === '[::1]' || /^127(\.\d{1,3}){3}$/.test(name)
}

/** Rewrites one value when it is a loopback URL; returns it unchanged otherwise. */
export function rewriteLoopbackUrl(value: string, replacement = HOST_GATEWAY_NAME): string {
  const trimmed = value.trim()
  if (trimmed === '' || /\s/.test(trimmed)) return value
  const match = URL_SHAPE.exec(trimmed)
  if (!match || !isLoopbackHost(match[3]!)) return value
  try {
    new URL(trimmed) // must really be a URL, not merely URL-shaped
  } catch {
    return value
  }
  // String surgery, not URL#toString(): keeps the value byte-for-byte apart from the host
  // (no added trailing slash, no re-encoded userinfo).
  const [, scheme, userinfo = '', , rest] = match
  return `${scheme}${userinfo}${replacement}${rest}`
}

/** Returns a copy of `env` with loopback URLs pointed at `host.docker.internal`. */
export function rewriteEnvForContainer(env: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [key, value] of Object.entries(env)) out[key] = rewriteLoopbackUrl(value)
  return out
}

/** Does any URL value in `env` use `host.docker.internal`? Then the container needs the ExtraHosts entry. */
export function usesHostGateway(env: Readonly<Record<string, string>>): boolean {
  for (const value of Object.values(env)) {
    const trimmed = value.trim()
    if (/\s/.test(trimmed)) continue
    const match = URL_SHAPE.exec(trimmed)
    if (match && match[3]!.toLowerCase() === HOST_GATEWAY_NAME) return true
  }
  return false
}
