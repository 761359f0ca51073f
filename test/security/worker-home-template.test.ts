/**
 * The prepared worker HOME (scripts/prepare-worker-homes.mjs), made at image build and copied into
 * every job's HOME: run here with a stand-in `codex` first on PATH. The CLI is run with a command that
 * opens no session, and a HOME holding a session's state, or naming the HOME it was made in, gets no
 * template: every job starts with no thread of the build's. The template holds files and
 * directories only, readable by everyone and writable by nobody else; a CLI that leaves a symbolic
 * link in its HOME gets no template at all (a link would point out of each job's HOME), and what the
 * link points to is not touched (the chmod that makes the template readable never goes through it).
 */
import { spawnSync } from 'node:child_process'
import { chmodSync, existsSync, mkdtempSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'

const SCRIPT = join(import.meta.dirname, '../../scripts/prepare-worker-homes.mjs')
const root = mkdtempSync(join(tmpdir(), 'worker-home-template-'))

/**
 * Runs the preparation with a stand-in `codex` (a shell script, `body` run in its CODEX_HOME); `args`
 * is the command line it was given, one argument a line.
 */
function prepare(name: string, body: string): { out: string; status: number | null; output: string; args: string[] } {
  const bin = join(root, `${name}-bin`)
  mkdirSync(bin)
  const argsFile = join(root, `${name}-args`)
  writeFileSync(join(bin, 'codex'), `#!/bin/sh\nprintf '%s\\n' "$@" > ${argsFile}\nstart="$(pwd)"\ncd "$CODEX_HOME" || exit 9\n${body}\n`, { mode: 0o755 })
  const out = join(root, `${name}-out`)
  const run = spawnSync(process.execPath, [SCRIPT, out], { env: { ...process.env, PATH: `${bin}:${process.env.PATH}` }, encoding: 'utf8', timeout: 60_000 })
  const args = existsSync(argsFile) ? readFileSync(argsFile, 'utf8').split('\n').filter(Boolean) : []
  return { out, status: run.status, output: `${run.stdout}${run.stderr}`, args }
}

test.after(() => rmSync(root, { recursive: true, force: true }))

test('a CLI\'s first-run state becomes a template readable by all, made by a command that opens no session, without the run\'s own files', () => {
  // As Codex answers `archive` of a session it does not have: its state made, exit 1.
  const { out, status, output, args } = prepare('plain', 'mkdir -p skills/.system .tmp && echo db > state_5.sqlite && echo s > skills/.system/s.md && echo id > installation_id && echo l > .tmp/lock && chmod 600 state_5.sqlite && exit 1')
  assert.is(status, 0, output)
  assert.is(args[0], 'archive', 'the CLI was run with a command that opens a session')
  assert.is(args.length, 2)
  const codex = join(out, 'codex', '.codex')
  assert.equal(readdirSync(codex).sort(), ['skills', 'state_5.sqlite'], output)
  assert.is(statSync(join(codex, 'state_5.sqlite')).mode & 0o777, 0o644)
  assert.is(statSync(join(codex, 'skills', '.system')).mode & 0o777, 0o755)
})

test('a HOME holding a session\'s state, naming the HOME or directory it was made in or the session asked for, or without the state: no template', () => {
  const cases = {
    sessions: ['echo db > state_5.sqlite && mkdir -p sessions/2026 && echo x > sessions/2026/run.jsonl', 'holds a session\'s state'],
    history: ['echo db > state_5.sqlite && echo t > thread_history_1.sqlite', 'holds a session\'s state'],
    home: ['echo "$HOME" > state_5.sqlite', 'still names this run'],
    cwd: ['echo "thread in $start" > state_5.sqlite-wal && echo db > state_5.sqlite', 'still names this run'],
    asked: ['echo "$2" > state_5.sqlite', 'still names this run'],
    nothing: ['exit 1', 'made no first-run state'],
    failed: ['echo db > state_5.sqlite && exit 2', 'exit 2'],
  }
  for (const [name, [body, why]] of Object.entries(cases)) {
    const { out, status, output } = prepare(name, body)
    assert.is(status, 0, output) // never fatal for the image build
    assert.not.ok(existsSync(join(out, 'codex')), `${name}: a template was kept`)
    assert.match(output, why, name)
  }
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
