/**
 * The git object cache, measured (issue 14, acceptance 2; prints figures, not a test): a generated
 * repository of ≥ 200 MB and ≥ 20,000 files behind the git fixture (the forge's git host), reached
 * through the real app relay with a job token. Side by side, p50 of GIT_CACHE_BENCH_RUNS (default 3)
 * runs each, every run after a new commit on the remote:
 *   - plain: the agent's clone (core/agent/git.ts) with its full checkout;
 *   - cached: the coordinator's `prepare` (the manifest check, `git fetch --prune` into the mirror
 *     with the job's token, which is its access check) + the agent's clone with
 *     `--reference-if-able <mirror>` (objects borrowed through alternates) and its full checkout;
 *   - prepared: what a warm container of the pool does (core/agent/prepared-workspace.ts): it clones
 *     the mirror into its workspace while it waits (before the claim, printed apart), and the job
 *     pays the refresh, the adoption (a pruned fetch of what changed through the relay) and the
 *     checkout of the changed files;
 *   - one sample of the former cached clone, `--reference-if-able <mirror> --dissociate`, to show
 *     what copying the mirror's objects into each clone cost.
 * Each clone runs with GIT_TRACE2_EVENT, and its phases are read from git's own timings: receiving
 * the pack (the server packing it, the relay carrying it and index-pack, which overlap), the
 * connectivity check, --dissociate's repack and the checkout (unpack_trees: writing the files and
 * the index). The mirror's first fill (a cold fetch, once per repository and host) is printed apart.
 * The workspaces are kept until the end: on a disk mounted with online discard (ext4 `discard`),
 * writing 20,000 files right after deleting as many waits behind the deletion's discards (seconds
 * to tens of seconds), which would land on whichever sample comes next (docs/coordinator.md).
 * Run it with the machine otherwise idle: it prints the load average before and after.
 *
 *   npm run bench -- test/bench/git-cache.ts      # GIT_CACHE_BENCH_MB=210 GIT_CACHE_BENCH_FILES=20000
 *
 * Generation is deterministic (AES-CTR of a fixed key as the content, fixed dates: the same
 * repository, the same commit ids every time), written with `git fast-import` into a temp dir that
 * is removed at the end.
 */
import { spawn, execFileSync } from 'node:child_process'
import { createCipheriv } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { createGit } from '../../core/agent/git.ts'
import { adoptPrepared, prepareFromMirror } from '../../core/agent/prepared-workspace.ts'
import { createGitCache } from '../../core/coordinator/git-cache.ts'
import type { ClaimedJob } from '../../core/coordinator/client.ts'
import { createLogger } from '../../core/log.ts'
import { startTestApp } from '../helpers.ts'
import { start as startGitHttp } from '../fixtures/git-http.ts'
import { start as startGithub } from '../fixtures/fake-github.ts'
import { countingRelay } from '../fixtures/counting-relay.ts'
import { clonePhases, type ClonePhases } from './git-trace.ts'

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
  const load = () => loadavg().map((value) => value.toFixed(2)).join(' ')
  process.stdout.write(`load average at start: ${load()} (${process.env.GIT_CACHE_BENCH_RUNS ? '' : 'default '}${RUNS} runs)\n`)
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
    /** The agent's clone (with `dissociate`, the former cached clone), traced; its phases. */
    const clone = async (job: ClaimedJob, dir: string, mirror?: string, dissociate = false): Promise<ClonePhases> => {
      const trace = `${dir}.trace.json`
      const env = { PATH: process.env.PATH!, HOME: scratch, GIT_TRACE2_EVENT: trace }
      const git = createGit({ cwd: dir, env, credential: { token: job.agent_token, url: relayUrl(job) }, author: { name: 'b', email: 'b@b' } })
      if (dissociate) await git.run(['clone', '--quiet', '--no-tags', '--reference-if-able', mirror!, '--dissociate', '--', relayUrl(job), dir], { network: true, cwd: '/' })
      else await git.clone(relayUrl(job), dir, mirror)
      const phases = clonePhases(readFileSync(trace, 'utf8'))
      rmSync(trace, { force: true })
      return phases
    }
    const cache = createGitCache({ dir: join(scratch, 'cache'), maxBytes: 5120 * 1024 * 1024, log })
    const cacheJob = (job: ClaimedJob) => ({ repoUrl: job.repo_url!, relayUrl: relayUrl(job), token: job.agent_token })

    const fillStarted = Date.now()
    const first = await cache.prepare(cacheJob(await claim()), (text) => log.info(text))
    if (!first) throw new Error('the mirror could not be filled')
    first.release()
    const fill = Date.now() - fillStarted

    interface Sample { total: number; refresh: number; bytes: number; phases: ClonePhases }
    const samples: Record<'plain' | 'cached' | 'prepared' | 'dissociate', Sample[]> = { plain: [], cached: [], prepared: [], dissociate: [] }
    const preparing: number[] = []
    /** A warm container's clone of the mirror while it waits for its job (untimed: before the claim), as of the last refresh. */
    const prepareAhead = async (run: number) => {
      const dir = join(scratch, `prepared-${run}`)
      const prepared = await prepareFromMirror(first.path, dir)
      if (!prepared) throw new Error('the workspace could not be prepared from the mirror')
      preparing.push(prepared.seconds * 1000)
      return dir
    }
    /**
     * The job's side with a prepared workspace: the cache's refresh (its access check) and the
     * agent's adoption (origin → the relay, a pruned fetch with the job's token, HEAD from the
     * remote), then the work tree moved to the remote's main, as the ticket flow checks it out.
     */
    const measurePrepared = async (run: number, dir: string) => {
      const job = await claim()
      const at = Date.now()
      const bytes = relay.received
      const lease = await cache.prepare(cacheJob(job), (text) => log.info(text))
      if (!lease) throw new Error('the cache was not used')
      const refresh = Date.now() - at
      const trace = `${dir}.trace.json`
      const git = createGit({ cwd: dir, env: { PATH: process.env.PATH!, HOME: scratch, GIT_TRACE2_EVENT: trace }, credential: { token: job.agent_token, url: relayUrl(job) }, author: { name: 'b', email: 'b@b' } })
      await adoptPrepared(git, relayUrl(job))
      const adopted = Date.now()
      await git.run(['checkout', '--quiet', '--detach', 'origin/main'])
      const checkout = Date.now() - adopted
      if ((await git.run(['status', '--porcelain'])).stdout.trim()) throw new Error('the prepared workspace is not clean after its checkout')
      samples.prepared.push({ total: Date.now() - at, refresh, bytes: relay.received - bytes, phases: { receive: adopted - at - refresh, connectivity: 0, repack: 0, checkout, total: 0 } })
      lease.release()
      rmSync(trace, { force: true })
      const last = samples.prepared.at(-1)!
      process.stdout.write(`run ${run} prepared: ${s(last.total)} (refresh ${s(refresh)}, adopt (fetch, HEAD) ${s(last.phases.receive)}, checkout of what changed ${s(checkout)}; ${mb(last.bytes)} through the relay; cloned from the mirror beforehand in ${s(preparing.at(-1)!)})\n`)
    }
    const measure = async (path: keyof typeof samples, run: number) => {
      const job = await claim()
      const dir = join(scratch, `${path}-${run}`)
      const at = Date.now()
      const bytes = relay.received
      const lease = path === 'plain' ? null : await cache.prepare(cacheJob(job), (text) => log.info(text))
      if (path !== 'plain' && !lease) throw new Error('the cache was not used')
      const refresh = Date.now() - at
      const phases = await clone(job, dir, lease?.path, path === 'dissociate')
      samples[path].push({ total: Date.now() - at, refresh, bytes: relay.received - bytes, phases })
      lease?.release()
      const last = samples[path].at(-1)!
      process.stdout.write(`run ${run} ${path}: ${s(last.total)} (refresh ${s(refresh)}, receive ${s(phases.receive)}, repack ${s(phases.repack)}, checkout ${s(phases.checkout)}; ${mb(last.bytes)} through the relay)\n`)
    }
    for (let run = 1; run <= RUNS; run++) {
      const ahead = await prepareAhead(run)
      commitOnRemote(bare, run)
      await measure('plain', run)
      await measure('cached', run)
      await measurePrepared(run, ahead)
    }
    commitOnRemote(bare, RUNS + 1)
    await measure('dissociate', RUNS + 1)

    const p50 = (path: keyof typeof samples, pick: (sample: Sample) => number) => median(samples[path].map(pick))
    const row = (label: string, path: keyof typeof samples) => {
      const of = (pick: (sample: Sample) => number) => s(p50(path, pick))
      return `| ${label} | ${of((x) => x.total)} | ${of((x) => x.refresh)} | ${of((x) => x.phases.receive)} | ${of((x) => x.phases.connectivity)} | ${of((x) => x.phases.repack)} | ${of((x) => x.phases.checkout)} | ${of((x) => x.total - x.refresh - x.phases.receive - x.phases.connectivity - x.phases.repack - x.phases.checkout)} | ${mb(p50(path, (x) => x.bytes))} |`
    }
    const ratio = p50('plain', (x) => x.total) / p50('cached', (x) => x.total)
    const withoutCheckout = (path: keyof typeof samples) => p50(path, (x) => x.total - x.phases.checkout)
    process.stdout.write([
      '',
      `| ${files} files, ${packMb.toFixed(0)} MB packed, through the app relay | total | mirror refresh | receive pack (server ∥ relay ∥ index-pack) | connectivity check | repack | checkout | rest (refs, process starts) | through the relay |`,
      '|---|---|---|---|---|---|---|---|---|',
      row(`plain clone + checkout (p50 of ${RUNS})`, 'plain'),
      row(`cached: refresh + clone --reference-if-able (alternates) + checkout (p50 of ${RUNS})`, 'cached'),
      row('former cached: refresh + clone --reference-if-able --dissociate + checkout (1 run)', 'dissociate'),
      row(`prepared: refresh + adopt a workspace a warm container cloned from the mirror while it waited (receive = adopt: fetch + HEAD) + checkout of what changed (p50 of ${RUNS})`, 'prepared'),
      '',
      `speed-up, plain vs cached (goal ≥ 5×): ${ratio.toFixed(1)}×`,
      `speed-up, plain vs prepared (what the job waits for; the warm container's clone from the mirror, p50 ${s(median(preparing))}, ran before the claim): ${(p50('plain', (x) => x.total) / p50('prepared', (x) => x.total)).toFixed(1)}×`,
      `the same without the checkout both paths share: ${(withoutCheckout('plain') / withoutCheckout('cached')).toFixed(1)}× (${s(withoutCheckout('plain'))} vs ${s(withoutCheckout('cached'))})`,
      `the mirror's first fill (once per repository and host): ${s(fill)}`,
      `load average at end: ${load()}`,
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
