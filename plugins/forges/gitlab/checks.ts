/**
 * GitLab's CI checks of a commit: the newest pipeline for the sha (`GET /projects/:id/pipelines?sha=`)
 * and its jobs (`GET …/pipelines/:pid/jobs`), one check per job; a pipeline without jobs yet is one
 * check of its own. A failed job's excerpt is the tail of its log (`GET …/jobs/:jid/trace`, plain
 * text): streamed keeping the last EXCERPT_MAX_BYTES, and no more than TRACE_READ_MAX_BYTES read (a
 * trace can be 100 MB; past the cap the reader is cancelled and the excerpt says its tail was cut).
 * Traces are fetched for the first MAX_FAILED_TRACES failed jobs only (core keeps no more checks
 * than that), TRACE_READS_AT_ONCE at a time. Webhook: `Pipeline Hook` names the sha (and the merge
 * request, for merge request pipelines).
 */
import { EXCERPT_MAX_BYTES, type CheckState, type CommitCheck, type ForgeChecks, type ForgeConnection, type WebhookEvent } from '../../../core/forge.ts'
import { forgeFetch } from '../../../core/forge-http.ts'
import { gitlabError, projectPath, type GitlabClient } from './client.ts'

const SHA = /^[0-9a-f]{40}$/i

/** The most of one job's trace read to find its tail. */
export const TRACE_READ_MAX_BYTES = 8 * 1024 * 1024
/** Traces fetched per commit (core's MAX_CHECKS) and how many at once. */
const MAX_FAILED_TRACES = 8
const TRACE_READS_AT_ONCE = 3

/**
 * Job and pipeline statuses → state. `manual` waits for a person and `scheduled` for a time: neither
 * is CI that ran, so they count as skipped rather than holding the verdict forever.
 */
const STATES: Record<string, CheckState> = {
  created: 'queued', pending: 'queued', waiting_for_resource: 'queued', preparing: 'queued', waiting_for_callback: 'queued',
  running: 'running', success: 'success', failed: 'failure', canceled: 'cancelled', canceling: 'running', skipped: 'skipped',
  manual: 'skipped', scheduled: 'skipped',
}

interface GitlabJob { id: number; name: string; stage?: string; status: string; web_url?: string; failure_reason?: string; allow_failure?: boolean }
interface GitlabPipeline { id: number; sha: string; status: string; web_url?: string }

const url = (value: unknown) => (typeof value === 'string' && /^https?:\/\//.test(value) ? value : null)

export function checks(client: GitlabClient, connection: ForgeConnection): ForgeChecks {
  const base = connection.apiUrl.replace(/\/+$/, '')
  const trace = async (repo: string, jobId: number): Promise<string | null> => {
    const res = await forgeFetch({
      forgeName: 'GitLab', codePrefix: 'gitlab', timeoutMs: connection.timeoutMs ?? 30000, errorOf: gitlabError,
      headers: { accept: 'text/plain', authorization: `Bearer ${connection.token}`, 'user-agent': 'terarchitect' },
    }, 'GET', `${base}${projectPath(repo)}/jobs/${jobId}/trace`, `log of job ${jobId}`).catch(() => null)
    if (!res) return null
    const read = await tailOf(res, EXCERPT_MAX_BYTES, TRACE_READ_MAX_BYTES).catch(() => null)
    if (!read) return null
    // The trace carries ANSI colours and GitLab's section markers; the excerpt is read by a model.
    const text = read.tail.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '').replace(/section_(?:start|end):\d+:[\w.-]+\r?/g, '')
    if (!text) return null
    if (!read.cut) return text
    const note = `[log longer than ${TRACE_READ_MAX_BYTES / (1024 * 1024)} MiB: read no further; the tail of its first ${TRACE_READ_MAX_BYTES / (1024 * 1024)} MiB]\n`
    return note + text.slice(-(EXCERPT_MAX_BYTES - note.length))
  }
  return {
    async list(repo, sha) {
      if (!SHA.test(sha)) return []
      const pipelines = await client.list<GitlabPipeline>(`${projectPath(repo)}/pipelines?sha=${sha}&order_by=id&sort=desc`, `pipelines of ${sha.slice(0, 10)}`, { maxPages: 1 })
      const pipeline = pipelines[0]
      if (!pipeline) return []
      const jobs = await client.list<GitlabJob>(`${projectPath(repo)}/pipelines/${pipeline.id}/jobs`, `jobs of pipeline ${pipeline.id}`, { maxPages: 5 })
      if (!jobs.length) return [{ name: 'pipeline', state: STATES[pipeline.status] ?? 'neutral', summary: pipeline.status, detailsUrl: url(pipeline.web_url), excerpt: null }]
      // Retried jobs are listed again under the same name: the newest (highest id) wins.
      const newest = new Map<string, GitlabJob>()
      for (const job of jobs) if ((newest.get(job.name)?.id ?? -1) < job.id) newest.set(job.name, job)
      const list = [...newest.values()]
      const failed = (job: GitlabJob) => job.status === 'failed' && !job.allow_failure
      const traced = list.filter(failed).slice(0, MAX_FAILED_TRACES)
      const excerpts = new Map<number, string | null>()
      for (let i = 0; i < traced.length; i += TRACE_READS_AT_ONCE) {
        const batch = traced.slice(i, i + TRACE_READS_AT_ONCE)
        const read = await Promise.all(batch.map((job) => trace(repo, job.id)))
        batch.forEach((job, k) => excerpts.set(job.id, read[k] ?? null))
      }
      return list.map((job): CommitCheck => {
        const state = job.status === 'failed' && job.allow_failure ? 'neutral' : STATES[job.status] ?? 'neutral'
        return {
          name: job.name, state, summary: failed(job) ? `${job.stage ? `${job.stage}: ` : ''}${job.failure_reason ?? 'failed'}` : job.status,
          detailsUrl: url(job.web_url), excerpt: excerpts.get(job.id) ?? null,
        }
      })
    },
  }
}

/**
 * The last `keep` bytes of the body, reading at most `max` bytes (then the reader is cancelled and
 * `cut` is true). Memory stays near `keep` plus one chunk whatever the body's size.
 */
export async function tailOf(res: Response, keep: number, max: number): Promise<{ tail: string; cut: boolean }> {
  const reader = res.body?.getReader()
  if (!reader) return { tail: '', cut: false }
  let tail = Buffer.alloc(0)
  let size = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    const chunk = size + value.byteLength > max ? value.subarray(0, max - size) : value
    size += chunk.byteLength
    tail = Buffer.concat([tail, chunk])
    if (tail.length > keep) tail = tail.subarray(tail.length - keep)
    if (size >= max) {
      await reader.cancel().catch(() => {})
      return { tail: utf8(tail), cut: true }
    }
  }
  return { tail: utf8(tail), cut: false }
}

/** Text of a byte tail that may start inside a UTF-8 sequence (the broken start is dropped). */
const utf8 = (bytes: Buffer) => bytes.toString('utf8').replace(/^\uFFFD+/, '')

/** A `Pipeline Hook` delivery as a checks event. */
export function parsePipelineHook(repo: string, payload: any): WebhookEvent {
  const sha = payload.object_attributes?.sha
  if (typeof sha !== 'string' || !SHA.test(sha)) return { type: 'ignored', reason: 'a pipeline hook without a commit' }
  const iid = payload.merge_request?.iid
  return { type: 'checks', repo, sha, number: Number.isInteger(iid) ? iid : null }
}
