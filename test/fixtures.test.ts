// Tests of the test fixtures themselves: the fake LLM (four protocols, recording, embeddings), the
// fake GitHub API (auth, pulls, pagination, ETags) and git over smart HTTP (clone/push, auth, gzip).
import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { gzipSync } from 'node:zlib'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { firstBody, followUpBody, path, readAnswer } from './fixtures/fake-llm/client.ts'
import { cosine, shellCall, start as startLlm, type LlmRequest, type ProtocolName } from './fixtures/fake-llm.ts'
import { start as startGithub } from './fixtures/fake-github.ts'
import { GIT_IDENTITY, start as startGit } from './fixtures/git-http.ts'

const run = promisify(execFile)
const PROTOCOLS: ProtocolName[] = ['anthropic', 'openai-chat', 'openai-responses', 'gemini']

async function post(url: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) })
  return { status: res.status, text: await res.text(), headers: res.headers }
}

// ---------------------------------------------------------------- fake LLM

for (const protocol of PROTOCOLS) {
  for (const stream of [true, false]) {
    test(`fake-llm ${protocol} ${stream ? 'streaming' : 'plain'}: a tool call, then a final text`, async () => {
      const llm = await startLlm({ script: { path: 'notes.txt', content: 'hi\n', finalText: 'all done' } })
      try {
        const first = firstBody(protocol, stream)
        const one = await post(llm.url + path(protocol, stream), first, { authorization: 'Bearer sk-one' })
        assert.is(one.status, 200, one.text)
        const call = readAnswer(protocol, stream, one.text)
        assert.is(call.toolCalls.length, 1)
        // The relative path is made absolute with the cwd announced in the prompt.
        assert.equal(call.toolCalls[0].input, { file_path: '/tmp/work/notes.txt', content: 'hi\n' })
        const two = await post(llm.url + path(protocol, stream), followUpBody(protocol, first, call.toolCalls[0]))
        const final = readAnswer(protocol, stream, two.text)
        assert.is(final.toolCalls.length, 0)
        assert.is(final.text, 'all done')
        if (stream && protocol === 'anthropic') assert.equal([final.events[0], final.events.at(-1)], ['message_start', 'message_stop'])
        if (stream && protocol === 'openai-chat') assert.is(final.events.at(-1), '[DONE]')
        if (stream && protocol === 'openai-responses') assert.is(final.events.at(-1), 'response.completed')
        const [a, b] = llm.llmCalls().map((r) => r.request as LlmRequest)
        assert.equal([a.protocol, a.stream, a.lastIsToolResult, b.lastIsToolResult, b.toolResultCount], [protocol, stream, false, true, 1])
        assert.match(a.lastUserText, 'Create notes.txt')
      } finally {
        await llm.close()
      }
    })
  }
}

test('fake-llm gemini streamGenerateContent without alt=sse answers one JSON array', async () => {
  const llm = await startLlm()
  try {
    const res = await post(`${llm.url}/v1beta/models/m:streamGenerateContent`, firstBody('gemini', true))
    const chunks = JSON.parse(res.text)
    assert.ok(Array.isArray(chunks))
    assert.ok(chunks[0].candidates[0].content.parts[0].functionCall)
  } finally {
    await llm.close()
  }
})

test('fake-llm records redacted headers and full bodies; keyWasSent checks the key', async () => {
  const llm = await startLlm()
  try {
    await post(`${llm.url}/v1/messages`, firstBody('anthropic', false), { 'x-api-key': 'sk-secret-anthropic' })
    await post(`${llm.url}/v1/chat/completions`, firstBody('openai-chat', false), { authorization: 'Bearer sk-secret-openai' })
    await post(`${llm.url}/v1beta/models/m:generateContent?key=gm-secret`, firstBody('gemini', false))
    const [a, o, g] = llm.requests
    assert.match(a.headers['x-api-key'], /^<redacted sha256:[0-9a-f]{16}>$/)
    assert.match(o.headers.authorization, /^<redacted sha256:/)
    assert.is(g.path, '/v1beta/models/m:generateContent?key=%3Credacted%3E')
    for (const key of ['sk-secret-anthropic', 'sk-secret-openai', 'gm-secret']) assert.ok(llm.keyWasSent(key), key)
    assert.not.ok(llm.keyWasSent('sk-other'))
    // Records can be searched for secrets without finding the keys themselves.
    assert.not.match(JSON.stringify(llm.requests), /secret/)
    assert.equal((a.body as any).messages, firstBody('anthropic', false).messages)
    assert.equal(a.request?.tools.map((t) => t.name), ['Write'])
  } finally {
    await llm.close()
  }
})

test('fake-llm apiKey option answers 401 in each protocol shape', async () => {
  const llm = await startLlm({ apiKey: 'right' })
  try {
    const anthropic = await post(`${llm.url}/v1/messages`, firstBody('anthropic', true), { 'x-api-key': 'wrong' })
    assert.is(anthropic.status, 401)
    assert.is(JSON.parse(anthropic.text).error.type, 'authentication_error')
    const gemini = await post(`${llm.url}/v1beta/models/m:generateContent`, firstBody('gemini', false))
    assert.is(JSON.parse(gemini.text).error.status, 'UNAUTHENTICATED')
    const ok = await post(`${llm.url}/v1/chat/completions`, firstBody('openai-chat', false), { authorization: 'Bearer right' })
    assert.is(ok.status, 200)
  } finally {
    await llm.close()
  }
})

test('fake-llm scripts decide per request: errors, shell calls, custom tools', async () => {
  const llm = await startLlm({
    script: (req) => {
      if (req.lastUserText.includes('fail')) return { error: { status: 429, message: 'slow down' } }
      const call = shellCall(req, 'echo hi > x.txt')
      return call ? { toolCalls: [call] } : { text: 'no shell' }
    },
  })
  try {
    const failed = await post(`${llm.url}/v1/chat/completions`, { model: 'm', messages: [{ role: 'user', content: 'please fail' }] })
    assert.is(failed.status, 429)
    assert.is(JSON.parse(failed.text).error.message, 'slow down')
    // Codex's `shell` tool takes argv as an array; OpenCode's `bash` takes a string (+ description).
    const codexShell = { type: 'function', name: 'shell', parameters: { type: 'object', properties: { command: { type: 'array', items: { type: 'string' } } } } }
    const codex = await post(`${llm.url}/v1/responses`, { model: 'm', tools: [codexShell], input: 'go' })
    assert.equal(readAnswer('openai-responses', false, codex.text).toolCalls[0].input, { command: ['bash', '-lc', 'echo hi > x.txt'] })
    const bash = { type: 'function', function: { name: 'bash', parameters: { properties: { command: { type: 'string' }, description: { type: 'string' } }, required: ['command', 'description'] } } }
    const opencode = await post(`${llm.url}/v1/chat/completions`, { model: 'm', tools: [bash], messages: [{ role: 'user', content: 'go' }] })
    const input = readAnswer('openai-chat', false, opencode.text).toolCalls[0].input
    assert.is(input.command, 'echo hi > x.txt')
    assert.type(input.description, 'string')
  } finally {
    await llm.close()
  }
})

test('fake-llm answers a Responses custom tool (apply_patch) with a custom_tool_call', async () => {
  const llm = await startLlm({ script: { path: '/w/a.txt', content: 'one\ntwo\n' } })
  try {
    const res = await post(`${llm.url}/v1/responses`, { model: 'm', tools: [{ type: 'custom', name: 'apply_patch', format: { type: 'grammar' } }], input: 'go' })
    const item = JSON.parse(res.text).output[0]
    assert.is(item.type, 'custom_tool_call')
    assert.is(item.input, '*** Begin Patch\n*** Add File: /w/a.txt\n+one\n+two\n*** End Patch\n')
  } finally {
    await llm.close()
  }
})

test('fake-llm embeddings are deterministic, normalized and similar for similar texts', async () => {
  const llm = await startLlm({ embeddingDimensions: 64 })
  try {
    const texts = ['the kanban board moves tickets', 'tickets move on the kanban board', 'postgres vacuum tuning guide']
    const res = JSON.parse((await post(`${llm.url}/v1/embeddings`, { model: 'e', input: texts })).text)
    const [a, b, c] = res.data.map((d: any) => d.embedding as number[])
    assert.is(a.length, 64)
    assert.ok(Math.abs(cosine(a, a) - 1) < 1e-9)
    assert.ok(cosine(a, b) > 0.7, `similar ${cosine(a, b)}`)
    assert.ok(cosine(a, c) < 0.4, `unrelated ${cosine(a, c)}`)
    const again = JSON.parse((await post(`${llm.url}/v1/embeddings`, { input: texts[0], dimensions: 16 })).text)
    assert.is(again.data[0].embedding.length, 16)
    const models = await (await fetch(`${llm.url}/v1/models`)).json()
    assert.is(models.data[0].id, 'fake-model')
  } finally {
    await llm.close()
  }
})

// ---------------------------------------------------------------- fake GitHub

async function gh(url: string, method: string, path: string, token?: string, body?: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(url + path, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body ? { 'content-type': 'application/json' } : {}), ...headers },
    body: body ? JSON.stringify(body) : undefined,
  })
  const text = await res.text()
  return { status: res.status, body: text ? JSON.parse(text) : undefined, headers: res.headers }
}

test('fake-github requires a token and records which one was used', async () => {
  const github = await startGithub({ tokens: { 'ghp-agent': 'terarchitect-bot', 'ghp-alice': 'alice' } })
  try {
    assert.is((await gh(github.url, 'GET', '/user')).status, 401)
    assert.is((await gh(github.url, 'GET', '/user', 'ghp-wrong')).status, 401)
    assert.is((await gh(github.url, 'GET', '/user', 'ghp-alice')).body.login, 'alice')
    const res = await fetch(`${github.url}/repos/acme/app`, { headers: { authorization: 'token ghp-agent' } })
    assert.is((await res.json()).default_branch, 'main')
    assert.equal(github.requests.map((r) => [r.token, r.status]), [[undefined, 401], ['ghp-wrong', 401], ['ghp-alice', 200], ['ghp-agent', 200]])
  } finally {
    await github.close()
  }
})

test('fake-github pulls: create, refuse a duplicate, list by head, merge once', async () => {
  const github = await startGithub({ repos: ['acme/app'] })
  try {
    const created = await gh(github.url, 'POST', '/repos/acme/app/pulls', 't', { title: 'Ticket 7', head: 'ticket-7', base: 'main', body: 'x' })
    assert.is(created.status, 201)
    assert.is(created.body.number, 1)
    const dup = await gh(github.url, 'POST', '/repos/acme/app/pulls', 't', { title: 'again', head: 'acme:ticket-7', base: 'main' })
    assert.is(dup.status, 422)
    assert.match(dup.body.errors[0].message, 'already exists')
    assert.is((await gh(github.url, 'GET', '/repos/acme/app/pulls?head=acme:ticket-7', 't')).body.length, 1)
    assert.is((await gh(github.url, 'GET', '/repos/acme/app/pulls/1', 't')).body.head.ref, 'ticket-7')
    assert.is((await gh(github.url, 'PUT', '/repos/acme/app/pulls/1/merge', 't', { merge_method: 'squash' })).body.merged, true)
    assert.is((await gh(github.url, 'PUT', '/repos/acme/app/pulls/1/merge', 't', {})).status, 405)
    assert.is(github.state.repo('acme/app')?.pulls[0].merged, true)
    assert.is((await gh(github.url, 'GET', '/repos/acme/app/pulls', 't')).body.length, 0)
    assert.is((await gh(github.url, 'GET', '/repos/acme/other', 't')).status, 404)
    github.state.repo('acme/app')!.pullFiles[1] = [{ filename: 'a.txt', status: 'added' }]
    assert.is((await gh(github.url, 'GET', '/repos/acme/app/pulls/1/files', 't')).body[0].filename, 'a.txt')
  } finally {
    await github.close()
  }
})

test('fake-github issue comments: Link pagination, since, ETag and 304', async () => {
  const github = await startGithub()
  try {
    const repo = github.state.repo('acme/app')!
    github.state.createPull(repo, { title: 't', head: 'ticket-1', base: 'main' }, 'bot')
    for (let i = 0; i < 65; i++) github.state.addComment(repo, 1, 'alice', `comment ${i}`)
    let next: string | undefined = `${github.url}/repos/acme/app/issues/1/comments?per_page=30`
    const seen: string[] = []
    while (next) {
      const res: Response = await fetch(next, { headers: { authorization: 'Bearer t' } })
      seen.push(...(await res.json()).map((c: any) => c.body))
      next = /<([^>]+)>; rel="next"/.exec(res.headers.get('link') ?? '')?.[1]
    }
    assert.is(seen.length, 65)
    assert.is(seen[64], 'comment 64')

    const first = await gh(github.url, 'GET', '/repos/acme/app/issues/1/comments', 't')
    const etag = first.headers.get('etag')!
    const same = await gh(github.url, 'GET', '/repos/acme/app/issues/1/comments', 't', undefined, { 'if-none-match': etag })
    assert.is(same.status, 304)
    await gh(github.url, 'POST', '/repos/acme/app/issues/1/comments', 't', { body: 'reply from the agent' })
    const changed = await gh(github.url, 'GET', '/repos/acme/app/issues/1/comments?page=3', 't', undefined, { 'if-none-match': etag })
    assert.is(changed.status, 200)
    assert.is(changed.body.at(-1).user.login, 'terarchitect-bot')

    const future = new Date(Date.now() + 60_000).toISOString()
    assert.is((await gh(github.url, 'GET', `/repos/acme/app/issues/1/comments?since=${future}`, 't')).body.length, 0)
    assert.is((await gh(github.url, 'GET', '/repos/acme/app/issues/comments?since=2000-01-01T00:00:00Z&per_page=100', 't')).body.length, 66)
  } finally {
    await github.close()
  }
})

test('fake-github review comments, reviews and collaborator permission', async () => {
  const github = await startGithub()
  try {
    const repo = github.state.repo('acme/app')!
    github.state.createPull(repo, { title: 't', head: 'ticket-2', base: 'main' }, 'bot')
    const comment = github.state.addReviewComment(repo, 1, 'alice', 'rename this', 'src/a.ts', 3)
    github.state.addReview(repo, 1, 'alice', 'CHANGES_REQUESTED', 'see comments')
    repo.permissions.alice = 'write'
    assert.is((await gh(github.url, 'GET', '/repos/acme/app/pulls/1/comments', 't')).body[0].path, 'src/a.ts')
    const reply = await gh(github.url, 'POST', `/repos/acme/app/pulls/1/comments/${comment.id}/replies`, 't', { body: 'done' })
    assert.is(reply.body.in_reply_to_id, comment.id)
    assert.is((await gh(github.url, 'GET', '/repos/acme/app/pulls/1/reviews', 't')).body[0].state, 'CHANGES_REQUESTED')
    assert.is((await gh(github.url, 'GET', '/repos/acme/app/collaborators/alice/permission', 't')).body.permission, 'write')
    assert.is((await gh(github.url, 'GET', '/repos/acme/app/collaborators/mallory/permission', 't')).body.permission, 'none')
  } finally {
    await github.close()
  }
})

// ---------------------------------------------------------------- git over smart HTTP

const gitEnv = { ...process.env, ...GIT_IDENTITY, GIT_TERMINAL_PROMPT: '0', GIT_CONFIG_NOSYSTEM: '1', HOME: tmpdir() }
// A credential helper that reads the token from the environment: it never sits in a URL or argv.
const HELPER = ['-c', 'credential.helper=', '-c', 'credential.helper=!f() { echo username=x-access-token; echo "password=$FIXTURE_TOKEN"; }; f']

test('git-http: clone and push without auth', async () => {
  const git = await startGit()
  const work = await mkdtemp(join(tmpdir(), 'git-http-test-'))
  try {
    const url = await git.createRepo('demo', { 'README.md': '# demo\n', 'src/app.txt': 'v1\n' })
    await run('git', ['clone', '--quiet', url, work], { env: gitEnv })
    assert.is(await readFile(join(work, 'src/app.txt'), 'utf8'), 'v1\n')
    assert.is((await run('git', ['-C', work, 'branch', '--show-current'])).stdout.trim(), 'main')
    await writeFile(join(work, 'new.txt'), 'new\n')
    await run('git', ['-C', work, 'add', '.'], { env: gitEnv })
    await run('git', ['-C', work, 'commit', '-qm', 'add'], { env: gitEnv })
    await run('git', ['-C', work, 'push', '--quiet', 'origin', 'HEAD:ticket-1'], { env: gitEnv })
    const branches = (await run('git', ['--git-dir', join(git.root, 'demo.git'), 'branch', '--list'])).stdout
    assert.match(branches, 'ticket-1')
  } finally {
    await rm(work, { recursive: true, force: true })
    await git.close()
  }
})

test('git-http: with a token, clone fails without credentials and works through a credential helper', async () => {
  const git = await startGit({ token: 'tok-123' })
  const work = await mkdtemp(join(tmpdir(), 'git-http-test-'))
  try {
    const url = await git.createRepo('private')
    assert.not.match(url, 'tok-123')
    try {
      await run('git', ['clone', '--quiet', url, join(work, 'a')], { env: gitEnv })
      assert.unreachable('clone without credentials should fail')
    } catch (error: any) {
      assert.match(String(error.stderr), /Username|Authentication failed|401/)
    }
    await run('git', [...HELPER, 'clone', '--quiet', url, join(work, 'b')], { env: { ...gitEnv, FIXTURE_TOKEN: 'tok-123' } })
    // A big push with a tiny postBuffer goes chunked (no Content-Length): http-backend reads to EOF.
    await run('sh', ['-c', 'head -c 200000 /dev/urandom > big.bin && git add big.bin && git commit -qm big'], { cwd: join(work, 'b'), env: gitEnv })
    await run('git', [...HELPER, '-c', 'http.postBuffer=4096', '-C', join(work, 'b'), 'push', '--quiet', 'origin', 'HEAD:ticket-2'], { env: { ...gitEnv, FIXTURE_TOKEN: 'tok-123' } })
    assert.ok(git.requests.some((r) => r.user === 'x-access-token' && r.path.endsWith('git-receive-pack') && r.status === 200))
    assert.ok(git.requests.some((r) => r.status === 401))
  } finally {
    await rm(work, { recursive: true, force: true })
    await git.close()
  }
})

test('git-http: a gzip-encoded upload-pack request is passed through to http-backend', async () => {
  const git = await startGit()
  try {
    const url = await git.createRepo('zipped')
    const head = (await run('git', ['--git-dir', join(git.root, 'zipped.git'), 'rev-parse', 'main'])).stdout.trim()
    // pkt-lines: 4 hex digits of length (including themselves), then the payload; 0000 flushes.
    const pkt = (line: string) => (line.length + 4).toString(16).padStart(4, '0') + line
    const body = gzipSync(pkt(`want ${head}\n`) + '0000' + pkt('done\n'))
    const res = await fetch(`${url}/git-upload-pack`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-git-upload-pack-request', 'content-encoding': 'gzip' },
      body,
    })
    assert.is(res.status, 200)
    assert.is(res.headers.get('content-type'), 'application/x-git-upload-pack-result')
    assert.ok(Buffer.from(await res.arrayBuffer()).includes('PACK'))
  } finally {
    await git.close()
  }
})

test.run()
