/**
 * The stored-secrets scan (secret-scan.ts) that ends every agent suite finds what it is for: a
 * secret planted in a job event, a job token in an output, a secret in a PR body on the fake GitHub
 * and in a log line, each named by where it is; a clean world gives no finding; a person's own text
 * allowed by the suite is not a finding.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createState } from './fixtures/fake-github.ts'
import { createRunnableProject, createTicket, startTestApp, type TestApp } from './helpers.ts'
import { assertNoStoredSecrets, findStoredSecrets } from './secret-scan.ts'

const forgeToken = 'ghp_scan_0123456789abcdef'
const llmKey = 'sk-scan-llm-0123456789'
let t: TestApp

test.before(async () => {
  t = await startTestApp({ kind: 'pglite' })
})
test.after(async () => t?.close())

test('a clean database, GitHub and log: no finding', async () => {
  const settings = await t.api('PUT', '/api/settings', { values: { GITHUB_TOKEN: forgeToken, WORKER_API_KEY: llmKey } })
  assert.is(settings.status, 200, JSON.stringify(settings.body))
  const project = await createRunnableProject(t)
  const ticket = await createTicket(t, project.id)
  const run = await t.api('POST', `/api/projects/${project.id}/tickets/${ticket.id}/run`)
  assert.is(run.status, 201, JSON.stringify(run.body))
  const github = createState()
  github.createPull('acme/widgets', { title: 'Add a health file', head: 'ticket-1', base: 'main', body: 'Closes the ticket.' }, 'terarchitect-bot')
  assert.equal(await findStoredSecrets({ sql: t.app.ctx.sql, github, logs: { 'app log': t.logs }, secrets: { 'forge token': forgeToken, 'LLM key': llmKey } }), [])
})

test('a secret in a job event, a job token in an output, a secret in a PR body and a log: each named', async () => {
  const [job] = await t.app.ctx.sql<{ id: number; project_id: number; ticket_id: number }[]>`select id, project_id, ticket_id from agent_jobs order by id desc limit 1`
  assert.ok(job, 'the run created a job')
  const jobToken = t.app.ctx.secrets.signJobToken({ jobId: job!.id, ticketId: job!.ticket_id, projectId: job!.project_id, attempt: 1, claim: 1, exp: Math.floor(Date.now() / 1000) + 600 })
  const [event] = await t.app.ctx.sql<{ id: number }[]>`
    insert into job_events (job_id, ticket_id, project_id, step, summary, raw_output, event)
    values (${job!.id}, ${job!.ticket_id}, ${job!.project_id}, 'worker', 'pushed', ${`remote: ${jobToken}`}, ${t.app.ctx.sql.json({ url: `https://x-access-token:${forgeToken}@github.com/acme/widgets` })})
    returning id`
  const github = createState()
  github.createPull('acme/widgets', { title: 'Add a health file', head: 'ticket-1', base: 'main', body: `Used ${llmKey} to generate.` }, 'terarchitect-bot')
  const input = { sql: t.app.ctx.sql, github, logs: { 'agent stdout': ['starting', `key=${llmKey}`] }, secrets: { 'forge token': forgeToken, 'LLM key': llmKey } }
  const findings = await findStoredSecrets(input)
  assert.ok(findings.includes(`table job_events, column event, row id=${event!.id}: forge token`), findings.join('\n'))
  assert.ok(findings.some((finding) => finding.startsWith(`table job_events, column raw_output, row id=${event!.id}: an issued credential (tj1.`)), findings.join('\n'))
  assert.ok(findings.includes('GitHub acme/widgets PR #1 body: LLM key'), findings.join('\n'))
  assert.ok(findings.includes('agent stdout line 2: LLM key'), findings.join('\n'))
  assert.is(findings.length, 4, findings.join('\n'))
  // A person's own text holding a secret on purpose is not a finding; the rest still are.
  const allowed = await findStoredSecrets({ ...input, allowed: [`Used ${llmKey} to generate.`] })
  assert.not.ok(allowed.some((finding) => finding.startsWith('GitHub')), allowed.join('\n'))
  assert.is(allowed.length, 3, allowed.join('\n'))
  try {
    await assertNoStoredSecrets(input)
    assert.unreachable('the scan must fail')
  } catch (error) {
    assert.match((error as Error).message, `table job_events, column event, row id=${event!.id}: forge token`)
  }
})

test.run()
