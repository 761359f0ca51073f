/**
 * The Gitea/Forgejo forge plugin (API v1). One plugin serves both: Forgejo keeps Gitea's API and
 * signs webhooks under its own header name as well. Gitea is self-hosted, so the API URL
 * (`https://gitea.example.com/api/v1`) must be set.
 *
 *   const forge = gitea()
 *   const client = forge.connect({ apiUrl: 'https://gitea.example.com/api/v1', token })
 */
import type { Forge, ForgeClient, ForgeConnection } from '../../../core/forge.ts'
import { accessApi } from './access.ts'
import { createHttp } from './client.ts'
import { commentsApi } from './comments.ts'
import { issuesApi } from './issues.ts'
import { checksApi } from './checks.ts'
import { gitHost, parseRepo, requestUrl } from './repo-url.ts'
import { requestsApi } from './requests.ts'
import { webhooks } from './webhooks.ts'

export const NAME = 'gitea'

export interface GiteaOptions {
  /** User name git sends with the token as password (Gitea accepts any name with a token). */
  gitUser?: string
}

export function gitea(options: GiteaOptions = {}): Forge {
  const gitUser = options.gitUser ?? 'terarchitect'
  return {
    kind: NAME,
    defaultApiUrl: null,
    parseRepo,
    gitHost,
    requestUrl,
    gitCredentials: (token) => ({ username: gitUser, password: token }),
    // An inline reply comes by webhook as a conversation comment, listed by the poller as inline.
    sharedCommentIds: true,
    connect(connection: ForgeConnection): ForgeClient {
      const http = createHttp(connection)
      return { ...accessApi(http), ...requestsApi(http), ...commentsApi(http), ...issuesApi(http), checks: checksApi(http) }
    },
    webhooks,
  }
}
