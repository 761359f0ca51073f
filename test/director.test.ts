// test-runner: slow
/**
 * The Director loop end to end: a Director model on the fake LLM (Chat Completions) plans, rejects
 * the first worker turn after seeing the real diff and the failing test command, and accepts the
 * second; budgets end a job honestly (named, non-zero, no PR, or a draft PR when asked). The worker
 * is the real Claude Code CLI (the quickest of the four here).
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { writeFileCall, type LlmRequest, type Reply } from './fixtures/fake-llm.ts'
import {
  DIRECTOR_MODEL, cliDirs, createTicket, getTicket, remoteGit, runAgentProcess, runAndClaim, startWorld, ticketEvents, type World,
} from './bench/agent-harness.ts'
import { assertWorldClean } from './secret-scan.ts'

let world: World
let claude: string
const directorCalls: LlmRequest[] = []

/** Director: plan, then "not complete" while HEALTH.md lacks "ready" in the diff it is shown. */
function director(request: LlmRequest): Reply {
  directorCalls.push(request)
  const last = request.lastUserText
  if (last.includes('Plan the work')) {
    return { text: '```json\n{"plan": "1. write HEALTH.md\\n2. check it", "prompt": "Create HEALTH.md saying the service is healthy."}\n```' }
  }
  if (last.includes('+healthy and ready')) return { text: '{"complete": true, "next_prompt": "", "summary": "HEALTH.md reports the service as healthy and ready."}' }
  return { text: 'Not yet. {"complete": false, "next_prompt": "FIX-IT: HEALTH.md must say exactly: healthy and ready", "summary": "HEALTH.md exists but lacks readiness."}' }
}

/** Worker: writes "healthy", or "healthy and ready" once told to FIX-IT. */
function worker(request: LlmRequest): Reply {
  if (request.lastIsToolResult || request.tools.length === 0) return { text: 'Wrote HEALTH.md.' }
  const content = request.lastUserText.includes('FIX-IT') ? 'healthy and ready\n' : 'healthy\n'
  return { toolCalls: [writeFileCall(request, 'HEALTH.md', content)!] }
}

const script = (request: LlmRequest) => (request.model === DIRECTOR_MODEL ? director(request) : worker(request))

test.before(async () => {
  claude = cliDirs().get('claude')!
  world = await startWorld({ script, project: { test_command: 'grep -q ready HEALTH.md && echo ready-ok' } })
  await world.settings({ WORKER_MODE: 'claude-code', AGENT_LLM_URL: world.llm.url, AGENT_MODEL: DIRECTOR_MODEL, AGENT_API_KEY: world.secrets.directorKey })
})

test.after(async () => {
  await world?.close()
})

test('two turns: the Director rejects the first result from the real diff and tests, the second fixes it', async () => {
  if (!claude) assert.unreachable('claude is not installed: run scripts/provision-clis.sh')
  directorCalls.length = 0
  // A past outcome in project memory (keyword search: no embedding service is configured here).
  const indexed = await world.t.api('POST', `/api/projects/${world.projectId}/memory/index`, {
    documents: [
      { kind: 'review', ref: 'health-lesson', title: 'Lesson: health endpoints', content: 'Health readiness checks must say ready; reviewers rejected a health file without readiness.' },
      { kind: 'doc', ref: 'unrelated', title: 'Billing currency', content: 'Invoices are issued in euros.' },
    ],
  }, world.people)
  assert.is(indexed.status, 201, JSON.stringify(indexed.body))
  const ticket = await createTicket(world, { title: 'Health with readiness', description: 'Add a health file with readiness.' })
  const job = await runAndClaim(world, ticket.id)
  const result = await runAgentProcess(world, job, { path: [claude] })
  assert.is(result.code, 0, `${result.stdout.slice(-3000)}\n${result.stderr.slice(-2000)}`)

  assert.is(remoteGit(world, ['show', `ticket-${ticket.id}:HEALTH.md`]), 'healthy and ready\n')
  const pull = world.gh.state.repo('acme/widgets')!.pulls.find((p) => p.head.ref === `ticket-${ticket.id}`)!
  assert.ok(pull, 'PR opened')
  assert.match(pull.body ?? '', 'HEALTH.md reports the service as healthy and ready.')
  assert.match(pull.body ?? '', 'directed by director-model')
  assert.is((await getTicket(world, ticket.id)).column_id, 'in_review')

  // Plan + two assessments; the first assessment saw the real diff and the failing test command.
  assert.is(directorCalls.length, 3)
  const first = directorCalls[1]!.lastUserText
  assert.match(first, '## Worker turn 1')
  assert.match(first, '+healthy')
  assert.match(first, 'grep -q ready HEALTH.md && echo ready-ok`: exit 1')
  assert.match(directorCalls[2]!.lastUserText, 'ready-ok')
  assert.ok(world.llm.keyWasSent(world.secrets.directorKey), 'the Director key was sent')

  const events = await ticketEvents(world, ticket.id)
  // The memories the Director was given are named on the ticket and were in its plan request.
  const recalled = events.find((e) => e.event?.kind === 'memory')
  assert.ok(recalled, 'a memory event on the ticket')
  assert.match(recalled!.summary, 'Lesson: health endpoints')
  assert.ok((recalled!.event!.used as { title: string }[]).some((m) => m.title === 'Lesson: health endpoints'))
  assert.match(directorCalls[0]!.lastUserText, 'reviewers rejected a health file without readiness')
  const verdicts = events.filter((e) => e.event?.kind === 'director_verdict').map((e) => e.event!.complete)
  assert.equal(verdicts, [false, true])
  assert.ok(events.some((e) => e.step === 'plan' && e.summary.includes('write HEALTH.md')))
  const turns = events.filter((e) => e.event?.kind === 'turn_started')
  assert.is(turns.length, 2)
  assert.match(turns[1]!.summary, 'resumed session')
  assert.match(turns[1]!.raw_output ?? '', 'FIX-IT')
  const tests = events.filter((e) => e.step === 'tests').map((e) => e.event?.exit)
  assert.equal(tests, [1, 0])

  // Usage on the job counts the worker and the Director.
  const jobRow = (await world.t.api('GET', `/api/jobs/${job.job_id}`, undefined, world.people)).body
  assert.ok(jobRow.usage.input_tokens >= 400 + 3 * 100, JSON.stringify(jobRow.usage))
})

test('the Director plans while the setup command runs: the setup sees the plan asked for before it ends', async () => {
  // The setup command waits (up to 20 s) for the mark the Director's plan request leaves; asked
  // only after the setup command, the plan would never come in time and the setup would exit 1.
  const dir = mkdtempSync(join(tmpdir(), 'director-setup-'))
  const mark = join(dir, 'planned')
  world.llm.setScript((request) => {
    if (request.model === DIRECTOR_MODEL && request.lastUserText.includes('Plan the work')) writeFileSync(mark, 'asked\n')
    return script(request)
  })
  const setupCommand = `for i in $(seq 1 400); do if [ -f ${mark} ]; then echo plan-asked; exit 0; fi; sleep 0.05; done; echo no-plan; exit 1`
  const project = (patch: Record<string, unknown>) => world.t.api('PATCH', `/api/projects/${world.projectId}`, patch, world.people)
  assert.is((await project({ setup_command: setupCommand })).status, 200)
  try {
    const ticket = await createTicket(world, { title: 'Health while setting up', description: 'Add a health file with readiness.' })
    const job = await runAndClaim(world, ticket.id)
    const result = await runAgentProcess(world, job, { path: [claude] })
    assert.is(result.code, 0, `${result.stdout.slice(-3000)}\n${result.stderr.slice(-2000)}`)
    assert.ok(existsSync(mark), 'the Director was asked for a plan')
    const events = await ticketEvents(world, ticket.id)
    const setup = events.find((e) => e.step === 'setup')
    assert.ok(setup, 'a setup event')
    assert.is(setup!.event?.exit, 0, `the setup command did not see the plan asked for: ${setup!.summary}`)
    assert.match(String(setup!.event?.output ?? ''), 'plan-asked')
    // The plan and the setup are both done before the worker's first turn.
    const index = (pick: (e: (typeof events)[number]) => boolean) => events.findIndex(pick)
    const firstTurn = index((e) => e.event?.kind === 'turn_started')
    assert.ok(firstTurn > index((e) => e.step === 'setup') && firstTurn > index((e) => e.step === 'plan'), 'the first turn starts after the plan and the setup')
    assert.is(remoteGit(world, ['show', `ticket-${ticket.id}:HEALTH.md`]), 'healthy and ready\n')
  } finally {
    world.llm.setScript(script)
    await project({ setup_command: null })
    rmSync(dir, { recursive: true, force: true })
  }
})

test('turn budget exhausted: failed with DIRECTOR_MAX_TURNS named, nothing pushed, no PR', async () => {
  await world.settings({ DIRECTOR_MAX_TURNS: 1, DRAFT_PR_ON_BUDGET: false })
  try {
    const ticket = await createTicket(world, { title: 'Out of turns' })
    const job = await runAndClaim(world, ticket.id)
    const result = await runAgentProcess(world, job, { path: [claude] })
    assert.is(result.code, 3)
    const events = await ticketEvents(world, ticket.id)
    const budget = events.find((e) => e.step === 'budget')
    assert.ok(budget, 'a budget event')
    assert.match(budget!.summary, 'DIRECTOR_MAX_TURNS')
    assert.match(budget!.summary, 'no pull request was opened')
    assert.is(remoteGit(world, ['rev-parse', '--verify', '-q', `ticket-${ticket.id}`]), null)
    assert.is(world.gh.state.repo('acme/widgets')!.pulls.filter((p) => p.head.ref === `ticket-${ticket.id}`).length, 0)
    assert.is((await getTicket(world, ticket.id)).column_id, 'in_progress')
  } finally {
    await world.settings({ DIRECTOR_MAX_TURNS: null })
  }
})

test('turn budget exhausted with DRAFT_PR_ON_BUDGET=true: a draft PR with the work so far, still a failure', async () => {
  await world.settings({ DIRECTOR_MAX_TURNS: 1, DRAFT_PR_ON_BUDGET: true })
  try {
    const ticket = await createTicket(world, { title: 'Draft on budget' })
    const job = await runAndClaim(world, ticket.id)
    const result = await runAgentProcess(world, job, { path: [claude] })
    assert.is(result.code, 3)
    const pull = world.gh.state.repo('acme/widgets')!.pulls.find((p) => p.head.ref === `ticket-${ticket.id}`)
    assert.ok(pull?.draft, 'a draft PR')
    assert.is(remoteGit(world, ['show', `ticket-${ticket.id}:HEALTH.md`]), 'healthy\n')
    const events = await ticketEvents(world, ticket.id)
    assert.match(events.find((e) => e.step === 'budget')?.summary ?? '', `draft PR ${pull!.html_url}`)
    assert.is((await getTicket(world, ticket.id)).column_id, 'in_progress', 'not moved to In Review')
  } finally {
    await world.settings({ DIRECTOR_MAX_TURNS: null, DRAFT_PR_ON_BUDGET: null })
  }
})

test('token budget exhausted by the plan: no worker turn runs, DIRECTOR_MAX_TOKENS is named', async () => {
  await world.settings({ DIRECTOR_MAX_TOKENS: 50 })
  try {
    const ticket = await createTicket(world, { title: 'Out of tokens' })
    const job = await runAndClaim(world, ticket.id)
    const result = await runAgentProcess(world, job, { path: [claude] })
    assert.is(result.code, 3)
    const events = await ticketEvents(world, ticket.id)
    assert.match(events.find((e) => e.step === 'budget')?.summary ?? '', 'DIRECTOR_MAX_TOKENS')
    assert.not.ok(events.some((e) => e.step === 'turn'), 'no worker turn')
  } finally {
    await world.settings({ DIRECTOR_MAX_TOKENS: null })
  }
})

test('wall-clock budget: a hanging worker turn is stopped at the deadline, DIRECTOR_MAX_MINUTES is named', async () => {
  // The worker's LLM call hangs; the env override (0.1 min) is below what the settings allow.
  world.llm.setScript((request) => (request.model === DIRECTOR_MODEL ? director(request) : { ...worker(request), delayMs: 60_000 }))
  try {
    const ticket = await createTicket(world, { title: 'Out of time' })
    const job = await runAndClaim(world, ticket.id)
    const started = Date.now()
    const result = await runAgentProcess(world, job, { path: [claude], env: { DIRECTOR_MAX_MINUTES: '0.1' } })
    assert.is(result.code, 3, result.stdout.slice(-2000))
    assert.ok(Date.now() - started < 40_000, 'stopped near the deadline, not after the hang')
    const events = await ticketEvents(world, ticket.id)
    assert.match(events.find((e) => e.step === 'budget')?.summary ?? '', 'DIRECTOR_MAX_MINUTES')
    assert.match(events.find((e) => e.event?.kind === 'turn_finished')?.summary ?? '', 'ran out of wall-clock budget')
    assert.is(remoteGit(world, ['rev-parse', '--verify', '-q', `ticket-${ticket.id}`]), null)
  } finally {
    world.llm.setScript(script)
  }
})

test('a Director that never answers with JSON fails the job with the reason', async () => {
  world.llm.setScript((request) => (request.model === DIRECTOR_MODEL ? { text: 'I would rather chat.' } : worker(request)))
  try {
    const ticket = await createTicket(world, { title: 'Chatty Director' })
    const job = await runAndClaim(world, ticket.id)
    const result = await runAgentProcess(world, job, { path: [claude] })
    assert.is(result.code, 1)
    const events = await ticketEvents(world, ticket.id)
    assert.match(events.find((e) => e.step === 'error')?.summary ?? '', 'did not answer with JSON')
  } finally {
    world.llm.setScript(script)
  }
})

test('nothing the suite stored holds a secret: database, fake GitHub, app log, agent output', async () => {
  assert.ok(world, 'the suite ran agents')
  await assertWorldClean(world)
})

test.run()
