/** Which forge a repository URL names, for the project form (project-settings-forge.ts). Pure: no DOM. */

/** The forge a repository URL names by its host or path shape, or null when it does not say. */
export function detectForgeKind(url: string): 'github' | 'gitlab' | null {
  const text = url.trim()
  if (!text) return null
  const host = (/^[a-z+]+:\/\/(?:[^@/]*@)?([^/:]+)/i.exec(text) ?? /^[^@/]+@([^:/]+):/.exec(text))?.[1]?.toLowerCase() ?? ''
  if (host === 'github.com' || host.endsWith('.github.com')) return 'github'
  if (host === 'gitlab.com' || host.endsWith('.gitlab.com') || /\/-\//.test(text)) return 'gitlab'
  return null
}
