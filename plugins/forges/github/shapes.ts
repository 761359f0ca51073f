/**
 * GitHub's objects → the forge-neutral shapes of core/forge.ts. Webhook payloads carry the same
 * objects as the REST API, except that webhook review states are lower case.
 */
import type { ForgeComment, PullRequest, RequestCommit, RequestFile } from '../../../core/forge.ts'

export function toPullRequest(repo: string, p: any): PullRequest {
  const headRepo = p.head?.repo?.full_name
  return {
    number: Number(p.number),
    url: String(p.html_url ?? ''),
    title: String(p.title ?? ''),
    body: typeof p.body === 'string' ? p.body : '',
    state: p.merged || p.merged_at ? 'merged' : p.state === 'closed' ? 'closed' : 'open',
    draft: !!p.draft,
    author: p.user?.login ?? null,
    headBranch: String(p.head?.ref ?? ''),
    headSha: String(p.head?.sha ?? ''),
    baseBranch: String(p.base?.ref ?? ''),
    // A null head.repo is a deleted fork: not this repository.
    sameRepo: typeof headRepo === 'string' && headRepo.toLowerCase() === repo.toLowerCase(),
    mergeable: typeof p.mergeable === 'boolean' ? p.mergeable : null,
    createdAt: String(p.created_at ?? ''),
    updatedAt: String(p.updated_at ?? ''),
  }
}

function comment(kind: ForgeComment['kind'], c: any, createdAt: string, updatedAt: string | undefined): ForgeComment {
  const author = String(c.user?.login ?? 'ghost')
  return {
    kind,
    id: Number(c.id),
    author,
    authorIsBot: c.user?.type === 'Bot' || author.endsWith('[bot]'),
    body: typeof c.body === 'string' ? c.body : '',
    path: null,
    line: null,
    reviewState: null,
    url: c.html_url ?? null,
    createdAt,
    updatedAt: updatedAt ?? createdAt,
  }
}

export const fromIssueComment = (c: any): ForgeComment => comment('issue_comment', c, c.created_at, c.updated_at)

export const fromReviewComment = (c: any): ForgeComment =>
  ({ ...comment('review_comment', c, c.created_at, c.updated_at), path: c.path ?? null, line: c.line ?? c.original_line ?? null })

export function fromReview(r: any): ForgeComment {
  const at = r.submitted_at ?? r.created_at ?? new Date().toISOString()
  return { ...comment('review', r, at, at), reviewState: typeof r.state === 'string' ? r.state.toUpperCase() : null }
}

export const toCommit = (c: any): RequestCommit => ({
  sha: String(c.sha),
  message: c.commit?.message ?? c.message ?? '',
  author: c.commit?.author?.name ?? c.author?.login ?? null,
  date: c.commit?.author?.date ?? null,
  url: c.html_url ?? null,
})

const FILE_STATUS: Record<string, RequestFile['status']> = { added: 'added', removed: 'removed', renamed: 'renamed', copied: 'added' }

export const toFile = (f: any): RequestFile => ({
  path: String(f.filename),
  status: FILE_STATUS[f.status] ?? 'modified',
  additions: Number(f.additions ?? 0),
  deletions: Number(f.deletions ?? 0),
  patch: f.patch ?? null,
})
