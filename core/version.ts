/**
 * What build this is: the version in package.json and the git commit it was built from. A bundle
 * carries both, captured by scripts/build.mjs (`__TERARCHITECT_BUILD__`); run from source they are
 * read from package.json and `git rev-parse`; a commit that cannot be known is `unknown`.
 * Reported by /api/health, the coordinator and the agent, and shown in the UI.
 */
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

export interface BuildInfo {
  version: string
  commit: string
  /** `<version>+<commit>`, the one string to quote in a bug report. */
  id: string
}

declare const __TERARCHITECT_BUILD__: { version: string; commit: string } | undefined

function fromSource(): { version: string; commit: string } {
  const root = fileURLToPath(new URL('..', import.meta.url))
  let version = 'unknown'
  try {
    version = (JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as { version: string }).version
  } catch {}
  const git = spawnSync('git', ['rev-parse', '--short=12', 'HEAD'], { cwd: root, encoding: 'utf8', timeout: 2000 })
  const commit = git.status === 0 && /^[0-9a-f]{7,40}$/.test(git.stdout.trim()) ? git.stdout.trim() : 'unknown'
  return { version, commit }
}

const captured = typeof __TERARCHITECT_BUILD__ === 'undefined' ? fromSource() : __TERARCHITECT_BUILD__

export const BUILD: BuildInfo = { ...captured, id: `${captured.version}+${captured.commit}` }

/** The product version (package.json's). */
export const VERSION = BUILD.version
