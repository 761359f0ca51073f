/**
 * An app whose one project's repository is on a stub git host answering each request as the test
 * says (`setAnswer`), with a fake GitHub for the forge token: the git relay's security tests that
 * need exact answers from the git host (test/security/git-relay-push-answers.test.ts,
 * git-relay-trickled-commands.test.ts).
 */
import * as assert from 'uvu/assert'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { startTestApp, type TestApp } from '../helpers.ts'
import { start as startGithub, type FakeGithub } from '../fixtures/fake-github.ts'

const FORGE_TOKEN = 'ghp_' + 'a'.repeat(36)
const WORKER_KEY = 'relay-stub-worker-key-' + 'b'.repeat(8)
const ADMIN_TOKEN = 'relay-stub-admin-token-' + 'c'.repeat(8)
const ADMIN = { authorization: `Bearer ${ADMIN_TOKEN}` }
const WORKER = { authorization: `Bearer ${WORKER_KEY}` }

export type Answer = (req: IncomingMessage, res: ServerResponse) => void
export interface Claimed { job_id: number; ticket_id: number; project_id: number; agent_token: string }

export interface RelayStub {
  t: TestApp
  /** How the stub git host answers from now on. */
  setAnswer(answer: Answer): void
  /** Requests to the stub host whose connection closed before their answer ended. */
  cutOff(): number
  /** A ticket of the project moved to In Progress and its job claimed as a coordinator would. */
  claimTicket(): Promise<Claimed>
  close(): Promise<void>
}

export async function startRelayStub(): Promise<RelayStub> {
  let answer: Answer = (_req, res) => res.end()
  let cutOff = 0
  const host: Server = createServer((req, res) => {
    res.on('close', () => {
      if (!res.writableFinished) cutOff++
    })
    answer(req, res)
  })
  await new Promise<void>((resolve) => host.listen(0, '127.0.0.1', resolve))
  const hostName = `127.0.0.1:${(host.address() as AddressInfo).port}`
  const gh: FakeGithub = await startGithub({ tokens: { [FORGE_TOKEN]: 'terarchitect-bot' } })
  const t = await startTestApp({
    kind: 'pglite',
    env: { TERARCHITECT_WORKER_API_KEY: WORKER_KEY, TERARCHITECT_ADMIN_TOKEN: ADMIN_TOKEN, ALLOW_INSECURE_GIT_HOSTS: hostName },
  })
  const settings = await t.api('PUT', '/api/settings', { values: { GITHUB_TOKEN: FORGE_TOKEN, GITHUB_API_URL: gh.url, WORKER_MODEL: 'm' } }, ADMIN)
  assert.is(settings.status, 200, JSON.stringify(settings.body))
  const created = await t.api('POST', '/api/projects', { name: 'relay-stub', repo_url: `http://${hostName}/acme/stub.git` }, ADMIN)
  assert.is(created.status, 201, JSON.stringify(created.body))
  const project = created.body.id as number

  return {
    t,
    setAnswer: (next) => void (answer = next),
    cutOff: () => cutOff,
    async claimTicket() {
      const ticket = await t.api('POST', `/api/projects/${project}/tickets`, { title: 'Relay stub' }, ADMIN)
      const started = await t.api('POST', `/api/projects/${project}/tickets/${ticket.body.id}/run`, undefined, ADMIN)
      if (started.status !== 201) throw new Error(`run: ${started.status} ${JSON.stringify(started.body)}`)
      const claim = await t.api('POST', '/api/worker/jobs/start', { project_id: project, coordinator_id: 'relay-stub' }, WORKER)
      if (claim.status !== 200) throw new Error(`claim: ${claim.status} ${JSON.stringify(claim.body)}`)
      return claim.body
    },
    async close() {
      await t.close()
      await gh.close()
      await new Promise((resolve) => host.close(resolve))
    },
  }
}

/** The relay's receive-pack URL of `job`, and the Basic header git sends with the job token. */
export const receivePack = (t: TestApp, job: Claimed) => ({
  url: new URL(`${t.url}/api/relay/git/${job.project_id}/${job.ticket_id}/repo.git/git-receive-pack`),
  authorization: `Basic ${Buffer.from(`job:${job.agent_token}`).toString('base64')}`,
})

export const pkt = (payload: Buffer | string) => {
  const data = typeof payload === 'string' ? Buffer.from(payload) : payload
  return Buffer.concat([Buffer.from((data.length + 4).toString(16).padStart(4, '0')), data])
}
export const FLUSH = Buffer.from('0000')
