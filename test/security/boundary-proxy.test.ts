// Who counts as local, behind a reverse proxy on the same box (a node:http proxy here, adding
// X-Forwarded-For like nginx does): an anonymous people request through it is not local (401)
// although it arrives from 127.0.0.1; TRUST_PROXY makes clientAddress() believe the proxy's
// forwarded address, only from the proxy, and without it the socket's address is the client.
// Plus clientAddress()'s reading of Forwarded / X-Forwarded-For chains, table-driven.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { createServer, request, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ROOT } from '../helpers.ts'
import { resolveAppConfig } from '../../core/config.ts'
import { startApp, type RunningApp } from '../../core/app.ts'
import { createLogger } from '../../core/log.ts'
import { route } from '../../core/http/router.ts'
import { clientAddress } from '../../core/http/boundary.ts'
import { parseTrustProxy, resolveClientAddress, type ProxyHeader } from '../../core/http/client-address.ts'

interface Running {
  app: RunningApp
  dataDir: string
}

/** The app with one extra machine route that answers the client address it resolved. */
async function startWithAddressRoute(env: Record<string, string>): Promise<Running> {
  const dataDir = mkdtempSync(join(tmpdir(), 'terarchitect-proxy-'))
  const config = resolveAppConfig({ PORT: '0', HOST: '127.0.0.1', TERARCHITECT_DATA_DIR: dataDir, LOG_LEVEL: 'error', ...env })
  const app = await startApp({
    config, migrationsDir: join(ROOT, 'sql'), log: createLogger('error'),
    routes: () => [route({ method: 'GET', path: '/api/test/client-address', access: 'public', machine: true, handle: ({ req }) => ({ address: clientAddress(req) }) })],
  })
  return { app, dataDir }
}

/** A same-box reverse proxy: sets Host to the upstream's and appends the client's address to X-Forwarded-For. */
async function startProxy(upstream: string): Promise<{ url: string; server: Server }> {
  const target = new URL(upstream)
  const server = createServer((req, res) => {
    const previous = req.headers['x-forwarded-for']
    const forwardedFor = [previous, req.socket.remoteAddress].filter(Boolean).join(', ')
    const out = request({ host: target.hostname, port: target.port, method: req.method, path: req.url, agent: false,
      headers: { ...req.headers, host: target.host, 'x-forwarded-for': forwardedFor, 'x-forwarded-proto': 'http' } }, (answer) => {
      res.writeHead(answer.statusCode!, answer.headers)
      answer.pipe(res)
    })
    out.on('error', () => res.writeHead(502).end())
    req.pipe(out)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server }
}

/** GET from a chosen loopback source address (127.0.0.5), so the client is told apart from the proxy. */
function get(base: string, path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
  const url = new URL(base)
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path, headers, localAddress: '127.0.0.5', agent: false }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (chunk: Buffer) => chunks.push(chunk))
      res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(Buffer.concat(chunks).toString('utf8') || 'null') }))
    })
    req.on('error', reject)
    req.end()
  })
}

const proxied = suite<{ plain: Running; trusting: Running; proxies: Server[] }>('behind a same-box reverse proxy')
proxied.before(async (context) => {
  context.plain = await startWithAddressRoute({})
  context.trusting = await startWithAddressRoute({ TRUST_PROXY: '127.0.0.1' })
  context.proxies = []
})
proxied.after(async ({ plain, trusting, proxies }) => {
  for (const server of proxies) server.close()
  for (const running of [plain, trusting]) {
    await running.app.close()
    rmSync(running.dataDir, { recursive: true, force: true })
  }
})

proxied('an anonymous people request through the proxy is not local; the same request direct is', async ({ plain, trusting, proxies }) => {
  for (const running of [plain, trusting]) {
    const proxy = await startProxy(running.app.url)
    proxies.push(proxy.server)
    assert.is((await get(running.app.url, '/api/projects')).status, 200, 'direct on loopback: the zero-setup admin')
    const through = await get(proxy.url, '/api/projects')
    assert.is(through.status, 401, `through the proxy: ${JSON.stringify(through.body)}`)
    for (const header of ['forwarded', 'x-forwarded-for', 'x-forwarded-host', 'x-forwarded-proto', 'x-real-ip']) {
      assert.is((await get(running.app.url, '/api/projects', { [header]: 'for=127.0.0.1' })).status, 401, header)
    }
  }
})

proxied('TRUST_PROXY: the proxy\'s forwarded address is the client; without it, the socket address', async ({ plain, trusting, proxies }) => {
  const viaPlain = await startProxy(plain.app.url)
  const viaTrusting = await startProxy(trusting.app.url)
  proxies.push(viaPlain.server, viaTrusting.server)
  const address = async (base: string, headers: Record<string, string> = {}) => (await get(base, '/api/test/client-address', headers)).body.address
  assert.is(await address(viaTrusting.url), '127.0.0.5', 'the trusted proxy says who connected to it')
  assert.is(await address(viaPlain.url), '127.0.0.1', 'untrusted: the proxy\'s own address')
  // A client cannot choose its address by sending the header itself, to the proxy or past it.
  assert.is(await address(viaTrusting.url, { 'x-forwarded-for': '203.0.113.9' }), '127.0.0.5', 'spoofed left of the proxy\'s entry')
  assert.is(await address(trusting.app.url, { 'x-forwarded-for': '203.0.113.9' }), '127.0.0.5', 'direct from an address that is not a trusted proxy')
  assert.is(await address(plain.app.url), '127.0.0.5', 'direct, no proxy')
  // The proxy sets X-Forwarded-For and passes other headers on: a client's own Forwarded or
  // X-Real-IP next to it is not believed.
  assert.is(await address(viaTrusting.url, { forwarded: 'for=203.0.113.9' }), '127.0.0.5', 'a Forwarded header the client added')
  assert.is(await address(viaTrusting.url, { 'x-real-ip': '203.0.113.9' }), '127.0.0.5', 'an X-Real-IP header the client added')
})

proxied('TRUST_PROXY_HEADER=forwarded: only Forwarded is read; a bad value is a configuration error naming it', async ({ proxies }) => {
  const running = await startWithAddressRoute({ TRUST_PROXY: '127.0.0.1', TRUST_PROXY_HEADER: 'forwarded' })
  try {
    const viaProxy = await startProxy(running.app.url)
    proxies.push(viaProxy.server)
    const address = async (headers: Record<string, string>) => (await get(viaProxy.url, '/api/test/client-address', headers)).body.address
    // This proxy appends X-Forwarded-For only: with Forwarded believed, that header is ignored.
    assert.is(await address({}), '127.0.0.1', 'no Forwarded from the proxy: its own address')
    assert.is(await address({ forwarded: 'for=203.0.113.9' }), '203.0.113.9', 'Forwarded passed through is what the proxy vouches for here')
  } finally {
    await running.app.close()
    rmSync(running.dataDir, { recursive: true, force: true })
  }
  assert.throws(() => resolveAppConfig({ TRUST_PROXY_HEADER: 'x-client-ip' }), /TRUST_PROXY_HEADER/)
})

proxied.run()

const chains = suite('clientAddress over Forwarded / X-Forwarded-For chains')

chains('the rightmost address not trusted is the client; anything unreadable stops the walk', () => {
  const fake = (peer: string, headers: Record<string, string>) => ({ headers, socket: { remoteAddress: peer } }) as unknown as IncomingMessage
  const table: [string, string | undefined, string, Record<string, string>, string, ProxyHeader?][] = [
    ['no TRUST_PROXY', undefined, '127.0.0.1', { 'x-forwarded-for': '198.51.100.7' }, '127.0.0.1'],
    ['trusted loopback proxy', 'loopback', '127.0.0.1', { 'x-forwarded-for': '198.51.100.7' }, '198.51.100.7'],
    ['spoofed entries left of the real one', 'loopback', '127.0.0.1', { 'x-forwarded-for': '6.6.6.6, 198.51.100.7' }, '198.51.100.7'],
    ['two trusted hops', '127.0.0.1, 10.0.0.0/8', '127.0.0.1', { 'x-forwarded-for': '198.51.100.7, 10.2.3.4' }, '198.51.100.7'],
    ['all hops trusted: the leftmost', '10.0.0.0/8,127.0.0.1', '127.0.0.1', { 'x-forwarded-for': '10.9.9.9, 10.2.3.4' }, '10.9.9.9'],
    ['garbage stops at the last trusted hop', 'loopback', '127.0.0.1', { 'x-forwarded-for': 'unknown' }, '127.0.0.1'],
    ['garbage left of a real entry', 'loopback', '127.0.0.1', { 'x-forwarded-for': 'x, 198.51.100.7' }, '198.51.100.7'],
    ['peer not a trusted proxy', '10.0.0.0/8', '192.0.2.1', { 'x-forwarded-for': '198.51.100.7' }, '192.0.2.1'],
    ['IPv4-mapped peer', undefined, '::ffff:127.0.0.1', {}, '127.0.0.1'],
    ['Forwarded, IPv6 with port', 'loopback', '::1', { forwarded: 'for=192.0.2.60;proto=http, for="[2001:db8::1]:4711"' }, '2001:db8::1', 'forwarded'],
    ['X-Forwarded-For believed: Forwarded ignored', 'loopback', '127.0.0.1', { forwarded: 'for=192.0.2.60', 'x-forwarded-for': '198.51.100.7' }, '198.51.100.7'],
    ['Forwarded believed: X-Forwarded-For ignored', 'loopback', '127.0.0.1', { forwarded: 'for=192.0.2.60', 'x-forwarded-for': '198.51.100.7' }, '192.0.2.60', 'forwarded'],
    ['X-Forwarded-For believed, none sent: a Forwarded one is not read', 'loopback', '127.0.0.1', { forwarded: 'for=192.0.2.60' }, '127.0.0.1'],
    ['Forwarded with an obfuscated node', 'loopback', '127.0.0.1', { forwarded: 'for=_hidden' }, '127.0.0.1', 'forwarded'],
    ['X-Real-IP believed', 'loopback', '127.0.0.1', { 'x-real-ip': '198.51.100.8', 'x-forwarded-for': '6.6.6.6' }, '198.51.100.8', 'x-real-ip'],
    ['X-Real-IP believed, garbage', 'loopback', '127.0.0.1', { 'x-real-ip': 'unknown' }, '127.0.0.1', 'x-real-ip'],
    ['IPv6 CIDR', 'fd00::/8', 'fd00::5', { 'x-forwarded-for': '2001:db8::7' }, '2001:db8::7'],
  ]
  for (const [name, trust, peer, headers, expected, header] of table) {
    assert.is(resolveClientAddress(fake(peer, headers), parseTrustProxy(trust, header)), expected, name)
  }
})

chains.run()
