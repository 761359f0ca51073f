/**
 * The GitHub forge plugin (REST API, github.com and GitHub Enterprise Server at `https://host/api/v3`).
 *
 *   const forge = github()
 *   const client = forge.connect({ apiUrl: 'https://api.github.com', token })
 */
import type { Forge, ForgeClient, ForgeConnection } from '../../../core/forge.ts'
import { githubClient } from './client.ts'
import { createHttp, type RequestObserver } from './http.ts'
import { gitHost, parseRepo, requestUrl } from './repo-url.ts'
import { webhooks } from './webhooks.ts'

export const NAME = 'github'

export interface GithubOptions {
  /** Sees every API request the plugin makes (the API description test records them). */
  onRequest?: RequestObserver
}

export function github(options: GithubOptions = {}): Forge {
  return {
    kind: NAME,
    defaultApiUrl: 'https://api.github.com',
    parseRepo,
    gitHost,
    requestUrl,
    // GitHub takes a token as the password of any user name; `x-access-token` is what its docs use.
    gitCredentials: (token) => ({ username: 'x-access-token', password: token }),
    connect: (connection: ForgeConnection): ForgeClient => githubClient(createHttp(connection, options.onRequest)),
    webhooks,
  }
}
