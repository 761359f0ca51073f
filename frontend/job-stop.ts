/**
 * Stopping a ticket's job from the board or the ticket view: a pending job ends at once; a running
 * one is asked to stop and the "Stopping the agent…" toast stays until the job has ended (read
 * every second, for at most two minutes: the coordinator sees the cancel on its next heartbeat).
 */
import { api } from './api.ts'
import { notify, notifyError, notifyUntil } from './toast-host.ts'

const ENDED = new Set(['succeeded', 'failed', 'cancelled'])
const WAIT_MS = 120_000

async function ended(jobId: number): Promise<string> {
  const deadline = Date.now() + WAIT_MS
  while (Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 1000))
    const job = await api.get<{ status: string }>(`/api/jobs/${jobId}`)
    if (ENDED.has(job.status)) return job.status === 'cancelled' ? 'Agent stopped' : `The job ended (${job.status}) before it could be stopped`
  }
  return 'The agent was asked to stop; it has not confirmed yet'
}

export async function stopTicketJob(projectId: number, ticketId: number): Promise<void> {
  try {
    const job = await api.post<{ id: number; status: string }>(`/api/projects/${projectId}/tickets/${ticketId}/cancel`)
    if (job.status === 'cancelled') notify('Job cancelled', 'info')
    else notifyUntil('Stopping the agent…', ended(job.id))
  } catch (error) {
    notifyError(error, 'Could not stop the job')
  }
}
