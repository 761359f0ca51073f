/**
 * Which forge software serves a repository URL's host, asked of the host for what the URL itself
 * cannot say (the project form's Forge field). Gitea and Forgejo answer `GET <origin>/api/v1/version`
 * without a token with `{"version":"1.22.3"}` (Forgejo: `"9.0.1+gitea-1.22.0"`); GitLab and GitHub
 * do not answer it so.
 *
 * The request goes to an address a person typed, so it is held to the rules of FORGE_API_URL, which
 * an admin may set to any such address anyway: admins only (the route), http(s) to the URL's origin
 * (an ssh or scp-like URL's host over https), no credentials, no token or cookie sent, redirects not
 * followed, at most 4 KiB read and only as that JSON; the answer says the kind, never the body.
 */
import { badRequest } from '../../errors.ts'
import { cappedText } from '../../forge.ts'
import { CHECK_TIMEOUT_MS, discard, hostOf } from './outcome.ts'

const MAX_BYTES = 4096

export interface ForgeKindAnswer {
  /** `gitea` (Gitea or Forgejo), or null when the host did not answer like one. */
  kind: 'gitea' | null
  forgejo: boolean
  reason: string
}

/** The origin to ask: an http(s) URL's, or https on an ssh or scp-like URL's host; null for anything else. */
export function probeOrigin(repoUrl: string): string | null {
  const scp = /^[A-Za-z0-9_][\w.-]*@([A-Za-z0-9][\w.-]*):(?!\/\/)/.exec(repoUrl)
  if (scp) return `https://${scp[1]}`
  let url: URL
  try {
    url = new URL(repoUrl)
  } catch {
    return null
  }
  if (url.protocol === 'ssh:' && url.hostname) return `https://${url.hostname}`
  if (!['http:', 'https:'].includes(url.protocol) || url.password || !url.hostname) return null
  return url.origin
}

/** Reads at most MAX_BYTES of the body; null when it is longer. */
const limitedText = (res: Response) => cappedText(res, MAX_BYTES)

export async function detectForgeKindAt(repoUrl: string): Promise<ForgeKindAnswer> {
  const origin = probeOrigin(repoUrl)
  if (!origin) throw badRequest('repo_url must be an https, http or ssh URL, or git@host:path, without credentials', [{ path: '/body/repo_url', message: 'not a repository URL' }])
  const none = (reason: string): ForgeKindAnswer => ({ kind: null, forgejo: false, reason })
  let res: Response
  try {
    res = await fetch(`${origin}/api/v1/version`, { headers: { accept: 'application/json' }, redirect: 'manual', signal: AbortSignal.timeout(CHECK_TIMEOUT_MS) })
  } catch {
    return none(`${hostOf(origin)} did not answer: choose the forge yourself.`)
  }
  if (res.status !== 200 || !/json/i.test(res.headers.get('content-type') ?? '')) {
    await discard(res)
    return none(`${hostOf(origin)} does not answer like Gitea or Forgejo (${res.status}): choose the forge yourself.`)
  }
  const text = await limitedText(res).catch(() => null)
  let version: unknown
  try {
    version = text ? JSON.parse(text)?.version : undefined
  } catch {}
  if (typeof version !== 'string' || !/^v?\d+\.\d+/.test(version)) return none(`${hostOf(origin)} does not answer like Gitea or Forgejo: choose the forge yourself.`)
  const forgejo = /\+gitea-|forgejo/i.test(version)
  return { kind: 'gitea', forgejo, reason: `${hostOf(origin)} runs ${forgejo ? 'Forgejo' : 'Gitea'}.` }
}
