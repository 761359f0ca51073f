/**
 * The one check before a pull request link is rendered: the app stores only https links on the
 * forge's web host (services/job-pull.ts); anything else (an older row, a `javascript:` URL) is
 * shown without a link.
 */
export function prHref(url: string | null | undefined): string | null {
  if (!url) return null
  try {
    return new URL(url).protocol === 'https:' ? url : null
  } catch {
    return null
  }
}

/** The forge's own name for its kind (`forge` of the review API). */
export function forgeName(forge: string | null | undefined): string {
  return ({ github: 'GitHub', gitlab: 'GitLab', gitea: 'Gitea' } as Record<string, string>)[forge ?? 'github'] ?? (forge || 'the forge')
}

/** A request as its forge names it: "Merge request !7" on GitLab, "Pull request #7" elsewhere; `short`: "MR !7" / "PR #7". */
export function requestLabel(forge: string | null | undefined, number: number, short = false): string {
  if (forge === 'gitlab') return short ? `MR !${number}` : `Merge request !${number}`
  return short ? `PR #${number}` : `Pull request #${number}`
}

/** "merge request" on GitLab, "pull request" elsewhere. */
export const requestNoun = (forge: string | null | undefined) => (forge === 'gitlab' ? 'merge request' : 'pull request')
