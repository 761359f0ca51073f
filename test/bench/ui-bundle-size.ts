/**
 * Prints the UI's initial JavaScript, raw and gzipped (level 9): dist/public/app.js and any other
 * script index.html loads, with the chunks those import statically. Builds the UI first when it is missing. Budget (DESIGN §10): < 60 KB gz.
 * Run: node --import ./scripts/ts-register.mjs test/bench/ui-bundle-size.ts
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { ROOT } from '../helpers.ts'
import { ensureBuilt } from '../ui/helpers.ts'

const BUDGET_KB = 60

ensureBuilt()
const publicDir = join(ROOT, 'dist', 'public')
const html = readFileSync(join(publicDir, 'index.html'), 'utf8')
const scripts = [...html.matchAll(/<script[^>]*\ssrc="\/?([^"]+)"/g)].map((match) => match[1]!)
// The split build's static imports (`import "./chunks/…"`, `from "./chunks/…"`) load before the
// page runs, so they are initial JS too; dynamic `import("./chunks/…")` pages load later.
for (let i = 0; i < scripts.length; i++) {
  const dir = scripts[i]!.includes('/') ? scripts[i]!.slice(0, scripts[i]!.lastIndexOf('/') + 1) : ''
  const code = readFileSync(join(publicDir, scripts[i]!), 'utf8')
  for (const match of code.matchAll(/(?:\bimport|\bfrom)\s*"\.\/([^"]+\.js)"/g)) {
    const path = join(dir, match[1]!)
    if (!scripts.includes(path)) scripts.push(path)
  }
}
let rawTotal = 0
let gzTotal = 0
for (const script of scripts) {
  const bytes = readFileSync(join(publicDir, script))
  const gz = gzipSync(bytes, { level: 9 }).length
  rawTotal += bytes.length
  gzTotal += gz
  process.stdout.write(`${script}: ${(bytes.length / 1024).toFixed(1)} KB raw, ${(gz / 1024).toFixed(1)} KB gzipped\n`)
}
const gzKb = gzTotal / 1024
process.stdout.write(`initial JS total: ${(rawTotal / 1024).toFixed(1)} KB raw, ${gzKb.toFixed(1)} KB gzipped (budget ${BUDGET_KB} KB gz: ${gzKb < BUDGET_KB ? 'within' : 'OVER'})\n`)
if (gzKb >= BUDGET_KB) process.exitCode = 1
