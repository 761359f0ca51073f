/**
 * Who the token is, what it may do in a repository, and whether a commenter may push.
 *
 * `collaborators/{user}/permission` answers `none | read | write | admin | owner` — the effective
 * permission, counting organisation teams. Gitea answers it only to repository admins (and to the
 * user themself), so the app's token needs admin on the repository for the writer check; a refusal
 * is an error (the check cannot be made), never a quiet "not a writer".
 */
import { ForgeError } from '../../../core/forge.ts'
import type { GiteaHttp } from './client.ts'
import { repoPath } from './repo-url.ts'

const WRITERS = new Set(['write', 'admin', 'owner'])
/** Gitea's user names; system users (`gitea-actions`) fit too. */
const LOGIN = /^[A-Za-z0-9_.-]{1,100}$/

export function accessApi(http: GiteaHttp) {
  return {
    async whoami(): Promise<{ login: string }> {
      const user = await http.call<{ login?: unknown }>('GET', '/user', 'the token\'s user')
      // A 200 from something else (a web page at a wrong API URL) is not a login.
      if (typeof user?.login !== 'string' || !LOGIN.test(user.login)) throw new ForgeError('forge_unexpected_answer', 502, 'the API URL does not answer like the Gitea API (/user)', 200)
      return { login: user.login }
    },

    async repository(repo: string): Promise<{ defaultBranch: string; canPush: boolean; private: boolean } | null> {
      try {
        const r = await http.call<any>('GET', repoPath(repo), `repository ${repo}`)
        if (typeof r?.default_branch !== 'string') throw new ForgeError('forge_unexpected_answer', 502, `the API URL does not answer like the Gitea API (repository ${repo})`, 200)
        return { defaultBranch: r.default_branch, canPush: !!(r?.permissions?.push || r?.permissions?.admin), private: !!r?.private }
      } catch (error) {
        if (error instanceof ForgeError && error.forgeStatus === 404) return null
        throw error
      }
    },

    async canWrite(repo: string, login: string): Promise<boolean> {
      if (!login) return false
      try {
        const answer = await http.call<{ permission?: string }>('GET', `${repoPath(repo)}/collaborators/${encodeURIComponent(login)}/permission`, `permission of ${login}`)
        return WRITERS.has(String(answer?.permission ?? ''))
      } catch (error) {
        // 404: no such user on this instance.
        if (error instanceof ForgeError && error.forgeStatus === 404) return false
        throw error
      }
    },
  }
}
