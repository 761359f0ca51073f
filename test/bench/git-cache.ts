/**
 * The git object cache, measured (issue 14, acceptance 2; prints figures, not a test): a generated
 * repository of ≥ 200 MB and ≥ 20,000 files behind the git fixture (the forge's git host), reached
 * through the real app relay with a job token. Side by side, p50 of GIT_CACHE_BENCH_RUNS (default 3)
 * runs each, every run after a new commit on the remote:
 *   - plain: the agent's clone (core/agent/git.ts) with its full checkout;
 *   - cached: the coordinator's `prepare` (the manifest check, `git fetch --prune` into the mirror
 *     with the job's token, which is its access check) + the agent's clone with
 *     `--reference-if-able <mirror> --dissociate` and its full checkout.
 * The mirror's first fill (a cold fetch, once per repository and host) is printed apart.
 *
 *   npm run bench -- test/bench/git-cache.ts      # GIT_CACHE_BENCH_MB=210 GIT_CACHE_BENCH_FILES=20000
 *
 * Generation is deterministic (AES-CTR of a fixed key as the content, fixed dates: the same
 * repository, the same commit ids every time), written with `git fast-import` into a temp dir that
 * is removed at the end.
 */
import { spawn, execFileSync } from 'node:child_process'
import { createCipheriv } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createGit } from '../../core/agent/git.ts'
import { createGitCache } from '../../core/coordinator/git-cache.ts'
import type { ClaimedJob } from '../../core/coordinator/client.ts'
import { createLogger } from '../../core/log.ts'
import { startTestApp } from '../helpers.ts'
import { start as startGitHttp } from '../fixtures/git-http.ts'
import { start as startGithub } from '../fixtures/fake-github.ts'
import { countingRelay } from '../fixtures/counting-relay.ts'

const RUNS = Number(process.env.GIT_CACHE_BENCH_RUNS ?? 3)
const TOTAL_MB = Number(process.env.GIT_CACHE_BENCH_MB ?? 210) // content; about 205 MB packed
const FILES = Number(process.env.GIT_CACHE_BENCH_FILES ?? 20000)
const FORGE_TOKEN = 'ghp_bench_forge_token_0123456789'
const WORKER_KEY = 'bench-worker-key-0123456789'
const ADMIN = { authorization: 'Bearer bench-admin-token-0123456789' }
const BIN_MB = 4
const TEXT_BYTES = 1024 // per text file, as hex: about half compresses away

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN
const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`

/** A deterministic byte stream: AES-128-CTR of zeros under a fixed key. */
function contentStream(seed: number) {
  const cipher = createCipheriv('aes-128-ctr', Buffer.alloc(16, seed), Buffer.alloc(16, 0))
  return (bytes: number) => cipher.update(Buffer.alloc(bytes))
}

/** Writes the repository into the bare repo at `bare` with `git fast-import`; one commit on `main`. */
async function generate(bare: string): Promise<{ files: number; rawMb: number }> {
  const child = spawn('git', ['fast-import', '--quiet', '--done'], { cwd: bare, stdio: ['pipe', 'inherit', 'inherit'] })
  const write = (chunk: Buffer | string) => (child.stdin.write(chunk) ? Promise.resolve() : new Promise<void>((resolve) => child.stdin.once('drain', resolve)))
  const next = contentStream(7)
  const textFiles = Math.max(FILES - 1, 0)
  const binFiles = Math.max(1, Math.ceil((TOTAL_MB * 1024 * 1024 - textFiles * TEXT_BYTES) / (BIN_MB * 1024 * 1024)))
  const paths: string[] = []
  let raw = 0
  const blob = async (path: string, data: Buffer) => {
    paths.push(path)
    raw += data.length
    await write(`blob\nmark :${paths.length}\ndata ${data.length}\n`)
    await write(data)
    await write('\n')
  }
  for (let i = 0; i < textFiles; i++) {
    const body = Buffer.from(`// module ${i}\nexport const value${i} = '${next(TEXT_BYTES / 2).toString('hex')}'\n`)
    await blob(`src/d${String(i % 200).padStart(3, '0')}/m${String(i).padStart(5, '0')}.ts`, body)
  }
  for (let i = 0; i < binFiles; i++) await blob(`assets/blob${String(i).padStart(3, '0')}.bin`, next(BIN_MB * 1024 * 1024))
  await blob('README.md', Buffer.from('# generated for the git cache bench\n'))
  const message = 'generated repository\n'
  await write(`commit refs/heads/main\ncommitter Bench <bench@example.invalid> 1700000000 +0000\ndata ${Buffer.byteLength(message)}\n${message}`)
  for (const [index, path] of paths.entries()) await write(`M 100644 :${index + 1} ${path}\n`)
  await write('\ndone\n')
  child.stdin.end()
  await new Promise<void>((resolve, reject) => child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`fast-import exit ${code}`)))))
  return { files: paths.length, rawMb: raw / 1048576 }
}

/** One more commit on the remote's main (a changed file), as happens between two jobs. */
function commitOnRemote(bare: string, run: number): void {
  const text = `run ${run}\n`
  const stream = `commit refs/heads/main\ncommitter Bench <bench@example.invalid> ${1700000000 + run} +0000\ndata 4\nrun\nfrom refs/heads/main^0\nM 100644 inline README.md\ndata ${text.length}\n${text}\ndone\n`
  execFileSync('git', ['fast-import', '--quiet', '--done'], { cwd: bare, input: stream })
}

async function main() {
  const scratch = mkdtempSync(join(tmpdir(), 'git-cache-bench-'))
  const log = createLogger('warn', { bench: 'git-cache' })
  const forgeGit = await startGitHttp({ token: FORGE_TOKEN, root: join(scratch, 'forge') })
  const gh = await startGithub({ tokens: { [FORGE_TOKEN]: 'terarchitect-bot' } })
  const t = await startTestApp({
    kind: 'pglite',
    env: { GITHUB_TOKEN: '', TERARCHITECT_WORKER_API_KEY: WORKER_KEY, TERARCHITECT_ADMIN_TOKEN: ADMIN.authorization.slice(7), ALLOW_INSECURE_GIT_HOSTS: new URL(forgeGit.url).host },
  })
  try {
    const started = Date.now()
    const url = await forgeGit.createRepo('bench/big')
    const bare = join(forgeGit.root, 'bench', 'big.git')
    execFileSync('git', ['update-ref', '-d', 'refs/heads/main'], { cwd: bare })
    const { files, rawMb } = await generate(bare)
    const packMb = Number(/size-pack: (\d+)/.exec(execFileSync('git', ['count-objects', '-v'], { cwd: bare }).toString())?.[1] ?? 0) / 1024
    process.stdout.write(`repository: ${files} files, ${rawMb.toFixed(0)} MB of content, ${packMb.toFixed(0)} MB packed (generated in ${s(Date.now() - started)})\n`)

    const settings = await t.api('PUT', '/api/settings', { values: { GITHUB_TOKEN: FORGE_TOKEN, GITHUB_API_URL: gh.url, WORKER_MODEL: 'm' } }, ADMIN)
    if (settings.status !== 200) throw new Error(`settings: ${settings.status} ${JSON.stringify(settings.body)}`)
    const project = await t.api('POST', '/api/projects', { name: 'bench', repo_url: url }, ADMIN)
    if (project.status !== 201) throw new Error(`project: ${project.status} ${JSON.stringify(project.body)}`)
    // A keep-alive connection the app closed during a long clone can reset the next request: asked again once.
    const claim = (): Promise<ClaimedJob> => claimOnce().catch(() => claimOnce())
    const claimOnce = async (): Promise<ClaimedJob> => {
      const ticket = await t.api('POST', `/api/projects/${project.body.id}/tickets`, { title: 'bench' }, ADMIN)
      await t.api('POST', `/api/projects/${project.body.id}/tickets/${ticket.body.id}/run`, undefined, ADMIN)
      const claimed = await t.api('POST', '/api/worker/jobs/start', { project_id: project.body.id, coordinator_id: 'bench' }, { authorization: `Bearer ${WORKER_KEY}` })
      if (claimed.status !== 200) throw new Error(`claim: ${claimed.status} ${JSON.stringify(claimed.body)}`)
      return claimed.body
    }
    const relay = await countingRelay(Number(new URL(t.url).port))
    const relayUrl = (job: ClaimedJob) => `http://127.0.0.1:${relay.port}/api/relay/git/${job.project_id}/${job.ticket_id}/repo.git`
    const mb = (bytes: number) => `${(bytes / 1048576).toFixed(1)} MB`
    const clone = async (job: ClaimedJob, dir: string, mirror?: string) => {
      const git = createGit({ cwd: dir, env: { PATH: process.env.PATH!, HOME: scratch }, credential: { token: job.agent_token, url: relayUrl(job) }, author: { name: 'b', email: 'b@b' } })
      await git.clone(relayUrl(job), dir, mirror)
    }
    const cache = createGitCache({ dir: join(scratch, 'cache'), maxBytes: 5120 * 1024 * 1024, log })
    const cacheJob = (job: ClaimedJob) => ({ repoUrl: job.repo_url!, relayUrl: relayUrl(job), token: job.agent_token })

    const fillStarted = Date.now()
    const first = await cache.prepare(cacheJob(await claim()), (text) => log.info(text))
    if (!first) throw new Error('the mirror could not be filled')
    first.release()
    const fill = Date.now() - fillStarted

    const plain: number[] = []
    const cached: number[] = []
    const plainBytes: number[] = []
    const cachedBytes: number[] = []
    const refreshes: number[] = []
    for (let run = 1; run <= RUNS; run++) {
      commitOnRemote(bare, run)
      const plainJob = await claim()
      let at = Date.now()
      let bytes = relay.received
      await clone(plainJob, join(scratch, `plain-${run}`))
      plain.push(Date.now() - at)
      plainBytes.push(relay.received - bytes)
      rmSync(join(scratch, `plain-${run}`), { recursive: true, force: true })

      const cachedJob = await claim()
      at = Date.now()
      bytes = relay.received
      const lease = await cache.prepare(cacheJob(cachedJob), (text) => log.info(text))
      if (!lease) throw new Error('the cache was not used')
      refreshes.push(Date.now() - at)
      await clone(cachedJob, join(scratch, `cached-${run}`), lease.path)
      cached.push(Date.now() - at)
      cachedBytes.push(relay.received - bytes)
      lease.release()
      rmSync(join(scratch, `cached-${run}`), { recursive: true, force: true })
      process.stdout.write(`run ${run}: plain ${s(plain.at(-1)!)} (${mb(plainBytes.at(-1)!)} through the relay), cached ${s(cached.at(-1)!)} (${mb(cachedBytes.at(-1)!)})\n`)
    }
    const ratio = median(plain) / median(cached)
    process.stdout.write([
      '',
      `| clone of ${files} files, ${packMb.toFixed(0)} MB packed, through the app relay | p50 of ${RUNS} | through the relay |`,
      '|---|---|---|',
      `| plain clone + checkout | ${s(median(plain))} | ${mb(median(plainBytes))} |`,
      `| cached: mirror refresh (access check, manifest check, fetch) + clone --reference --dissociate + checkout | ${s(median(cached))} | ${mb(median(cachedBytes))} |`,
      `| … of which the mirror's refresh | ${s(median(refreshes))} | |`,
      `| speed-up (goal ≥ 5×) | ${ratio.toFixed(1)}× | |`,
      `| the mirror's first fill (once per repository and host) | ${s(fill)} | |`,
      '',
    ].join('\n'))
    await relay.close()
  } finally {
    await t.close()
    await Promise.all([forgeGit.close(), gh.close()])
    rmSync(scratch, { recursive: true, force: true })
  }
}

await main()
