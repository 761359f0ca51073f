/**
 * GitLab's CI checks of a commit: the newest pipeline for the sha (`GET /projects/:id/pipelines?sha=`)
 * and its jobs (`GET …/pipelines/:pid/jobs`), one check per job; a pipeline without jobs yet is one
 * check of its own. A failed job's excerpt is the tail of its log (`GET …/jobs/:jid/trace`, plain
 * text, read up to EXCERPT_MAX_BYTES from the end). Webhook: `Pipeline Hook` names the sha (and the
 * merge request, for merge request pipelines).
 */
import { EXCERPT_MAX_BYTES, type CheckState, type CommitCheck, type ForgeChecks, type ForgeConnection, type WebhookEvent } from '../../../core/forge.ts'
import { forgeFetch } from '../../../core/forge-http.ts'
import { gitlabError, projectPath, type GitlabClient } from './client.ts'

const SHA = /^[0-9a-f]{40}$/i

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
    const text = await res.text().catch(() => '')
    // The trace carries ANSI colours and GitLab's section markers; the excerpt is read by a model.
    return text.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '').replace(/section_(?:start|end):\d+:[\w.-]+\r?/g, '').slice(-EXCERPT_MAX_BYTES) || null
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
      return Promise.all([...newest.values()].map(async (job): Promise<CommitCheck> => {
        const failed = job.status === 'failed' && !job.allow_failure
        const state = job.status === 'failed' && job.allow_failure ? 'neutral' : STATES[job.status] ?? 'neutral'
        return {
          name: job.name, state, summary: failed ? `${job.stage ? `${job.stage}: ` : ''}${job.failure_reason ?? 'failed'}` : job.status,
          detailsUrl: url(job.web_url), excerpt: failed ? await trace(repo, job.id) : null,
        }
      }))
    },
  }
}

/** A `Pipeline Hook` delivery as a checks event. */
export function parsePipelineHook(repo: string, payload: any): WebhookEvent {
  const sha = payload.object_attributes?.sha
  if (typeof sha !== 'string' || !SHA.test(sha)) return { type: 'ignored', reason: 'a pipeline hook without a commit' }
  const iid = payload.merge_request?.iid
  return { type: 'checks', repo, sha, number: Number.isInteger(iid) ? iid : null }
}
