// Loopback URLs in a job env are pointed at host.docker.internal; nothing else is touched.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import {
  rewriteEnvForContainer, rewriteLoopbackUrl, usesHostGateway,
} from '../plugins/executors/docker/rewrite-env.ts'

test('localhost and 127.0.0.1 URLs are rewritten, port, path, query and userinfo kept', () => {
  assert.is(rewriteLoopbackUrl('http://localhost:5010/api'), 'http://host.docker.internal:5010/api')
  assert.is(rewriteLoopbackUrl('http://127.0.0.1:8080'), 'http://host.docker.internal:8080')
  assert.is(rewriteLoopbackUrl('https://LOCALHOST/x?y=1#z'), 'https://host.docker.internal/x?y=1#z')
  assert.is(rewriteLoopbackUrl('postgres://user:p%40ss@localhost:5432/db'), 'postgres://user:p%40ss@host.docker.internal:5432/db')
  assert.is(rewriteLoopbackUrl('http://[::1]:3000/'), 'http://host.docker.internal:3000/')
  assert.is(rewriteLoopbackUrl('http://127.1.2.3:9/'), 'http://host.docker.internal:9/')
  assert.is(rewriteLoopbackUrl('ws://localhost'), 'ws://host.docker.internal')
})

test('the value is otherwise byte-for-byte the same (no normalisation)', () => {
  assert.is(rewriteLoopbackUrl('http://localhost:5010'), 'http://host.docker.internal:5010') // no trailing slash added
  assert.is(rewriteLoopbackUrl('http://localhost/a%2Fb/../c'), 'http://host.docker.internal/a%2Fb/../c')
})

test('free text, non-URLs and other hosts are left alone', () => {
  for (const value of [
    'see http://localhost:5010 for details', // free text containing a URL
    'localhost:5432', // no scheme
    'localhost',
    '127.0.0.1',
    'git@localhost:org/repo.git', // scp-like, not a URL
    'http://localhost.example.com/', // a different host
    'http://mylocalhost/',
    'http://10.0.0.5:5010/',
    'http://host.docker.internal:5010/',
    'sk-localhost-127.0.0.1', // a token that merely contains the words
    '',
    'http://localhost:notaport/', // URL-shaped but not a valid URL
  ]) {
    assert.is(rewriteLoopbackUrl(value), value, value)
  }
})

test('rewriteEnvForContainer maps every value and returns a copy', () => {
  const env = {
    TERARCHITECT_API_URL: 'http://localhost:5010',
    REPO_URL: 'http://127.0.0.1:9418/repo.git',
    GITHUB_TOKEN: 'ghp_localhost',
    COMMENT_BODY: 'please check http://localhost:5010 again',
  }
  const out = rewriteEnvForContainer(env)
  assert.equal(out, {
    TERARCHITECT_API_URL: 'http://host.docker.internal:5010',
    REPO_URL: 'http://host.docker.internal:9418/repo.git',
    GITHUB_TOKEN: 'ghp_localhost',
    COMMENT_BODY: 'please check http://localhost:5010 again',
  })
  assert.is(env.TERARCHITECT_API_URL, 'http://localhost:5010')
})

test('usesHostGateway: only when a URL value names host.docker.internal', () => {
  assert.ok(usesHostGateway({ A: 'http://host.docker.internal:5010' }))
  assert.ok(usesHostGateway(rewriteEnvForContainer({ A: 'http://localhost:1' })))
  assert.not.ok(usesHostGateway({ A: 'http://app.internal:5010', B: 'mention host.docker.internal here' }))
  assert.not.ok(usesHostGateway({}))
})

test.run()
