/**
 * Tracked pull requests. A ticket whose agent reported a PR (tickets.pr_number) gets a `prs` row;
 * the forge's view of the PR (from a webhook or the poller) moves it: merged → the ticket goes to the
 * `done` column and tracking stops; closed without merge → tracking stops; reopened → tracked again.
 */
import type { AppContext, WriteScope } from '../../context.ts'
import { write } from '../../context.ts'
import type { Sql, TransactionSql } from '../../db/index.ts'
import { isAppError } from '../../errors.ts'
import { forgeAccess } from '../forge-token.ts'
import type { Job } from '../../types.ts'
import { columnWithRole, getBoard } from '../board.ts'
import { jobSummary } from '../jobs.ts'
import { getTicket } from '../tickets.ts'
import { endWait, onTicketDone } from '../ticket-dependencies.ts'
import { settleJobReason } from '../job-reason-store.ts'

export type PrState = 'open' | 'closed' | 'merged'

export interface PrRow {
  id: number
  project_id: number
  ticket_id: number
  repo: string | null
  number: number
  url: string | null
  title: string | null
  state: PrState
  approved: boolean
  head_branch: string | null
  tracking: boolean
  /** The forge plugin's poll cursor (PollCursor). */
  poll_state: Record<string, unknown>
  last_polled_at: string | null
  last_error: string | null
  created_at: string
  updated_at: string
}

export const PR_COLUMNS = `id, project_id, ticket_id, repo, number, url, title, state, approved, head_branch, tracking,
  poll_state, last_polled_at, last_error, created_at, updated_at`

/** What API answers show of a PR row (the poll cursors are internal). */
export function prView(pr: PrRow) {
  const { poll_state: _cursors, ...view } = pr
  return view
}

/** Starts tracking every ticket PR that has no `prs` row yet; returns how many were added. */
export async function trackNewPrs(ctx: AppContext): Promise<number> {
  const candidates = await ctx.sql`
    select t.id as ticket_id, t.project_id, t.pr_number, t.pr_url, p.repo_url
    from tickets t join projects p on p.id = t.project_id
    where t.pr_number is not null
      and not exists (select 1 from prs where prs.ticket_id = t.id and prs.number = t.pr_number)`
  if (!candidates.length) return 0
  // The repository path as each project's forge reads it (the request URL first, then repo_url),
  // with the API URL (a forge under a path prefix drops it from web URLs); a project the forge
  // token may not be used for (REPO_ALLOWLIST) is recorded untracked, with the reason.
  const repos = new Map<number, string | null>()
  const refusals = new Map<number, string>()
  for (const c of candidates) {
    let access: Awaited<ReturnType<typeof forgeAccess>>
    try {
      access = await forgeAccess(ctx, { id: c.project_id as number, repo_url: c.repo_url as string | null })
    } catch (error) {
      if (!isAppError(error)) throw error
      refusals.set(c.ticket_id as number, `${error.message}; not tracked`)
      continue
    }
    const fromUrl = (url: unknown) => (typeof url === 'string' && url ? access.forge.parseRepo(url, access.apiUrl) : null)
    repos.set(c.ticket_id as number, fromUrl(c.pr_url) ?? fromUrl(c.repo_url))
  }
  return write(ctx, async ({ tx, emit }) => {
    let added = 0
    for (const c of candidates) {
      const repo = repos.get(c.ticket_id as number) ?? null
      const [row] = await tx.unsafe(
        `insert into prs (project_id, ticket_id, repo, number, url, tracking, last_error)
         values ($1, $2, $3, $4, $5, $6, $7)
         on conflict (ticket_id, number) do nothing returning ${PR_COLUMNS}`,
        [c.project_id, c.ticket_id, repo, c.pr_number, c.pr_url, repo !== null,
          repo ? null : refusals.get(c.ticket_id as number) ?? 'cannot tell the forge repository from the PR URL or the project\'s repo_url; not tracked'],
      )
      if (!row) continue
      added++
      await emit({ project_id: row.project_id as number, type: 'pr.updated', payload: { pr: prView(row as unknown as PrRow) } })
    }
    return added
  })
}

export async function getPr(sql: Sql | TransactionSql, id: number): Promise<PrRow | null> {
  const [row] = await sql.unsafe(`select ${PR_COLUMNS} from prs where id = $1`, [id])
  return (row as unknown as PrRow) ?? null
}

/** The ticket's PR row: the one matching its current pr_number, else its newest. */
export async function prOfTicket(sql: Sql | TransactionSql, ticketId: number): Promise<PrRow | null> {
  const [row] = await sql.unsafe(
    `select ${PR_COLUMNS.split(',').map((c) => `p.${c.trim()}`).join(', ')} from prs p join tickets t on t.id = p.ticket_id
     where p.ticket_id = $1 order by (p.number = t.pr_number) desc, p.id desc limit 1`,
    [ticketId],
  )
  return (row as unknown as PrRow) ?? null
}

/** The tracked PR `number` of repository `repo` (`owner/name`, any case) in one of `projectIds` (a verified delivery's). */
export async function findTrackedPr(sql: Sql, repo: string, number: number, projectIds: number[]): Promise<PrRow | null> {
  const [row] = await sql.unsafe(
    `select ${PR_COLUMNS} from prs where lower(repo) = lower($1) and number = $2 and project_id = any($3::int[]) order by tracking desc, id desc limit 1`,
    [repo, number, projectIds],
  )
  return (row as unknown as PrRow) ?? null
}

export async function listTrackingPrs(sql: Sql): Promise<PrRow[]> {
  return (await sql.unsafe(`select ${PR_COLUMNS} from prs where tracking order by id`)) as unknown as PrRow[]
}

/** `GET /api/projects/:id/review`: every PR of the project with its state and comment counts. */
export async function listProjectReview(sql: Sql, projectId: number) {
  const rows = await sql.unsafe(
    `select ${PR_COLUMNS.split(',').map((c) => `p.${c.trim()}`).join(', ')}, t.title as ticket_title, t.number as ticket_number, t.column_id,
       coalesce(c.total, 0)::int as total, coalesce(c.queued, 0)::int as queued, coalesce(c.in_progress, 0)::int as in_progress,
       coalesce(c.addressed, 0)::int as addressed, coalesce(c.ignored, 0)::int as ignored, coalesce(c.failed, 0)::int as failed,
       coalesce(c.undecided, 0)::int as undecided
     from prs p join tickets t on t.id = p.ticket_id
     left join lateral (
       select count(*) as total,
         count(*) filter (where ${OPEN} and c.authorized and not ${ACTIVE}) as queued,
         count(*) filter (where ${OPEN} and ${ACTIVE}) as in_progress,
         count(*) filter (where c.addressed_at is not null) as addressed,
         count(*) filter (where c.ignored_reason is not null) as ignored,
         count(*) filter (where c.failed_at is not null) as failed,
         count(*) filter (where ${OPEN} and c.authorized is null) as undecided
       from pr_review_comments c left join agent_jobs j on j.id = c.job_id
       where c.pr_id = p.id) c on true
     where p.project_id = $1 order by p.id desc`,
    [projectId],
  )
  return rows.map((row) => {
    const { total, queued, in_progress, addressed, ignored, failed, undecided, ticket_title, ticket_number, column_id, ...pr } = row
    return { ...prView(pr as unknown as PrRow), ticket_title, ticket_number, column_id, comments: { total, queued, in_progress, addressed, ignored, failed, undecided } }
  })
}

const OPEN = '(c.ignored_reason is null and c.addressed_at is null and c.failed_at is null)'
const ACTIVE = `coalesce(j.status in ('pending', 'running'), false)`

/** What the forge says of a request (from `getRequest`, `poll` or a webhook); unknown fields stay as stored. */
export interface PullFacts {
  state: PrState
  title?: string
  url?: string
  headBranch?: string
}

/**
 * Brings the row in line with the forge's view of the request. Returns the new state when it
 * changed. Merged: the ticket moves to the done column; merged or closed: pending review jobs of
 * the PR are cancelled and tracking stops.
 */
export async function applyPullState(ctx: AppContext, prId: number, pull: PullFacts): Promise<PrState | null> {
  const next = pull.state
  return write(ctx, async (scope) => {
    const { tx } = scope
    const [row] = await tx.unsafe(`select ${PR_COLUMNS} from prs where id = $1 for update`, [prId])
    if (!row) return null
    const pr = row as unknown as PrRow
    const title = pull.title ?? pr.title
    const head = pull.headBranch || pr.head_branch
    const url = pr.url ?? pull.url ?? null
    if (next === pr.state) {
      if (title !== pr.title || head !== pr.head_branch || url !== pr.url) {
        await tx`update prs set title = ${title}, head_branch = ${head}, url = ${url}, updated_at = now() where id = ${prId}`
      }
      return null
    }
    const [updated] = await tx.unsafe(
      `update prs set state = $2, tracking = $3, title = $4, head_branch = $5, url = $6, updated_at = now()
       where id = $1 returning ${PR_COLUMNS}`,
      [prId, next, next === 'open', title, head, url],
    )
    if (next !== 'open') await cancelPendingReviewJobs(scope, pr, `pull request #${pr.number} was ${next}`)
    if (next === 'merged') await moveTicketToDone(ctx, scope, pr.project_id, pr.ticket_id)
    await scope.emit({ project_id: pr.project_id, type: 'pr.updated', payload: { pr: prView(updated as unknown as PrRow), from_state: pr.state } })
    return next
  })
}

export async function setApproved(scope: WriteScope, pr: PrRow, approved: boolean): Promise<void> {
  if (pr.approved === approved) return
  const [row] = await scope.tx.unsafe(`update prs set approved = $2, updated_at = now() where id = $1 returning ${PR_COLUMNS}`, [pr.id, approved])
  await scope.emit({ project_id: pr.project_id, type: 'pr.updated', payload: { pr: prView(row as unknown as PrRow) } })
}

async function cancelPendingReviewJobs(scope: WriteScope, pr: PrRow, why: string): Promise<void> {
  const rows = (await scope.tx`
    update agent_jobs set status = 'cancelled', cancel_requested = true, finished_at = now(), error = ${why}
    where ticket_id = ${pr.ticket_id} and kind in ('review', 'ci_fix') and pr_number = ${pr.number} and status = 'pending'
    returning id, project_id, ticket_id, status, attempt, error, cancel_requested`) as unknown as Job[]
  for (const job of rows) {
    Object.assign(job, await settleJobReason(scope.tx, job))
    await scope.emit({ project_id: job.project_id, type: 'job.updated', payload: jobSummary(job) })
  }
}

/** Moves the ticket to the end of the column whose role is `done`, keeping positions dense. */
async function moveTicketToDone(ctx: AppContext, scope: WriteScope, projectId: number, ticketId: number): Promise<void> {
  const { tx } = scope
  // Same lock as every board edit (services/tickets.ts), so concurrent moves keep positions dense.
  await tx`select id from projects where id = ${projectId} for update`
  const done = columnWithRole(await getBoard(tx, projectId), 'done')
  const ticket = await getTicket(tx, projectId, ticketId)
  if (!done || ticket.column_id === done.id) return
  await tx`update tickets set position = position - 1
    where project_id = ${projectId} and column_id = ${ticket.column_id} and position > ${ticket.position}`
  const [{ n }] = (await tx`select count(*)::int as n from tickets where project_id = ${projectId} and column_id = ${done.id}`) as unknown as [{ n: number }]
  await tx`update tickets set column_id = ${done.id}, position = ${n}, updated_at = now() where id = ${ticketId}`
  // Leaving In Progress ends a wait; entering Done starts the tickets waiting only on this one.
  await endWait(tx, ticketId)
  await onTicketDone(ctx, scope, projectId, ticket)
  const updated = await getTicket(tx, projectId, ticketId)
  await scope.emit({ project_id: projectId, type: 'ticket.updated', payload: { ticket: updated, from_column_id: ticket.column_id } })
}
