/**
 * Issue 10, acceptance 5: a job whose token budget runs out mid-run stops with the budget named,
 * enforced by the app's LLM relay, for each real CLI (the pinned binaries of
 * scripts/provision-clis.sh). DIRECTOR_MAX_TOKENS is 100 and every fake LLM answer reports 120
 * tokens, so the first call of a job passes and the relay refuses the next one; the CLI reports the
 * refusal and the agent ends the job as DIRECTOR_MAX_TOKENS (exit 3, no pull request).
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { defaultScript, type LlmRequest } from '../fixtures/fake-llm.ts'
import { DIRECTOR_MODEL, cliDirs, createTicket, getTicket, runAgentProcess, runAndClaim, startWorld, ticketEvents, type World } from '../bench/agent-harness.ts'
import { assertWorldClean } from '../secret-scan.ts'

let world: World
let dirs: Map<string, string>

test.before(async () => {
  dirs = cliDirs()
  world = await startWorld({
    script: defaultScript({ path: 'HEALTH.md', content: 'healthy\n', finalText: 'Added HEALTH.md.' }),
    settings: { DIRECTOR_MAX_TOKENS: 100, WORKER_TIMEOUT_SEC: 240 },
  })
})

test.after(async () => {
  await world?.close()
})

const CLIS: [mode: string, cli: string][] = [['claude-code', 'claude'], ['opencode', 'opencode'], ['codex', 'codex'], ['gemini', 'gemini']]

for (const [mode, cli] of CLIS) {
  test(`${mode}: the relay refuses the call past DIRECTOR_MAX_TOKENS and the job stops with the budget named`, async () => {
    const dir = dirs.get(cli)
    if (!dir) assert.unreachable(`${cli} is not installed: run scripts/provision-clis.sh`)
    await world.settings({ WORKER_MODE: mode })
    const ticket = await createTicket(world, { title: `Budget (${mode})` })
    const job = await runAndClaim(world, ticket.id)
    const llmBefore = world.llm.llmCalls().length
    const result = await runAgentProcess(world, job, { path: [dir!] })
    const output = `${result.stdout.slice(-3000)}\n${result.stderr.slice(-2000)}`
    assert.is(result.code, 3, `agent exit ${result.code} (3 = budget)\n${output}`)

    // The relay let the first call through (120 tokens, recorded) and forwarded nothing after it.
    assert.is(world.llm.llmCalls().length - llmBefore, 1, 'one call reached the LLM')
    const [usage] = await world.t.app.ctx.sql`select input_tokens, output_tokens, calls from llm_usage where job_id = ${job.job_id} and purpose = 'worker'`
    assert.equal({ input: Number(usage!.input_tokens), output: Number(usage!.output_tokens), calls: usage!.calls }, { input: 100, output: 20, calls: 1 })

    const events = await ticketEvents(world, ticket.id)
    const budget = events.find((e) => e.step === 'budget')
    assert.ok(budget, `a budget event (got ${events.map((e) => e.step).join(', ')})`)
    assert.match(budget!.summary, 'DIRECTOR_MAX_TOKENS')
    assert.match(budget!.summary, `token budget of job ${job.job_id} exhausted (120 of 100 tokens)`)
    assert.not.ok(world.gh.state.repo('acme/widgets')?.pulls.some((p) => p.head.ref === `ticket-${ticket.id}`), 'no pull request')
    assert.is.not((await getTicket(world, ticket.id)).column_id, 'in_review')
    console.log(`llm-relay-budget: ${mode} stopped in ${result.seconds.toFixed(1)} s`)
  })
}

test('Director mode: the relay refuses the Director\'s assessment past the budget and the job stops with it named', async () => {
  const claude = dirs.get('claude')
  if (!claude) assert.unreachable('claude is not installed: run scripts/provision-clis.sh')
  // Plan (120) and the worker's two calls (240) pass under 300; the assessment after the turn is refused.
  const worker = defaultScript({ path: 'HEALTH.md', content: 'healthy\n', finalText: 'Added HEALTH.md.' })
  world.llm.setScript((request: LlmRequest) => (request.model === DIRECTOR_MODEL
    ? { text: '{"plan": "write HEALTH.md", "prompt": "Create HEALTH.md saying the service is healthy."}' }
    : worker(request)))
  await world.settings({ WORKER_MODE: 'claude-code', AGENT_LLM_URL: world.llm.url, AGENT_MODEL: DIRECTOR_MODEL, AGENT_API_KEY: world.secrets.directorKey, DIRECTOR_MAX_TOKENS: 300 })
  try {
    const ticket = await createTicket(world, { title: 'Budget (Director)' })
    const job = await runAndClaim(world, ticket.id)
    // The agent's own count would stop it first: its override puts the whole decision on the relay.
    const result = await runAgentProcess(world, job, { path: [claude!], env: { DIRECTOR_MAX_TOKENS: '1000000' } })
    assert.is(result.code, 3, `agent exit ${result.code}\n${result.stdout.slice(-3000)}\n${result.stderr.slice(-2000)}`)
    const rows = await world.t.app.ctx.sql`select purpose, input_tokens, output_tokens, calls from llm_usage where job_id = ${job.job_id} order by purpose`
    assert.equal(rows.map((row: any) => [row.purpose, Number(row.input_tokens) + Number(row.output_tokens), row.calls]), [['director', 120, 1], ['worker', 240, 2]])
    const budget = (await ticketEvents(world, ticket.id)).find((e) => e.step === 'budget')
    assert.ok(budget, 'a budget event')
    assert.match(budget!.summary, 'DIRECTOR_MAX_TOKENS')
    assert.match(budget!.summary, `token budget of job ${job.job_id} exhausted (360 of 300 tokens)`)
    assert.ok(world.llm.keyWasSent(world.secrets.directorKey), 'the Director\'s calls went out with AGENT_API_KEY')
  } finally {
    await world.settings({ AGENT_LLM_URL: null, AGENT_MODEL: null, AGENT_API_KEY: null, DIRECTOR_MAX_TOKENS: 100 })
  }
})

test('nothing the suite stored holds a secret: database, fake GitHub, app log, agent output', async () => {
  assert.ok(world, 'the suite ran agents')
  await assertWorldClean(world)
})

test.run()
