/**
 * Forge details core must get right on every forge kind, without a server: REPO_ALLOWLIST entries as
 * forge paths (GitLab nested groups, a relative URL root read through the plugin with its API URL),
 * and a missing FORGE_TOKEN classified like a missing GITHUB_TOKEN (config, the setting to fix).
 * Runs in well under a second: `node --import ./scripts/ts-register.mjs test/forge-loose-ends.test.ts`.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { agentError, reasonOf } from '../core/agent/errors.ts'
import { repoAllowed, repositoryPath } from '../core/services/repo-allowlist.ts'
import { gitlab } from '../plugins/forges/gitlab/index.ts'

test('REPO_ALLOWLIST: GitLab group/sub/name entries and group/* over subgroups; GitHub owner/name as before', () => {
  const list = 'acme/web/shop, tools/*, Solo/Repo'
  assert.ok(repoAllowed(list, 'https://gitlab.example/acme/web/shop.git'), 'exact nested path')
  assert.ok(repoAllowed(list, 'git@gitlab.example:acme/web/shop.git'), 'scp-style')
  assert.not.ok(repoAllowed(list, 'https://gitlab.example/acme/web/other.git'), 'a sibling is not listed')
  assert.not.ok(repoAllowed(list, 'https://gitlab.example/acme/shop.git'), 'a parent path is not the nested one')
  assert.ok(repoAllowed(list, 'https://gitlab.example/tools/cli.git'), 'owner/* as before')
  assert.ok(repoAllowed(list, 'https://gitlab.example/tools/infra/deploy.git'), 'group/* covers subgroups')
  assert.not.ok(repoAllowed(list, 'https://gitlab.example/toolsx/cli.git'), 'group/* is a whole segment')
  assert.ok(repoAllowed(list, 'https://github.com/solo/repo'), 'any case')
  assert.not.ok(repoAllowed('*, /*, a*/*', 'https://github.com/solo/repo'), 'malformed entries match nothing')
  assert.ok(repoAllowed('', 'https://github.com/any/thing'), 'empty list: anything')
  assert.is(repositoryPath('https://gitlab.example/a/b/c.git/'), 'a/b/c')
  assert.is(repositoryPath('https://gitlab.example/alone'), null)
})

test('REPO_ALLOWLIST under a GitLab relative URL root: the plugin with its API URL drops /gitlab', () => {
  const forge = gitlab()
  const apiUrl = 'https://code.example/gitlab/api/v4'
  const pathOf = (url: string) => forge.parseRepo(url, apiUrl)
  const url = 'https://code.example/gitlab/acme/web/shop.git'
  assert.ok(repoAllowed('acme/web/shop', url, pathOf))
  assert.ok(repoAllowed('acme/*', url, pathOf))
  assert.not.ok(repoAllowed('gitlab/*', url, pathOf), 'the root is no group')
  assert.not.ok(repoAllowed('acme/web/shop', url), 'read without the API URL the root would be part of the path')
})

test('a missing forge token is a config reason naming the setting of the forge kind', () => {
  for (const setting of ['FORGE_TOKEN', 'GITHUB_TOKEN']) {
    for (const code of ['app', 'git'] as const) {
      const reason = reasonOf(agentError(code, `POST forge/pull: 422 ${setting} is not set: the app cannot reach the forge`))
      assert.is(reason.kind, 'config', `${code} ${setting}`)
      assert.match(reason.text, new RegExp(`No forge token is set \\(${setting}\\)`))
      assert.equal(reason.fix, { kind: 'setting', key: setting })
    }
  }
})

test.run()
