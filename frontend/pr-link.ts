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
