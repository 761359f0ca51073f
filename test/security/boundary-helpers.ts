/**
 * What the browser-boundary suites share: a raw HTTP client that can send any `Host`, `Origin` or
 * `Content-Type` (fetch cannot set `Host`), the security headers every response carries, and a
 * fresh build of the app for the suites that run it as a process.
 */
import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { request } from 'node:http'
import { join } from 'node:path'
import * as assert from 'uvu/assert'
import { ROOT } from '../helpers.ts'

export interface RawAnswer {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: any
}

export interface RawRequest {
  method?: string
  headers?: Record<string, string>
  body?: string
  /** Stop reading after the headers (SSE). */
  headersOnly?: boolean
}

/** One request over node:http to `base` + `path`, with exactly the headers given (plus Host when unset). */
export function raw(base: string, path: string, options: RawRequest = {}): Promise<RawAnswer> {
  const url = new URL(base)
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, method: options.method ?? 'GET', path, headers: { connection: 'close', ...options.headers }, agent: false }, (res) => {
      if (options.headersOnly) {
        resolve({ status: res.statusCode!, headers: res.headers, body: null })
        res.destroy()
        return
      }
      const chunks: Buffer[] = []
      res.on('data', (chunk: Buffer) => chunks.push(chunk))
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8')
        let body: unknown = text
        try {
          body = text ? JSON.parse(text) : null
        } catch {}
        resolve({ status: res.statusCode!, headers: res.headers, body })
      })
      res.on('error', reject)
    })
    req.setTimeout(15000, () => req.destroy(new Error('no answer within 15 s')))
    req.on('error', reject)
    if (options.body !== undefined) req.setHeader('content-length', Buffer.byteLength(options.body))
    req.end(options.body)
  })
}

/** The headers the boundary puts on every response, as they must read. */
export const EXPECTED_HEADERS: Record<string, RegExp> = {
  'content-security-policy': /^default-src 'self'; script-src 'self'; style-src 'self'; .*object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'$/,
  'x-content-type-options': /^nosniff$/,
  'referrer-policy': /^(same-origin|no-referrer)$/,
  'x-frame-options': /^DENY$/,
}

export function assertSecurityHeaders(headers: Record<string, string | string[] | undefined>, note: string): void {
  for (const [name, pattern] of Object.entries(EXPECTED_HEADERS)) {
    assert.match(String(headers[name] ?? ''), pattern, `${note}: ${name}`)
  }
  const csp = String(headers['content-security-policy'])
  assert.not.match(csp, /unsafe-inline|unsafe-eval/, `${note}: no unsafe sources`)
}

/**
 * Builds dist/ when dist/server.js is missing or older than a source it bundles (core/, plugins/,
 * the entrypoints) or the UI is older than frontend/: the browser suites run the built app.
 */
export function ensureAppBuilt(): void {
  const built = (file: string) => (existsSync(join(ROOT, file)) ? statSync(join(ROOT, file)).mtimeMs : 0)
  const newest = (dir: string) => Math.max(0, ...readdirSync(join(ROOT, dir), { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile()).map((entry) => statSync(join(entry.parentPath ?? (entry as any).path, entry.name)).mtimeMs))
  const sources = Math.max(newest('core'), newest('plugins'), ...['server.ts', 'coordinator.ts', 'agent.ts'].map(built))
  if (built('dist/server.js') >= sources && built('dist/coordinator.js') >= sources && built('dist/public/app.js') >= newest('frontend')) return
  const result = spawnSync(process.execPath, ['scripts/build.mjs'], { cwd: ROOT, stdio: 'inherit' })
  if (result.status !== 0) throw new Error('node scripts/build.mjs failed')
}
