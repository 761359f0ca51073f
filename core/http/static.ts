/**
 * Serves the built UI. Unknown paths outside /api fall back to index.html so client-side routes
 * work on reload. Paths are resolved inside the root only (no traversal).
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { createReadStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import { extname, join, normalize, sep } from 'node:path'

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.woff2': 'font/woff2',
}

export function createStaticHandler(root: string) {
  const base = normalize(root + sep)
  return async function serveStatic(req: IncomingMessage, res: ServerResponse): Promise<boolean> {
    const url = new URL(req.url ?? '/', 'http://localhost')
    if (url.pathname.startsWith('/api/')) return false
    let relative: string
    try {
      relative = decodeURIComponent(url.pathname)
    } catch {
      return false
    }
    const wanted = normalize(join(base, relative))
    if (!wanted.startsWith(base)) return false
    const file = (await isFile(wanted)) ? wanted : extname(relative) ? null : join(base, 'index.html')
    if (!file || !(await isFile(file))) return false
    const info = await stat(file)
    const etag = `"${info.size.toString(16)}-${info.mtimeMs.toString(16)}"`
    if (req.headers['if-none-match'] === etag) {
      res.writeHead(304, { etag })
      res.end()
      return true
    }
    res.writeHead(200, {
      'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
      'content-length': String(info.size),
      etag,
      'cache-control': file.endsWith('index.html') ? 'no-cache' : 'public, max-age=300',
    })
    if (req.method === 'HEAD') res.end()
    else createReadStream(file).pipe(res)
    return true
  }
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile()
  } catch {
    return false
  }
}
