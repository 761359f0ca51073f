/**
 * What of a failing check may reach an agent's prompt: its name, state, one-line summary, link and
 * an excerpt of its output, each bounded, and everything redacted. A CI log is written by the
 * project's own code and tools, so it may print anything: the app's and the project's secrets are
 * masked (log.ts `redactText`, with every stored secret registered first) and so is anything shaped
 * like a credential (`TOKEN_SHAPES`), whether or not the app knows it.
 */
import type { AppContext } from '../../context.ts'
import type { CommitCheck } from '../../forge.ts'
import { redactText } from '../../log.ts'
import { SETTINGS_BY_KEY } from '../../settings.ts'
import { registerStoredSecrets } from '../coordinator-forge-token.ts'
import { resolveProjectSettings } from '../project-settings-resolve.ts'

/** Bounds (characters): per excerpt, per summary, and over every failing check of one round. */
export const EXCERPT_MAX_CHARS = 6000
export const SUMMARY_MAX_CHARS = 500
export const TOTAL_MAX_CHARS = 20000
/** At most this many failing checks are described; the rest are named only. */
export const MAX_CHECKS = 8

/**
 * Credential shapes masked in any CI text: forge tokens (GitHub `ghp_`/`gho_`/`ghs_`/`ghu_`/`ghr_`,
 * `github_pat_`, GitLab `glpat-`/`gldt-`/`glrt-`…), Slack `xox?-`, AWS access keys, OpenAI-style
 * `sk-` keys, JWTs, the app's issued credentials, `Authorization: Bearer|Basic …` values, URL
 * userinfo, and the value of any `*token*`/`*secret*`/`*password*`/`*key*` assignment.
 */
const TOKEN_SHAPES: [RegExp, string][] = [
  [/\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})/g, '***'],
  [/\bgl(?:pat|dt|rt|ptt|ft|imt|agent|oas|cbt|soat|ffct)-[A-Za-z0-9_-]{16,}/g, '***'],
  [/\bxox[abposr]-[A-Za-z0-9-]{10,}/g, '***'],
  [/\b(?:AKIA|ASIA)[A-Z0-9]{16}\b/g, '***'],
  [/\bsk-[A-Za-z0-9_-]{16,}/g, '***'],
  [/\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/g, '***'],
  [/\b(?:tj1\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}|(?:tco|twk|tpa|whsec)_[A-Za-z0-9_-]{16,})/g, '***'],
  [/\b(Bearer|Basic|token)\s+[A-Za-z0-9._~+/=-]{12,}/gi, '$1 ***'],
  [/(\/\/)[^/\s:@]+:[^/\s@]+@/g, '$1***@'],
  [/\b([A-Za-z0-9_.-]*(?:token|secret|passw(?:or)?d|api[_-]?key|private[_-]?key)[A-Za-z0-9_.-]*["']?\s*[:=]\s*["']?)[^\s"']{6,}/gi, '$1***'],
]

/** `text` with registered secrets and every credential shape masked. */
export function maskCredentials(text: string): string {
  let out = redactText(text)
  for (const [shape, replacement] of TOKEN_SHAPES) out = out.replace(shape, replacement)
  return out
}

/** The end of `text` (a log's tail matters most), at most `max` characters, cut at a line when it can be. */
export function tail(text: string, max: number): string {
  if (text.length <= max) return text
  const cut = text.slice(text.length - max)
  const line = cut.indexOf('\n')
  return `…${line >= 0 && line < 200 ? cut.slice(line) : cut}`
}

/** A failing check as stored on its round and given to the agent. */
export interface FailingCheck {
  name: string
  state: string
  summary: string | null
  details_url: string | null
  excerpt: string | null
}

/**
 * The failing checks of one round, bounded and redacted, with the project's secrets registered
 * first (its own and the app's), so a value the app holds is masked even in a check's name.
 */
export async function failingChecks(ctx: AppContext, projectId: number, checks: CommitCheck[]): Promise<FailingCheck[]> {
  await registerStoredSecrets(ctx)
  const settings = await resolveProjectSettings(ctx, projectId)
  const secrets = Object.entries(settings.values).filter(([key, value]) => SETTINGS_BY_KEY.get(key)?.secret && value.length >= 4).map(([, value]) => value)
  const mask = (text: string) => {
    let out = text
    for (const secret of secrets) out = out.split(secret).join('***')
    return maskCredentials(out)
  }
  let budget = TOTAL_MAX_CHARS
  return checks.slice(0, MAX_CHECKS).map((check) => {
    const excerpt = check.excerpt ? tail(mask(check.excerpt), Math.min(EXCERPT_MAX_CHARS, Math.max(0, budget))) : null
    budget -= excerpt?.length ?? 0
    return {
      name: mask(check.name).slice(0, 200),
      state: check.state,
      summary: check.summary ? mask(check.summary).slice(0, SUMMARY_MAX_CHARS) : null,
      details_url: check.detailsUrl && /^https?:\/\//.test(check.detailsUrl) ? mask(check.detailsUrl).slice(0, 500) : null,
      excerpt: excerpt || null,
    }
  })
}
