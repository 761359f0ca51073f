// test-runner: slow
/**
 * The ticket flow end to end on the host, once per worker CLI: the real app, a git smart-HTTP remote
 * that wants the token, the fake GitHub and the fake LLM; the job claimed through the worker API and
 * the agent run as a child process with the coordinator's environment (single-shot mode). Claude
 * Code, OpenCode, Codex and Gemini CLI are the real pinned binaries (scripts/provision-clis.sh);
 * Aider runs as a stub (no PyPI here).
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { defaultScript } from './fixtures/fake-llm.ts'
import {
  cliDirs, createTicket, getTicket, remoteGit, runAgentProcess, runAndClaim, startWorld, ticketEvents, writeAiderStub, type World,
} from './bench/agent-harness.ts'
import { assertWorldClean } from './secret-scan.ts'

let world: World
let dirs: Map<string, string>
const timings: string[] = []

test.before(async () => {
  dirs = cliDirs()
  world = await startWorld({ script: defaultScript({ path: 'HEALTH.md', content: 'healthy\n', finalText: 'Added HEALTH.md saying the service is healthy.' }) })
})

test.after(async () => {
  await world?.close()
  if (timings.length) console.log(timings.join('\n'))
})

// WORKER_MODE name → provision-clis name (undefined: the Aider stub).
const CLIS: [mode: string, cli: string | undefined][] = [
  ['claude-code', 'claude'],
  ['opencode', 'opencode'],
  ['codex', 'codex'],
  ['gemini', 'gemini'],
  ['aider', undefined],
]

for (const [mode, cli] of CLIS) {
  test(`${mode}: ticket → clone → edit via the fake LLM → commit → push → PR → In Review`, async () => {
    let path: string[]
    let stubDir: string | undefined
    const record = join(tmpdir(), `aider-record-${process.pid}.txt`)
    if (cli) {
      const dir = dirs.get(cli)
      if (!dir) assert.unreachable(`${cli} is not installed: run scripts/provision-clis.sh`)
      path = [dir!]
    } else {
      stubDir = mkdtempSync(join(tmpdir(), 'aider-stub-'))
      path = [writeAiderStub(stubDir, record)]
    }
    try {
      await world.settings({ WORKER_MODE: mode })
      const ticket = await createTicket(world, { title: `Add a health file (${mode})` })
      // Commits, the PR and the prompt name the ticket by its project key and number, never `#<id>`.
      const ref = `${(await world.t.api('GET', `/api/projects/${world.projectId}`, undefined, world.people)).body.key}-${(ticket as unknown as { number: number }).number}`
      const job = await runAndClaim(world, ticket.id)
      const llmBefore = world.llm.requests.length
      // The Aider run also plays the coordinator's host fallback: its reason is logged first.
      const env: Record<string, string> = cli ? {} : { TERARCHITECT_DOCKER_RUN_ERROR: 'image terarchitect-agent not found' }
      const result = await runAgentProcess(world, job, { path, env })
      assert.is(result.code, 0, `agent exit ${result.code}\n${result.stdout.slice(-3000)}\n${result.stderr.slice(-3000)}`)

      const branch = `ticket-${ticket.id}`
      assert.is(remoteGit(world, ['show', `${branch}:HEALTH.md`]), 'healthy\n', 'the edit is on the pushed branch')
      assert.match(remoteGit(world, ['log', '-1', '--format=%an <%ae>%n%s', branch]) ?? '', `Terarchitect <terarchitect@users.noreply.github.com>\n${ref}:`)
      // The app relayed the push with the forge token (Basic x-access-token); the agent held only its job token.
      assert.ok(world.git.requests.some((r) => r.user === 'x-access-token' && r.path.includes('git-receive-pack')))

      const pulls = world.gh.state.repo('acme/widgets')!.pulls.filter((p) => p.head.ref === branch)
      assert.is(pulls.length, 1)
      assert.is(pulls[0]!.base.ref, 'main')
      assert.match(pulls[0]!.body ?? '', `Ticket ${ref}`)
      assert.match(pulls[0]!.title, `${ref}: Add a health file`)

      const updated = await getTicket(world, ticket.id)
      assert.is(updated.column_id, 'in_review')
      assert.is(updated.pr_url, pulls[0]!.html_url)
      assert.is(updated.pr_number, pulls[0]!.number)

      const events = await ticketEvents(world, ticket.id)
      const steps = new Set(events.map((e) => e.step))
      for (const step of ['start', 'context', 'clone', 'branch', 'turn', 'worker', 'commit', 'push', 'pr', 'complete', 'exit']) {
        assert.ok(steps.has(step), `a '${step}' event (got ${[...steps].join(', ')})`)
      }
      const calls = events.filter((e) => e.step === 'worker' && e.event?.kind === 'tool_call')
      assert.ok(calls.length > 0, 'normalized tool calls streamed as job events')
      assert.ok(calls.every((e) => e.summary.startsWith('turn 1: ')), 'one-line summaries')
      assert.ok(events.some((e) => e.event?.kind === 'file_change' || e.event?.kind === 'command' || e.event?.kind === 'tool_call'))

      if (cli) {
        // The CLI really talked to the fake LLM, and the prompt carried the ticket's context.
        const calls = world.llm.llmCalls().slice(llmBefore).filter((r) => r.request?.model === 'fake-model')
        assert.ok(calls.length >= 2, `${cli} made LLM calls`)
        const prompt = calls.map((r) => r.request!.allText).join('\n')
        for (const text of [`Ticket ${ref}:`, 'Widget API', 'Widget DB', 'reads and writes', 'Health endpoints answer plain text.']) {
          assert.ok(prompt.includes(text), `prompt holds ${JSON.stringify(text)}`)
        }
      } else {
        const args = readFileSync(record, 'utf8')
        assert.match(args, '--message-file')
        assert.match(args, '--no-auto-commits')
        assert.not.match(args, world.secrets.workerKey)
        assert.match(args.split('ENV')[1]!, 'OPENAI_API_KEY')
        assert.not.match(args.split('ENV')[1]!, 'GITHUB_TOKEN')
        assert.is(events[0]!.step, 'docker_run_error')
        assert.match(events[0]!.summary, 'image terarchitect-agent not found')
      }
      timings.push(`agent-ticket: ${mode} end to end ${result.seconds.toFixed(1)} s`)
    } finally {
      if (stubDir) rmSync(stubDir, { recursive: true, force: true })
      rmSync(record, { force: true })
    }
  })
}

test('a second run of the same ticket continues its branch and reuses the open PR', async () => {
  await world.settings({ WORKER_MODE: 'claude-code' })
  world.llm.setScript(defaultScript({ path: 'HEALTH.md', content: 'healthy\n', finalText: 'done' }))
  const ticket = await createTicket(world, { title: 'Continue a branch' })
  const first = await runAndClaim(world, ticket.id)
  assert.is((await runAgentProcess(world, first, { path: [dirs.get('claude')!] })).code, 0)
  const firstHead = remoteGit(world, ['rev-parse', `ticket-${ticket.id}`])!.trim()

  world.llm.setScript(defaultScript({ path: 'MORE.md', content: 'more\n', finalText: 'done again' }))
  await world.t.api('PATCH', `/api/projects/${world.projectId}/tickets/${ticket.id}`, { column_id: 'backlog' }, world.people)
  const second = await runAndClaim(world, ticket.id)
  const result = await runAgentProcess(world, second, { path: [dirs.get('claude')!] })
  assert.is(result.code, 0, result.stdout.slice(-2000))
  // The new commit sits on top of the first one: the branch was continued, not recreated.
  assert.is(remoteGit(world, ['rev-parse', `ticket-${ticket.id}~1`])!.trim(), firstHead)
  assert.is(remoteGit(world, ['show', `ticket-${ticket.id}:HEALTH.md`]), 'healthy\n')
  assert.is(world.gh.state.repo('acme/widgets')!.pulls.filter((p) => p.head.ref === `ticket-${ticket.id}`).length, 1)
  const events = await ticketEvents(world, ticket.id)
  assert.ok(events.some((e) => e.step === 'branch' && e.summary.startsWith('continuing')))
  assert.ok(events.some((e) => e.step === 'pr' && e.summary.startsWith('updated the open PR')))
})

test('a worker that exits 0 without changing anything fails the job, and nothing is pushed', async () => {
  await world.settings({ WORKER_MODE: 'claude-code' })
  world.llm.setScript(() => ({ text: 'I looked around and everything seems fine.' }))
  const ticket = await createTicket(world, { title: 'Nothing happens' })
  const job = await runAndClaim(world, ticket.id)
  const result = await runAgentProcess(world, job, { path: [dirs.get('claude')!] })
  assert.is(result.code, 1)
  assert.is(remoteGit(world, ['rev-parse', '--verify', '-q', `ticket-${ticket.id}`]), null, 'no branch pushed')
  const events = await ticketEvents(world, ticket.id)
  const error = events.find((e) => e.step === 'error')
  assert.ok(error, 'an error event')
  assert.match(error!.summary, 'exited 0 but changed nothing')
  assert.is((await getTicket(world, ticket.id)).column_id, 'in_progress')
})

test('a push the remote refuses is a failure with the reason posted', async () => {
  await world.settings({ WORKER_MODE: 'claude-code' })
  world.llm.setScript(defaultScript({ path: 'HEALTH.md', content: 'healthy\n' }))
  const ticket = await createTicket(world, { title: 'Push refused' })
  // A pre-receive hook on the bare repo refuses this ticket's branch.
  const hook = join(world.bare, 'hooks', 'pre-receive')
  const { writeFileSync, chmodSync } = await import('node:fs')
  writeFileSync(hook, `#!/bin/sh\nwhile read old new ref; do case "$ref" in *ticket-${ticket.id}) echo "branch protected" >&2; exit 1;; esac; done\n`)
  chmodSync(hook, 0o755)
  try {
    const job = await runAndClaim(world, ticket.id)
    const result = await runAgentProcess(world, job, { path: [dirs.get('claude')!] })
    assert.is(result.code, 1)
    const events = await ticketEvents(world, ticket.id)
    const error = events.find((e) => e.step === 'error')
    assert.match(error?.summary ?? '', 'push to ticket-')
    assert.not.ok(events.some((e) => e.step === 'pr'), 'no PR after a failed push')
    assert.is(world.gh.state.repo('acme/widgets')!.pulls.filter((p) => p.head.ref === `ticket-${ticket.id}`).length, 0)
  } finally {
    rmSync(hook, { force: true })
  }
})

test('a PR the GitHub API refuses is a failure with the reason posted (after the push)', async () => {
  const { start } = await import('./fixtures/fake-github.ts')
  const strict = await start({ tokens: { 'some-other-token': 'someone' } })
  try {
    await world.settings({ WORKER_MODE: 'claude-code', GITHUB_API_URL: strict.url })
    world.llm.setScript(defaultScript({ path: 'HEALTH.md', content: 'healthy\n' }))
    const ticket = await createTicket(world, { title: 'PR refused' })
    const job = await runAndClaim(world, ticket.id)
    const result = await runAgentProcess(world, job, { path: [dirs.get('claude')!] })
    assert.is(result.code, 1)
    const error = (await ticketEvents(world, ticket.id)).find((e) => e.step === 'error')
    assert.match(error?.summary ?? '', 'opening the pull request failed')
    // The app called GitHub with its token; the agent hears the status, not GitHub's body.
    assert.match(error?.summary ?? '', 'GitHub refused GITHUB_TOKEN')
    assert.match(error?.summary ?? '', '(GitHub 401)')
    assert.is((await getTicket(world, ticket.id)).column_id, 'in_progress')
  } finally {
    await world.settings({ GITHUB_API_URL: world.gh.url })
    await strict.close()
  }
})

test('nothing the suite stored holds a secret: database, fake GitHub, app log, agent output', async () => {
  assert.ok(world, 'the suite ran agents')
  await assertWorldClean(world)
})

test.run()
