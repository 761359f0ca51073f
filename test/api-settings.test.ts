// Settings and secrets over HTTP, on real PostgreSQL 15 and on PGlite: validation names the key,
// secrets are encrypted at rest, never read back, redacted from job logs; the check reports problems.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { randomBytes } from 'node:crypto'
import { statSync, existsSync } from 'node:fs'
import { join } from 'node:path'
import { DB_KINDS, createRunnableProject, createTicket, startTestApp, stopOwnCluster, type TestApp } from './helpers.ts'
import { assertError, snapshotTables } from './api-helpers.ts'
import { SETTINGS } from '../core/settings.ts'

/** A secret value no earlier test has used (the redactor is process-wide, so each test needs its own). */
const freshSecret = (prefix: string) => `${prefix}_${randomBytes(16).toString('hex')}`

const setting = (res: { body: any }, key: string) => res.body.settings.find((entry: any) => entry.key === key)

async function runningTicket(t: TestApp) {
  const project = await createRunnableProject(t)
  const ticket = await createTicket(t, project.id, { column_id: 'in_progress' })
  const claim = await t.api('POST', '/api/worker/jobs/start', { project_id: project.id })
  assert.is(claim.status, 200)
  return { project, ticket, claim: claim.body, base: `/api/projects/${project.id}/tickets/${ticket.id}`, auth: { authorization: `Bearer ${claim.body.agent_token}` } }
}

for (const kind of DB_KINDS) {
  const test = suite<{ t: TestApp }>(`api settings (${kind})`)
  test.before(async (context) => {
    context.t = await startTestApp({ kind })
  })
  test.after(async ({ t }) => t.close())

  test('GET lists every setting with its source', async ({ t }) => {
    const res = await t.api('GET', '/api/settings')
    assert.is(res.status, 200)
    assert.equal(res.body.settings.map((entry: any) => entry.key), SETTINGS.map((definition) => definition.key))
    const model = setting(res, 'WORKER_MODEL')
    assert.equal([model.value, model.source, model.set], ['test-model', 'env', true])
    const mode = setting(res, 'WORKER_MODE')
    assert.equal([mode.value, mode.source, mode.default], ['opencode', 'default', 'opencode'])
    assert.ok(mode.choices.includes('codex'))
    const director = setting(res, 'AGENT_MODEL')
    assert.equal([director.value, director.source, director.set], [null, 'unset', false])
    for (const entry of res.body.settings) assert.type(entry.description, 'string')
  })

  test('PUT sets and unsets; numbers and booleans are stored as text', async ({ t }) => {
    const res = await t.api('PUT', '/api/settings', {
      values: { WORKER_MODE: 'codex', WORKER_TIMEOUT_SEC: 600, DRAFT_PR_ON_BUDGET: true, WORKER_LLM_URL: 'http://127.0.0.1:8080/v1', AGENT_MODEL: 'planner' },
    })
    assert.is(res.status, 200, JSON.stringify(res.body))
    assert.equal([setting(res, 'WORKER_MODE').value, setting(res, 'WORKER_MODE').source], ['codex', 'app'])
    assert.is(setting(res, 'WORKER_TIMEOUT_SEC').value, '600')
    assert.is(setting(res, 'DRAFT_PR_ON_BUDGET').value, 'true')
    assert.is(setting(res, 'WORKER_LLM_URL').value, 'http://127.0.0.1:8080/v1')
    assert.equal((await t.api('GET', '/api/settings')).body, res.body)
    const unset = await t.api('PUT', '/api/settings', { values: { WORKER_MODE: null, AGENT_MODEL: '' } })
    assert.equal([setting(unset, 'WORKER_MODE').value, setting(unset, 'WORKER_MODE').source], ['opencode', 'default'])
    assert.equal([setting(unset, 'AGENT_MODEL').value, setting(unset, 'AGENT_MODEL').source], [null, 'unset'])
    assert.is(setting(unset, 'WORKER_TIMEOUT_SEC').value, '600', 'keys not sent are kept')
    await t.api('PUT', '/api/settings', { values: { WORKER_TIMEOUT_SEC: null, DRAFT_PR_ON_BUDGET: null, WORKER_LLM_URL: null } })
  })

  test('bad keys and values are 400 naming the key; nothing is written', async ({ t }) => {
    const before = (await t.api('GET', '/api/settings')).body
    const cases: [Record<string, unknown>, string][] = [
      [{ NOT_A_SETTING: 'x' }, '/body/values/NOT_A_SETTING'],
      [{ lower_case: 'x' }, '/body/values/lower_case'],
      [{ WORKER_MODE: 'vim' }, '/body/values/WORKER_MODE'],
      [{ WORKER_TIMEOUT_SEC: 'abc' }, '/body/values/WORKER_TIMEOUT_SEC'],
      [{ WORKER_TIMEOUT_SEC: '12.5' }, '/body/values/WORKER_TIMEOUT_SEC'],
      [{ WORKER_TIMEOUT_SEC: -5 }, '/body/values/WORKER_TIMEOUT_SEC'],
      [{ WORKER_TIMEOUT_SEC: 1.5 }, '/body/values/WORKER_TIMEOUT_SEC'],
      [{ DIRECTOR_MAX_TURNS: true }, '/body/values/DIRECTOR_MAX_TURNS'],
      [{ DRAFT_PR_ON_BUDGET: 'yes' }, '/body/values/DRAFT_PR_ON_BUDGET'],
      [{ WORKER_LLM_URL: 'not a url' }, '/body/values/WORKER_LLM_URL'],
      [{ WORKER_LLM_URL: 'ftp://llm.example/v1' }, '/body/values/WORKER_LLM_URL'],
      [{ GITHUB_API_URL: 'https://user:pw@ghe.example/api/v3' }, '/body/values/GITHUB_API_URL'],
      [{ WORKER_MODEL: ['a'] }, '/body/values/WORKER_MODEL'],
      [{ WORKER_MODEL: { nested: 1 } }, '/body/values/WORKER_MODEL'],
      [{ WORKER_MODEL: 'x'.repeat(10001) }, '/body/values/WORKER_MODEL'],
      // All or nothing: one bad key refuses the good one next to it.
      [{ WORKER_MODE: 'claude-code', NOPE: '1' }, '/body/values/NOPE'],
    ]
    for (const [values, path] of cases) {
      assertError(await t.api('PUT', '/api/settings', { values }), 400, path, JSON.stringify(values).slice(0, 80))
    }
    assertError(await t.api('PUT', '/api/settings', {}), 400, '/body/values')
    assertError(await t.api('PUT', '/api/settings', { values: {}, extra: 1 }), 400, '/body/extra')
    assertError(await t.api('PUT', '/api/settings', { values: 'WORKER_MODE=codex' }), 400, '/body/values')
    assert.equal((await t.api('GET', '/api/settings')).body, before, 'nothing was written')
  })

  test('a secret is encrypted at rest and never read back', async ({ t }) => {
    const token = freshSecret('ghp')
    const put = await t.api('PUT', '/api/settings', { values: { GITHUB_TOKEN: token, WORKER_API_KEY: freshSecret('sk') } })
    assert.is(put.status, 200)
    const raw = await fetch(`${t.url}/api/settings`).then((res) => res.text())
    assert.not.ok(raw.includes(token), 'GET /api/settings never carries the secret')
    assert.not.ok(JSON.stringify(put.body).includes(token), 'nor does the PUT answer')
    const entry = setting({ body: JSON.parse(raw) }, 'GITHUB_TOKEN')
    assert.equal([entry.secret, entry.set, entry.value, entry.source], [true, true, null, 'app'])

    const [row] = await t.app.ctx.sql`select value, secret from app_settings where key = 'GITHUB_TOKEN'`
    assert.is(row!.secret, true)
    assert.not.ok(String(row!.value).includes(token), 'the stored value is not the plain secret')
    assert.not.ok(String(row!.value).includes(Buffer.from(token).toString('base64').slice(0, 20)), 'nor merely encoded')
    assert.is(t.app.ctx.secrets.decrypt(row!.value as string), token, 'it is the secret, encrypted')
    const snapshot = JSON.stringify(await snapshotTables(t))
    assert.not.ok(snapshot.includes(token), 'no table (audit, feed, settings) holds the plain secret')

    // Nor does the agent of a job: the app uses the secrets on its behalf (relays, forge actions).
    const { base, auth } = await runningTicket(t)
    const context = await t.api('GET', `${base}/worker-context`, undefined, auth)
    assert.is(context.status, 200, JSON.stringify(context.body))
    assert.not.ok(JSON.stringify(context.body).includes(token), 'worker-context carries no secret value')
    for (const key of ['GITHUB_TOKEN', 'WORKER_API_KEY', 'AGENT_API_KEY', 'EMBEDDING_API_KEY', 'GITHUB_WEBHOOK_SECRET']) {
      assert.is(context.body.settings?.[key], undefined, `worker-context has no ${key}`)
    }
    const check = await t.api('GET', '/api/settings/check')
    assert.not.ok(JSON.stringify(check.body).includes(token))
    await t.api('PUT', '/api/settings', { values: { GITHUB_TOKEN: null, WORKER_API_KEY: null } })
  })

  test('a secret set in settings is redacted from job events posted later', async ({ t }) => {
    const secret = freshSecret('sk_live')
    await t.api('PUT', '/api/settings', { values: { WORKER_API_KEY: secret } })
    const { base, auth } = await runningTicket(t)
    const posted = await t.api('POST', `${base}/logs`, {
      events: [
        { step: 'worker', summary: `using key ${secret} now`, raw_output: `export KEY=${secret}\nok`, event: { kind: 'command', cmd: `curl -H "Authorization: Bearer ${secret}"`, exit: 0, output: secret } },
      ],
    }, auth)
    assert.is(posted.status, 201, JSON.stringify(posted.body))
    const logs = await t.api('GET', `${base}/logs`)
    const text = JSON.stringify(logs.body)
    assert.not.ok(text.includes(secret), 'the secret is not served back')
    const [event] = logs.body.events
    assert.is(event.summary, 'using key *** now')
    assert.is(event.raw_output, 'export KEY=***\nok')
    assert.is(event.event.cmd, 'curl -H "Authorization: Bearer ***"')
    assert.is(event.event.output, '***')
    assert.not.ok(JSON.stringify(await snapshotTables(t)).includes(secret), 'nor stored anywhere')
    await t.api('PUT', '/api/settings', { values: { WORKER_API_KEY: null } })
  })

  test('a secret stored by another app replica is redacted too', async ({ t }) => {
    // Written straight to the table, as a replica sharing this database would: this process has
    // never seen the value, so only reading the stored secrets can protect the log.
    const secret = freshSecret('sk_replica')
    await t.app.ctx.sql`insert into app_settings (key, value, secret) values ('AGENT_API_KEY', ${t.app.ctx.secrets.encrypt(secret)}, true)`
    const { base, auth } = await runningTicket(t)
    const posted = await t.api('POST', `${base}/logs`, { step: 'director', summary: `key=${secret}` }, auth)
    assert.is(posted.status, 201)
    const [event] = (await t.api('GET', `${base}/logs`)).body.events
    assert.is(event.summary, 'key=***')
    await t.api('PUT', '/api/settings', { values: { AGENT_API_KEY: null } })
  })

  test('settings check reports what is missing or half-configured', async ({ t }) => {
    const check = await t.api('GET', '/api/settings/check')
    assert.is(check.status, 200)
    assert.is(check.body.ok, true, 'WORKER_MODEL and GITHUB_TOKEN come from the env, WORKER_MODE has a default')
    // A missing GITHUB_TOKEN disables Run: test/setup-checks.test.ts.
    await t.api('PUT', '/api/settings', { values: { AGENT_LLM_URL: 'http://127.0.0.1:9/v1' } })
    const half = await t.api('GET', '/api/settings/check')
    const director = half.body.problems.find((problem: any) => problem.key === 'AGENT_MODEL')
    assert.is(director?.severity, 'warning', 'the Director needs both its URL and its model')
    await t.api('PUT', '/api/settings', { values: { AGENT_MODEL: 'planner', GITHUB_TOKEN: freshSecret('ghp') } })
    const full = await t.api('GET', '/api/settings/check')
    assert.equal(full.body, { ok: true, problems: [] })
    await t.api('PUT', '/api/settings', { values: { AGENT_LLM_URL: null, AGENT_MODEL: null, GITHUB_TOKEN: null } })
  })

  if (kind === 'pglite') {
    test('embedded mode keeps its generated key in the data dir with mode 0600', async ({ t }) => {
      const file = join(t.dataDir, 'secret.key')
      assert.ok(existsSync(file))
      assert.is(statSync(file).mode & 0o777, 0o600)
      assert.is(statSync(t.dataDir).mode & 0o077, 0, 'the data dir is private too')
    })
  }

  test.run()

  const env = suite<{ t: TestApp; token: string; key: string }>(`api settings from the environment (${kind})`)
  env.before(async (context) => {
    context.token = freshSecret('ghp_env')
    context.key = freshSecret('sk_env')
    context.t = await startTestApp({ kind, env: { WORKER_MODEL: '', GITHUB_TOKEN: context.token, WORKER_API_KEY: context.key, TERARCHITECT_SECRET_KEY: 'k'.repeat(32) } })
  })
  env.after(async ({ t }) => t.close())

  env('an environment secret is redacted from logs and never read back', async ({ t, token, key }) => {
    await t.api('PUT', '/api/settings', { values: { WORKER_MODEL: 'm' } })
    const { base, auth } = await runningTicket(t)
    // Posted before anything served WORKER_API_KEY: the redactor must not depend on an earlier read.
    await t.api('POST', `${base}/logs`, { step: 'clone', raw_output: `fatal: https://x-access-token:${token}@github.com/a/b`, summary: `key ${key}` }, auth)
    const [event] = (await t.api('GET', `${base}/logs`)).body.events
    assert.is(event.raw_output, 'fatal: https://x-access-token:***@github.com/a/b')
    assert.is(event.summary, 'key ***')
    const raw = await fetch(`${t.url}/api/settings`).then((res) => res.text())
    assert.not.ok(raw.includes(token))
    assert.not.ok(raw.includes(key))
    const entry = setting({ body: JSON.parse(raw) }, 'GITHUB_TOKEN')
    assert.equal([entry.set, entry.value, entry.source], [true, null, 'env'])
    await t.api('PUT', '/api/settings', { values: { WORKER_MODEL: null } })
  })

  env('the check fails while WORKER_MODEL is unset', async ({ t }) => {
    const check = await t.api('GET', '/api/settings/check')
    assert.is(check.body.ok, false)
    const problem = check.body.problems.find((entry: any) => entry.key === 'WORKER_MODEL')
    assert.is(problem.severity, 'error')
    assert.not.ok(check.body.problems.some((entry: any) => entry.key === 'GITHUB_TOKEN'), 'GITHUB_TOKEN is set from the env')
  })

  env('a configured TERARCHITECT_SECRET_KEY means no key file', async ({ t }) => {
    assert.not.ok(existsSync(join(t.dataDir, 'secret.key')))
  })

  env.run()
}

import { test as last } from 'uvu'
last.after(stopOwnCluster)
last('cluster stop', () => {})
last.run()
