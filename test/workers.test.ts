// test-runner: slow
// Every Worker plugin against the conformance suite (real CLIs for the four installable ones, a stub
// for Aider), then what only one plugin does: Claude's and OpenCode's permission denials with exit
// 0, Codex's sandbox that can never be read-only, and `workerFor`.
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { access, readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { runWorkerTurn } from '../core/agent/run-worker.ts'
import { isAppError } from '../core/errors.ts'
import { aider } from '../plugins/workers/aider.ts'
import { claudeCode } from '../plugins/workers/claude-code.ts'
import { codex } from '../plugins/workers/codex.ts'
import { gemini } from '../plugins/workers/gemini.ts'
import { workerFor, WORKER_NAMES } from '../plugins/workers/index.ts'
import { opencode } from '../plugins/workers/opencode.ts'
import { shellCall, start, writeFileCall, type FakeLlm } from './fixtures/fake-llm.ts'
import { KEY, provisionClis, workerConformance, workspace, type Sample } from './worker-conformance.ts'

// --- recorded output (docs/clis.md, elisions filled in) and the events it must parse into ------

const j = (value: unknown) => JSON.stringify(value)

const CLAUDE_SESSION = '3f864b74-4d4d-4b59-8186-41c783543fd8'
const claude = (line: object) => j({ ...line, session_id: CLAUDE_SESSION })
const CLAUDE_SAMPLES: Sample[] = [
  {
    title: 'a Write, a Bash, the answer and the result line',
    cwd: '/tmp/s-c/repo',
    sessionId: CLAUDE_SESSION,
    lines: [
      claude({ type: 'system', subtype: 'init', cwd: '/tmp/s-c/repo', tools: ['Bash', 'Write'], model: 'fake-model', permissionMode: 'bypassPermissions', apiKeySource: 'ANTHROPIC_API_KEY' }),
      claude({ type: 'assistant', message: { id: 'msg_1', role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'Write', input: { file_path: '/tmp/s-c/repo/notes.txt', content: 'written by the file tool\n' } }], usage: { input_tokens: 100, output_tokens: 1 } }, parent_tool_use_id: null }),
      claude({ type: 'user', message: { role: 'user', content: [{ tool_use_id: 'toolu_1', type: 'tool_result', content: 'File created successfully at: /tmp/s-c/repo/notes.txt' }] }, tool_use_result: { type: 'create', filePath: '/tmp/s-c/repo/notes.txt', content: 'written by the file tool\n' } }),
      claude({ type: 'assistant', message: { id: 'msg_2', role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_2', name: 'Bash', input: { command: 'echo appended-by-shell >> notes.txt' } }] } }),
      claude({ type: 'user', message: { role: 'user', content: [{ tool_use_id: 'toolu_2', type: 'tool_result', content: '(Bash completed with no output)', is_error: false }] }, tool_use_result: { stdout: '', stderr: '', interrupted: false, isImage: false, noOutputExpected: false } }),
      claude({ type: 'assistant', message: { id: 'msg_3', role: 'assistant', content: [{ type: 'text', text: 'finished 1' }] } }),
      claude({ type: 'result', subtype: 'success', is_error: false, duration_ms: 186, num_turns: 2, result: 'finished 1', stop_reason: 'end_turn', total_cost_usd: 0.0016, usage: { input_tokens: 200, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: 40 }, modelUsage: { 'fake-model': { inputTokens: 200, outputTokens: 40, cacheReadInputTokens: 0, cacheCreationInputTokens: 0, costUSD: 0.0016 } }, permission_denials: [], terminal_reason: 'completed', api_error_status: null }),
    ],
    events: [
      { kind: 'tool_call', name: 'Write', input: { file_path: '/tmp/s-c/repo/notes.txt', content: 'written by the file tool\n' }, status: 'started' },
      { kind: 'tool_call', name: 'Write', input: { file_path: '/tmp/s-c/repo/notes.txt', content: 'written by the file tool\n' }, status: 'ok', output: 'File created successfully at: /tmp/s-c/repo/notes.txt' },
      { kind: 'file_change', path: 'notes.txt', change: 'add' },
      { kind: 'tool_call', name: 'Bash', input: { command: 'echo appended-by-shell >> notes.txt' }, status: 'started' },
      { kind: 'tool_call', name: 'Bash', input: { command: 'echo appended-by-shell >> notes.txt' }, status: 'ok', output: '(Bash completed with no output)' },
      { kind: 'command', cmd: 'echo appended-by-shell >> notes.txt', exit: 0, output: '' },
      { kind: 'message', text: 'finished 1' },
      { kind: 'usage', input_tokens: 200, output_tokens: 40, cost_usd: 0.0016, cumulative: true },
    ],
  },
  {
    title: 'a failing command reports its exit code',
    lines: [
      claude({ type: 'assistant', message: { content: [{ type: 'tool_use', id: 'toolu_9', name: 'Bash', input: { command: 'exit 3' } }] } }),
      claude({ type: 'user', message: { content: [{ type: 'tool_result', content: 'Exit code 3\nout\nerr', is_error: true, tool_use_id: 'toolu_9' }] }, tool_use_result: 'Error: Exit code 3\nout\nerr' }),
    ],
    events: [
      { kind: 'tool_call', name: 'Bash', input: { command: 'exit 3' }, status: 'started' },
      { kind: 'tool_call', name: 'Bash', input: { command: 'exit 3' }, status: 'error', output: 'Exit code 3\nout\nerr' },
      { kind: 'command', cmd: 'exit 3', exit: 3, output: 'Exit code 3\nout\nerr' },
    ],
  },
  {
    title: 'a permission denial (acceptEdits) is reported once, though told twice',
    lines: [
      claude({ type: 'assistant', message: { content: [{ type: 'tool_use', id: 'toolu_d', name: 'Bash', input: { command: 'git log > f; python3 -c "print(1)"' } }] } }),
      claude({ type: 'system', subtype: 'permission_denied', tool_name: 'Bash', tool_use_id: 'toolu_d', decision_reason_type: 'subcommandResults', message: 'This Bash command contains multiple operations. The following part requires approval: python3 -c "print(1)"' }),
      claude({ type: 'user', message: { content: [{ type: 'tool_result', content: 'This command requires approval', is_error: true, tool_use_id: 'toolu_d' }] } }),
      claude({ type: 'result', subtype: 'success', is_error: false, result: 'ok', total_cost_usd: 0, usage: { input_tokens: 200, output_tokens: 40 }, permission_denials: [{ tool_name: 'Bash', tool_use_id: 'toolu_d', tool_input: { command: 'git log > f; python3 -c "print(1)"' } }] }),
    ],
    events: [
      { kind: 'tool_call', name: 'Bash', input: { command: 'git log > f; python3 -c "print(1)"' }, status: 'started' },
      { kind: 'tool_call', name: 'Bash', input: { command: 'git log > f; python3 -c "print(1)"' }, status: 'denied' },
      { kind: 'usage', input_tokens: 200, output_tokens: 40 },
    ],
  },
  {
    title: 'an API error: retries are warnings, the result line is the failure',
    lines: [
      claude({ type: 'system', subtype: 'api_retry', attempt: 4, max_retries: 10, retry_delay_ms: 4312, error_status: 401, error: 'authentication_failed' }),
      claude({ type: 'result', subtype: 'success', is_error: true, terminal_reason: 'api_error', api_error_status: 401, result: 'Failed to authenticate. API Error: 401 scripted failure', total_cost_usd: 0, usage: { input_tokens: 0, output_tokens: 0 }, modelUsage: {}, permission_denials: [] }),
    ],
    events: [
      { kind: 'error', warning: true, message: 'API retry 4/10: authentication_failed 401' },
      { kind: 'error', message: 'Failed to authenticate. API Error: 401 scripted failure (HTTP 401)' },
      { kind: 'usage', input_tokens: 0, output_tokens: 0 },
    ],
  },
]

const OC_SESSION = 'ses_df3e0c871fferlOQwR8izvTDlB'
const oc = (line: object) => j({ timestamp: 1795499705873, sessionID: OC_SESSION, ...line })
const OPENCODE_SAMPLES: Sample[] = [
  {
    title: 'write, bash, text and step_finish',
    cwd: '/tmp/s-o/repo',
    sessionId: OC_SESSION,
    lines: [
      oc({ type: 'step_start', part: { id: 'prt_1', sessionID: OC_SESSION, type: 'step-start' } }),
      oc({ type: 'tool_use', part: { type: 'tool', tool: 'write', callID: 'call_1', state: { status: 'completed', input: { filePath: '/tmp/s-o/repo/notes.txt', content: 'written by the file tool\n' }, output: 'Wrote file successfully.', metadata: { diagnostics: {}, filepath: '/tmp/s-o/repo/notes.txt', exists: false, truncated: false }, title: 'notes.txt', time: { start: 1, end: 2 } } } }),
      oc({ type: 'tool_use', part: { type: 'tool', tool: 'bash', callID: 'call_2', state: { status: 'completed', input: { command: 'echo appended-by-shell >> notes.txt' }, output: '(no output)', metadata: { output: '(no output)', exit: 0, truncated: false }, title: 'echo appended-by-shell >> notes.txt' } } }),
      oc({ type: 'text', part: { id: 'prt_3', type: 'text', text: 'finished 1', time: { start: 1, end: 2 } } }),
      oc({ type: 'step_finish', part: { id: 'prt_4', reason: 'stop', type: 'step-finish', tokens: { total: 120, input: 100, output: 20, reasoning: 0, cache: { write: 0, read: 0 } }, cost: 0 } }),
    ],
    events: [
      { kind: 'tool_call', name: 'write', input: { filePath: '/tmp/s-o/repo/notes.txt', content: 'written by the file tool\n' }, status: 'ok', output: 'Wrote file successfully.' },
      { kind: 'file_change', path: 'notes.txt', change: 'add' },
      { kind: 'tool_call', name: 'bash', input: { command: 'echo appended-by-shell >> notes.txt' }, status: 'ok', output: '(no output)' },
      { kind: 'command', cmd: 'echo appended-by-shell >> notes.txt', exit: 0, output: '(no output)' },
      { kind: 'message', text: 'finished 1' },
      { kind: 'usage', input_tokens: 100, output_tokens: 20, cost_usd: 0 },
    ],
  },
  {
    title: 'an `ask` permission rejected by run, and an API error',
    lines: [
      oc({ type: 'tool_use', part: { type: 'tool', tool: 'write', callID: 'call_3', state: { status: 'error', input: { filePath: '/w/hello.txt', content: 'x' }, error: 'The user rejected permission to use this specific tool call.' } } }),
      oc({ type: 'error', error: { name: 'APIError', data: { message: 'scripted failure', statusCode: 401, isRetryable: false } } }),
    ],
    events: [
      { kind: 'tool_call', name: 'write', input: { filePath: '/w/hello.txt', content: 'x' }, status: 'denied', output: 'The user rejected permission to use this specific tool call.' },
      { kind: 'error', message: 'scripted failure' },
    ],
  },
]

const THREAD = '01a20c1f-49f9-7e92-87ae-0960111c09cb'
const WRITE_CMD = `/bin/bash -lc "printf '%s' 'written by the file tool\n' > '/tmp/s-x/repo/notes.txt'"`
const CODEX_SAMPLES: Sample[] = [
  {
    title: 'a command, the answer and the running-total usage',
    cwd: '/tmp/s-x/repo',
    sessionId: THREAD,
    lines: [
      j({ type: 'thread.started', thread_id: THREAD }),
      j({ type: 'item.completed', item: { id: 'item_0', type: 'error', message: 'Model metadata for `fake-model` not found. Defaulting to fallback metadata; this can degrade performance and cause issues.' } }),
      j({ type: 'turn.started' }),
      j({ type: 'item.started', item: { id: 'item_1', type: 'command_execution', command: WRITE_CMD, aggregated_output: '', exit_code: null, status: 'in_progress' } }),
      j({ type: 'item.completed', item: { id: 'item_1', type: 'command_execution', command: WRITE_CMD, aggregated_output: '', exit_code: 0, status: 'completed' } }),
      j({ type: 'item.completed', item: { id: 'item_2', type: 'agent_message', text: 'finished 1' } }),
      j({ type: 'turn.completed', usage: { input_tokens: 200, cached_input_tokens: 0, cache_write_input_tokens: 0, output_tokens: 40, reasoning_output_tokens: 0 } }),
    ],
    events: [
      { kind: 'error', warning: true, message: 'Model metadata for `fake-model` not found. Defaulting to fallback metadata; this can degrade performance and cause issues.' },
      { kind: 'tool_call', name: 'command_execution', input: { command: WRITE_CMD }, status: 'started' },
      { kind: 'tool_call', name: 'command_execution', input: { command: WRITE_CMD }, status: 'ok', output: '' },
      { kind: 'command', cmd: WRITE_CMD, exit: 0, output: '' },
      { kind: 'message', text: 'finished 1' },
      { kind: 'usage', input_tokens: 200, output_tokens: 40, cumulative: true },
    ],
  },
  {
    title: 'a failing command, a patch, reconnects and a failed turn',
    cwd: '/tmp/s-x/repo',
    lines: [
      j({ type: 'item.completed', item: { id: 'item_3', type: 'command_execution', command: "/bin/bash -lc 'exit 3'", aggregated_output: 'out\nerr\n', exit_code: 3, status: 'failed' } }),
      j({ type: 'item.completed', item: { id: 'item_4', type: 'file_change', changes: [{ path: '/tmp/s-x/repo/src/a.ts', kind: 'update' }, { path: '/tmp/s-x/repo/b.txt', kind: 'add' }, { path: '/elsewhere/c', kind: 'delete' }], status: 'completed' } }),
      j({ type: 'error', message: 'Reconnecting... waiting for network (Connection failed: error sending request)' }),
      j({ type: 'turn.failed', error: { message: 'unexpected status 401 Unauthorized: scripted failure, url: http://127.0.0.1:18083/v1/responses' } }),
    ],
    events: [
      { kind: 'tool_call', name: 'command_execution', input: { command: "/bin/bash -lc 'exit 3'" }, status: 'error', output: 'out\nerr\n' },
      { kind: 'command', cmd: "/bin/bash -lc 'exit 3'", exit: 3, output: 'out\nerr\n' },
      { kind: 'tool_call', name: 'file_change', input: { changes: [{ path: '/tmp/s-x/repo/src/a.ts', kind: 'update' }, { path: '/tmp/s-x/repo/b.txt', kind: 'add' }, { path: '/elsewhere/c', kind: 'delete' }] }, status: 'ok' },
      { kind: 'file_change', path: 'src/a.ts', change: 'modify' },
      { kind: 'file_change', path: 'b.txt', change: 'add' },
      { kind: 'file_change', path: '/elsewhere/c', change: 'delete' },
      { kind: 'error', warning: true, message: 'Reconnecting... waiting for network (Connection failed: error sending request)' },
      { kind: 'error', message: 'unexpected status 401 Unauthorized: scripted failure, url: http://127.0.0.1:18083/v1/responses' },
    ],
  },
]

const GEMINI_SESSION = '69de3153-8aec-4dd8-96fb-28f9ab68e4af'
const gm = (line: object) => j({ timestamp: '2026-11-24T05:55:09.001Z', ...line })
const GEMINI_STATS = { total_tokens: 240, input_tokens: 200, output_tokens: 40, cached: 0, input: 200, duration_ms: 141, tool_calls: 1 }
const GEMINI_SAMPLES: Sample[] = [
  {
    title: 'write_file, run_shell_command, a fragmented answer and the result',
    cwd: '/tmp/s-g/repo',
    sessionId: GEMINI_SESSION,
    lines: [
      gm({ type: 'init', session_id: GEMINI_SESSION, model: 'fake-model' }),
      gm({ type: 'message', role: 'user', content: 'TURN-1: create' }),
      gm({ type: 'tool_use', tool_name: 'write_file', tool_id: 'write_file_1', parameters: { file_path: '/tmp/s-g/repo/notes.txt', content: 'written by the file tool\n' } }),
      gm({ type: 'tool_result', tool_id: 'write_file_1', status: 'success' }),
      gm({ type: 'tool_use', tool_name: 'run_shell_command', tool_id: 'run_shell_command_1', parameters: { command: 'echo out; exit 3' } }),
      gm({ type: 'tool_result', tool_id: 'run_shell_command_1', status: 'success', output: 'out' }),
      gm({ type: 'message', role: 'assistant', content: 'finished ', delta: true }),
      gm({ type: 'message', role: 'assistant', content: '1', delta: true }),
      gm({ type: 'result', status: 'success', stats: GEMINI_STATS }),
    ],
    events: [
      { kind: 'tool_call', name: 'write_file', input: { file_path: '/tmp/s-g/repo/notes.txt', content: 'written by the file tool\n' }, status: 'started' },
      { kind: 'tool_call', name: 'write_file', input: { file_path: '/tmp/s-g/repo/notes.txt', content: 'written by the file tool\n' }, status: 'ok', output: '' },
      { kind: 'file_change', path: 'notes.txt', change: 'modify' },
      { kind: 'tool_call', name: 'run_shell_command', input: { command: 'echo out; exit 3' }, status: 'started' },
      { kind: 'tool_call', name: 'run_shell_command', input: { command: 'echo out; exit 3' }, status: 'ok', output: 'out' },
      { kind: 'command', cmd: 'echo out; exit 3', exit: null, output: 'out' },
      { kind: 'message', text: 'finished 1' },
      { kind: 'usage', input_tokens: 200, output_tokens: 40 },
    ],
  },
  {
    title: 'an API error result; fragments cut off by the end of output are kept',
    lines: [
      gm({ type: 'result', status: 'error', error: { type: 'unknown', message: '[API Error: {"error":{"code":401,"message":"scripted failure","status":"UNAUTHENTICATED"}}]' }, stats: { total_tokens: 0, input_tokens: 0, output_tokens: 0 } }),
      gm({ type: 'message', role: 'assistant', content: 'half an ans', delta: true }),
    ],
    events: [
      { kind: 'error', message: '[API Error: {"error":{"code":401,"message":"scripted failure","status":"UNAUTHENTICATED"}}]' },
      { kind: 'usage', input_tokens: 0, output_tokens: 0 },
      { kind: 'message', text: 'half an ans' },
    ],
  },
]

const AIDER_BLOCK = '<<<<<<< SEARCH\n=======\nwritten by the file tool\n>>>>>>> REPLACE'
const AIDER_SAMPLES: Sample[] = [
  {
    title: 'banner, an edit block, Applied edit, Tokens',
    cwd: '/work/repo',
    lines: [
      'Aider v0.86.1', 'Main model: openai/fake-model with diff edit format', 'Git repo: .git with 1 files', 'Repo-map: using 1024 tokens, auto refresh',
      'I will create the file.', '', 'notes.txt', '```', ...AIDER_BLOCK.split('\n'), '```', '',
      'Applied edit to notes.txt',
      'Tokens: 2.4k sent, 1.1k cache write, 300 cache hit, 54 received. Cost: $0.0080 message, $0.0080 session.',
    ],
    events: [
      { kind: 'message', text: 'I will create the file.' },
      { kind: 'tool_call', name: 'edit', input: { path: 'notes.txt' }, status: 'ok' },
      { kind: 'file_change', path: 'notes.txt', change: 'modify', diff: AIDER_BLOCK },
      { kind: 'usage', input_tokens: 3800, output_tokens: 54, cost_usd: 0.008 },
    ],
  },
  {
    title: 'a failed edit, a command, retries and an API error',
    lines: [
      'Did not apply edit to src/a.py', 'Running pytest -q', 'Retrying in 0.5 seconds...', 'litellm.AuthenticationError: invalid key', 'the end',
    ],
    events: [
      { kind: 'tool_call', name: 'edit', input: { path: 'src/a.py' }, status: 'error', output: 'Did not apply edit to src/a.py' },
      { kind: 'command', cmd: 'pytest -q', exit: null, output: '' },
      { kind: 'error', warning: true, message: 'Retrying in 0.5 seconds...' },
      { kind: 'error', message: 'litellm.AuthenticationError: invalid key' },
      { kind: 'message', text: 'the end' },
    ],
  },
]

// --- the suites -----------------------------------------------------------------------------

const bins = provisionClis()
const live = (name: string) => {
  const command = bins.get(name)
  return command ? { command } : { skip: `${name} is not installed (scripts/provision-clis.sh failed; see its output above)` }
}

/**
 * Aider stand-in (Aider is Python; no PyPI here). Like Gemini CLI it re-spawns itself, and its outer
 * process ignores SIGTERM, so only a process-group kill with SIGKILL escalation stops it. The inner
 * one checks the flags the plugin must pass, calls the LLM (OpenAI Chat Completions, key from
 * OPENAI_API_KEY) with its chat history, carries out the tool call and prints what Aider prints.
 */
const AIDER_STUB = String.raw`#!/usr/bin/env node
const { spawn, execSync } = require('child_process')
const fs = require('fs')
const path = require('path')
if (!process.env.AIDER_STUB_INNER) {
  process.on('SIGTERM', () => {})
  const inner = spawn(process.execPath, [__filename, ...process.argv.slice(2)], { stdio: 'inherit', env: { ...process.env, AIDER_STUB_INNER: '1' } })
  // Killed by a signal, the inner one leaves the outer one running: only SIGKILL ends it.
  inner.on('exit', (code, signal) => (signal ? setInterval(() => {}, 1000) : process.exit(code ?? 1)))
  return
}
const argv = process.argv.slice(2)
const flag = (name) => argv.includes(name)
const value = (name) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : undefined)
if (flag('--version')) { console.log('aider 0.0.0-stub'); process.exit(0) }
for (const required of ['--yes-always', '--no-auto-commits', '--no-gitignore', '--no-pretty', '--message-file', '--chat-history-file']) {
  if (!flag(required)) { console.error('aider stub: missing ' + required); process.exit(2) }
}
const prompt = fs.readFileSync(value('--message-file'), 'utf8')
const historyFile = value('--chat-history-file')
const history = flag('--restore-chat-history') && fs.existsSync(historyFile) ? fs.readFileSync(historyFile, 'utf8') : ''
console.log('Aider v0.0.0-stub')
console.log('Main model: ' + value('--model') + ' with diff edit format')
console.log('Git repo: .git with 1 files')
if (history) console.log('Restored previous conversation history.')
const tools = [
  { type: 'function', function: { name: 'write_file', description: 'edit', parameters: { type: 'object', properties: { file_path: { type: 'string' }, content: { type: 'string' } }, required: ['file_path', 'content'] } } },
  { type: 'function', function: { name: 'run_shell_command', description: 'shell', parameters: { type: 'object', properties: { command: { type: 'string' } }, required: ['command'] } } },
]
const messages = [{ role: 'system', content: 'Act as an expert software developer. Working directory: ' + process.cwd() }]
if (history) messages.push({ role: 'user', content: 'Earlier conversation:\n' + history }, { role: 'assistant', content: 'Ok.' })
messages.push({ role: 'user', content: prompt })
fetch(value('--openai-api-base') + '/chat/completions', {
  method: 'POST',
  headers: { 'content-type': 'application/json', authorization: 'Bearer ' + process.env.OPENAI_API_KEY },
  body: JSON.stringify({ model: value('--model').replace(/^openai\//, ''), messages, tools, stream: false }),
}).then(async (res) => {
  const body = await res.json()
  if (!res.ok) { console.log('litellm.AuthenticationError: ' + JSON.stringify(body)); process.exit(1) }
  const message = body.choices[0].message
  let said = message.content || ''
  for (const call of message.tool_calls || []) {
    const input = JSON.parse(call.function.arguments)
    if (call.function.name === 'write_file') {
      const rel = path.relative(process.cwd(), input.file_path)
      console.log('I will write ' + rel + '.\n')
      console.log(rel + '\n' + '\x60\x60\x60\n<<<<<<< SEARCH\n=======\n' + input.content + '>>>>>>> REPLACE\n\x60\x60\x60\n')
      fs.writeFileSync(input.file_path, input.content)
      console.log('Applied edit to ' + rel)
      said += 'wrote ' + rel
    } else {
      console.log('Running ' + input.command)
      process.stdout.write(execSync(input.command, { cwd: process.cwd(), encoding: 'utf8' }))
      said += 'ran ' + input.command
    }
  }
  if (message.content) console.log(message.content)
  console.log('Tokens: ' + body.usage.prompt_tokens + ' sent, ' + body.usage.completion_tokens + ' received. Cost: $0.00 message, $0.00 session.')
  fs.appendFileSync(historyFile, '#### ' + prompt + '\n\n' + said + '\n\n')
}, (error) => { console.log('litellm.APIConnectionError: ' + error.message); process.exit(1) })
`

const stubDir = mkdtempSync(join(tmpdir(), 'aider-stub-'))
const aiderStub = join(stubDir, 'aider')
writeFileSync(aiderStub, AIDER_STUB)
chmodSync(aiderStub, 0o755)
process.once('exit', () => rmSync(stubDir, { recursive: true, force: true }))

workerConformance({ name: 'claude-code', create: (command) => claudeCode({ command }), samples: CLAUDE_SAMPLES, live: live('claude') }).run()
workerConformance({ name: 'opencode', create: (command) => opencode({ command }), samples: OPENCODE_SAMPLES, live: live('opencode') }).run()
workerConformance({ name: 'codex', create: (command) => codex({ command }), samples: CODEX_SAMPLES, live: live('codex') }).run()
workerConformance({ name: 'gemini', create: (command) => gemini({ command }), samples: GEMINI_SAMPLES, live: live('gemini') }).run()
workerConformance({ name: 'aider (stub)', create: (command) => aider({ command }), samples: AIDER_SAMPLES, live: { command: aiderStub } }).run()

// --- plugin specifics -------------------------------------------------------------------------

let llm: FakeLlm
const settings = () => ({ llmUrl: llm.url, model: 'fake-model', apiKey: KEY, timeoutSec: 180 })
const exists = (path: string) => access(path).then(() => true, () => false)

test.before(async () => {
  llm = await start({
    script: (req) => {
      if (req.lastIsToolResult || req.tools.length === 0) return { text: `finished ${req.toolResultCount}` }
      // A compound command Claude's acceptEdits mode does not approve by itself (docs/clis.md).
      if (req.lastUserText.includes('RISKY')) return { toolCalls: [shellCall(req, 'git log --oneline > notes.txt; python3 -c "print(1)" >> notes.txt')!] }
      return { toolCalls: [writeFileCall(req, 'notes.txt', 'written\n')!] }
    },
  })
})
test.after(async () => {
  await llm?.close()
})

test('claude-code: a denied tool call with exit 0 lands in `denied`', async () => {
  const command = bins.get('claude')
  if (!command) assert.unreachable('claude is not installed (scripts/provision-clis.sh)')
  const ws = await workspace('claude-denied')
  try {
    const worker = claudeCode({ command, permissionMode: 'acceptEdits' })
    const result = await runWorkerTurn(worker, { prompt: 'RISKY: run a compound command', cwd: ws.repo }, settings(), { home: ws.home })
    assert.is(result.exitCode, 0, result.stderrTail)
    assert.is(result.denied.length, 1, JSON.stringify(result.events))
    assert.match(result.denied[0]!, /^Bash: git log --oneline > notes\.txt; python3/)
    assert.ok(result.events.some((e) => e.kind === 'tool_call' && e.status === 'denied'))
    assert.not.ok(await exists(join(ws.repo, 'notes.txt')))
  } finally {
    await ws.remove()
  }
})

test('opencode: an `ask` permission is denied without autoApprove (exit 0) and approved by default', async () => {
  const command = bins.get('opencode')
  if (!command) assert.unreachable('opencode is not installed (scripts/provision-clis.sh)')
  const ws = await workspace('opencode-denied')
  try {
    const ask = { permission: { edit: 'ask' } }
    const refused = await runWorkerTurn(opencode({ command, autoApprove: false, config: ask }), { prompt: 'write notes.txt', cwd: ws.repo }, settings(), { home: ws.home })
    assert.is(refused.exitCode, 0, refused.stderrTail)
    assert.is(refused.denied.length, 1, JSON.stringify(refused.events))
    assert.match(refused.denied[0]!, /^write: .*notes\.txt$/)
    assert.not.ok(await exists(join(ws.repo, 'notes.txt')))

    const approved = await runWorkerTurn(opencode({ command, config: ask }), { prompt: 'write notes.txt', cwd: ws.repo }, settings(), { home: ws.home })
    assert.is(approved.exitCode, 0, approved.stderrTail)
    assert.equal(approved.denied, [])
    assert.is(await readFile(join(ws.repo, 'notes.txt'), 'utf8'), 'written\n')
  } finally {
    await ws.remove()
  }
})

test('codex: the sandbox is always passed and can never be read-only', () => {
  const turn = { prompt: 'p', cwd: '/work/repo' }
  const base = { llmUrl: 'http://127.0.0.1:9', model: 'm', apiKey: KEY, timeoutSec: 1 }
  for (const worker of [codex(), codex({ sandbox: 'workspace-write' })]) {
    for (const sessionId of [undefined, 'thread-1']) {
      const { args } = worker.invocation({ ...turn, sessionId }, base, '/home/turn')
      const settingsPassed = args.filter((arg, i) => args[i - 1] === '-c')
      assert.equal(settingsPassed.filter((arg) => arg.startsWith('sandbox_mode=')), ['sandbox_mode="workspace-write"'], args.join(' '))
      assert.not.ok(args.some((arg) => arg.includes('read-only')))
      assert.ok(args.includes('--json'))
      assert.is(args.at(-1), '-', 'prompt from stdin')
      if (sessionId) assert.equal(args.slice(0, 3), ['exec', 'resume', '--json'])
      assert.ok(settingsPassed.some((arg) => arg.includes('base_url="http://127.0.0.1:9/v1"') && arg.includes('wire_api="responses"')))
    }
  }
  const full = codex({ sandbox: 'danger-full-access' }).invocation(turn, base, '/home/turn').args
  assert.ok(full.includes('sandbox_mode="danger-full-access"'))
  for (const bad of ['read-only', '', 'workspace_write']) {
    try {
      codex({ sandbox: bad as 'workspace-write' })
      assert.unreachable(`sandbox ${bad} accepted`)
    } catch (error) {
      assert.ok(isAppError(error) && error.code === 'invalid_worker_option', String(error))
    }
  }
})

test('gemini: neither a turn nor the --version probe relaunches the CLI as a second node process', async () => {
  const { env } = gemini().invocation({ prompt: 'p', cwd: '/w' }, settings(), '/h')
  assert.is(env.GEMINI_CLI_NO_RELAUNCH, 'true')
  const dir = mkdtempSync(join(tmpdir(), 'gemini-stub-'))
  try {
    const stub = join(dir, 'gemini')
    writeFileSync(stub, '#!/bin/sh\necho "0.61.0 no-relaunch=${GEMINI_CLI_NO_RELAUNCH:-unset}"\n')
    chmodSync(stub, 0o755)
    assert.equal(await gemini({ command: stub }).probe!(), { ok: true, version: '0.61.0 no-relaunch=true' })
    // The other plugins' probes add nothing to the environment.
    assert.equal(await codex({ command: stub }).probe!(), { ok: true, version: '0.61.0 no-relaunch=unset' })
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('workerFor: every WORKER_MODE, and a typed error for anything else', () => {
  assert.equal(WORKER_NAMES, ['opencode', 'claude-code', 'codex', 'gemini', 'aider'])
  for (const mode of WORKER_NAMES) assert.is(workerFor(mode).name, mode)
  assert.is((workerFor('codex', { command: '/opt/codex' }).invocation({ prompt: 'p', cwd: '/w' }, settings(), '/h')).command, '/opt/codex')
  for (const mode of ['', 'OpenCode', 'claude', 'toString', '__proto__']) {
    try {
      workerFor(mode)
      assert.unreachable(`${mode} accepted`)
    } catch (error) {
      assert.ok(isAppError(error) && error.code === 'unknown_worker_mode', String(error))
    }
  }
})

test('url spelling per protocol: /v1 for OpenAI-compatible clients, none for Anthropic and Gemini', () => {
  const env = (worker: ReturnType<typeof workerFor>, llmUrl: string) => worker.invocation({ prompt: 'p', cwd: '/w' }, { ...settings(), llmUrl }, '/h')
  assert.is(env(claudeCode(), 'http://h:1/v1/').env.ANTHROPIC_BASE_URL, 'http://h:1')
  assert.is(env(claudeCode(), 'http://h:1').env.ANTHROPIC_BASE_URL, 'http://h:1')
  assert.is(env(gemini(), 'http://h:1/v1beta').env.GOOGLE_GEMINI_BASE_URL, 'http://h:1')
  assert.match(env(opencode(), 'http://h:1').env.OPENCODE_CONFIG_CONTENT!, '"baseURL":"http://h:1/v1"')
  assert.match(env(opencode(), 'https://openrouter.ai/api/v1').env.OPENCODE_CONFIG_CONTENT!, '"baseURL":"https://openrouter.ai/api/v1"')
  assert.ok(env(aider(), 'http://h:1/').args.includes('http://h:1/v1'))
})

test.run()
