/**
 * Polls one tracked pull request through its forge's `poll`: the request's state, then the comments
 * new or updated since the stored cursor (the plugin's own: ETags, `since` marks). Every comment is
 * stored before the cursor is saved, so a failure mid-way is retried from the old cursor on the
 * next cycle (ingestion stores each comment once).
 */
import type { AppContext } from '../../context.ts'
import type { ForgeClient } from '../../forge.ts'
import { ingestComment } from './comments.ts'
import type { ReviewAccess } from './forge.ts'
import { applyPullState, type PrRow } from './prs.ts'

export interface PollResult {
  /** Comments stored for the first time. */
  stored: number
  state: PrRow['state']
}

export async function pollPr(ctx: AppContext, pr: PrRow, access: ReviewAccess & { client: ForgeClient }): Promise<PollResult> {
  let stored = 0
  let state = pr.state
  try {
    const polled = await access.client.poll(pr.repo!, pr.number, pr.poll_state ?? {})
    if (polled.request) {
      const request = polled.request
      state = (await applyPullState(ctx, pr.id, { state: request.state, title: request.title, url: request.url, headBranch: request.headBranch })) ?? state
    }
    if (state === 'open') {
      for (const comment of polled.comments) if ((await ingestComment(ctx, pr, comment, access)).created) stored++
    }
    await ctx.sql`update prs set poll_state = ${ctx.sql.json(polled.cursor as never)}, last_polled_at = now(), last_error = null where id = ${pr.id}`
  } catch (error) {
    // The cursor stays: the next cycle asks again from where the last complete poll ended.
    await ctx.sql`update prs set last_polled_at = now(), last_error = ${(error as Error).message.slice(0, 2000)} where id = ${pr.id}`
    throw error
  }
  return { stored, state }
}
