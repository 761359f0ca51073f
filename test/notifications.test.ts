// Outgoing webhooks (issue 17, "Notifications"; acceptance 4 and 5 for them): a receiver that fails
// twice gets the delivery on the third try, signed with the endpoint's secret; the Slack format; the
// test send and what it never shows (the receiver's body, a redirect's target); replicas claiming
// with SKIP LOCKED never double-send; admins only; bad input refused naming the field. On PostgreSQL
// and on the embedded PGlite.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createHmac, randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { DB_KINDS, startTestApp, stopOwnCluster, waitFor, type TestApp } from './helpers.ts'
import { assertError } from './api-helpers.ts'
import { PROXIED, firstAdmin, userWithRole } from './people-helpers.ts'
import { write } from '../core/context.ts'
import { completeTicket } from '../core/services/tickets.ts'
import { pruneDeliveries, sendDue } from '../core/services/notifications-deliveries.ts'
import { sealStoredUrls } from '../core/services/notifications.ts'
import { reencryptStoredSecrets } from '../core/services/secret-key.ts'
import { createSecretBox } from '../core/secrets.ts'
import { enqueueJob } from '../core/services/jobs.ts'

const WORKER_KEY = 'notifications-worker-key-01'
/** What every receiver answers in its body: it must never appear in the app's answers or logs. */
const RECEIVER_BODY = 'receiver-private-answer-7f3a'

interface Received {
  headers: IncomingMessage['headers']
  body: string
}

interface Receiver {
  url: string
  received: Received[]
  /** Status per request, in order; the last one repeats. */
  statuses: number[]
  close(): Promise<void>
}

async function receiver(statuses: number[], delayMs = 0, location?: string): Promise<Receiver> {
  const received: Received[] = []
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk) => chunks.push(chunk))
    req.on('end', () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') })
      const status = statuses[Math.min(received.length - 1, statuses.length - 1)]!
      setTimeout(() => res.writeHead(status, { 'content-type': 'text/plain', ...(location ? { location } : {}) }).end(RECEIVER_BODY), delayMs)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    received,
    statuses,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}

const verify = (secret: string, got: Received) =>
  got.headers['x-terarchitect-signature-256'] === 'sha256=' + createHmac('sha256', secret).update(got.body).digest('hex')

type Roles = Record<'admin' | 'member' | 'viewer' | 'anonymous', Record<string, string>>

/** A project that can run agents, with one ticket in In Progress (its job pending), as an admin. */
async function queuedTicket(t: TestApp, as: Roles, title: string) {
  const project = await t.api('POST', '/api/projects', { name: `p-${Math.random().toString(36).slice(2, 8)}`, repo_url: 'https://git.example/repo.git' }, as.admin)
  assert.is(project.status, 201, JSON.stringify(project.body))
  const ticket = await t.api('POST', `/api/projects/${project.body.id}/tickets`, { title, column_id: 'in_progress' }, as.admin)
  assert.is(ticket.status, 201, JSON.stringify(ticket.body))
  return { project: project.body as { id: number }, ticket: ticket.body as { id: number } }
}

async function deliveriesOf(t: TestApp, as: Roles, endpointId: number) {
  const res = await t.api('GET', `/api/notifications/deliveries?endpoint_id=${endpointId}`, undefined, as.admin)
  assert.is(res.status, 200)
  return res.body.deliveries as any[]
}

for (const kind of DB_KINDS) {
  const test = suite<{ t: TestApp; as: Roles }>(`notifications (${kind})`)
  test.before(async (context) => {
    // Retries 0.2 s apart and a fast poll: the backoff is the schedule's, only shorter.
    const t = (context.t = await startTestApp({
      kind,
      env: { TERARCHITECT_WORKER_API_KEY: WORKER_KEY, NOTIFY_RETRY_DELAYS_SEC: '0.2, 0.2, 0.2', NOTIFY_POLL_SEC: '0.1', NOTIFY_TIMEOUT_SEC: '2' },
    }))
    const admin = { ...PROXIED, ...(await firstAdmin(t)) }
    context.as = {
      admin,
      member: { ...PROXIED, ...(await userWithRole(t, admin, 'mia', 'member')).headers },
      viewer: { ...PROXIED, ...(await userWithRole(t, admin, 'vic', 'viewer')).headers },
      anonymous: PROXIED,
    }
  })
  test.after(async ({ t }) => {
    await t.close()
    if (kind === DB_KINDS[DB_KINDS.length - 1]) await stopOwnCluster()
  })
  test('a job failure reaches an endpoint that fails twice on the third try, signed with its secret', async ({ t, as }) => {
    const hook = await receiver([500, 500, 200])
    try {
      const created = await t.api('POST', '/api/notifications/endpoints', { name: 'ops', url: hook.url, events: ['job.failed', 'pr.opened'] }, as.admin)
      assert.is(created.status, 201, JSON.stringify(created.body))
      const { endpoint, secret } = created.body
      assert.match(secret, /^whsec_/)
      // The secret is shown once: neither the list nor the database holds it in the clear.
      const list = await t.api('GET', '/api/notifications/endpoints', undefined, as.admin)
      assert.not.ok(JSON.stringify(list.body).includes(secret))
      const [stored] = await t.app.ctx.sql`select secret from notification_endpoints where id = ${endpoint.id}`
      assert.is.not(stored!.secret, secret)
      assert.is(t.app.ctx.secrets.decrypt(stored!.secret as string), secret)

      const { project, ticket } = await queuedTicket(t, as, 'Fix login')
      const claim = await t.api('POST', '/api/worker/jobs/start', { project_id: project.id, coordinator_id: 'c1' })
      assert.is(claim.status, 200, JSON.stringify(claim.body))
      const failed = await t.api('POST', `/api/worker/jobs/${claim.body.job_id}/fail`, { coordinator_id: 'c1', claim_seq: claim.body.claim_seq, exit_code: 1, error: 'tests did not pass' })
      assert.is(failed.status, 200, JSON.stringify(failed.body))

      const [delivery] = await waitFor(async () => {
        const rows = await deliveriesOf(t, as, endpoint.id)
        return rows.length && rows[0].status === 'delivered' ? rows : null
      }, 15000, 'the delivery on the third try')
      assert.is(hook.received.length, 3)
      assert.is(delivery.attempts, 3)
      assert.is(delivery.last_status_code, 200)
      assert.is(delivery.event, 'job.failed')
      assert.is(delivery.next_attempt_at, null)
      const third = hook.received[2]!
      assert.ok(verify(secret, third), 'the signature is the HMAC of the exact body with the endpoint secret')
      assert.not.ok(verify('whsec_another', third))
      const body = JSON.parse(third.body)
      assert.is(third.headers['x-terarchitect-event'], 'job.failed')
      assert.is(third.headers['x-terarchitect-delivery'], String(delivery.id))
      assert.is(body.event, 'job.failed')
      assert.is(body.id, delivery.event_id)
      assert.is(body.project.id, project.id)
      assert.is(body.ticket.id, ticket.id)
      assert.is(body.ticket.title, 'Fix login')
      assert.match(body.ticket.ref, /^[A-Z]+-\d+$/)
      assert.is(body.job.id, claim.body.job_id)
      // The plain reason, as the job shows it.
      const job = (await t.api('GET', `/api/jobs/${claim.body.job_id}`, undefined, as.admin)).body
      assert.type(job.reason, 'string')
      assert.equal(body.reason, { kind: job.reason_kind, text: job.reason })
      // The signed timestamp is the attempt's: in the body and in its header.
      assert.is(Math.floor(Date.parse(body.sent_at) / 1000), Number(third.headers['x-terarchitect-timestamp']))
      // Every attempt carries the same event id (receivers deduplicate on it).
      assert.equal(new Set(hook.received.map((r) => JSON.parse(r.body).id)).size, 1)
      // The receiver's answer never comes back, nor does the secret reach the logs.
      assert.not.ok(JSON.stringify(await deliveriesOf(t, as, endpoint.id)).includes(RECEIVER_BODY))
      assert.not.ok(t.logs.some((line) => line.includes(secret) || line.includes(RECEIVER_BODY)))

      // A new pull request on the ticket is the pr.opened event, with its link.
      await completeTicket(t.app.ctx, project.id, ticket.id, { pr_number: 12, pr_url: 'https://github.com/acme/app/pull/12' })
      await waitFor(async () => hook.received.length === 4, 5000, 'the pr.opened delivery')
      const opened = JSON.parse(hook.received[3]!.body)
      assert.is(opened.event, 'pr.opened')
      assert.equal(opened.pull_request, { number: 12, url: 'https://github.com/acme/app/pull/12' })
      assert.is(opened.ticket.id, ticket.id)
      assert.ok(verify(secret, hook.received[3]!))
    } finally {
      await hook.close()
    }
  })

  test('a review job that succeeds is the review.done event, with its pull request', async ({ t, as }) => {
    const hook = await receiver([200])
    try {
      const { endpoint, secret } = (await t.api('POST', '/api/notifications/endpoints', { url: hook.url, events: ['review.done'] }, as.admin)).body
      const project = await t.api('POST', '/api/projects', { name: 'Reviewed', repo_url: 'https://git.example/repo.git' }, as.admin)
      const ticket = (await t.api('POST', `/api/projects/${project.body.id}/tickets`, { title: 'Answer review' }, as.admin)).body
      await completeTicket(t.app.ctx, project.body.id, ticket.id, { pr_number: 31, pr_url: 'https://github.com/acme/app/pull/31' })
      // A review job as the review loop queues it for a PR comment.
      const job = await write(t.app.ctx, (scope) => enqueueJob(t.app.ctx, scope, { projectId: project.body.id, ticketId: ticket.id, kind: 'review', prNumber: 31, commentBody: 'rename this' }))
      const claim = await t.api('POST', '/api/worker/jobs/start', { project_id: project.body.id, coordinator_id: 'c1' })
      assert.is(claim.body.job_id, job.id)
      assert.is((await t.api('POST', `/api/worker/jobs/${job.id}/complete`, { coordinator_id: 'c1', claim_seq: claim.body.claim_seq, exit_code: 0 })).status, 200)
      await waitFor(async () => (await deliveriesOf(t, as, endpoint.id)).some((d) => d.status === 'delivered'), 5000, 'the review.done delivery')
      assert.is(hook.received.length, 1)
      const body = JSON.parse(hook.received[0]!.body)
      assert.is(body.event, 'review.done')
      assert.equal(body.job, { id: job.id, kind: 'review', attempt: 1 })
      assert.equal(body.pull_request, { number: 31, url: 'https://github.com/acme/app/pull/31' })
      assert.ok(verify(secret, hook.received[0]!))
    } finally {
      await hook.close()
    }
  })

  test('a failing endpoint is given up on after the last delay; a disabled or unsubscribed one gets nothing', async ({ t, as }) => {
    const down = await receiver([503])
    const quiet = await receiver([200])
    try {
      const endpoint = (await t.api('POST', '/api/notifications/endpoints', { url: down.url, events: ['job.failed'] }, as.admin)).body.endpoint
      const disabled = (await t.api('POST', '/api/notifications/endpoints', { url: quiet.url, events: ['job.failed'], enabled: false }, as.admin)).body.endpoint
      const other = (await t.api('POST', '/api/notifications/endpoints', { url: quiet.url, events: ['review.done'] }, as.admin)).body.endpoint
      const { project } = await queuedTicket(t, as, 'Break things')
      const claim = await t.api('POST', '/api/worker/jobs/start', { project_id: project.id, coordinator_id: 'c1' })
      await t.api('POST', `/api/worker/jobs/${claim.body.job_id}/fail`, { coordinator_id: 'c1', claim_seq: claim.body.claim_seq, error: 'boom' })
      const [delivery] = await waitFor(async () => {
        const rows = await deliveriesOf(t, as, endpoint.id)
        return rows.length && rows[0].status === 'failed' ? rows : null
      }, 15000, 'the delivery to fail for good')
      // One try plus one per configured delay (3).
      assert.is(delivery.attempts, 4)
      assert.is(down.received.length, 4)
      assert.is(delivery.last_status_code, 503)
      assert.match(delivery.last_reason, /endpoint failed \(503\)/)
      assert.equal(await deliveriesOf(t, as, disabled.id), [])
      assert.equal(await deliveriesOf(t, as, other.id), [])
      assert.is(quiet.received.length, 0)
      for (const id of [endpoint.id, disabled.id, other.id]) assert.is((await t.api('DELETE', `/api/notifications/endpoints/${id}`, undefined, as.admin)).status, 204)
    } finally {
      await down.close()
      await quiet.close()
    }
  })

  test('the Slack format posts { text, blocks }; a test send says what happened and nothing the endpoint said', async ({ t, as }) => {
    const slack = await receiver([200])
    const broken = await receiver([500])
    const moved = await receiver([302], 0, 'http://127.0.0.1:9/elsewhere')
    try {
      const endpoint = (await t.api('POST', '/api/notifications/endpoints', { url: slack.url, events: ['job.failed'], format: 'slack' }, as.admin)).body
      const sent = await t.api('POST', `/api/notifications/endpoints/${endpoint.endpoint.id}/test`, undefined, as.admin)
      assert.is(sent.status, 200, JSON.stringify(sent.body))
      assert.is(sent.body.delivery.status, 'delivered')
      assert.is(sent.body.delivery.last_status_code, 200)
      const message = JSON.parse(slack.received[0]!.body)
      assert.type(message.text, 'string')
      assert.is(message.blocks[0].type, 'section')
      assert.ok(verify(endpoint.secret, slack.received[0]!))

      const failing = (await t.api('POST', '/api/notifications/endpoints', { url: broken.url, events: ['job.failed'] }, as.admin)).body.endpoint
      const answer = await t.api('POST', `/api/notifications/endpoints/${failing.id}/test`, undefined, as.admin)
      assert.is(answer.body.delivery.status, 'failed')
      assert.is(answer.body.delivery.attempts, 1, 'a test is tried once')
      assert.is(answer.body.delivery.last_status_code, 500)
      assert.not.ok(JSON.stringify(answer.body).includes(RECEIVER_BODY))

      const redirecting = (await t.api('POST', '/api/notifications/endpoints', { url: moved.url, events: ['job.failed'] }, as.admin)).body.endpoint
      const redirected = await t.api('POST', `/api/notifications/endpoints/${redirecting.id}/test`, undefined, as.admin)
      assert.is(redirected.body.delivery.last_status_code, 302)
      assert.match(redirected.body.delivery.last_reason, /not followed/)
      assert.not.ok(JSON.stringify(redirected.body).includes('elsewhere'))

      // Nothing listens on port 9: no status, a reason naming the host only.
      const closed = (await t.api('POST', '/api/notifications/endpoints', { url: 'http://127.0.0.1:9/hook?token=abc', events: ['job.failed'] }, as.admin)).body.endpoint
      const refused = await t.api('POST', `/api/notifications/endpoints/${closed.id}/test`, undefined, as.admin)
      assert.is(refused.body.delivery.last_status_code, null)
      assert.match(refused.body.delivery.last_reason, /127\.0\.0\.1:9 is unreachable/)
      assert.not.ok(refused.body.delivery.last_reason.includes('token=abc'))
    } finally {
      await Promise.all([slack.close(), broken.close(), moved.close()])
    }
  })

  test('replicas claiming at once send every delivery exactly once (SKIP LOCKED)', async ({ t, as }) => {
    const slow = await receiver([200], 150)
    try {
      const { endpoint } = (await t.api('POST', '/api/notifications/endpoints', { url: slow.url, events: ['job.failed'], enabled: true }, as.admin)).body
      const ctx = t.app.ctx
      // Queued with a future due time so the app's own sender leaves them to the two "replicas" below.
      await write(ctx, async ({ tx }) => {
        for (let i = 0; i < 12; i++) {
          await tx`insert into notification_deliveries (endpoint_id, event_id, event, body, next_attempt_at)
            values (${endpoint.id}, gen_random_uuid(), 'job.failed', ${tx.json({ event: 'job.failed', n: i })}, now() + interval '1 hour')`
        }
      })
      await ctx.sql`update notification_deliveries set next_attempt_at = now() where endpoint_id = ${endpoint.id}`
      const counts = await Promise.all([sendDue(ctx), sendDue(ctx), sendDue(ctx)])
      await waitFor(async () => (await deliveriesOf(t, as, endpoint.id)).every((d) => d.status === 'delivered'), 10000, 'every delivery sent')
      const ids = slow.received.map((r) => r.headers['x-terarchitect-delivery'])
      assert.is(ids.length, 12, `sent ${ids.length} times (claims ${counts.join('+')})`)
      assert.is(new Set(ids).size, 12)
    } finally {
      await slow.close()
    }
  })

  test('an endpoint URL is a secret: stored sealed, listed and audited as scheme and host only; an edit without a URL keeps it', async ({ t, as }) => {
    const secretUrl = 'https://hooks.example/services/T000/B000/sealed-url-token'
    const { endpoint } = (await t.api('POST', '/api/notifications/endpoints', { url: secretUrl, events: ['job.failed'], enabled: false }, as.admin)).body
    assert.is(endpoint.url, 'https://hooks.example')
    const listed = (await t.api('GET', '/api/notifications/endpoints', undefined, as.admin)).body.endpoints.find((e: any) => e.id === endpoint.id)
    assert.is(listed.url, 'https://hooks.example')
    assert.is((await t.api('PATCH', `/api/notifications/endpoints/${endpoint.id}`, { name: 'renamed' }, as.admin)).status, 200)
    const [stored] = await t.app.ctx.sql`select url, url_shown from notification_endpoints where id = ${endpoint.id}`
    assert.is(stored!.url_shown, 'https://hooks.example')
    assert.is(t.app.ctx.secrets.tryDecrypt(stored!.url as string), secretUrl, 'sealed, and kept by an edit that names no URL')
    const everywhere = JSON.stringify(await t.app.ctx.sql`select * from notification_endpoints`) + JSON.stringify(await t.app.ctx.sql`select * from audit`)
    assert.not.match(everywhere, 'sealed-url-token')
    // A URL stored in clear before URLs were sealed is sealed by the sender at start, and still delivered to.
    await t.app.ctx.sql`update notification_endpoints set url = ${secretUrl} where id = ${endpoint.id}`
    assert.ok((await sealStoredUrls(t.app.ctx)) >= 1)
    const [resealed] = await t.app.ctx.sql`select url from notification_endpoints where id = ${endpoint.id}`
    assert.is(t.app.ctx.secrets.tryDecrypt(resealed!.url as string), secretUrl)
    // A key rotation re-encrypts the sealed URL with the secrets (and back, for the suites after this one).
    const current = t.env.TERARCHITECT_SECRET_KEY ?? readFileSync(join(t.dataDir, 'secret.key'), 'utf8').trim()
    const next = randomBytes(32).toString('base64url')
    const rotated = createSecretBox(next, current, Math.floor(Date.now() / 1000) + 60)
    await reencryptStoredSecrets(t.app.ctx.sql, rotated)
    const [moved] = await t.app.ctx.sql`select url from notification_endpoints where id = ${endpoint.id}`
    assert.ok(rotated.readsWithCurrentKey(moved!.url as string))
    assert.is(rotated.tryDecrypt(moved!.url as string), secretUrl)
    await reencryptStoredSecrets(t.app.ctx.sql, createSecretBox(current, next, Math.floor(Date.now() / 1000) + 60))
    const [back] = await t.app.ctx.sql`select url from notification_endpoints where id = ${endpoint.id}`
    assert.is(t.app.ctx.secrets.tryDecrypt(back!.url as string), secretUrl)
  })

  test('finished deliveries leave the log after 30 days; pending ones stay', async ({ t, as }) => {
    const { endpoint } = (await t.api('POST', '/api/notifications/endpoints', { url: 'https://hooks.example/old', events: ['job.failed'], enabled: false }, as.admin)).body
    const sql = t.app.ctx.sql
    for (const [status, age] of [['delivered', 31], ['failed', 31], ['delivered', 1], ['pending', 31]] as const) {
      await sql`insert into notification_deliveries (endpoint_id, event_id, event, body, status, created_at, next_attempt_at)
        values (${endpoint.id}, gen_random_uuid(), 'job.failed', '{}', ${status}, now() - make_interval(days => ${age}), now() + interval '1 day')`
    }
    await pruneDeliveries(t.app.ctx)
    const left = await sql`select status, extract(day from now() - created_at)::int as age from notification_deliveries where endpoint_id = ${endpoint.id} order by id`
    assert.equal(left.map((row) => [row.status, row.age]), [['delivered', 1], ['pending', 31]])
  })

  test('only admins reach the notification routes', async ({ t, as }) => {
    const { endpoint } = (await t.api('POST', '/api/notifications/endpoints', { url: 'https://hooks.example/x', events: ['pr.opened'] }, as.admin)).body
    const calls: Array<[string, string, unknown]> = [
      ['GET', '/api/notifications/endpoints', undefined],
      ['POST', '/api/notifications/endpoints', { url: 'https://hooks.example/y', events: ['pr.opened'] }],
      ['PATCH', `/api/notifications/endpoints/${endpoint.id}`, { enabled: false }],
      ['DELETE', `/api/notifications/endpoints/${endpoint.id}`, undefined],
      ['POST', `/api/notifications/endpoints/${endpoint.id}/test`, undefined],
      ['GET', '/api/notifications/deliveries', undefined],
    ]
    for (const [method, path, body] of calls) {
      assertError(await t.api(method, path, body, as.anonymous), 401, undefined, `anonymous ${method} ${path}`)
      assertError(await t.api(method, path, body, as.viewer), 403, undefined, `viewer ${method} ${path}`)
      assertError(await t.api(method, path, body, as.member), 403, undefined, `member ${method} ${path}`)
    }
    const [row] = await t.app.ctx.sql`select enabled from notification_endpoints where id = ${endpoint.id}`
    assert.is(row!.enabled, true, 'refused calls changed nothing')
    const patched = await t.api('PATCH', `/api/notifications/endpoints/${endpoint.id}`, { enabled: false, events: ['pr.opened', 'review.done'] }, as.admin)
    assert.is(patched.status, 200)
    assert.equal([patched.body.endpoint.enabled, patched.body.endpoint.events], [false, ['pr.opened', 'review.done']])
    const [audit] = await t.app.ctx.sql`select action from audit where target_type = 'notification_endpoint' and target_id = ${String(endpoint.id)} order by id desc limit 1`
    assert.is(audit!.action, 'notification.update')
  })

  test('bad input is refused naming the field, and writes nothing', async ({ t, as }) => {
    const before = await t.app.ctx.sql`select count(*)::int as n from notification_endpoints`
    const post = (body: unknown) => t.api('POST', '/api/notifications/endpoints', body, as.admin)
    assertError(await post({ url: 'ftp://hooks.example/x', events: ['job.failed'] }), 400, '/body/url')
    assertError(await post({ url: 'file:///etc/passwd', events: ['job.failed'] }), 400, '/body/url')
    assertError(await post({ url: 'https://user:pass@hooks.example/x', events: ['job.failed'] }), 400, '/body/url')
    assertError(await post({ url: 'not a url', events: ['job.failed'] }), 400, '/body/url')
    assertError(await post({ url: 'https://hooks.example/x', events: ['job.exploded'] }), 400, /^\/body\/events/)
    assertError(await post({ url: 'https://hooks.example/x', events: [] }), 400, /^\/body\/events/)
    assertError(await post({ url: 'https://hooks.example/x', events: ['job.failed'], format: 'xml' }), 400, /^\/body\/format/)
    assertError(await post({ url: 'https://hooks.example/x', events: ['job.failed'], secret: 'mine' }), 400, /^\/body/)
    assertError(await post({ events: ['job.failed'] }), 400, /^\/body\/url/)
    const after = await t.app.ctx.sql`select count(*)::int as n from notification_endpoints`
    assert.is(after[0]!.n, before[0]!.n)
    assertError(await t.api('PATCH', '/api/notifications/endpoints/2147483000', { enabled: false }, as.admin), 404)
    assertError(await t.api('PATCH', '/api/notifications/endpoints/abc', { enabled: false }, as.admin), 400, '/params/id')
    assertError(await t.api('PATCH', '/api/notifications/endpoints/1', {}, as.admin), 400)
    assertError(await t.api('PATCH', '/api/notifications/endpoints/1', { url: 'gopher://x' }, as.admin), 400, '/body/url')
    assertError(await t.api('DELETE', '/api/notifications/endpoints/2147483000', undefined, as.admin), 404)
    assertError(await t.api('POST', '/api/notifications/endpoints/2147483000/test', undefined, as.admin), 404)
    assertError(await t.api('GET', '/api/notifications/deliveries?limit=0', undefined, as.admin), 400, '/query/limit')
    assertError(await t.api('GET', '/api/notifications/deliveries?endpoint_id=x', undefined, as.admin), 400, '/query/endpoint_id')
  })

  test.run()
}
