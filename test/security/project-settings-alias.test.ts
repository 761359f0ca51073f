/**
 * Project settings: FORGE_* and the GITHUB_* aliases are one setting per group (token, API URL,
 * webhook secret), taken whole from the level that sets either name (docs/forges.md). Before, each
 * key resolved separately and forgeFrom preferred the FORGE_* name whatever level it came from. A project that sets its
 * own GitHub Enterprise (GITHUB_API_URL + GITHUB_TOKEN) on an app configured with FORGE_API_URL /
 * FORGE_TOKEN gets the APP's API URL with the PROJECT's token: the project's secret is sent to a URL
 * set at another level (and a project's own GITHUB_TOKEN is ignored in favour of the app's FORGE_TOKEN).
 * The same holds between the app's stored settings and its environment.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { startTestApp, type TestApp } from '../helpers.ts'
import { appForge, forgeAccess } from '../../core/services/forge-token.ts'

const test = suite<{ t: TestApp }>('project settings: FORGE_* vs GITHUB_* across levels')
test.before(async (w) => {
  w.t = await startTestApp({ kind: 'pglite', env: { GITHUB_TOKEN: '', GITHUB_API_URL: '', FORGE_API_URL: 'https://ghe-app.example/api/v3', FORGE_TOKEN: 'app-forge-token' } })
})
test.after(async (w) => { await w.t?.close() })

async function project(t: TestApp, name: string, values: Record<string, string>) {
  const created = await t.api('POST', '/api/projects', { name })
  assert.is(created.status, 201, JSON.stringify(created.body))
  const res = await t.api('PUT', `/api/projects/${created.body.id}/settings`, { values })
  assert.is(res.status, 200, JSON.stringify(res.body))
  return created.body.id as number
}

test('a project\'s own GITHUB_API_URL + GITHUB_TOKEN: its token goes to its own URL, not the app\'s FORGE_API_URL', async ({ t }) => {
  const id = await project(t, 'own-ghe', { GITHUB_API_URL: 'https://ghe-project.example/api/v3', GITHUB_TOKEN: 'project-ghe-token' })
  const access = await forgeAccess(ctxOf(t), id)
  assert.equal({ apiUrl: access.apiUrl, token: access.token }, { apiUrl: 'https://ghe-project.example/api/v3', token: 'project-ghe-token' },
    'the project\'s token must go to the project\'s URL only')
})

test('a project\'s own GITHUB_TOKEN is used for its repository, not the app\'s FORGE_TOKEN', async ({ t }) => {
  const id = await project(t, 'own-token', { GITHUB_TOKEN: 'project-narrow-token' })
  const access = await forgeAccess(ctxOf(t), id)
  assert.is(access.token, 'project-narrow-token')
})

test('the listing says the app\'s FORGE_TOKEN is not inherited by a project that sets GITHUB_TOKEN', async ({ t }) => {
  const id = await project(t, 'listed', { GITHUB_TOKEN: 'project-listed-token' })
  const settings = (await t.api('GET', `/api/projects/${id}/settings`)).body.settings
  const of = (key: string) => settings.find((s: any) => s.key === key)
  assert.equal([of('GITHUB_TOKEN').source, of('FORGE_TOKEN').source, of('FORGE_TOKEN').set], ['project', 'unset', false])
})

test('app level: a stored GITHUB_API_URL + GITHUB_TOKEN are not paired with the environment\'s FORGE_API_URL / FORGE_TOKEN', async ({ t }) => {
  const put = async (values: Record<string, string | null>) => assert.is((await t.api('PUT', '/api/settings', { values })).status, 200)
  await put({ GITHUB_API_URL: 'https://ghe-admin.example/api/v3', GITHUB_TOKEN: 'admin-ghe-token' })
  try {
    const access = await appForge(ctxOf(t))
    assert.equal({ apiUrl: access.apiUrl, token: access.token }, { apiUrl: 'https://ghe-admin.example/api/v3', token: 'admin-ghe-token' })
  } finally {
    await put({ GITHUB_API_URL: null, GITHUB_TOKEN: null })
  }
  const restored = await appForge(ctxOf(t))
  assert.equal({ apiUrl: restored.apiUrl, token: restored.token }, { apiUrl: 'https://ghe-app.example/api/v3', token: 'app-forge-token' }, 'cleared, the environment\'s pair again')
})

const ctxOf = (t: TestApp) => t.app.ctx
test.run()
