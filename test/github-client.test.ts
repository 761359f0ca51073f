// parseRepo: the owner/name a repository or PR URL names, or null. Both become segments of GitHub
// API paths (`/repos/:owner/:name`), so anything that could reach another path is refused.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { parseRepo } from '../core/github-client.ts'

test('owner/name from https and scp-style repository URLs and from PR pages', () => {
  assert.is(parseRepo(null, 'https://github.com/acme/shop.git'), 'acme/shop')
  assert.is(parseRepo(null, 'https://github.com/acme/shop'), 'acme/shop')
  assert.is(parseRepo(null, 'git@github.com:acme/shop.git'), 'acme/shop')
  assert.is(parseRepo(null, 'https://ghe.example/team/acme/shop.git'), 'acme/shop')
  assert.is(parseRepo('https://github.com/acme/shop/pull/42', null), 'acme/shop')
  assert.is(parseRepo(null, 'https://github.com/acme.io/my_repo-2.git'), 'acme.io/my_repo-2')
})

test('segments that would reach another API path are refused', () => {
  for (const url of ['git@github.com:../../user', 'git@github.com:acme/..', 'git@github.com:./shop', 'git@github.com:acme/shop?x=1',
    'git@github.com:acme/shop#frag', 'git@github.com:acme/sh%2Fop', 'https://github.com/acme', 'git@github.com:acme/sh op']) {
    assert.is(parseRepo(null, url), null, url)
  }
})

test.run()
