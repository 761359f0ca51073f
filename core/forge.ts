/**
 * The Forge plugin interface: how the app speaks to a code host (GitHub, GitLab, Gitea/Forgejo or a
 * custom one). Forge plugins run in the app only, the holder of forge tokens; agents reach the forge
 * through the app's relays. A plugin implements `kind`, `parseRepo`, `gitCredentials` and `connect`;
 * what only some forges can do is an optional capability core probes for (`webhooks`; commit checks
 * and issues join them the same way).
 *
 * Vocabulary: a "request" is a pull request (GitHub, Gitea) or a merge request (GitLab); its
 * `number` is what people see in its URL (GitLab's `iid`). A repository is named by its `path`:
 * `owner/name`, or `group/subgroup/name` on GitLab.
 *
 * Failures: a plugin throws `ForgeError` (core/errors.ts AppError family) carrying the forge's own
 * status, never the forge's response body (the API URL is a setting that may point anywhere, and an
 * error message must not carry a stranger's answer back to the caller).
 */
import { AppError } from './errors.ts'

/** Where and as whom a client talks: the forge's API base URL and the token sent only there. */
export interface ForgeConnection {
  /** e.g. `https://api.github.com`, `https://gitlab.example.com/api/v4`, `https://gitea.example.com/api/v1`. */
  apiUrl: string
  token: string
  /** Per request; default 30 s. */
  timeoutMs?: number
}

export type RequestState = 'open' | 'closed' | 'merged'

/** A pull/merge request as every forge can describe it. */
export interface PullRequest {
  number: number
  url: string
  title: string
  body: string
  state: RequestState
  draft: boolean
  author: string | null
  headBranch: string
  headSha: string
  baseBranch: string
  /** The head branch lives in this repository (not a fork, not a deleted fork). */
  sameRepo: boolean
  /** null when the forge has not decided yet. */
  mergeable: boolean | null
  createdAt: string
  updatedAt: string
}

/**
 * A comment on a request. `issue_comment`: on its conversation (GitLab: a note; Gitea: an issue
 * comment); `review_comment`: inline on a line of the diff; `review`: a submitted review, whose
 * `reviewState` is APPROVED | CHANGES_REQUESTED | COMMENTED (GitLab approvals are APPROVED reviews
 * with an empty body). `(kind, id)` is unique on one forge.
 */
export interface ForgeComment {
  kind: 'issue_comment' | 'review_comment' | 'review'
  id: number
  author: string
  /** Bots never trigger work (GitHub `type: Bot` or `[bot]`, GitLab bot users, Gitea bot flags). */
  authorIsBot: boolean
  body: string
  path: string | null
  line: number | null
  reviewState: string | null
  url: string | null
  createdAt: string
  /** The poller's cursor advances on this. */
  updatedAt: string
}

export interface RequestCommit {
  sha: string
  message: string
  author: string | null
  date: string | null
  url: string | null
}

export interface RequestFile {
  path: string
  status: 'added' | 'modified' | 'removed' | 'renamed'
  additions: number
  deletions: number
  patch: string | null
}

/**
 * What a poller keeps between cycles for one request, owned by the plugin (ETags, `since` marks,
 * page positions). Stored as JSON; an empty object means "from the start".
 */
export type PollCursor = Record<string, unknown>

/** A client bound to one connection. Every method names the repository by its `path`. */
export interface ForgeClient {
  /**
   * The token's own login (a refused token throws). `scopes`: what the forge says the token may do,
   * when it says it (GitHub classic tokens), for the settings Test to show.
   */
  whoami(): Promise<{ login: string; scopes?: string | null }>
  /** The repository as the token sees it: null when it is not found (or not visible to the token). */
  repository(repo: string): Promise<{ defaultBranch: string; canPush: boolean; private: boolean } | null>
  /** The open request from `head` into `base` in this repository, if any. */
  findOpenRequest(repo: string, head: string, base: string): Promise<PullRequest | null>
  openRequest(repo: string, fields: { title: string; body: string; head: string; base: string; draft: boolean }): Promise<PullRequest>
  getRequest(repo: string, number: number): Promise<PullRequest>
  /** Commits (at most a few hundred) and changed files of a request. */
  requestCommits(repo: string, number: number): Promise<RequestCommit[]>
  requestFiles(repo: string, number: number): Promise<RequestFile[]>
  /** Every comment of the request, oldest first. */
  listComments(repo: string, number: number): Promise<ForgeComment[]>
  /**
   * What changed since `cursor`: the request (null when unchanged) and comments new or updated since
   * (possibly some seen before: the caller stores each once). The caller saves `cursor` only after
   * storing every comment returned.
   */
  poll(repo: string, number: number, cursor: PollCursor): Promise<{ request: PullRequest | null; comments: ForgeComment[]; cursor: PollCursor }>
  /** Posts on the request's conversation; returns the comment as the forge stored it. */
  comment(repo: string, number: number, body: string): Promise<ForgeComment>
  /** True when `login` may push to the repository (the writer check behind "only writers trigger work"). */
  canWrite(repo: string, login: string): Promise<boolean>
  merge(repo: string, number: number, options: { method: 'merge' | 'squash' | 'rebase'; sha?: string; title?: string; message?: string }): Promise<{ sha: string | null }>
  /** Optional capability: a commit's CI checks (CI auto-fix, docs/ci-fix.md). */
  checks?: ForgeChecks
  /** Optional capability: the repository's issues (issue intake, docs/issue-intake.md). */
  issues?: ForgeIssues
}

/** An issue of a repository (never a pull/merge request), as every forge can describe it. */
export interface ForgeIssue {
  number: number
  url: string | null
  title: string
  body: string
  state: 'open' | 'closed'
  labels: string[]
  author: string | null
  createdAt: string
  updatedAt: string
}

/**
 * A label applied to or removed from an issue and who did it (GitHub issue events `labeled` /
 * `unlabeled`, GitLab resource label events, Gitea timeline comments of type `label`). A label set
 * when the issue was opened (an issue template's, or the author's own) is an `added` event by the
 * author at the issue's creation time.
 */
export interface IssueLabelEvent {
  label: string
  action: 'added' | 'removed'
  actor: string | null
  actorIsBot: boolean
  at: string
}

export interface ForgeIssues {
  /** The issue; a 404 ForgeError when there is none (or the number is a pull/merge request's). */
  get(repo: string, number: number): Promise<ForgeIssue>
  /** Every label event of the issue, oldest first. */
  labelEvents(repo: string, number: number): Promise<IssueLabelEvent[]>
  /**
   * Issues changed since `cursor` (an empty cursor: the open ones); some may have been returned
   * before. The caller saves `cursor` only after handling every issue returned.
   */
  changed(repo: string, cursor: PollCursor): Promise<{ issues: ForgeIssue[]; cursor: PollCursor }>
  /** Posts on the issue's conversation. */
  comment(repo: string, number: number, body: string): Promise<{ id: number; url: string | null }>
  /** The line a request's body carries so that merging it closes issue `number` (`Closes #7`). */
  closeKeyword(number: number): string
}

/** Where one check stands; `queued` has not started (a runner never picked it up, or it waits). */
export type CheckState = 'queued' | 'running' | 'success' | 'failure' | 'cancelled' | 'skipped' | 'neutral'

/**
 * One CI check of a commit, whatever the forge calls it: a GitHub check run or commit status, a
 * GitLab pipeline job, a Gitea commit status. `name` is unique among a commit's checks (the newest
 * run of a name wins). `excerpt` is set for failures only: the check's own output (GitHub's output
 * title/summary/text) or its log's tail (GitLab's job trace), at most `EXCERPT_MAX_BYTES` as the
 * plugin read it; core bounds and redacts it again before it reaches a prompt.
 */
export interface CommitCheck {
  name: string
  state: CheckState
  /** One line the forge gives about the conclusion (a status description, a check title), or null. */
  summary: string | null
  detailsUrl: string | null
  excerpt: string | null
}

/** The most a plugin reads of one failed check's log or output. */
export const EXCERPT_MAX_BYTES = 16 * 1024

export interface ForgeChecks {
  /** Every check of commit `sha` in the repository, newest run per name. */
  list(repo: string, sha: string): Promise<CommitCheck[]>
}

/** What a verified webhook delivery is about, in forge-neutral terms. */
export type WebhookEvent =
  | { type: 'ping' }
  | { type: 'comment'; repo: string; number: number; comment: ForgeComment }
  | { type: 'request'; repo: string; number: number; state: RequestState }
  | { type: 'ignored'; reason: string }
  /** A commit's checks changed (the follower reads them again through `checks`); `number` when the forge names the request. */
  | { type: 'checks'; repo: string; sha: string; number: number | null }
  /**
   * Something happened to an issue (the intake reads the issue and its label events again); `sender`
   * is who did it, the editor of an `edited`. `text` is the issue's title and body as the signed
   * payload carries them (what a labeller saw, what an editor wrote); `changed` the fields an
   * `edited` says it changed.
   */
  | { type: 'issue'; repo: string; number: number; action: 'labeled' | 'unlabeled' | 'edited' | 'closed' | 'reopened'; sender: string | null; senderIsBot: boolean; text: IssueText | null; changed: { title: boolean; body: boolean } }

/** An issue's title and body as a webhook payload carries them, `at` the payload's `updated_at` (when that text was current). */
export interface IssueText { title: string; body: string; at: string | null }

/** `text` and `changed` of a GitHub or Gitea `issues` payload (`issue.title`/`.body`, `changes.title`/`.body`). */
export function issuePayloadText(payload: any): { text: IssueText | null; changed: { title: boolean; body: boolean } } {
  const issue = payload?.issue
  const text = typeof issue?.title === 'string' ? { title: issue.title, body: typeof issue.body === 'string' ? issue.body : '', at: typeof issue.updated_at === 'string' ? issue.updated_at : null } : null
  return { text, changed: { title: Boolean(payload?.changes?.title), body: Boolean(payload?.changes?.body) } }
}

/** Optional capability: webhooks. Verification happens before any parsing. */
export interface ForgeWebhooks {
  /** True when the delivery is authentic under `secret` (HMAC signature or shared token, compared in constant time). */
  verify(secret: string, headers: Record<string, string | undefined>, body: Buffer): boolean
  /** The delivery's meaning; `ignored` for events the app does not act on. Throws a 400 AppError on a malformed body. */
  parse(headers: Record<string, string | undefined>, body: Buffer): WebhookEvent
}

export interface Forge {
  /** Literal plugin name: `github`, `gitlab`, `gitea`. */
  readonly kind: string
  /** The API URL to use when none is set (`https://api.github.com`, `https://gitlab.com/api/v4`); null: must be set. */
  readonly defaultApiUrl: string | null
  /**
   * The repository path of a clone URL (https, ssh, scp-style `git@host:path.git`) or of a request
   * URL; null when neither names one. Segments are checked: `..`, `?`, `#` never reach an API path.
   * `apiUrl`, when given, lets a forge served under a path prefix (GitLab's relative URL root,
   * `https://host/gitlab/api/v4`) drop that prefix from web URLs on its host.
   */
  parseRepo(url: string, apiUrl?: string): string | null
  /** The web host that serves the repositories of an API URL (github.com for api.github.com). */
  gitHost(apiUrl: string): string
  /**
   * The web page of request `number` (what a ticket links), without asking the forge. Optional: when
   * absent, core uses the `url` the forge answers for the request.
   */
  requestUrl?(apiUrl: string, repo: string, number: number): string
  /** HTTP basic credentials git sends to the forge's git host with this token. */
  gitCredentials(token: string): { username: string; password: string }
  /**
   * True when comment ids are one sequence over conversation and inline comments (Gitea): a webhook
   * and the poller may name one comment's kind differently (`issue_comment` / `review_comment`),
   * and core stores it once by its id.
   */
  readonly sharedCommentIds?: boolean
  connect(connection: ForgeConnection): ForgeClient
  webhooks?: ForgeWebhooks
}

/** A forge's refusal or failure, with the app status it maps to and the forge's own (null: unreachable). */
export class ForgeError extends AppError {
  readonly forgeStatus: number | null
  constructor(code: string, status: number, message: string, forgeStatus: number | null, cause?: unknown) {
    super(code, status, message, [], cause)
    this.name = 'ForgeError'
    this.forgeStatus = forgeStatus
  }
}

/** The most of one forge answer `answerJson` reads: the API URL is a setting that may point anywhere. */
export const ANSWER_MAX_BYTES = 32 * 1024 * 1024

/**
 * For plugins: the JSON of a successful answer, or null when it is empty or not JSON (a forge's
 * 204, or a proxy's HTML page: the caller's normalizers then see nothing rather than a throw). An
 * answer longer than ANSWER_MAX_BYTES is not read further (a 502 ForgeError).
 */
export async function answerJson(res: Response): Promise<any> {
  const text = await cappedText(res, ANSWER_MAX_BYTES).catch(() => '')
  if (text === null) throw new ForgeError('forge_answer_too_large', 502, `the forge's answer is larger than ${ANSWER_MAX_BYTES / (1024 * 1024)} MiB: not read`, res.status)
  try {
    return text ? JSON.parse(text) : null
  } catch {
    return null
  }
}

/** The body as text, or null past `max` bytes (the rest is cancelled unread). */
export async function cappedText(res: Response, max: number): Promise<string | null> {
  const reader = res.body?.getReader()
  if (!reader) return ''
  const chunks: Uint8Array[] = []
  let size = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    size += value.byteLength
    if (size > max) {
      await reader.cancel().catch(() => {})
      return null
    }
    chunks.push(value)
  }
  return Buffer.concat(chunks).toString('utf8')
}
