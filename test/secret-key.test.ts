// The secret key replaced or lost, on PostgreSQL and embedded: every route still answers, stored
// secrets read as `unreadable` with the fix, count as missing in the check (runs refused naming the
// setting), are logged once each, and a PUT replaces them. Rotation with TERARCHITECT_SECRET_KEY_PREVIOUS
// keeps every secret (re-encrypted in place, job tokens still valid). With DATABASE_URL and no key
// the key file is used only with a warning naming it; the compose setup generates its key into the
// data volume (deploy/compose-entry.sh).
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { randomBytes } from 'node:crypto'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DB_KINDS, ROOT, createRunnableProject, createTicket, startTestApp, stopOwnCluster, type TestApp } from './helpers.ts'
import { assertError } from './api-helpers.ts'
import { createSecretBox } from '../core/secrets.ts'
import { resolveSettings } from '../core/services/settings.ts'
import { coordinatorForgeToken } from '../core/services/coordinator-forge-token.ts'
import { reviewCycle } from '../core/services/review/loop.ts'

const newKey = () => randomBytes(32).toString('base64url')
const SECRET_KEYS = ['GITHUB_TOKEN', 'WORKER_API_KEY', 'AGENT_API_KEY'] as const
const freshSecrets = () => Object.fromEntries(SECRET_KEYS.map((key) => [key, `${key.toLowerCase()}_${randomBytes(12).toString('hex')}`]))
const setting = (res: { body: any }, key: string) => res.body.settings.find((entry: any) => entry.key === key)

/** The app's current key: configured, or its data dir's secret.key. */
const currentKey = (t: TestApp) => t.env.TERARCHITECT_SECRET_KEY ?? readFileSync(join(t.dataDir, 'secret.key'), 'utf8').trim()

/** Restarts `t` on the same database with `env` changes (undefined removes a variable). */
async function restart(t: TestApp, env: Record<string, string | undefined>): Promise<TestApp> {
  await t.stop()
  const next = { ...t.env }
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined) delete next[name]
    else next[name] = value
  }
  return startTestApp({ kind: t.kind, reuse: { dataDir: t.dataDir, env: next } })
}

/** Replaces the key as an operator would by mistake: a new TERARCHITECT_SECRET_KEY, or secret.key deleted. */
async function replaceKey(t: TestApp): Promise<TestApp> {
  if (t.kind === 'postgres') return restart(t, { TERARCHITECT_SECRET_KEY: newKey() })
  rmSync(join(t.dataDir, 'secret.key'))
  return restart(t, {})
}

async function storeForgeToken(t: TestApp, token: string) {
  await t.app.ctx.sql`
    insert into forge_tokens (credential, coordinator_id, token, project_ids) values ('test-credential', 'c1', ${t.app.ctx.secrets.encrypt(token)}, null)
    on conflict (credential) do update set token = excluded.token`
}

for (const kind of DB_KINDS) {
  const test = suite<{ t: TestApp; secrets: Record<string, string> }>(`secret key (${kind})`)
  test.before(async (context) => {
    context.t = await startTestApp({ kind, env: kind === 'postgres' ? { TERARCHITECT_SECRET_KEY: newKey() } : {} })
  })
  test.after(async ({ t }) => t.close())

  test('key replaced: settings load, secrets unreadable with the fix, runs refused naming them, logged once each', async (context) => {
    context.secrets = freshSecrets()
    const put = await context.t.api('PUT', '/api/settings', { values: context.secrets })
    assert.is(put.status, 200, JSON.stringify(put.body))
    await storeForgeToken(context.t, 'forge_token_' + randomBytes(8).toString('hex'))
    // A job queued before the key changed is claimed after it: its agent still gets its context.
    const queuedProject = await createRunnableProject(context.t)
    const queuedTicket = await createTicket(context.t, queuedProject.id, { column_id: 'in_progress' })
    const t = context.t = await replaceKey(context.t)
    assert.ok(t.logs.some((line) => line.includes('"level":"warn"') && line.includes('setting GITHUB_TOKEN') && line.includes('TERARCHITECT_SECRET_KEY_PREVIOUS')), 'the start log names the unreadable settings')

    const settings = await t.api('GET', '/api/settings')
    assert.is(settings.status, 200, JSON.stringify(settings.body))
    for (const key of SECRET_KEYS) {
      const entry = setting(settings, key)
      assert.equal([entry.status, entry.set, entry.value, entry.source], ['unreadable', false, null, 'app'], key)
      assert.match(entry.fix, /set it again/)
    }
    assert.is(setting(settings, 'WORKER_MODEL').status, 'set')
    assert.is(setting(settings, 'AGENT_MODEL').status, 'unset')
    assert.is((await t.api('GET', '/api/worker/settings')).status, 200)
    const queued = await t.api('POST', '/api/worker/jobs/start', { project_id: queuedProject.id })
    assert.is(queued.status, 200, JSON.stringify(queued.body))
    const workerContext = await t.api('GET', `/api/projects/${queuedProject.id}/tickets/${queuedTicket.id}/worker-context`, undefined, { authorization: `Bearer ${queued.body.agent_token}` })
    assert.is(workerContext.status, 200, JSON.stringify(workerContext.body))

    const check = await t.api('GET', '/api/settings/check')
    assert.is(check.status, 200)
    assert.is(check.body.ok, false)
    for (const key of SECRET_KEYS) {
      const problem = check.body.problems.find((entry: any) => entry.key === key)
      assert.ok(problem, `the check names ${key}`)
      assert.is(problem.severity, 'error')
      assert.match(problem.message, /unreadable/)
    }
    const project = await createRunnableProject(t)
    const ticket = await createTicket(t, project.id)
    const run = await t.api('POST', `/api/projects/${project.id}/tickets/${ticket.id}/run`)
    assertError(run, 422, '/settings/GITHUB_TOKEN')
    assert.match(run.body.error.message, /WORKER_API_KEY is unreadable/)

    // What the relays and the review loop read: unreadable counts as unset, nothing throws.
    const resolved = await resolveSettings(t.app.ctx)
    for (const key of SECRET_KEYS) assert.not.ok(key in resolved, key)
    assert.is(await coordinatorForgeToken(t.app.ctx, project.id), null)
    await reviewCycle(t.app.ctx)
    await reviewCycle(t.app.ctx)
    const warnings = t.logs.filter((line) => line.includes('secret setting GITHUB_TOKEN cannot be decrypted'))
    assert.is(warnings.length, 1, 'logged once for the setting, however often it is read')
  })

  test('after setting them again, a run is accepted and the agent reads its context', async (context) => {
    const { t } = context
    context.secrets = freshSecrets()
    const put = await t.api('PUT', '/api/settings', { values: context.secrets })
    assert.is(put.status, 200, JSON.stringify(put.body))
    for (const key of SECRET_KEYS) assert.equal([setting(put, key).status, setting(put, key).set], ['set', true], key)
    assert.is((await t.api('GET', '/api/settings/check')).body.ok, true)
    const project = await createRunnableProject(t)
    const ticket = await createTicket(t, project.id, { column_id: 'in_progress' })
    const claim = await t.api('POST', '/api/worker/jobs/start', { project_id: project.id })
    assert.is(claim.status, 200, JSON.stringify(claim.body))
    const contextRes = await t.api('GET', `/api/projects/${project.id}/tickets/${ticket.id}/worker-context`, undefined, { authorization: `Bearer ${claim.body.agent_token}` })
    assert.is(contextRes.status, 200, JSON.stringify(contextRes.body))
  })

  test('rotation with the previous key keeps every secret, re-encrypted with the new key', async (context) => {
    const { secrets } = context
    await storeForgeToken(context.t, 'forge_token_rotated')
    const project = await createRunnableProject(context.t)
    const ticket = await createTicket(context.t, project.id, { column_id: 'in_progress' })
    const claim = await context.t.api('POST', '/api/worker/jobs/start', { project_id: project.id })
    assert.is(claim.status, 200)
    const previous = currentKey(context.t)
    const next = newKey()
    let t: TestApp
    if (kind === 'postgres') t = await restart(context.t, { TERARCHITECT_SECRET_KEY: next, TERARCHITECT_SECRET_KEY_PREVIOUS: previous })
    else {
      await context.t.stop()
      writeFileSync(join(context.t.dataDir, 'secret.key'), next + '\n', { mode: 0o600 })
      t = await startTestApp({ kind, reuse: { dataDir: context.t.dataDir, env: { ...context.t.env, TERARCHITECT_SECRET_KEY_PREVIOUS: previous } } })
    }
    context.t = t
    const rotated = t.logs.find((line) => line.includes('secret key rotation'))
    assert.ok(rotated, 'the rotation is logged')
    assert.match(rotated!, /"reencrypted":4/)
    for (const value of [...Object.values(secrets), previous, next]) assert.not.ok(t.logs.some((line) => line.includes(value)), 'no key or value logged')

    const settings = await t.api('GET', '/api/settings')
    for (const key of SECRET_KEYS) assert.is(setting(settings, key).status, 'set', key)
    const onlyNew = createSecretBox(next)
    for (const row of await t.app.ctx.sql`select key, value from app_settings where secret`) {
      assert.is(onlyNew.tryDecrypt(row.value as string), secrets[row.key as string], `${row.key} is stored with the new key`)
    }
    const [forge] = await t.app.ctx.sql`select token from forge_tokens`
    assert.is(onlyNew.tryDecrypt(forge!.token as string), 'forge_token_rotated')
    const contextRes = await t.api('GET', `/api/projects/${project.id}/tickets/${ticket.id}/worker-context`, undefined, { authorization: `Bearer ${claim.body.agent_token}` })
    assert.is(contextRes.status, 200, 'a job token signed with the previous key stays valid during the rotation')

    // Started again without the previous key: nothing left to re-encrypt, everything reads.
    context.t = await restart(t, { TERARCHITECT_SECRET_KEY_PREVIOUS: undefined })
    assert.not.ok(context.t.logs.some((line) => line.includes('secret key rotation')))
    const again = await context.t.api('GET', '/api/settings')
    for (const key of SECRET_KEYS) assert.is(setting(again, key).status, 'set', key)
    assert.is((await resolveSettings(context.t.app.ctx)).WORKER_API_KEY, secrets.WORKER_API_KEY)
  })

  if (kind === 'postgres') {
    test('DATABASE_URL without TERARCHITECT_SECRET_KEY: the key file is used, with a warning naming it and the variable', async (context) => {
      await context.t.stop()
      const { TERARCHITECT_SECRET_KEY: _, ...env } = context.t.env
      const t = context.t = await startTestApp({ kind, reuse: { dataDir: context.t.dataDir, env } })
      const file = join(t.dataDir, 'secret.key')
      const warning = t.logs.find((line) => line.includes('"level":"warn"') && line.includes(file))
      assert.ok(warning, 'the warning names the key file')
      assert.match(warning!, /TERARCHITECT_SECRET_KEY/)
      assert.match(warning!, /just generated/)
      context.t = await restart(t, {})
      const reused = context.t.logs.find((line) => line.includes('"level":"warn"') && line.includes(file))
      assert.ok(reused && !reused.includes('just generated'), 'an existing key file is reused, still with the warning')
    })
  }

  test.run()
}

const tokens = suite('secret key: job tokens across a rotation')
tokens('a token signed with the previous key is accepted only if it expires within the lifetime of a token issued before the rotation', () => {
  const [oldKey, newKey] = [randomBytes(32).toString('base64url'), randomBytes(32).toString('base64url')]
  const now = Math.floor(Date.now() / 1000)
  const claims = (exp: number) => ({ jobId: 1, ticketId: 1, projectId: 1, attempt: 1, claim: 1, exp })
  const before = createSecretBox(oldKey)
  const after = createSecretBox(newKey, oldKey, now + 3600)
  assert.ok(after.verifyJobToken(before.signJobToken(claims(now + 600))), 'issued before the rotation, within its lifetime')
  assert.is(after.verifyJobToken(before.signJobToken(claims(now + 10 * 365 * 86400))), null, 'forged with the old key and a far expiry')
  assert.ok(after.verifyJobToken(after.signJobToken(claims(now + 10 * 365 * 86400))), 'the current key\'s own tokens are not capped by this rule')
  assert.is(createSecretBox(newKey).verifyJobToken(before.signJobToken(claims(now + 600))), null, 'without the previous key configured')
})
tokens.run()

const compose = suite('secret key: the compose entry script')
compose('generates the key into the data volume once (mode 0600), hands it to the app, and leaves a configured key alone', () => {
  const dir = mkdtempSync(join(tmpdir(), 'compose-entry-'))
  const run = (env: Record<string, string>) => {
    const result = spawnSync('sh', [join(ROOT, 'deploy/compose-entry.sh'), 'sh', '-c', 'printf %s "$TERARCHITECT_SECRET_KEY"'], {
      env: { PATH: process.env.PATH!, TERARCHITECT_DATA_DIR: dir, ...env }, encoding: 'utf8',
    })
    assert.is(result.status, 0, result.stderr)
    return result
  }
  try {
    const first = run({})
    const file = join(dir, 'secret.key')
    assert.match(first.stderr, `generated the secret key into ${file}`)
    assert.not.match(first.stderr, first.stdout, 'the key is never printed')
    assert.match(first.stdout, /^[A-Za-z0-9_-]{43}$/)
    assert.is(readFileSync(file, 'utf8'), first.stdout)
    assert.is(statSync(file).mode & 0o777, 0o600)
    const second = run({ TERARCHITECT_SECRET_KEY: '' })
    assert.equal([second.stdout, second.stderr], [first.stdout, ''], 'the same key on the next start')
    assert.is(run({ TERARCHITECT_SECRET_KEY: 'configured-key-0123456789' }).stdout, 'configured-key-0123456789')
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
compose.run()

const last = suite('secret key: cluster stop')
last.after(stopOwnCluster)
last('cluster stop', () => {})
last.run()
