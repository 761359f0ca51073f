/**
 * The pid lock file: a live holder refuses others; a dead holder's lock, a lock whose pid now is
 * another process, and a lock copied with its directory are stale and taken over; processes racing
 * for a free lock never both win (the lock never exists empty).
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { spawn } from 'node:child_process'
import { cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, realpathSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { acquireLockFile, processStart } from '../core/lock-file.ts'
import { ROOT } from './helpers.ts'

const dir = mkdtempSync(join(tmpdir(), 'terarchitect-lock-'))
test.after(() => rmSync(dir, { recursive: true, force: true }))

test('a live holder refuses a second taker, naming its pid; release frees the lock', () => {
  const file = join(dir, 'one.lock')
  const release = acquireLockFile(file, (pid) => `in use by ${pid}`)
  const mine = readFileSync(file, 'utf8')
  assert.is(mine.split('\n')[0], String(process.pid))
  // Another pid than ours holds it: simulate with our parent, which is alive, as it would write it.
  writeFileSync(file, `${process.ppid}\n${processStart(process.ppid)}\n${realpathSync(dir)}/one.lock\n`)
  assert.throws(() => acquireLockFile(file, (pid) => `in use by ${pid}`), new RegExp(`in use by ${process.ppid}`))
  // A lock of the older format (a bare pid) is checked by pid.
  writeFileSync(file, String(process.ppid))
  assert.throws(() => acquireLockFile(file, (pid) => `in use by ${pid}`), new RegExp(`in use by ${process.ppid}`))
  writeFileSync(file, mine)
  release()
  assert.equal(readdirSync(dir).filter((name) => name.startsWith('one.lock')), [])
})

test('a dead holder is stale and taken over', () => {
  const file = join(dir, 'stale.lock')
  writeFileSync(file, '2147483646')
  const release = acquireLockFile(file, () => 'held')
  assert.is(readFileSync(file, 'utf8').split('\n')[0], String(process.pid))
  release()
})

test('a live pid that is another process now (its start differs) is stale', () => {
  assert.match(processStart(process.pid) ?? '', /^[0-9a-f-]{36}:\d+$/, 'Linux: boot id and start time')
  const file = join(dir, 'reused.lock')
  const path = `${realpathSync(dir)}/reused.lock`
  writeFileSync(file, `${process.ppid}\n${processStart(process.ppid)!.replace(/\d+$/, '1')}\n${path}\n`)
  const release = acquireLockFile(file, () => 'held')
  assert.is(readFileSync(file, 'utf8').split('\n')[0], String(process.pid))
  release()
})

test('a lock copied with its directory while its owner runs is stale in the copy, live in the original', async () => {
  const original = join(dir, 'original')
  mkdirSync(original)
  // The owner: a live process other than this one, holding the lock as the app does.
  const script = `
    import { acquireLockFile } from './core/lock-file.ts'
    acquireLockFile(process.argv[1], () => 'held'); console.log('won')
    process.stdin.resume(); process.stdin.on('end', () => process.exit(0))`
  const owner = spawn(process.execPath, ['--import', './scripts/ts-register.mjs', '--input-type=module', '-e', script, join(original, 'data.lock')], { cwd: ROOT })
  try {
    await new Promise<void>((resolve) => owner.stdout.on('data', () => resolve()))
    const copy = join(dir, 'copy')
    cpSync(original, copy, { recursive: true })
    assert.is(readFileSync(join(copy, 'data.lock'), 'utf8').split('\n')[0], String(owner.pid))
    const release = acquireLockFile(join(copy, 'data.lock'), (pid) => `in use by pid ${pid}`)
    release()
    assert.throws(() => acquireLockFile(join(original, 'data.lock'), (pid) => `in use by pid ${pid}`), new RegExp(`in use by pid ${owner.pid}`))
  } finally {
    owner.stdin.end()
  }
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
