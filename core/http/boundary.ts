/**
 * The browser boundary of the people routes and the UI (docs/SECURITY.md): which requests count as
 * "local" (the zero-setup admin on this machine). Grown by the Host/Origin/Content-Type checks.
 */
import type { IncomingMessage } from 'node:http'
import { isLoopback } from '../config.ts'

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
