/**
 * What the first-hour walk (first-hour.test.ts) runs against, fresh for each colour scheme: an empty
 * app with the built UI (no forge token, no worker model: the walk fills them in), the scripted fake
 * LLM, the fake GitHub, a git smart-HTTP remote that wants the token, a person's clean checkout of it
 * (the local project's path) and a real coordinator process that runs the agent on the host with the
 * real Claude Code CLI.
 */
import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { cliDirs } from '../bench/agent-harness.ts'
import { gitIn } from '../checkout-fixtures.ts'
import { spawnCoordinator, type CoordinatorProcess } from '../coordinator-fixtures.ts'
import { start as startGithub, type FakeGithub } from '../fixtures/fake-github.ts'
import { start as startGitHttp, GIT_IDENTITY, type GitHttp } from '../fixtures/git-http.ts'
import { start as startLlm, writeFileCall, type FakeLlm, type LlmRequest, type Reply } from '../fixtures/fake-llm.ts'
import { ROOT } from '../helpers.ts'
import { startUiApp, type UiApp } from './helpers.ts'

export const REPO = 'acme/widgets'
export const MODEL = 'fake-model'

export interface FirstHourWorld {
  ui: UiApp
  llm: FakeLlm
  gh: FakeGithub
  git: GitHttp
  repoUrl: string
  /** The local project's path: a clean checkout whose origin is repoUrl. */
  checkout: string
  /** The values a person types into Settings. */
  values: { llmKey: string; githubToken: string }
  coordinator: CoordinatorProcess
  /** Every job and its log but the raw output, and the coordinator's last lines: what to show when a step failed. */
  story(): Promise<string>
  close(): Promise<void>
}

/** The ticket writes HEALTH.md; a review comment asking for READY.md gets it. */
function script(request: LlmRequest): Reply {
  if (request.lastIsToolResult || request.tools.length === 0) return { text: 'Done as asked.' }
  const review = request.lastUserText.includes('A reviewer left this comment')
  const call = review && request.lastUserText.includes('READY.md') ? writeFileCall(request, 'READY.md', 'ready\n') : writeFileCall(request, 'HEALTH.md', 'healthy\n')
  return { toolCalls: [call!] }
}

export async function startFirstHourWorld(): Promise<FirstHourWorld> {
  const claude = cliDirs().get('claude')
  if (!claude) throw new Error('claude is not installed: run scripts/provision-clis.sh')
  const values = { llmKey: `sk-first-hour-${randomBytes(8).toString('hex')}`, githubToken: `ghp_first_hour_${randomBytes(8).toString('hex')}` }
  const workerApiKey = `twk_${randomBytes(12).toString('hex')}`
  const llm = await startLlm({ apiKey: values.llmKey, script })
  const gh = await startGithub({ tokens: { [values.githubToken]: 'terarchitect-bot' }, repos: [REPO] })
  // The token's user is a writer of the repository (it pushes there): its comments may ask for work.
  gh.state.repo(REPO)!.permissions['terarchitect-bot'] = 'write'
  const git = await startGitHttp({ token: values.githubToken })
  const repoUrl = await git.createRepo(REPO, { 'README.md': '# widgets\n', 'package.json': '{"name":"widgets"}\n' })
  const scratch = mkdtempSync(join(tmpdir(), 'first-hour-'))
  const checkout = join(scratch, 'widgets')
  const clone = spawnSync('git', ['clone', '-q', join(git.root, 'acme', 'widgets.git'), checkout], { env: { ...process.env, ...GIT_IDENTITY } })
  if (clone.status !== 0) throw new Error(`clone: ${clone.stderr}`)
  gitIn(checkout, 'remote', 'set-url', 'origin', repoUrl)
  // Empty: no forge token and no worker model (startUiApp's defaults), so the walk starts at Settings.
  const ui = await startUiApp({ GITHUB_TOKEN: '', WORKER_MODEL: '', TERARCHITECT_WORKER_API_KEY: workerApiKey, ALLOW_INSECURE_GIT_HOSTS: new URL(git.url).host })
  const coordinator = spawnCoordinator({
    TERARCHITECT_API_URL: ui.url,
    TERARCHITECT_WORKER_API_KEY: workerApiKey,
    MAX_CONCURRENT_AGENTS: '1',
    AGENT_HOST_COMMAND: JSON.stringify([process.execPath, '--import', pathToFileURL(join(ROOT, 'scripts/ts-register.mjs')).href, join(ROOT, 'agent.ts')]),
    PATH: [claude, process.env.PATH].join(':'),
    CLAIM_WAIT_SEC: '2',
    HEARTBEAT_MAX_SEC: '1',
    LOG_LEVEL: 'info',
  })
  return {
    ui, llm, gh, git, repoUrl, checkout, values, coordinator,
    async story() {
      const jobs = (await ui.app.ctx.sql`select id, kind, status, exit_code, error from agent_jobs order by id`).map((job) => JSON.stringify(job))
      const events = (await ui.app.ctx.sql`select job_id, step, summary from job_events where step <> 'agent_output' order by id`).map((e) => `${e.job_id} ${e.step}: ${String(e.summary).slice(0, 300)}`)
      const review = (await ui.app.ctx.sql`select p.number, p.tracking, p.last_error, c.github_id, c.author, c.authorized, c.ignored_reason, c.addressed_at, c.job_id, c.error
        from prs p left join pr_review_comments c on c.pr_id = p.id order by c.id`).map((row) => JSON.stringify(row))
      return [...jobs, ...events, ...review, ...coordinator.lines.slice(-20)].join('\n')
    },
    async close() {
      await coordinator.stop()
      await ui.close()
      await Promise.all([llm.close(), gh.close(), git.close()])
      rmSync(scratch, { recursive: true, force: true })
    },
  }
}
