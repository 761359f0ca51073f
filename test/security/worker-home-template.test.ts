/**
 * The prepared worker HOME (scripts/prepare-worker-homes.mjs), made at image build and copied into
 * every job's HOME: run here with a stand-in `codex` first on PATH. The template holds files and
 * directories only, readable by everyone and writable by nobody else; a CLI that leaves a symbolic
 * link in its HOME gets no template at all (a link would point out of each job's HOME), and what the
 * link points to is not touched (the chmod that makes the template readable never goes through it).
 */
import { spawnSync } from 'node:child_process'
import { chmodSync, existsSync, mkdtempSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'

const SCRIPT = join(import.meta.dirname, '../../scripts/prepare-worker-homes.mjs')
const root = mkdtempSync(join(tmpdir(), 'worker-home-template-'))

/** Runs the preparation with a stand-in `codex` (a shell script, `body` run in its CODEX_HOME). */
function prepare(name: string, body: string): { out: string; status: number | null; output: string } {
  const bin = join(root, `${name}-bin`)
  mkdirSync(bin)
  writeFileSync(join(bin, 'codex'), `#!/bin/sh\ncat >/dev/null\ncd "$CODEX_HOME" || exit 1\n${body}\n`, { mode: 0o755 })
  const out = join(root, `${name}-out`)
  const run = spawnSync(process.execPath, [SCRIPT, out], { env: { ...process.env, PATH: `${bin}:${process.env.PATH}` }, encoding: 'utf8', timeout: 60_000 })
  return { out, status: run.status, output: `${run.stdout}${run.stderr}` }
}

test.after(() => rmSync(root, { recursive: true, force: true }))

test('a CLI\'s first-run files become a template readable by all, without the run\'s own files', () => {
  const { out, status, output } = prepare('plain', 'mkdir -p skills/.system sessions && echo db > state_5.sqlite && echo s > skills/.system/s.md && echo x > sessions/run.jsonl && chmod 600 state_5.sqlite')
  assert.is(status, 0, output)
  const codex = join(out, 'codex', '.codex')
  assert.equal(readdirSync(codex).sort(), ['skills', 'state_5.sqlite'], output)
  assert.is(statSync(join(codex, 'state_5.sqlite')).mode & 0o777, 0o644)
  assert.is(statSync(join(codex, 'skills', '.system')).mode & 0o777, 0o755)
})

test('a symbolic link in the CLI\'s HOME: no template, and what it points to keeps its mode', () => {
  const outside = join(root, 'outside')
  mkdirSync(outside)
  const secret = join(outside, 'secret')
  writeFileSync(secret, 'not for the template')
  chmodSync(secret, 0o600)
  chmodSync(outside, 0o700)
  const { out, status, output } = prepare('linked', `echo db > state_5.sqlite && ln -s ${secret} linked && ln -s ${outside} linked-dir`)
  assert.is(status, 0, output)
  assert.is(statSync(secret).mode & 0o777, 0o600, 'the template\'s chmod went through the link')
  assert.is(statSync(outside).mode & 0o777, 0o700, 'the template\'s chmod went through the link to a directory')
  assert.not.ok(existsSync(join(out, 'codex')), 'a template holding a link was kept')
  assert.match(output, 'neither a file nor a directory')
})

test.run()
