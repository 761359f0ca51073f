/** Which forge a repository URL names, for the project form (project-settings-forge.ts). Pure: no DOM. */

/** A host label naming the forge software, as self-managed instances are often called (gitlab.example.com, git-forgejo.example.org). */
const named = (host: string, name: string) => new RegExp(`(^|[.-])${name}([.-]|$)`).test(host)

/**
 * The forge a repository URL names by its host or path shape, or null when it does not say:
 * github.com; gitlab.com, a host named gitlab or a GitLab-style `/-/` path; codeberg.org (Forgejo)
 * or a host named gitea or forgejo. Any other host is left to the person (the override).
 */
export function detectForgeKind(url: string): 'github' | 'gitlab' | 'gitea' | null {
  const text = url.trim()
  if (!text) return null
  const host = (/^[a-z+]+:\/\/(?:[^@/]*@)?([^/:]+)/i.exec(text) ?? /^[^@/]+@([^:/]+):/.exec(text))?.[1]?.toLowerCase() ?? ''
  if (host === 'github.com' || host.endsWith('.github.com')) return 'github'
  if (host === 'gitlab.com' || host.endsWith('.gitlab.com') || named(host, 'gitlab') || /\/-\//.test(text)) return 'gitlab'
  if (host === 'codeberg.org' || named(host, 'gitea') || named(host, 'forgejo')) return 'gitea'
  return null
}
