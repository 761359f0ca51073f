/**
 * Issue 10, acceptance 5: a job whose token budget runs out mid-run stops with the budget named,
 * enforced by the app's LLM relay, for each real CLI (the pinned binaries of
 * scripts/provision-clis.sh). DIRECTOR_MAX_TOKENS is 100 and every fake LLM answer reports 120
 * tokens, so the first call of a job passes and the relay refuses the next one; the CLI reports the
 * refusal and the agent ends the job as DIRECTOR_MAX_TOKENS (exit 3, no pull request).
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { defaultScript } from '../fixtures/fake-llm.ts'
import { cliDirs, createTicket, getTicket, runAgentProcess, runAndClaim, startWorld, ticketEvents, type World } from '../bench/agent-harness.ts'

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

test.run()
