/**
 * The agent's small pieces in isolation: configuration precedence, the job-event reporter (order,
 * batching, redaction), budgets, the Director's JSON extraction and endpoint spelling, prompts, and
 * event rendering.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { AgentEnv, resolveAgentConfig, resolveAgentSettings } from '../core/agent-config.ts'
import { ROOT } from './helpers.ts'
import { createReporter } from '../core/agent/reporter.ts'
import { createBudget } from '../core/agent/budget.ts'
import { chatEndpoint, extractJson } from '../core/agent/llm.ts'
import { ticketPrompt, assessRequest } from '../core/agent/prompt.ts'
import { boundEvent, renderEvent } from '../core/agent/render.ts'
import { lastMessage, runTurn } from '../core/agent/turn.ts'
import { createGit } from '../core/agent/git.ts'
import type { Worker, WorkerEvent } from '../core/worker.ts'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import type { WorkerContext } from '../core/agent/api.ts'
import { createLogger, redact } from '../core/log.ts'
import type { JobEventInput } from '../core/types.ts'

const BASE_ENV = { TERARCHITECT_API_URL: 'http://127.0.0.1:5010', PROJECT_ID: '1', TICKET_ID: '2', TERARCHITECT_AGENT_TOKEN: 'tj1.token-value' }
const quiet = createLogger('error')

test('config: kind from argv or JOB_KIND; a token is required; review needs PR_NUMBER and COMMENT_BODY', () => {
  assert.is(resolveAgentConfig(BASE_ENV, 'ticket').kind, 'ticket')
  assert.is(resolveAgentConfig({ ...BASE_ENV, JOB_KIND: 'review', PR_NUMBER: '3', COMMENT_BODY: 'x' }).kind, 'review')
  assert.throws(() => resolveAgentConfig(BASE_ENV, 'deploy'), /usage: agent ticket\|review/)
  assert.throws(() => resolveAgentConfig({ ...BASE_ENV, TERARCHITECT_AGENT_TOKEN: undefined }, 'ticket'), /TERARCHITECT_AGENT_TOKEN/)
  assert.throws(() => resolveAgentConfig(BASE_ENV, 'review'), /PR_NUMBER and COMMENT_BODY/)
  assert.throws(() => resolveAgentConfig({ ...BASE_ENV, TICKET_ID: 'x' }, 'ticket'), /TICKET_ID/)
  const config = resolveAgentConfig({ ...BASE_ENV, GITHUB_TOKEN: 'ghp_x', PATH: '/bin', HOME: '/root' }, 'ticket')
  assert.equal(Object.keys(config.baseEnv).sort(), ['HOME', 'PATH'], 'secrets stay out of the base env')
})

test('settings: env override > app setting > default; project worker mode over the app-wide one', () => {
  const config = resolveAgentConfig({ ...BASE_ENV, DIRECTOR_MAX_TURNS: '9', WORKER_MODEL: 'from-env' }, 'ticket')
  const settings = resolveAgentSettings(config, { WORKER_MODE: 'codex', WORKER_MODEL: 'm', DIRECTOR_MAX_MINUTES: '5' }, 'gemini')
  assert.is(settings.worker.model, 'from-env')
  assert.is(settings.workerMode, 'gemini')
  assert.equal(settings.budget, { maxTurns: 9, maxMinutes: 5, maxTokens: 2000000 })
  assert.is(settings.director, undefined, 'single-shot without AGENT_LLM_URL/AGENT_MODEL')
  assert.not.ok('githubToken' in settings || 'GITHUB_TOKEN' in config, 'the agent has no forge token setting')
  // The LLMs are the app's relay, the key is the job token: no LLM URL or key comes from the settings.
  assert.is(settings.worker.llmUrl, 'http://127.0.0.1:5010/api/relay/llm/worker')
  assert.is(settings.worker.apiKey, 'tj1.token-value')
  const directed = resolveAgentSettings(config, { DIRECTOR_ENABLED: 'true', AGENT_MODEL: 'd', DRAFT_PR_ON_BUDGET: 'true', WORKER_API_KEY: 'sk-x', AGENT_LLM_URL: 'http://llm/v1' }, null)
  assert.equal(directed.director, { url: 'http://127.0.0.1:5010/api/relay/llm/director', model: 'd', apiKey: 'tj1.token-value' })
  assert.is(directed.worker.apiKey, 'tj1.token-value')
  assert.is(resolveAgentSettings(config, { DIRECTOR_ENABLED: 'false', AGENT_MODEL: 'd' }, null).director, undefined)
  assert.ok(directed.draftPrOnBudget)
  assert.is(directed.workerMode, 'opencode')
})

test('reporter: order kept, events queued during a post go out as one batch, secrets masked', async () => {
  redact('sekrit-value-123')
  const batches: JobEventInput[][] = []
  let release!: () => void
  let first = true
  const reporter = createReporter({
    log: quiet,
    post: async (events) => {
      batches.push(events)
      if (first) {
        first = false
        await new Promise<void>((resolve) => (release = resolve))
      }
    },
  })
  reporter.step('one', 'first')
  reporter.step('two', 'token sekrit-value-123 here', 'raw sekrit-value-123', { kind: 'x', nested: { value: 'sekrit-value-123' } })
  reporter.worker({ kind: 'message', text: 'hello' }, 1)
  await new Promise((resolve) => setTimeout(resolve, 10))
  release()
  await reporter.flush()
  assert.is(batches.length, 2)
  assert.equal(batches.flat().map((e) => e.step), ['one', 'two', 'worker'])
  assert.not.match(JSON.stringify(batches), 'sekrit-value-123')
  assert.is(batches[1]![0]!.summary, 'token *** here')
  assert.is(batches[1]![1]!.summary, 'turn 1: hello')
})

test('reporter: a failing post is logged and dropped, never thrown', async () => {
  const reporter = createReporter({ log: quiet, post: async () => { throw new Error('app away') } })
  reporter.step('a', 'b')
  await reporter.flush()
})

test('budget: turns counted before a turn, tokens and minutes any time', () => {
  let now = 0
  const budget = createBudget({ maxTurns: 2, maxMinutes: 1, maxTokens: 100 }, () => now)
  assert.is(budget.exhausted({ nextTurn: true }), null)
  budget.startTurn()
  budget.startTurn()
  assert.is(budget.exhausted(), null)
  assert.is(budget.exhausted({ nextTurn: true })?.name, 'DIRECTOR_MAX_TURNS')
  budget.add({ input_tokens: 60, output_tokens: 40, cost_usd: 0.5 })
  assert.is(budget.exhausted()?.name, 'DIRECTOR_MAX_TOKENS')
  assert.equal(budget.usage, { input_tokens: 60, output_tokens: 40, cost_usd: 0.5 })
  now = 61_000
  assert.is(budget.exhausted()?.name, 'DIRECTOR_MAX_MINUTES', 'the clock is checked first')
})

test('Director JSON is found bare, fenced or amid prose; the endpoint is spelled right', () => {
  assert.equal(extractJson('{"complete": true}'), { complete: true })
  assert.equal(extractJson('Sure!\n```json\n{"complete": false, "next_prompt": "x"}\n```'), { complete: false, next_prompt: 'x' })
  assert.equal(extractJson('Verdict: {"complete": true, "summary": "a {b}"} done'), { complete: true, summary: 'a {b}' })
  assert.is(extractJson('no json here'), undefined)
  assert.is(extractJson('[1,2]'), undefined)
  assert.is(chatEndpoint('http://h:1'), 'http://h:1/v1/chat/completions')
  assert.is(chatEndpoint('http://h:1/v1/'), 'http://h:1/v1/chat/completions')
  assert.is(chatEndpoint('https://h/openai/v1beta'), 'https://h/openai/v1beta/chat/completions')
  assert.is(chatEndpoint('http://h/x/chat/completions'), 'http://h/x/chat/completions')
})

const CONTEXT = {
  project: { id: 1, name: 'shop', key: 'SHOP', description: 'An online shop', test_command: 'npm test' },
  repo_url: 'https://github.com/acme/shop.git',
  graph: { nodes: [{ id: 'web', label: 'Web' }, { id: 'pay', label: 'Payments' }], edges: [], version: 1 },
  ticket: {
    id: 7, number: 3, title: 'Add checkout', description: 'Build the checkout page.', priority: 'high',
    related_nodes: [{ id: 'web', label: 'Web', type: 'frontend', tech: 'Lit' }, { id: 'pay', label: 'Payments', description: 'Stripe wrapper' }],
    related_edges: [{ id: 'e', source: 'web', target: 'pay', source_label: 'Web', target_label: 'Payments', label: 'charges', protocol: 'HTTPS' }],
  },
  notes: [{ id: 1, title: 'Style', content: 'Use tabs.' }],
  neighbouring_tickets: [{ id: 8, number: 4, title: 'Add cart', column_id: 'done', priority: 'low' }],
  settings: { GITHUB_TOKEN: 'ghp_must_not_appear', WORKER_API_KEY: 'sk-must-not-appear' },
} as unknown as WorkerContext

test('ticket prompt: ticket, linked components and connections, notes, neighbours, rules; never settings', () => {
  const prompt = ticketPrompt(CONTEXT, { cwd: '/workspace', branch: 'ticket-7', base: 'main', testCommand: 'npm test' })
  for (const text of ['Working directory: /workspace', '# Ticket SHOP-3: Add checkout', 'Priority: high', 'Build the checkout page.', 'An online shop',
    '- Web (frontend, Lit)', '- Payments: Stripe wrapper', '- Web → Payments: charges (HTTPS)', '### Style', 'Use tabs.', 'SHOP-4 [done] Add cart',
    'make them pass', 'Do not commit']) {
    assert.ok(prompt.includes(text), `prompt holds ${JSON.stringify(text)}`)
  }
  assert.not.match(prompt, 'must_not_appear')
  assert.not.match(prompt, 'must-not-appear')
})

test('assessment request carries the diff, the test outcome and the failure', () => {
  const text = assessRequest({
    turn: 2, failure: 'the worker exited 0 but changed nothing', workerMessage: 'All done!', denied: ['Bash: rm -rf /'],
    diff: { stat: ' a.txt | 1 +', diff: '+hello', truncated: true, empty: false }, base: 'main',
    tests: { command: 'npm test', exitCode: 1, output: '1 failing', timedOut: false }, budgetLeft: '1 of 3 turns',
  })
  for (const part of ['## Worker turn 2', 'FAILED: the worker exited 0 but changed nothing', 'All done!', 'Bash: rm -rf /', '+hello', 'diff truncated', '`npm test`: exit 1', '1 failing', '1 of 3 turns', '"complete"']) {
    assert.ok(text.includes(part), part)
  }
})

test('events render as one line; stored copies are bounded; the final message is the last words', () => {
  assert.is(renderEvent({ kind: 'tool_call', name: 'Write', input: { file_path: '/w/a.txt', content: 'x' }, status: 'ok' }), 'Write(/w/a.txt) ok')
  assert.is(renderEvent({ kind: 'command', cmd: 'npm\ntest', exit: 1, output: '' }), '$ npm test → 1')
  assert.is(renderEvent({ kind: 'usage', input_tokens: 5, output_tokens: 2, cost_usd: 0.01 }), 'usage: 5 in / 2 out / $0.0100')
  assert.ok(renderEvent({ kind: 'message', text: 'x'.repeat(1000) }).length <= 300)
  const bounded = boundEvent({ kind: 'file_change', path: 'a', change: 'add', diff: 'y'.repeat(20000) })
  assert.ok(bounded.diff!.length < 9000)
  assert.is(lastMessage([
    { kind: 'message', text: 'thinking' },
    { kind: 'tool_call', name: 'Write', input: {}, status: 'ok' },
    { kind: 'message', text: 'Done ' },
    { kind: 'message', text: 'now.' },
    { kind: 'usage', input_tokens: 1, output_tokens: 1 },
  ]), 'Done now.')
})

/** A Worker defined here: runs `sh -c <script>` and reads `DENY`/`SAY x` lines (the plugin contract, nothing more). */
function shellWorker(script: string): Worker {
  return {
    name: 'test-shell',
    invocation: () => ({ command: 'sh', args: ['-c', script], env: {} }),
    parseLine: (line): WorkerEvent[] => {
      if (line === 'DENY') return [{ kind: 'tool_call', name: 'Bash', input: { command: 'rm -rf /' }, status: 'denied' }]
      if (line.startsWith('SAY ')) return [{ kind: 'message', text: line.slice(4) }]
      return []
    },
  }
}

test('a turn fails on a denied call, a non-zero exit, a timeout, or no change when one was asked', async () => {
  const repo = mkdtempSync(join(tmpdir(), 'turn-verdict-'))
  const home = mkdtempSync(join(tmpdir(), 'turn-home-'))
  try {
    spawnSync('git', ['init', '-q', '-b', 'main', repo])
    spawnSync('git', ['-C', repo, '-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-q', '--allow-empty', '-m', 'init'])
    const git = createGit({ cwd: repo, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home }, author: { name: 't', email: 't@t' } })
    const streamed: string[] = []
    const reporter = { step: () => {}, worker: (event: WorkerEvent) => void streamed.push(event.kind), flush: async () => {} }
    const verdict = async (script: string, expectChanges = true, timeoutSec = 30) => (await runTurn({
      worker: shellWorker(script), settings: { llmUrl: 'http://x', model: 'm', apiKey: '', timeoutSec }, cwd: repo, home, git, reporter,
      budget: createBudget({ maxTurns: 10, maxMinutes: 10, maxTokens: 1000 }), signal: new AbortController().signal,
    }, { turn: 1, prompt: 'p', expectChanges }))
    const ok = await verdict('echo one > one.txt; echo "SAY wrote it"')
    assert.is(ok.failure, undefined)
    assert.ok(ok.changed)
    assert.is(ok.message, 'wrote it')
    assert.match((await verdict('echo DENY; echo two > two.txt')).failure ?? '', 'tool calls were denied: Bash: rm -rf /')
    assert.match((await verdict('echo three > three.txt; exit 3')).failure ?? '', 'the worker exited 3')
    assert.match((await verdict('sleep 20', true, 1)).failure ?? '', 'timed out')
    assert.is((await verdict('echo "SAY nothing to do"')).failure, 'the worker exited 0 but changed nothing')
    assert.is((await verdict('echo "SAY nothing to do"', false)).failure, undefined)
    assert.ok(streamed.includes('tool_call') && streamed.includes('message'), 'events streamed while the turn ran')
  } finally {
    rmSync(repo, { recursive: true, force: true })
    rmSync(home, { recursive: true, force: true })
  }
})

test('docs/agent.md documents every variable of the schema', () => {
  const doc = readFileSync(join(ROOT, 'docs/agent.md'), 'utf8')
  for (const name of Object.keys(AgentEnv.properties)) assert.ok(doc.includes(`\`${name}\``), `${name} missing from docs/agent.md`)
})

test.run()
