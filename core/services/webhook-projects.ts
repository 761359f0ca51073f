/**
 * Which projects a forge webhook delivery may act on. A delivery to /api/webhooks/:kind names a
 * repository; its candidates are the projects whose effective FORGE_KIND is `kind` and whose
 * repository (read with the project's own API URL) is that path. Each candidate verifies the
 * delivery with its own webhook secret (FORGE_WEBHOOK_SECRET, for GitHub GITHUB_WEBHOOK_SECRET, one
 * setting taken from one level), else the app's; the candidates whose secret verified it are the
 * only projects any event handler may read or change for it. A delivery about a repository no
 * project of that kind has is verified with the app's secret and acts on nothing.
 *
 * The delivery is parsed before it verifies only to name its repository. Candidates and their
 * secrets are cached per kind and read again when projects or settings change (a fingerprint of
 * the three tables), so an unsigned delivery costs one small query, not a settings resolution per
 * project. Every refusal has one text: it does not tell which repositories have their own secret.
 */
import type { AppContext } from '../context.ts'
import { unauthorized } from '../errors.ts'
import type { ForgeWebhooks } from '../forge.ts'
import { forgeFrom, webhookSecretOf } from './forge-token.ts'
import { projectRowsOf, resolveFrom } from './project-settings-resolve.ts'
import { appSettingSources } from './settings.ts'

export interface Delivery {
  /** Header names lower-cased, as node gives them. */
  headers: Record<string, string | undefined>
  body: Buffer
}

/** What a verified delivery may act on; every webhook event handler receives it and acts within `ids` only. */
export interface VerifiedProjects {
  kind: string
  /** The repository path the delivery names; null when it names none (a ping). */
  repo: string | null
  /** The projects whose secret verified the delivery; empty: verified with the app's secret, about no project. */
  ids: number[]
}

export const WEBHOOK_REFUSED = 'the delivery is not signed with a webhook secret this app accepts for it'

const CANDIDATE_KEYS = ['FORGE_KIND', 'FORGE_API_URL', 'GITHUB_API_URL', 'FORGE_WEBHOOK_SECRET', 'GITHUB_WEBHOOK_SECRET']

type Candidate = { id: number; secret: string | null }
type KindCandidates = { fingerprint: string; byRepo: Map<string, Candidate[]>; appSecret: string | null }

const cached = new WeakMap<AppContext, Map<string, KindCandidates>>()

/** The projects `delivery` verified for, or a 401 (one text for every refusal). */
export async function verifiedProjects(ctx: AppContext, kind: string, hooks: ForgeWebhooks, delivery: Delivery): Promise<VerifiedProjects> {
  const repo = deliveryRepo(hooks, delivery)
  const known = await candidatesOf(ctx, kind)
  const candidates = repo ? known.byRepo.get(repo.toLowerCase()) ?? [] : []
  if (candidates.length) {
    const ids = candidates.filter((c) => c.secret && hooks.verify(c.secret, delivery.headers, delivery.body)).map((c) => c.id)
    if (!ids.length) throw unauthorized(WEBHOOK_REFUSED)
    return { kind, repo, ids }
  }
  const secret = known.appSecret
  if (!secret || !hooks.verify(secret, delivery.headers, delivery.body)) throw unauthorized(WEBHOOK_REFUSED)
  return { kind, repo, ids: [] }
}

/** The repository an unverified delivery names, or null (unparsable, or about none). */
function deliveryRepo(hooks: ForgeWebhooks, delivery: Delivery): string | null {
  try {
    const event = hooks.parse(delivery.headers, delivery.body)
    return 'repo' in event && typeof event.repo === 'string' ? event.repo : null
  } catch {
    return null
  }
}

/** Repository path (lower-cased) → the projects of `kind` on it with their webhook secrets; the app's secret of `kind`. */
async function candidatesOf(ctx: AppContext, kind: string): Promise<KindCandidates> {
  const [{ fingerprint }] = await ctx.sql<{ fingerprint: string }[]>`
    select concat_ws('|',
      (select count(*) || '/' || coalesce(max(updated_at)::text, '') from projects),
      (select count(*) || '/' || coalesce(max(updated_at)::text, '') from project_settings),
      (select count(*) || '/' || coalesce(max(updated_at)::text, '') from app_settings)) as fingerprint`
  const perKind = cached.get(ctx) ?? new Map<string, KindCandidates>()
  cached.set(ctx, perKind)
  const hit = perKind.get(kind)
  if (hit?.fingerprint === fingerprint) return hit
  const byRepo = new Map<string, Candidate[]>()
  const forge = ctx.forges.get(kind)
  // Only the settings that name the forge, its API URL and the webhook secret decide a candidate.
  const [projects, own, app] = await Promise.all([
    ctx.sql<{ id: number; repo_url: string }[]>`select id, repo_url from projects where repo_url is not null order by id`,
    projectRowsOf(ctx, CANDIDATE_KEYS),
    appSettingSources(ctx),
  ])
  for (const project of forge ? projects : []) {
    const { values } = resolveFrom(own.get(project.id) ?? new Map(), app, null)
    if ((values.FORGE_KIND || 'github') !== kind) continue
    let apiUrl: string
    try {
      apiUrl = forgeFrom(ctx, values).apiUrl
    } catch {
      continue
    }
    const repo = forge!.parseRepo(project.repo_url, apiUrl)?.toLowerCase()
    if (!repo) continue
    byRepo.set(repo, [...(byRepo.get(repo) ?? []), { id: project.id, secret: webhookSecretOf(kind, values) }])
  }
  const appValues = Object.fromEntries([...app].flatMap(([key, setting]) => (setting.value === null ? [] : [[key, setting.value]])))
  const known = { fingerprint, byRepo, appSecret: webhookSecretOf(kind, appValues) }
  perKind.set(kind, known)
  return known
}
