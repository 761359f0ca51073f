// The four real coding CLIs (pinned by scripts/provision-clis.sh), run headless against the fake
// LLM in a temp git repo: turn 1 writes a file through the CLI's file tool, turn 2 resumes the
// session and appends through its shell tool. Plus the quirks the Worker plugins rely on
// (docs/clis.md). Run as the entry point with root, the file re-executes itself inside a fresh
// network namespace (loopback only), so a CLI that needed the internet would fail here rather than
// pass on a networked machine. TERARCHITECT_SMOKE_NETNS=0 opts out.
import { spawn, spawnSync } from 'node:child_process'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { shellCall, start, writeFileCall, type FakeLlm, type ProtocolName } from './fixtures/fake-llm.ts'
import { GIT_IDENTITY } from './fixtures/git-http.ts'

const here = dirname(fileURLToPath(import.meta.url))
const self = fileURLToPath(import.meta.url)

if (process.argv[1] === self && process.env.TERARCHITECT_SMOKE_NETNS === undefined) {
  provision() // needs the npm registry the first time, so before leaving the network
  const probe = spawnSync('unshare', ['--net', 'ip', 'link', 'set', 'lo', 'up'], { stdio: 'ignore' })
  if (probe.status === 0) {
    const child = spawnSync('unshare', ['--net', 'sh', '-c', 'ip link set lo up && exec "$@"', 'sh', process.execPath, ...process.execArgv, self], {
      stdio: 'inherit',
      env: { ...process.env, TERARCHITECT_SMOKE_NETNS: '1' },
    })
    process.exit(child.status ?? 1)
  }
  console.log('clis-smoke: no private network namespace here (unshare failed); running on the host network')
}

/** name → binary, from the provisioning script (quick when installed). */
function provision(): Map<string, string> {
  const script = join(here, '..', 'scripts', 'provision-clis.sh')
  const out = spawnSync('bash', [script], { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' })
  if (out.status !== 0) console.log(`clis-smoke: provisioning incomplete:\n${out.stdout}${out.stderr}`)
  const list = spawnSync('bash', [script, '--print'], { encoding: 'utf8' }).stdout
  return new Map(list.trim().split('\n').filter(Boolean).map((line) => line.split('\t') as [string, string]))
}

const KEY = 'sk-smoke-7f3a9c'
const TIMEOUT_MS = 120_000

interface Run { code: number | null; stdout: string; stderr: string; seconds: number; lines: any[] }

/** Spawns in its own process group (Gemini re-spawns itself), stdin closed unless given, bounded in time. */
function runCli(command: string, args: string[], options: { cwd: string; env: Record<string, string>; stdin?: string }): Promise<Run> {
  const started = Date.now()
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env, detached: true, stdio: [options.stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] })
    if (options.stdin !== undefined) child.stdin!.end(options.stdin)
    let stdout = ''
    let stderr = ''
    child.stdout!.on('data', (d) => (stdout += d))
    child.stderr!.on('data', (d) => (stderr += d))
    const killGroup = () => { try { process.kill(-child.pid!, 'SIGKILL') } catch {} }
    const timer = setTimeout(killGroup, TIMEOUT_MS)
    child.on('close', (code) => {
      clearTimeout(timer)
      killGroup() // stragglers of the group
      const lines = stdout.split('\n').flatMap((line) => {
        try {
          return line.startsWith('{') ? [JSON.parse(line)] : []
        } catch {
          return [] // a non-JSON line that happens to start with a brace
        }
      })
      resolve({ code, stdout, stderr, seconds: (Date.now() - started) / 1000, lines })
    })
  })
}

interface Cli {
  name: string
  protocol: ProtocolName
  /** Environment (beyond PATH/HOME) and config files under HOME. */
  setup(home: string, llmUrl: string): Promise<Record<string, string>>
  /** Turn arguments; the prompt itself goes to stdin, which then closes (docs/clis.md). */
  args(sessionId: string | undefined, llmUrl: string): string[]
  sessionId(lines: any[]): string | undefined
  /** The CLI's own report that a tool ran successfully. */
  toolRan(lines: any[]): boolean
}

const CLIS: Cli[] = [
  {
    name: 'claude',
    protocol: 'anthropic',
    setup: async (_home, url) => ({
      ANTHROPIC_BASE_URL: url,
      ANTHROPIC_API_KEY: KEY,
      IS_SANDBOX: '1', // as root, --dangerously-skip-permissions is refused without it
      CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
      DISABLE_AUTOUPDATER: '1',
      DISABLE_TELEMETRY: '1',
      DISABLE_ERROR_REPORTING: '1',
    }),
    args: (session) => ['-p', '--output-format', 'stream-json', '--verbose', '--dangerously-skip-permissions', '--model', 'fake-model', ...(session ? ['--resume', session] : [])],
    sessionId: (lines) => lines.find((l) => l.type === 'system' && l.subtype === 'init')?.session_id,
    toolRan: (lines) => lines.some((l) => l.type === 'user' && l.message?.content?.some?.((c: any) => c.type === 'tool_result' && !c.is_error)) && lines.at(-1)?.permission_denials?.length === 0,
  },
  {
    name: 'opencode',
    protocol: 'openai-chat',
    setup: async (_home, url) => ({
      OPENCODE_CONFIG_CONTENT: JSON.stringify({
        provider: { fake: { npm: '@ai-sdk/openai-compatible', name: 'Fake', options: { baseURL: `${url}/v1`, apiKey: '{env:FAKE_LLM_API_KEY}' }, models: { 'fake-model': { name: 'Fake model' } } } },
        model: 'fake/fake-model',
        autoupdate: false,
        share: 'disabled',
      }),
      FAKE_LLM_API_KEY: KEY,
      OPENCODE_DISABLE_AUTOUPDATE: '1',
      OPENCODE_DISABLE_MODELS_FETCH: '1',
      OPENCODE_DISABLE_LSP_DOWNLOAD: '1',
    }),
    // An argv message with spaces arrives wrapped in quotes; stdin (then EOF) arrives verbatim.
    args: (session) => ['run', '--format', 'json', ...(session ? ['--session', session] : [])],
    sessionId: (lines) => lines.find((l) => l.sessionID)?.sessionID,
    toolRan: (lines) => lines.some((l) => l.type === 'tool_use' && l.part?.state?.status === 'completed'),
  },
  {
    name: 'codex',
    protocol: 'openai-responses',
    setup: async (home) => {
      // Codex exits 1 when CODEX_HOME names a directory that does not exist.
      await mkdir(join(home, '.codex'), { recursive: true })
      return { CODEX_HOME: join(home, '.codex'), FAKE_LLM_API_KEY: KEY }
    },
    args: (session, url) => {
      const config = [
        '-c', 'model_provider="fake"',
        '-c', `model_providers.fake={name="fake",base_url="${url}/v1",env_key="FAKE_LLM_API_KEY",wire_api="responses"}`,
        '-c', 'analytics.enabled=false',
        // `exec resume` has no -s flag; the config key works for both.
        '-c', 'sandbox_mode="workspace-write"',
        '-m', 'fake-model',
      ]
      // `-` reads the prompt from stdin.
      return session ? ['exec', 'resume', '--json', ...config, session, '-'] : ['exec', '--json', ...config, '-']
    },
    sessionId: (lines) => lines.find((l) => l.type === 'thread.started')?.thread_id,
    toolRan: (lines) => lines.some((l) => l.type === 'item.completed' && l.item?.type === 'command_execution' && l.item.exit_code === 0),
  },
  {
    name: 'gemini',
    protocol: 'gemini',
    setup: async (home, url) => {
      const settings = { security: { auth: { selectedType: 'gemini-api-key' } }, general: { disableAutoUpdate: true, disableUpdateNag: true }, telemetry: { enabled: false }, privacy: { usageStatisticsEnabled: false } }
      await mkdir(join(home, '.gemini'), { recursive: true })
      await writeFile(join(home, '.gemini', 'settings.json'), JSON.stringify(settings))
      return { GOOGLE_GEMINI_BASE_URL: url, GEMINI_API_KEY: KEY, GEMINI_CLI_TRUST_WORKSPACE: 'true' }
    },
    // `-p ''` selects headless mode; the prompt on stdin is appended to it.
    args: (session) => ['-p', '', '-o', 'stream-json', '--yolo', '-m', 'fake-model', ...(session ? ['--resume', session] : [])],
    sessionId: (lines) => lines.find((l) => l.type === 'init')?.session_id,
    toolRan: (lines) => lines.some((l) => l.type === 'tool_result' && l.status === 'success'),
  },
]

// Turn 1 asks for a file through the file tool, turn 2 (resumed) for a shell command.
const TURN1 = 'TURN-1: create notes.txt\nwith "quotes" kept'
const TURN2 = 'TURN-2: append a line with the shell'

let llm: FakeLlm
let bins = new Map<string, string>()
const timings: string[] = []

test.before(async () => {
  if (process.env.TERARCHITECT_SMOKE_NETNS === '1') console.log('clis-smoke: in a private network namespace (loopback only)')
  bins = provision()
  llm = await start({
    script: (req) => {
      if (req.lastIsToolResult || req.tools.length === 0) return { text: `finished ${req.toolResultCount}` }
      if (req.lastUserText.includes('FAIL-401')) return { error: { status: 401, message: 'scripted 401' } }
      // A compound command Claude's acceptEdits mode does not approve by itself.
      if (req.lastUserText.includes('RISKY')) return { toolCalls: [shellCall(req, 'git log --oneline > notes.txt; python3 -c "print(1)" >> notes.txt')!] }
      const call = req.lastUserText.includes('TURN-2')
        ? shellCall(req, 'echo appended-by-shell >> notes.txt')
        : writeFileCall(req, 'notes.txt', 'written by the file tool\n')
      return call ? { toolCalls: [call] } : { text: 'no suitable tool declared' }
    },
  })
})

test.after(async () => {
  await llm?.close()
  if (timings.length) console.log(timings.join('\n'))
})

async function workspace(name: string) {
  const root = await mkdtemp(join(tmpdir(), `smoke-${name}-`))
  const repo = join(root, 'repo')
  const home = join(root, 'home')
  await mkdir(home, { recursive: true })
  const git = (args: string[]) => spawnSync('git', args, { cwd: repo, env: { ...process.env, ...GIT_IDENTITY } })
  await mkdir(repo)
  git(['init', '-q', '-b', 'main'])
  git(['commit', '-q', '--allow-empty', '-m', 'init'])
  return { root, repo, home }
}

/** PATH with the node running this test first: codex and gemini start through `#!/usr/bin/env node`. */
const basePath = `${dirname(process.execPath)}:/usr/local/bin:/usr/bin:/bin`

/** A fresh repo + HOME for `cli`, its environment, and its binary (the test fails if missing). */
async function prepare(cli: Cli) {
  const bin = bins.get(cli.name)
  if (!bin) assert.unreachable(`${cli.name} is not installed (scripts/provision-clis.sh)`)
  const { root, repo, home } = await workspace(cli.name)
  // TMPDIR inside the workspace: Gemini leaves error reports there, removed with the rest.
  await mkdir(join(root, 'tmp'))
  const env: Record<string, string> = { PATH: basePath, HOME: home, TMPDIR: join(root, 'tmp'), LANG: 'C.UTF-8', ...(await cli.setup(home, llm.url)) }
  return { bin: bin!, root, repo, home, env }
}

const byName = (name: string) => CLIS.find((c) => c.name === name)!
const exists = (path: string) => readFile(path).then(() => true, () => false)

for (const cli of CLIS) {
  test(`${cli.name}: writes a file through a tool call, then resumes and runs a shell command`, async () => {
    const { bin, root, repo, env } = await prepare(cli)
    try {
      const before = llm.requests.length
      const turn = (prompt: string, session?: string) =>
        runCli(bin, cli.args(session, llm.url), { cwd: repo, env, stdin: prompt })

      const one = await turn(TURN1)
      assert.is(one.code, 0, `${cli.name} turn 1 exit ${one.code}\n${one.stderr.slice(-2000)}`)
      assert.is(await readFile(join(repo, 'notes.txt'), 'utf8'), 'written by the file tool\n')
      assert.ok(cli.toolRan(one.lines), `${cli.name} reported no successful tool call:\n${one.stdout.slice(0, 3000)}`)
      const session = cli.sessionId(one.lines)
      assert.ok(session, 'a session id in the JSON output')

      const two = await turn(TURN2, session)
      assert.is(two.code, 0, `${cli.name} turn 2 exit ${two.code}\n${two.stderr.slice(-2000)}`)
      assert.is(await readFile(join(repo, 'notes.txt'), 'utf8'), 'written by the file tool\nappended-by-shell\n')
      assert.ok(cli.toolRan(two.lines))
      assert.is(cli.sessionId(two.lines), session, 'resume keeps the session id')

      const calls = llm.requests.slice(before).filter((r) => r.request)
      assert.ok(calls.every((r) => r.protocol === cli.protocol))
      // The prompt arrives verbatim, and the resumed turn carries the first turn's history.
      assert.ok(calls.some((r) => r.request!.lastUserText.includes(TURN1)), 'turn 1 prompt verbatim')
      const resumed = calls.find((r) => r.request!.lastUserText.includes('TURN-2'))!
      assert.ok(resumed.request!.allText.includes('TURN-1'), 'turn 2 request holds turn 1')
      assert.ok(llm.keyWasSent(KEY))
      assert.not.ok(calls.some((r) => JSON.stringify(r.body).includes(KEY)), 'the key never enters a prompt')
      timings.push(`clis-smoke: ${cli.name} turn1 ${one.seconds.toFixed(1)}s turn2 ${two.seconds.toFixed(1)}s`)
    } finally {
      await rm(root, { recursive: true, force: true })
    }
  })
}

// The quirks below are facts the Worker plugins depend on (docs/clis.md); each is one short run.

test('claude quirks: root refuses bypass without IS_SANDBOX; acceptEdits denies a command yet exits 0', async () => {
  const cli = byName('claude')
  const { bin, root, repo, env } = await prepare(cli)
  try {
    if (process.getuid?.() === 0) {
      const { IS_SANDBOX: _dropped, ...noSandbox } = env
      const refused = await runCli(bin, ['-p', TURN1, '--output-format', 'stream-json', '--verbose', '--dangerously-skip-permissions'], { cwd: repo, env: noSandbox })
      assert.is(refused.code, 1)
      assert.match(refused.stderr, 'cannot be used with root/sudo privileges')
    }
    const denied = await runCli(bin, ['-p', 'RISKY: run a compound command', '--output-format', 'stream-json', '--verbose', '--permission-mode', 'acceptEdits'], { cwd: repo, env })
    assert.is(denied.code, 0)
    const result = denied.lines.at(-1)
    assert.is(result.type, 'result')
    assert.is(result.permission_denials[0]?.tool_name, 'Bash')
    assert.ok(denied.lines.some((l) => l.type === 'system' && l.subtype === 'permission_denied'))
    assert.not.ok(await exists(join(repo, 'notes.txt')))
  } finally {
    await rm(root, { recursive: true, force: true })
  }
})

test('opencode quirks: an argv prompt gets quoted; an `ask` permission is rejected without --auto', async () => {
  const cli = byName('opencode')
  const { bin, root, repo, env } = await prepare(cli)
  try {
    const config = JSON.parse(env.OPENCODE_CONFIG_CONTENT)
    const askEnv = { ...env, OPENCODE_CONFIG_CONTENT: JSON.stringify({ ...config, permission: { edit: 'ask' } }) }
    const before = llm.requests.length
    const run = await runCli(bin, ['run', '--format', 'json', TURN1], { cwd: repo, env: askEnv })
    assert.is(run.code, 0)
    const tool = run.lines.find((l) => l.type === 'tool_use')
    assert.is(tool?.part.state.status, 'error')
    assert.match(tool?.part.state.error, 'rejected permission')
    assert.match(run.stderr, 'auto-rejecting')
    assert.not.ok(await exists(join(repo, 'notes.txt')))
    const sent = llm.requests.slice(before).find((r) => r.request?.tools.length)!.request!.lastUserText
    // Wrapped in double quotes with inner quotes backslash-escaped; newlines stay as they are.
    assert.is(sent, `"${TURN1.replaceAll('"', '\\"')}"`)
  } finally {
    await rm(root, { recursive: true, force: true })
  }
})

test('codex quirk: without a sandbox mode it is read-only, exits 0 and writes nothing', async () => {
  const cli = byName('codex')
  const { bin, root, repo, env } = await prepare(cli)
  try {
    const args = cli.args(undefined, llm.url).filter((a) => a !== 'sandbox_mode="workspace-write"')
    args.splice(args.indexOf('-c', args.indexOf('analytics.enabled=false') + 1), 1)
    assert.not.ok(args.join(' ').includes('sandbox_mode'))
    const run = await runCli(bin, args, { cwd: repo, env, stdin: TURN1 })
    assert.is(run.code, 0)
    assert.not.ok(await exists(join(repo, 'notes.txt')))
    assert.is(run.lines.at(-1).type, 'turn.completed')
  } finally {
    await rm(root, { recursive: true, force: true })
  }
})

test('gemini quirks: untrusted folder exits 55; an API 401 exits 145 (status mod 256)', async () => {
  const cli = byName('gemini')
  const { bin, root, repo, env } = await prepare(cli)
  try {
    const { GEMINI_CLI_TRUST_WORKSPACE: _dropped, ...untrusted } = env
    const refused = await runCli(bin, cli.args(undefined, llm.url), { cwd: repo, env: untrusted, stdin: TURN1 })
    assert.is(refused.code, 55)
    assert.match(refused.stderr, 'not running in a trusted directory')
    const failed = await runCli(bin, cli.args(undefined, llm.url), { cwd: repo, env, stdin: 'FAIL-401 please' })
    assert.is(failed.code, 145)
    const result = failed.lines.at(-1)
    assert.equal([result.type, result.status], ['result', 'error'])
  } finally {
    await rm(root, { recursive: true, force: true })
  }
})

test.run()
