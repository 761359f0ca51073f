/**
 * Forge details core must get right on every forge kind, without a server: REPO_ALLOWLIST entries as
 * forge paths (GitLab nested groups, a relative URL root read through the plugin with its API URL),
 * a missing FORGE_TOKEN classified like a missing GITHUB_TOKEN (config, the setting to fix), and the
 * UI's names for a forge's requests.
 * Runs in well under a second: `node --import ./scripts/ts-register.mjs test/forge-loose-ends.test.ts`.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { agentError, reasonOf } from '../core/agent/errors.ts'
import { repoAllowed, repositoryPath } from '../core/services/repo-allowlist.ts'
import { gitlab } from '../plugins/forges/gitlab/index.ts'
import { forgeName, requestLabel, requestNoun } from '../frontend/pr-link.ts'

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

test('REPO_ALLOWLIST under a GitLab relative URL root: the API URL\'s prefix is dropped on its host only', () => {
  const apiUrl = 'https://code.example/gitlab/api/v4'
  const pathOf = (url: string) => repositoryPath(url, apiUrl)
  const url = 'https://code.example/gitlab/acme/web/shop.git'
  assert.is(pathOf(url), 'acme/web/shop')
  assert.is(pathOf(url), gitlab().parseRepo(url, apiUrl), 'the path the GitLab plugin reads')
  assert.ok(repoAllowed('acme/web/shop', url, pathOf))
  assert.ok(repoAllowed('acme/*', url, pathOf))
  assert.not.ok(repoAllowed('gitlab/*', url, pathOf), 'the root is no group')
  assert.not.ok(repoAllowed('acme/web/shop', 'https://elsewhere.example/gitlab/acme/web/shop.git', pathOf), 'another host keeps its whole path')
  assert.not.ok(repoAllowed('acme/web/shop', url), 'read without the API URL the root would be part of the path')
  assert.not.ok(repoAllowed('acme/shop', 'https://github.com/x/acme/shop.git', (u) => repositoryPath(u, 'https://api.github.com')), 'every other segment counts')
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

test('the UI names requests as their forge does: "Merge request !7" on GitLab, "Pull request #7" elsewhere', () => {
  assert.is(requestLabel('gitlab', 7), 'Merge request !7')
  assert.is(requestLabel('gitlab', 7, true), 'MR !7')
  for (const forge of ['github', 'gitea', undefined]) {
    assert.is(requestLabel(forge, 7), 'Pull request #7')
    assert.is(requestLabel(forge, 7, true), 'PR #7')
  }
  assert.is(requestNoun('gitlab'), 'merge request')
  assert.is(requestNoun('gitea'), 'pull request')
  assert.equal(['github', 'gitlab', 'gitea', null].map(forgeName), ['GitHub', 'GitLab', 'Gitea', 'GitHub'])
})

test.run()
