/**
 * The address a request came from, for throttling and audit. The socket's peer is the answer
 * unless it is one of the proxies named in TRUST_PROXY; then the one header TRUST_PROXY_HEADER
 * names (`X-Forwarded-For` by default, `Forwarded` (RFC 7239) or `X-Real-IP`) is read from the
 * right, skipping trusted proxies, and the first address not trusted is the client. An entry that
 * is not an IP address ends the walk at the hop to its right: a client can write anything to the
 * left of what the trusted proxy appended. The other headers are never read: a proxy that sets
 * one does not strip the others, so a client could otherwise choose its address by sending one.
 */
import type { IncomingMessage } from 'node:http'
import { BlockList, isIP } from 'node:net'
import { badRequest } from '../errors.ts'

/** The headers a proxy may carry the client's address in (TRUST_PROXY_HEADER). */
export const PROXY_HEADERS = ['x-forwarded-for', 'forwarded', 'x-real-ip'] as const
export type ProxyHeader = (typeof PROXY_HEADERS)[number]

/** The proxies whose forwarded address is believed, and the one header read; `undefined` = none. */
export type TrustedProxies = { list: BlockList; header: ProxyHeader } | undefined

/**
 * Parses TRUST_PROXY: comma-separated addresses, CIDRs (`10.0.0.0/8`, `fd00::/8`) or `loopback`.
 * A bad entry is a configuration error naming the variable.
 */
export function parseTrustProxy(text: string | undefined, header: ProxyHeader = 'x-forwarded-for'): TrustedProxies {
  if (!text?.trim()) return undefined
  const list = new BlockList()
  for (const raw of text.split(',').map((entry) => entry.trim()).filter(Boolean)) {
    if (raw === 'loopback') {
      list.addSubnet('127.0.0.0', 8, 'ipv4')
      list.addAddress('::1', 'ipv6')
      continue
    }
    const [address = '', bits, extra] = raw.split('/')
    const family = isIP(address)
    const prefix = bits === undefined ? undefined : Number(bits)
    const validPrefix = bits === undefined || (/^\d{1,3}$/.test(bits) && prefix! <= (family === 6 ? 128 : 32))
    if (!family || extra !== undefined || !validPrefix) {
      const message = `${JSON.stringify(raw)} is not an IP address, a CIDR range or "loopback"`
      throw badRequest(`invalid configuration: TRUST_PROXY: ${message}`, [{ path: 'TRUST_PROXY', message }])
    }
    const type = family === 6 ? 'ipv6' : 'ipv4'
    if (prefix === undefined) list.addAddress(address, type)
    else list.addSubnet(address, prefix, type)
  }
  return { list, header }
}

/** `::ffff:127.0.0.1` → `127.0.0.1`; brackets and ports of `Forwarded` values removed. */
export function normalizeAddress(value: string): string {
  let text = value.trim().replace(/^"|"$/g, '')
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(text)
  if (bracketed) text = bracketed[1]!
  else if (/^[\d.]+:\d+$/.test(text)) text = text.slice(0, text.lastIndexOf(':'))
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(text)
  return (mapped ? mapped[1]! : text).toLowerCase()
}

function isTrusted(trusted: BlockList, address: string): boolean {
  const family = isIP(address)
  return family !== 0 && trusted.check(address, family === 6 ? 'ipv6' : 'ipv4')
}

/** The addresses of the one header believed, leftmost first (`for=` of each `Forwarded` element). */
function forwardedChain(req: IncomingMessage, name: ProxyHeader): string[] {
  const header = req.headers[name]
  const text = Array.isArray(header) ? header.join(',') : header
  if (!text) return []
  if (name === 'forwarded') {
    return text.split(',').map((element) => {
      const pair = element.split(';').map((part) => part.trim()).find((part) => /^for=/i.test(part))
      return pair ? normalizeAddress(pair.slice(4)) : ''
    })
  }
  return text.split(',').map(normalizeAddress)
}

/** The client's address as TRUST_PROXY says to believe it (module comment). */
export function resolveClientAddress(req: IncomingMessage, trusted: TrustedProxies): string {
  const peer = normalizeAddress(req.socket.remoteAddress ?? '')
  if (!trusted || !isTrusted(trusted.list, peer)) return peer
  let client = peer
  const chain = forwardedChain(req, trusted.header)
  for (let i = chain.length - 1; i >= 0; i--) {
    const hop = chain[i]!
    if (!isIP(hop)) break
    client = hop
    if (!isTrusted(trusted.list, hop)) break
  }
  return client
}

const resolved = new WeakMap<IncomingMessage, string>()

/** Records the request's client address; the router's boundary step calls it on every request. */
export function rememberClientAddress(req: IncomingMessage, trusted: TrustedProxies): string {
  const address = resolveClientAddress(req, trusted)
  resolved.set(req, address)
  return address
}

/**
 * The client address of a request that went through the router (TRUST_PROXY applied); the
 * socket's peer for one that did not.
 */
export function clientAddress(req: IncomingMessage): string {
  return resolved.get(req) ?? normalizeAddress(req.socket.remoteAddress ?? '')
}
