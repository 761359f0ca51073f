/**
 * What the app writes where strangers may read, and what it reads from a forge: a failed job's
 * comment on a (possibly public) pull request carries the classified reason only, never the raw
 * error; a forge answer is read up to ANSWER_MAX_BYTES, never without limit (docs/SECURITY.md).
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import type { AppContext } from '../../core/context.ts'
import { ANSWER_MAX_BYTES, answerJson, ForgeError } from '../../core/forge.ts'
import { failureCommentBody } from '../../core/services/job-failure-comment.ts'

const test = suite('public texts and forge answers')
const ctx = { config: { PUBLIC_URL: 'https://app.example/' } } as unknown as AppContext
const job = { id: 7, project_id: 2, ticket_id: 3, kind: 'ticket', status: 'failed', attempt: 1, max_attempts: 2, pr_number: 5, reason_event_id: 11 } as const
const RAW = 'ENOENT: /home/ci/.config/terarchitect/agent-7/worktree: internal stack at Runner.run'

test('an unclassified failure posts a generic line and the link, never the raw error', () => {
  const body = failureCommentBody(ctx, { ...job, reason_kind: 'internal', reason: `Agent exited: ${RAW}`, error: RAW })
  assert.not.match(body, 'ENOENT')
  assert.not.match(body, '/home/ci')
  assert.match(body, 'Terarchitect job 7 (attempt 1 of 2) on this ticket failed; its reason is in the app.')
  assert.match(body, "[Open the job's log](https://app.example/projects/2/tickets/3?event=11)")
  const none = failureCommentBody(ctx, { ...job, reason_kind: null, reason: null, error: RAW })
  assert.not.match(none, 'ENOENT')
})

test('a classified failure posts its reason', () => {
  const body = failureCommentBody(ctx, { ...job, reason_kind: 'git', reason: 'Git push was refused by the remote.', error: RAW })
  assert.match(body, 'on this ticket failed: Git push was refused by the remote.')
  assert.not.match(body, 'ENOENT')
})

test('a forge answer past the cap is not read further: a 502 ForgeError', async () => {
  let sent = 0
  const chunk = new Uint8Array(1024 * 1024).fill(0x20)
  const endless = new ReadableStream<Uint8Array>({
    pull(controller) {
      sent += chunk.byteLength
      controller.enqueue(chunk)
    },
  })
  const error = await answerJson(new Response(endless, { status: 200 })).then(() => null, (e: unknown) => e)
  assert.ok(error instanceof ForgeError, String(error))
  assert.is((error as ForgeError).status, 502)
  assert.ok(sent <= ANSWER_MAX_BYTES + 2 * chunk.byteLength, `read ${sent} bytes`)
  assert.equal(await answerJson(new Response('{"ok":true}')), { ok: true })
  assert.is(await answerJson(new Response('<html>proxy</html>')), null)
  assert.is(await answerJson(new Response(null, { status: 204 })), null)
})

test.run()
