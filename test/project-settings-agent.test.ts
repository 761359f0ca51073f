// The agent's commits are named by the project's GIT_AUTHOR_NAME / GIT_AUTHOR_EMAIL settings (the
// worker context carries them; the agent's own environment names them only when they are unset),
// and the worker CLI is the project's WORKER_MODE: a real agent process over the fake forge and LLM.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { defaultScript } from './fixtures/fake-llm.ts'
import { createTicket, remoteGit, runAgentProcess, runAndClaim, startWorld, writeAiderStub, type World } from './bench/agent-harness.ts'

let world: World
let stubDir: string

test.before(async () => {
  stubDir = mkdtempSync(join(tmpdir(), 'aider-stub-'))
  world = await startWorld({ script: defaultScript({ path: 'HEALTH.md', content: 'healthy\n', finalText: 'Added HEALTH.md.' }) })
})

test.after(async () => {
  await world?.close()
  if (stubDir) rmSync(stubDir, { recursive: true, force: true })
})

test('the project\'s WORKER_MODE and git identity settings drive the agent\'s CLI and name its commits', async () => {
  await world.settings({ WORKER_MODE: 'opencode' })
  const put = await world.t.api('PUT', `/api/projects/${world.projectId}/settings`, { values: { WORKER_MODE: 'aider', GIT_AUTHOR_NAME: 'Widgets Bot', GIT_AUTHOR_EMAIL: 'widgets-bot@example.com' } }, world.people)
  assert.is(put.status, 200, JSON.stringify(put.body))
  const ticket = await createTicket(world, { title: 'Add a health file' })
  const job = await runAndClaim(world, ticket.id)
  const result = await runAgentProcess(world, job, { path: [writeAiderStub(stubDir, join(stubDir, 'record.txt'))], env: {} })
  assert.is(result.code, 0, `agent exit ${result.code}\n${result.stdout.slice(-3000)}\n${result.stderr.slice(-3000)}`)
  assert.match(remoteGit(world, ['log', '-1', '--format=%an <%ae>', `ticket-${ticket.id}`]) ?? '', 'Widgets Bot <widgets-bot@example.com>')
})

test.run()
