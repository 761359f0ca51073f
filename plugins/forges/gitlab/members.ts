/**
 * Who the token is, what it may do in a project, and the writer check: a member whose access level
 * (direct or inherited from a group, `members/all`) is Developer (30) or above may push.
 */
import { ForgeError } from '../../../core/forge.ts'
import { projectPath, unexpectedAnswer, type GitlabClient } from './client.ts'

/** GitLab access levels: 10 Guest, 20 Reporter, 30 Developer, 40 Maintainer, 50 Owner. */
export const DEVELOPER = 30

interface GitlabProject {
  default_branch: string | null
  visibility: 'private' | 'internal' | 'public'
  permissions?: { project_access?: { access_level: number } | null; group_access?: { access_level: number } | null }
}

const notFound = (error: unknown) => error instanceof ForgeError && error.forgeStatus === 404

export function members(client: GitlabClient) {
  return {
    async whoami(): Promise<{ login: string }> {
      const user = await client.request<{ username?: unknown }>('GET', '/user', '/user')
      if (typeof user.username !== 'string' || !user.username) throw unexpectedAnswer('/user', 200)
      return { login: user.username }
    },

    /** `internal` projects (visible to every signed-in user) count as private: not public. */
    async repository(repo: string): Promise<{ defaultBranch: string; canPush: boolean; private: boolean } | null> {
      let project: GitlabProject
      try {
        project = await client.request<GitlabProject>('GET', projectPath(repo), `project ${repo}`)
      } catch (error) {
        if (notFound(error)) return null
        throw error
      }
      if (typeof project.visibility !== 'string') throw unexpectedAnswer(`project ${repo}`, 200)
      const level = Math.max(project.permissions?.project_access?.access_level ?? 0, project.permissions?.group_access?.access_level ?? 0)
      return { defaultBranch: project.default_branch ?? 'main', canPush: level >= DEVELOPER, private: project.visibility !== 'public' }
    },

    async canWrite(repo: string, login: string): Promise<boolean> {
      const users = await client.request<{ id: number; username: string }[]>('GET', `/users?username=${encodeURIComponent(login)}`, `user ${login}`)
      const user = (Array.isArray(users) ? users : []).find((u) => typeof u?.username === 'string' && u.username.toLowerCase() === login.toLowerCase())
      if (!user) return false
      try {
        const member = await client.request<{ access_level: number }>('GET', `${projectPath(repo)}/members/all/${user.id}`, `membership of ${login} in ${repo}`)
        return (member?.access_level ?? 0) >= DEVELOPER
      } catch (error) {
        if (notFound(error)) return false
        throw error
      }
    },
  }
}
