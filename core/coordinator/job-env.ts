/**
 * The agent's environment for one claimed job (DESIGN.md §7.1). The agent holds its job token
 * (`TERARCHITECT_AGENT_TOKEN`) and nothing else secret: never the coordinator's worker key or
 * coordinator token, never a forge token (a coordinator's GITHUB_TOKEN goes to the app once, see
 * loop.ts). Values are host-side; Docker executors rewrite loopback URLs for containers themselves.
 * The local executor run as AGENT_LOCAL_USER sets HOME, TMPDIR and AGENT_WORKSPACE to the job's
 * directories of that user and drops PROJECT_PATH (plugins/executors/local.ts).
 */
import type { ClaimedJob } from './client.ts'

export interface JobEnvOptions {
  apiUrl: string
  /** Set when the agent runs on the host because its container could not start. */
  dockerRunError?: string
  /** Where the agent clones (the host fallback's fresh directory); containers use the image's /workspace. */
  workspace?: string
}

export function jobEnv(job: ClaimedJob, options: JobEnvOptions): Record<string, string> {
  const values: Record<string, string | number | null | undefined> = {
    TERARCHITECT_API_URL: options.apiUrl,
    TERARCHITECT_AGENT_TOKEN: job.agent_token,
    JOB_ID: job.job_id,
    JOB_KIND: job.kind,
    JOB_ATTEMPT: job.attempt,
    JOB_LEASE_SEC: job.lease_sec,
    TICKET_ID: job.ticket_id,
    PROJECT_ID: job.project_id,
    REPO_URL: job.repo_url,
    DEFAULT_BRANCH: job.default_branch,
    EXECUTION_MODE: job.execution_mode,
    PROJECT_PATH: job.project_path,
    PR_NUMBER: job.pr_number,
    COMMENT_BODY: job.comment_body,
    GITHUB_COMMENT_ID: job.github_comment_id,
    TERARCHITECT_DOCKER_RUN_ERROR: options.dockerRunError,
    AGENT_WORKSPACE: options.workspace,
  }
  const env: Record<string, string> = {}
  for (const [key, value] of Object.entries(values)) {
    if (value !== null && value !== undefined && value !== '') env[key] = String(value)
  }
  return env
}
