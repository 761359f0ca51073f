/**
 * The git object cache (core/coordinator/git-cache.ts) with real git, the real app relay and the git
 * fixture as the forge's git host: a second job's clone borrows its objects from the mirror (bytes
 * through the relay counted) and pushes through the relay, concurrent jobs of one repository refresh
 * once, a force-push and a deleted branch show in the next job, a mirror changed behind the
 * coordinator's back is rebuilt, the least recently used idle mirror is evicted; while a job holds
 * a mirror nothing it borrows goes away (no rebuild, eviction or repack). Two projects: B's forge token cannot read A's
 * private repository (the git host refuses it), so B's job gets no mirror even naming the same URL.
 * In Docker (the agent image): the mirror is mounted read-only and a clone in the container takes
 * its objects from it.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, appendFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startTestApp, type TestApp } from './helpers.ts'
import { GIT_IDENTITY, start as startGitHttp, type GitHttp } from './fixtures/git-http.ts'
import { start as startGithub, type FakeGithub } from './fixtures/fake-github.ts'
import { countingRelay, type CountingRelay } from './fixtures/counting-relay.ts'
import { createGitCache, gitCacheFor, withMirror, MIRROR_TARGET, type GitCache } from '../core/coordinator/git-cache.ts'
import { resolveCoordinatorConfig } from '../core/coordinator-config.ts'
import { mirrorKey, mirrorPath } from '../core/coordinator/git-cache-store.ts'
import { createGit, pushLeased } from '../core/agent/git.ts'
import { createLogger } from '../core/log.ts'
import type { ClaimedJob } from '../core/coordinator/client.ts'
import type { JobSpec } from '../core/executor.ts'
import { ensureDocker } from './docker-fixtures.ts'
import { dockerDood } from '../plugins/executors/docker/dood.ts'

const TOKEN_A = 'ghp_cache_forge_token_a_0123456789'
const TOKEN_B = 'ghp_cache_forge_token_b_0123456789'
const WORKER_KEY = 'cache-worker-key-0123456789'
const ADMIN = { authorization: 'Bearer cache-admin-token-0123456789' }
const WORKER = { authorization: `Bearer ${WORKER_KEY}` }
const AGENT_IMAGE = 'terarchitect-agent:test'

let t: TestApp
let forgeGit: GitHttp
let gh: FakeGithub
let scratch: string
let projectA: number
let projectB: number
let repoUrl: string
let bare: string
let relay: CountingRelay
const log = createLogger('error', { test: 'git-cache' })

async function newProject(url: string): Promise<number> {
  const res = await t.api('POST', '/api/projects', { name: `cache-${randomBytes(3).toString('hex')}`, repo_url: url }, ADMIN)
  if (res.status !== 201) throw new Error(`project: ${res.status} ${JSON.stringify(res.body)}`)
  return res.body.id
}

/** A ticket of `projectId` run and its job claimed as a coordinator would. */
async function claim(projectId: number): Promise<ClaimedJob> {
  const ticket = await t.api('POST', `/api/projects/${projectId}/tickets`, { title: 'Cache me' }, ADMIN)
  const started = await t.api('POST', `/api/projects/${projectId}/tickets/${ticket.body.id}/run`, undefined, ADMIN)
  if (started.status !== 201) throw new Error(`run: ${started.status} ${JSON.stringify(started.body)}`)
  const claimed = await t.api('POST', '/api/worker/jobs/start', { project_id: projectId, coordinator_id: 'git-cache-tests' }, WORKER)
  if (claimed.status !== 200) throw new Error(`claim: ${claimed.status} ${JSON.stringify(claimed.body)}`)
  return claimed.body
}

/** The job's relay URL through the counting relay (as a coordinator on this host reaches the app). */
const relayUrl = (job: ClaimedJob) => `http://127.0.0.1:${relay.port}/api/relay/git/${job.project_id}/${job.ticket_id}/repo.git`
const appUrl = () => `http://127.0.0.1:${relay.port}`
const cacheJob = (job: ClaimedJob) => ({ repoUrl: job.repo_url!, relayUrl: relayUrl(job), token: job.agent_token })

/** Clones `job`'s repository as the agent does (core/agent/git.ts), with the mirror when given; returns bytes downloaded. */
async function agentClone(job: ClaimedJob, name: string, mirror?: string): Promise<{ dir: string; bytes: number }> {
  const dir = join(scratch, name)
  const before = relay.received
  const git = createGit({ cwd: dir, env: { PATH: process.env.PATH!, HOME: scratch }, credential: { token: job.agent_token, url: relayUrl(job) }, author: { name: 'a', email: 'a@b' } })
  await git.clone(relayUrl(job), dir, mirror)
  return { dir, bytes: relay.received - before }
}

const gitOut = (args: string[], cwd = scratch) => execFileSync('git', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH!, HOME: scratch, ...GIT_IDENTITY } }).toString().trim()

/** Commits `files` on top of the fixture repository's `branch` (a scratch clone, pushed straight to the git host's bare repo). */
function commitToRemote(branch: string, files: Record<string, string | Buffer>, options: { orphan?: boolean } = {}): string {
  const work = mkdtempSync(join(scratch, 'work-'))
  gitOut(['clone', '--quiet', '--', bare, work])
  if (options.orphan) gitOut(['checkout', '--quiet', '--orphan', 'rewritten'], work)
  else gitOut(['checkout', '--quiet', '-B', branch, 'origin/main'], work)
  for (const [path, content] of Object.entries(files)) writeFileSync(join(work, path), content)
  gitOut(['add', '--all'], work)
  gitOut(['commit', '--quiet', '-m', `update ${branch}`], work)
  gitOut(['push', '--quiet', '--force', 'origin', `HEAD:refs/heads/${branch}`], work)
  return gitOut(['rev-parse', 'HEAD'], work)
}

/** Bytes of the objects a clone holds itself (packs and loose), not counting what it borrows. */
function ownObjectBytes(dir: string): number {
  const objects = join(dir, '.git', 'objects')
  let total = 0
  for (const sub of readdirSync(objects)) {
    if (sub === 'info') continue
    for (const name of readdirSync(join(objects, sub))) total += statSync(join(objects, sub, name)).size
  }
  return total
}

const freshCache = (maxBytes = 1024 ** 3): GitCache => createGitCache({ dir: mkdtempSync(join(scratch, 'cache-')), maxBytes, log })
const notes = () => {
  const seen: string[] = []
  return { seen, note: (text: string) => void seen.push(text) }
}

test.before(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'git-cache-'))
  forgeGit = await startGitHttp({ token: TOKEN_A })
  gh = await startGithub({ tokens: { [TOKEN_A]: 'terarchitect-bot' } })
  t = await startTestApp({
    kind: 'pglite',
    // No app-wide forge token: each project's comes from the coordinator serving it (below).
    env: { GITHUB_TOKEN: '', TERARCHITECT_WORKER_API_KEY: WORKER_KEY, TERARCHITECT_ADMIN_TOKEN: ADMIN.authorization.slice(7), ALLOW_INSECURE_GIT_HOSTS: new URL(forgeGit.url).host },
  })
  const settings = await t.api('PUT', '/api/settings', { values: { GITHUB_API_URL: gh.url, WORKER_MODEL: 'm' } }, ADMIN)
  assert.is(settings.status, 200, JSON.stringify(settings.body))
  // Incompressible content, so a clone's download is clearly larger than what a mirror saves it.
  repoUrl = await forgeGit.createRepo('acme/private', { 'README.md': '# private\n' })
  bare = join(forgeGit.root, 'acme', 'private.git')
  commitToRemote('main', { 'a.bin': randomBytes(1536 * 1024), 'b.bin': randomBytes(1536 * 1024) })
  projectA = await newProject(repoUrl)
  projectB = await newProject(repoUrl.replace(/\.git$/, '')) // the same repository, spelt differently
  // Each project's forge token as its coordinator handed it: A's reads the repository, B's is refused by the git host.
  for (const [project, token] of [[projectA, TOKEN_A], [projectB, TOKEN_B]] as const) {
    await t.app.ctx.sql`insert into forge_tokens (credential, coordinator_id, token, project_ids)
      values (${`cache-${project}`}, 'git-cache-tests', ${t.app.ctx.secrets.encrypt(token)}, ${[project]}::int[])`
  }
  relay = await countingRelay(Number(new URL(t.url).port))
})

test.after(async () => {
  await relay?.close()
  await t?.close()
  await Promise.all([forgeGit?.close(), gh?.close()])
  rmSync(scratch, { recursive: true, force: true })
})

test('a second job clones from the mirror: far fewer bytes through the relay, its objects borrowed through alternates, and it pushes through the relay', async () => {
  const cache = freshCache()
  const cold = await agentClone(await claim(projectA), 'cold')
  const first = await claim(projectA)
  const firstLease = await cache.prepare(cacheJob(first), () => {})
  assert.ok(firstLease, 'the first job gets a mirror')
  firstLease!.release()
  const second = await claim(projectA)
  const before = relay.received
  const { note, seen } = notes()
  const lease = await cache.prepare(cacheJob(second), note)
  assert.ok(lease, seen.join('\n'))
  const refresh = relay.received - before
  const warm = await agentClone(second, 'warm', lease!.path)
  assert.ok(cold.bytes > 3 * 1024 * 1024, `a cold clone downloads the repository (${cold.bytes} bytes)`)
  assert.ok(refresh + warm.bytes < cold.bytes / 10, `refresh ${refresh} + clone ${warm.bytes} bytes vs a cold clone's ${cold.bytes}`)
  assert.match(seen.join('\n'), /git cache: mirror ready/)
  assert.is(gitOut(['rev-parse', 'HEAD'], warm.dir), gitOut(['rev-parse', 'HEAD'], cold.dir))
  // Borrowed, not copied: the clone's own objects are a few KB, the mirror's are named in alternates.
  assert.is(gitOut(['cat-file', '-p', 'HEAD:README.md'], warm.dir), gitOut(['cat-file', '-p', 'HEAD:README.md'], cold.dir))
  assert.match(readFileSync(join(warm.dir, '.git', 'objects', 'info', 'alternates'), 'utf8'), join(lease!.path, 'objects'))
  assert.ok(ownObjectBytes(warm.dir) < 64 * 1024, `the clone holds ${ownObjectBytes(warm.dir)} bytes of objects of its own`)
  gitOut(['fsck', '--no-dangling', '--full'], warm.dir)
  assert.is(gitOut(['remote', 'get-url', 'origin'], warm.dir), relayUrl(second))
  // A commit on top, pushed through the relay with the job's token as the agent pushes: the remote
  // gets a complete history (the objects the clone borrowed included where the remote needs them).
  writeFileSync(join(warm.dir, 'pushed.txt'), 'from a clone with alternates\n')
  const git = createGit({ cwd: warm.dir, env: { PATH: process.env.PATH!, HOME: scratch }, credential: { token: second.agent_token, url: relayUrl(second) }, author: { name: 'a', email: 'a@b' } })
  const commit = await git.commitAll('from the cache')
  const branch = `ticket-${second.ticket_id}` // the one branch the relay lets this job push
  await pushLeased(git, 'origin', branch, null)
  assert.is(gitOut(['--git-dir', bare, 'rev-parse', `refs/heads/${branch}`]), commit)
  assert.is(gitOut(['--git-dir', bare, 'show', `${branch}:pushed.txt`]), 'from a clone with alternates')
  gitOut(['--git-dir', bare, 'fsck', '--no-dangling', '--full'])
  lease!.release()
  gitOut(['--git-dir', bare, 'update-ref', '-d', `refs/heads/${branch}`])
})

test('while a job holds the mirror it keeps every object: a force-push refresh, tampering and a tiny budget remove nothing, and repacks wait for the lease', async () => {
  const cache = createGitCache({ dir: mkdtempSync(join(scratch, 'cache-')), maxBytes: 1, log, repackAt: { packs: 0, loose: 0 } })
  const holder = await claim(projectA)
  const lease = await cache.prepare(cacheJob(holder), () => {})
  assert.ok(lease)
  const clone = await agentClone(holder, 'held', lease!.path)
  const packs = () => readdirSync(join(lease!.path, 'objects', 'pack')).filter((name) => name.endsWith('.pack')).sort()
  const held = packs()
  const oldMain = gitOut(['--git-dir', bare, 'rev-parse', 'refs/heads/main'])
  // Another job refreshes after a force-push to a new history: the old one is unreachable in the mirror now.
  const rewritten = commitToRemote('main', { 'README.md': '# rewritten while held\n' }, { orphan: true })
  const other = await cache.prepare(cacheJob(await claim(projectA)), () => {})
  assert.ok(other, 'a second job gets the mirror too')
  assert.is(gitOut(['--git-dir', lease!.path, 'rev-parse', 'refs/heads/main']), rewritten)
  assert.ok(held.every((pack) => packs().includes(pack)), 'no pack was repacked away under a lease (repackAt 0)')
  other!.release()
  gitOut(['fsck', '--no-dangling', '--full'], clone.dir)
  // Tampered while held: not handed to the next job, not removed from under the holder.
  appendFileSync(join(lease!.path, 'objects', 'pack', held[0]!.replace(/\.pack$/, '.keep')), 'planted')
  const { note, seen } = notes()
  assert.is(await cache.prepare(cacheJob(await claim(projectA)), note), null)
  assert.match(seen.join('\n'), 'rebuilt once the jobs using it are over')
  assert.ok(existsSync(join(lease!.path, 'objects', 'pack', held[0]!)))
  gitOut(['fsck', '--no-dangling', '--full'], clone.dir)
  assert.is(gitOut(['rev-parse', 'HEAD'], clone.dir), oldMain)
  lease!.release()
  // Once no job holds it: rebuilt (the planted file gone), then repacked into one pack at the next idle refresh.
  const rebuilt = await cache.prepare(cacheJob(await claim(projectA)), () => {})
  assert.ok(rebuilt)
  assert.not.ok(readdirSync(join(rebuilt!.path, 'objects', 'pack')).some((name) => name.endsWith('.keep')))
  rebuilt!.release()
  commitToRemote('main', { 'after.txt': 'after\n' })
  const again = await cache.prepare(cacheJob(await claim(projectA)), () => {})
  assert.is(packs().length, 1)
  assert.is(gitOut(['--git-dir', again!.path, 'count-objects', '-v']).match(/^count: (\d+)/m)?.[1], '0')
  gitOut(['--git-dir', again!.path, 'fsck', '--no-dangling', '--full'])
  again!.release()
  gitOut(['--git-dir', bare, 'update-ref', 'refs/heads/main', oldMain])
})

test('jobs of one repository arriving together refresh it once', async () => {
  let before = relay.received
  const alone = await freshCache().prepare(cacheJob(await claim(projectA)), () => {})
  alone!.release()
  const oneFill = relay.received - before
  const cache = freshCache()
  const jobs = await Promise.all([claim(projectA), claim(projectA), claim(projectA)])
  before = relay.received
  const { note, seen } = notes()
  const leases = await Promise.all(jobs.map((job) => cache.prepare(cacheJob(job), note)))
  assert.ok(leases.every(Boolean), seen.join('\n'))
  const together = relay.received - before
  assert.ok(oneFill > 3 * 1024 * 1024, `one fill downloads the repository (${oneFill} bytes)`)
  assert.ok(together < oneFill * 1.2, `three jobs together downloaded ${together} bytes, one job alone ${oneFill}: one refresh`)
  assert.is(new Set(leases.map((lease) => lease!.path)).size, 1)
  leases.forEach((lease) => lease!.release())
})

test('after a force-push and a deleted branch, the next job sees the new history and no branch that is gone', async () => {
  const cache = freshCache()
  commitToRemote('feature', { 'feature.txt': 'feature\n' })
  const before = await claim(projectA)
  const lease = await cache.prepare(cacheJob(before), () => {})
  lease!.release()
  assert.match(gitOut(['--git-dir', lease!.path, 'for-each-ref', '--format=%(refname)']), 'refs/heads/feature')
  const oldMain = gitOut(['--git-dir', bare, 'rev-parse', 'refs/heads/main'])

  const rewritten = commitToRemote('main', { 'README.md': '# rewritten\n', 'c.bin': randomBytes(64 * 1024) }, { orphan: true })
  gitOut(['--git-dir', bare, 'update-ref', '-d', 'refs/heads/feature'])
  const after = await claim(projectA)
  const again = await cache.prepare(cacheJob(after), () => {})
  assert.ok(again)
  const clone = await agentClone(after, 'after-force-push', again!.path)
  again!.release()
  assert.is(gitOut(['rev-parse', 'HEAD'], clone.dir), rewritten)
  assert.is(gitOut(['rev-parse', 'origin/main'], clone.dir), rewritten)
  assert.not.match(gitOut(['branch', '--remotes', '--contains', rewritten], clone.dir), 'feature')
  assert.not.match(gitOut(['for-each-ref', '--format=%(refname)'], clone.dir), 'feature')
  assert.not.match(gitOut(['--git-dir', again!.path, 'for-each-ref', '--format=%(refname)']), 'feature')
  assert.is(gitOut(['--git-dir', again!.path, 'rev-parse', 'refs/heads/main']), rewritten)
  assert.is.not(rewritten, oldMain)
  assert.ok(!gitOut(['log', '--format=%H', 'HEAD'], clone.dir).includes(oldMain), 'the old history is not in the new clone\'s log')
  // Back to a history the other tests expect.
  gitOut(['--git-dir', bare, 'update-ref', 'refs/heads/main', oldMain])
})

test('acceptance 3: project B, whose token cannot read A\'s private repository, gets nothing from A\'s mirror under the same URL', async () => {
  const cache = freshCache()
  const a = await claim(projectA)
  const leaseA = await cache.prepare(cacheJob(a), () => {})
  assert.ok(leaseA, 'A fills the mirror')
  const b = await claim(projectB)
  assert.is(b.repo_url, repoUrl.replace(/\.git$/, ''))
  assert.is(mirrorKey(b.repo_url!), mirrorKey(a.repo_url!), 'both URLs name one mirror')
  const { note, seen } = notes()
  const before = relay.received
  const leaseB = await cache.prepare(cacheJob(b), note)
  assert.is(leaseB, null)
  assert.match(seen.join('\n'), /git cache: not used \(.*the git host refused the forge token/)
  assert.ok(relay.received - before < 4096, 'B downloaded no objects')
  // B joining a refresh A started (no fetch of its own): its own ls-remote decides, and refuses.
  const joined = notes()
  const [a2, b2] = [await claim(projectA), await claim(projectB)]
  const [again, bJoined] = await Promise.all([cache.prepare(cacheJob(a2), () => {}), cache.prepare(cacheJob(b2), joined.note)])
  assert.ok(again)
  again!.release()
  assert.is(bJoined, null)
  assert.match(joined.seen.join('\n'), 'could not list the repository through the relay')
  // What the container would get: no mount, no AGENT_GIT_MIRROR.
  const spec: JobSpec = { jobId: b.job_id, ticketId: b.ticket_id, projectId: b.project_id, kind: 'ticket', executionMode: 'docker', projectPath: null, env: { A: '1' }, labels: {}, timeoutMs: 0 }
  const prepared = await withMirror(cache, b, appUrl(), spec, () => {})
  assert.equal(prepared.spec, spec)
  // B's own clone through the relay fails the same way: its token opens nothing of A's repository.
  await agentClone(b, 'b-cold').then(() => assert.unreachable('B cloned A\'s repository'), (error: Error) => assert.match(error.message, /git clone failed/))
  // A's job, by contrast, gets the mount and the variable.
  const withA = await withMirror(cache, a, appUrl(), { ...spec, projectId: a.project_id }, () => {})
  assert.equal(withA.spec.readOnlyMounts, [{ source: leaseA!.path, target: MIRROR_TARGET }])
  assert.is(withA.spec.env.AGENT_GIT_MIRROR, MIRROR_TARGET)
  withA.release()
  leaseA!.release()
})

test('a mirror changed behind the coordinator\'s back is rebuilt before any job uses it', async () => {
  const cache = freshCache()
  const first = await cache.prepare(cacheJob(await claim(projectA)), () => {})
  first!.release()
  const object = gitOut(['--git-dir', first!.path, 'rev-parse', 'refs/heads/main^{tree}'])
  const loose = join(first!.path, 'objects', object.slice(0, 2), object.slice(2))
  const packs = join(first!.path, 'objects', 'pack')
  const pack = readdirSync(packs).find((name) => name.endsWith('.pack'))
  appendFileSync(existsSync(loose) ? loose : join(packs, pack!), 'poison')
  writeFileSync(join(first!.path, 'objects', 'info', 'alternates'), '/elsewhere/objects\n')
  const job = await claim(projectA)
  const lease = await cache.prepare(cacheJob(job), () => {})
  assert.ok(lease)
  assert.not.ok(existsSync(join(first!.path, 'objects', 'info', 'alternates')))
  gitOut(['--git-dir', lease!.path, 'fsck', '--no-dangling', '--full'])
  lease!.release()
})

test('beyond AGENT_GIT_CACHE_MAX_MB the least recently used idle mirror is evicted; one in use is kept', async () => {
  const other = await forgeGit.createRepo('acme/other', { 'x.bin': randomBytes(256 * 1024).toString('base64') })
  const otherProject = await newProject(other)
  await t.app.ctx.sql`update forge_tokens set project_ids = project_ids || ${otherProject}::int where credential = ${`cache-${projectA}`}`
  const cache = freshCache(1024 * 1024) // 1 MB: less than one mirror of A
  const a = await cache.prepare(cacheJob(await claim(projectA)), () => {})
  const held = await cache.prepare(cacheJob(await claim(otherProject)), () => {})
  assert.ok(existsSync(a!.path), 'A is in use: kept')
  a!.release()
  const again = await cache.prepare(cacheJob(await claim(otherProject)), () => {})
  assert.not.ok(existsSync(a!.path), 'A, idle and least recently used, evicted')
  assert.ok(existsSync(again!.path))
  held!.release()
  again!.release()
})

test('settings: on by default under the state dir, AGENT_GIT_CACHE=off disables it, bad values are refused naming the variable', () => {
  const base = { TERARCHITECT_WORKER_API_KEY: WORKER_KEY, COORDINATOR_STATE_DIR: join(scratch, 'state') }
  assert.is(gitCacheFor(resolveCoordinatorConfig(base), log)?.dir, join(scratch, 'state', 'git-cache'))
  assert.is(gitCacheFor(resolveCoordinatorConfig({ ...base, AGENT_GIT_CACHE_DIR: '/srv/git-cache' }), log)?.dir, '/srv/git-cache')
  assert.is(gitCacheFor(resolveCoordinatorConfig({ ...base, AGENT_GIT_CACHE: 'off' }), log), null)
  for (const [name, value] of [['AGENT_GIT_CACHE', 'maybe'], ['AGENT_GIT_CACHE_MAX_MB', '0'], ['AGENT_GIT_CACHE_MAX_MB', '5g'], ['AGENT_GIT_CACHE_DIR', 'relative/dir']]) {
    assert.throws(() => resolveCoordinatorConfig({ ...base, [name]: value }), (error: Error) => error.message.includes(name), `${name}=${value}`)
  }
})

test('docker: the mirror is mounted read-only and a clone in the agent container takes its objects from it', async () => {
  const engine = await ensureDocker()
  if (!(await engine.imageInspect(AGENT_IMAGE).then(() => true, () => false))) {
    throw new Error(`${AGENT_IMAGE} is missing: test/agent-image.test.ts builds it`)
  }
  const cache = freshCache()
  const script = [
    'grep " /git-mirror " /proc/mounts | cut -d" " -f4 | cut -d, -f1 | sed "s/^/mount:/"',
    '(touch /git-mirror/poison 2>/dev/null || mkdir /git-mirror/objects/x 2>/dev/null) && echo wrote || echo write:refused',
    'git -c credential.helper= -c "credential.helper=!f() { echo username=job; echo password=$TERARCHITECT_AGENT_TOKEN; }; f" clone --quiet --no-tags ${AGENT_GIT_MIRROR:+--reference-if-able $AGENT_GIT_MIRROR} -- "$REPO" /tmp/repo',
    'echo head:$(git -C /tmp/repo rev-parse HEAD)',
    'git -C /tmp/repo fsck --no-dangling --full >/dev/null 2>&1 && echo fsck:ok',
    'cat /tmp/repo/.git/objects/info/alternates 2>/dev/null | sed "s/^/alternates:/"',
  ].join('; ')
  const executor = dockerDood({ engine, image: AGENT_IMAGE, mountSocket: false, cacheVolume: '', command: ['sh', '-c', script], log })
  const runIn = async (job: ClaimedJob, mirror: boolean) => {
    const base: JobSpec = {
      jobId: job.job_id, ticketId: job.ticket_id, projectId: job.project_id, kind: 'ticket', executionMode: 'docker', projectPath: null,
      env: { TERARCHITECT_AGENT_TOKEN: job.agent_token, REPO: relayUrl(job) }, labels: {}, timeoutMs: 120_000,
    }
    const prepared = mirror ? await withMirror(cache, job, appUrl(), base, () => {}) : { spec: base, release() {} }
    if (mirror) assert.ok(prepared.spec.readOnlyMounts?.length, 'the job got its mirror')
    const before = relay.received
    let output = ''
    const result = await executor.run(prepared.spec, (chunk) => void (output += chunk.text), AbortSignal.timeout(180_000))
    const bytes = relay.received - before
    prepared.release()
    assert.is(result.exitCode, 0, output)
    return { output, bytes }
  }
  const cold = await runIn(await claim(projectA), false)
  await cache.prepare(cacheJob(await claim(projectA)), () => {}).then((lease) => lease!.release())
  const warm = await runIn(await claim(projectA), true)
  assert.match(warm.output, 'mount:ro')
  assert.match(warm.output, 'write:refused')
  const head = gitOut(['--git-dir', bare, 'rev-parse', 'refs/heads/main'])
  assert.match(cold.output, `head:${head}`)
  assert.match(warm.output, `head:${head}`)
  assert.match(warm.output, 'fsck:ok')
  assert.match(warm.output, `alternates:${MIRROR_TARGET}/objects`)
  assert.not.match(cold.output, 'alternates:')
  assert.ok(warm.bytes < cold.bytes / 10, `in the container: ${warm.bytes} bytes with the mirror vs ${cold.bytes} without`)
  assert.not.ok(existsSync(join(mirrorPath(cache.dir, mirrorKey(repoUrl)), 'poison')))
  await executor.close?.()
})

test.run()
