/**
 * The browser boundary of the people routes and the UI (docs/SECURITY.md "Browser boundary"):
 * - `Host` must be one of the app's own names (421 otherwise): on a loopback bind the loopback
 *   names at the bound port; always the host of PUBLIC_URL and the ALLOWED_HOSTS entries. This is
 *   what defeats DNS rebinding: a rebound page still sends its own name.
 * - State-changing methods must be `application/json` (415) and must not come from another site
 *   (`Origin` not this app's, `Sec-Fetch-Site: cross-site`, or `same-site` from another origin:
 *   403). A cross-site page can only send JSON with a CORS preflight, which this app never grants.
 * - Every response carries the security headers (CSP, nosniff, Referrer-Policy, framing).
 * Machine routes (coordinators, agents, signed webhooks, the health probe) are exempt: they are
 * reached as `host.docker.internal:<port>` or by probes, and their credential is their boundary.
 * Also: which requests count as "local" (the zero-setup admin on this machine).
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { AppError, badRequest, forbidden } from '../errors.ts'
import { isLoopback } from '../config.ts'
import { parseTrustProxy, rememberClientAddress, type ProxyHeader } from './client-address.ts'
import type { Route } from './router.ts'

export { clientAddress } from './client-address.ts'

export interface LocalRule {
  /** The address the app is bound to. */
  host: string
  /** PUBLIC_URL, when the app is published under a name. */
  publicUrl?: string | undefined
  /** TERARCHITECT_ADMIN_TOKEN: when set, nobody is local. */
  adminToken?: string | undefined
}

const FORWARDED = ['forwarded', 'x-forwarded-for', 'x-forwarded-host', 'x-forwarded-proto', 'x-real-ip']

/**
 * A request is local only on a loopback bind with no PUBLIC_URL and no admin token, and when it
 * carries no forwarding header: a reverse proxy on the same box must not turn the internet into
 * "local".
 */
export function isLocalRequest(rule: LocalRule, req: IncomingMessage): boolean {
  if (!isLoopback(rule.host) || rule.publicUrl || rule.adminToken) return false
  return !FORWARDED.some((name) => req.headers[name] !== undefined)
}

export interface BoundaryOptions {
  /** The bind address (HOST). */
  host: string
  /** The bound port, known once the server listens. */
  port: () => number
  publicUrl?: string | undefined
  /** ALLOWED_HOSTS: comma-separated `host[:port]`; without a port any port matches. */
  allowedHosts?: string | undefined
  /** TRUST_PROXY (client-address.ts). */
  trustProxy?: string | undefined
  /** TRUST_PROXY_HEADER: the one header those proxies set. */
  trustProxyHeader?: ProxyHeader | undefined
}

/** One allowed name; `ports` undefined = any port, `''` = the Host header named no port. */
interface HostRule {
  hostname: string
  ports?: string[]
}

/** Content-Security-Policy of every response; the UI suites fail on any violation. */
export const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  // Lit's styles are constructable stylesheets (not subject to style-src); the page's own CSS is /app.css.
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ')

export const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy': CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'same-origin',
  'x-frame-options': 'DENY',
  'cross-origin-resource-policy': 'same-origin',
}

const STATE_CHANGING = new Set(['POST', 'PUT', 'PATCH', 'DELETE'])
const HOST_HEADER = /^(\[[0-9a-f:.]+\]|[^[\]:/@\s]+)(?::(\d{1,5}))?$/i

/** Splits `name[:port]` and normalizes the name as a URL would (case, IPv4 forms, IDNA). */
function parseHost(text: string): { hostname: string; port: string } | undefined {
  const match = HOST_HEADER.exec(text.trim())
  if (!match) return undefined
  try {
    return { hostname: new URL(`http://${match[1]}`).hostname, port: match[2] ?? '' }
  } catch {
    return undefined
  }
}

function configError(name: string, message: string): AppError {
  return badRequest(`invalid configuration: ${name}: ${message}`, [{ path: name, message }])
}

/** PUBLIC_URL as a URL: http(s), no credentials, served at the root. */
export function parsePublicUrl(text: string | undefined): URL | undefined {
  if (!text) return undefined
  let url: URL
  try {
    url = new URL(text)
  } catch {
    throw configError('PUBLIC_URL', `${JSON.stringify(text)} is not a URL`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw configError('PUBLIC_URL', 'must be an http:// or https:// URL')
  if (url.username || url.password || url.search || url.hash || url.pathname !== '/') {
    throw configError('PUBLIC_URL', 'must be the origin the app is served at, like https://terarchitect.example.com')
  }
  return url
}

function allowedHostRules(text: string | undefined): HostRule[] {
  return (text ?? '').split(',').map((entry) => entry.trim()).filter(Boolean).map((entry) => {
    const parsed = parseHost(entry)
    if (!parsed) throw configError('ALLOWED_HOSTS', `${JSON.stringify(entry)} is not a host[:port] name`)
    return parsed.port ? { hostname: parsed.hostname, ports: [parsed.port] } : { hostname: parsed.hostname }
  })
}

function isLoopbackName(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(hostname)
}

/** Machine routes skip the browser checks (module comment). */
export function isMachineRoute(route: Route | undefined): boolean {
  return !!route && (route.access === 'worker' || route.access === 'agent' || route.machine === true)
}

export type Admit = (req: IncomingMessage, res: ServerResponse, route: Route | undefined) => void

/**
 * Builds the router's boundary step from the config (validated here, once: a bad value throws a
 * configuration error naming the variable). `route` is the matched route, or undefined for the
 * UI's static files and unknown paths.
 */
export function createBoundary(options: BoundaryOptions): Admit {
  const publicUrl = parsePublicUrl(options.publicUrl)
  const trusted = parseTrustProxy(options.trustProxy, options.trustProxyHeader)
  const named: HostRule[] = allowedHostRules(options.allowedHosts)
  if (publicUrl) {
    const defaultPort = publicUrl.protocol === 'https:' ? '443' : '80'
    named.push({ hostname: publicUrl.hostname, ports: publicUrl.port ? [publicUrl.port] : ['', defaultPort] })
  }
  const loopbackBind = isLoopback(options.host)

  function hostAllowed(header: string | undefined): boolean {
    const parsed = header ? parseHost(header) : undefined
    if (!parsed) return false
    if (loopbackBind && isLoopbackName(parsed.hostname)) {
      const port = String(options.port())
      if (parsed.port === port || (parsed.port === '' && port === '80')) return true
    }
    return named.some((rule) => rule.hostname === parsed.hostname && (!rule.ports || rule.ports.includes(parsed.port)))
  }

  /** The app's own origin: PUBLIC_URL's, or the (already allowed) Host the request was sent to. */
  function originAllowed(origin: string, host: string): boolean {
    if (publicUrl && origin === publicUrl.origin) return true
    let url: URL
    try {
      url = new URL(origin)
    } catch {
      return false // includes the opaque origin "null"
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return false
    try {
      return url.host === new URL(`${url.protocol}//${host}`).host
    } catch {
      return false
    }
  }

  return function admit(req, res, route) {
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value)
    rememberClientAddress(req, trusted)
    if (isMachineRoute(route)) return
    const host = req.headers.host
    if (!hostAllowed(host)) {
      throw new AppError('misdirected_request', 421, `this app does not answer to Host ${JSON.stringify(host ?? '')}: set PUBLIC_URL or ALLOWED_HOSTS to the name people use`)
    }
    // Unmatched requests reach no handler (405/404, or static files for GET/HEAD).
    if (!route || !STATE_CHANGING.has(req.method ?? '')) return
    const origin = req.headers.origin
    const site = req.headers['sec-fetch-site']
    const sameOrigin = origin !== undefined && originAllowed(origin, host!)
    if ((origin !== undefined && !sameOrigin) || site === 'cross-site' || (site === 'same-site' && !sameOrigin)) {
      throw forbidden('cross-site request refused: state changes must come from this app\'s own pages')
    }
    const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase()
    if (type !== 'application/json') {
      throw new AppError('unsupported_media_type', 415, `${req.method} requests must send Content-Type: application/json`, [{ path: '/headers/content-type', message: 'must be application/json' }])
    }
  }
}
