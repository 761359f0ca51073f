/**
 * The pid lock file: a live holder refuses others, a dead holder's lock is taken over, and
 * processes racing for a free lock never both win (the lock never exists empty).
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { acquireLockFile } from '../core/lock-file.ts'
import { ROOT } from './helpers.ts'

const dir = mkdtempSync(join(tmpdir(), 'terarchitect-lock-'))
test.after(() => rmSync(dir, { recursive: true, force: true }))

test('a live holder refuses a second taker, naming its pid; release frees the lock', () => {
  const file = join(dir, 'one.lock')
  const release = acquireLockFile(file, (pid) => `in use by ${pid}`)
  assert.is(readFileSync(file, 'utf8'), String(process.pid))
  // Another pid than ours holds it: simulate with our parent, which is alive.
  writeFileSync(file, String(process.ppid))
  assert.throws(() => acquireLockFile(file, (pid) => `in use by ${pid}`), new RegExp(`in use by ${process.ppid}`))
  writeFileSync(file, String(process.pid))
  release()
  assert.equal(readdirSync(dir).filter((name) => name.startsWith('one.lock')), [])
})

test('a dead holder is stale and taken over', () => {
  const file = join(dir, 'stale.lock')
  writeFileSync(file, '2147483646')
  const release = acquireLockFile(file, () => 'held')
  assert.is(readFileSync(file, 'utf8'), String(process.pid))
  release()
})

test('eight processes racing for a free lock: exactly one wins each round', async () => {
  // Each child spins until a common start time, tries once, prints the outcome and stays alive
  // (holding what it took) until the parent has every answer and closes their stdin.
  const script = `
    import { acquireLockFile } from './core/lock-file.ts'
    const file = process.argv[1]
    while (Date.now() < Number(process.argv[2])) {}
    try { acquireLockFile(file, () => 'held'); console.log('won') } catch (error) { console.log(error.code) }
    process.stdin.resume(); process.stdin.on('end', () => process.exit(0))`
  for (let round = 0; round < 5; round++) {
    const file = join(dir, `race-${round}.lock`)
    const start = Date.now() + 3000
    const children = Array.from({ length: 8 }, () =>
      spawn(process.execPath, ['--import', './scripts/ts-register.mjs', '--input-type=module', '-e', script, file, String(start)], { cwd: ROOT }))
    const outputs = await Promise.all(children.map((child) => new Promise<string>((resolve) => {
      let out = ''
      child.stdout.on('data', (chunk) => {
        out += chunk
        if (out.includes('\n')) resolve(out.trim())
      })
      child.on('close', () => resolve(out.trim()))
    })))
    for (const child of children) child.stdin.end()
    assert.is(outputs.filter((out) => out === 'won').length, 1, `round ${round}: ${outputs.join(',')}`)
    assert.is(outputs.filter((out) => out === 'lock_held').length, 7)
  }
})

test.run()
