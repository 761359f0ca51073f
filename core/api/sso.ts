/**
 * Routes: single sign-on (docs/SECURITY.md "Single sign-on"). `GET /api/auth/<oidc|github>/start`
 * sends the browser to the provider; the provider sends it back to `…/callback`, a top-level GET
 * from another site (the browser boundary checks only its Host: a GET changes no state until the
 * sealed state cookie, set by our own start route, matches the provider's answer).
 *
 * Between the two, the browser holds a short-lived cookie sealed with the app's key (AES-GCM:
 * unreadable and unforgeable) carrying the state, nonce and PKCE verifier; it is cleared by the
 * callback whatever the outcome. A refused person gets a 403 page naming why, and no account.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { Type, type Static } from '@sinclair/typebox'
import { Reply, route, type Route } from '../http/router.ts'
import type { AppContext } from '../context.ts'
import { isAppError, notFound } from '../errors.ts'
import { clientAddress } from '../http/boundary.ts'
import { recordAudit } from '../services/audit.ts'
import { startSession } from '../services/sessions.ts'
import { resolveSettings } from '../services/settings.ts'
import { upsertExternalUser, usersExist, type ExternalIdentity } from '../services/users.ts'
import { ssoRefused, type SsoConfig } from '../services/sso/config.ts'
import { createOidcSignIn, type OidcPending } from '../services/sso/oidc.ts'
import { createGithubSignIn, type GithubPending } from '../services/sso/github.ts'

const STATE_COOKIE = 'terarchitect_sso'
/** A sign-in must come back from the provider within this long. */
const STATE_TTL_SEC = 600

type Provider = 'oidc' | 'github'

const Callback = Type.Object(
  {
    code: Type.Optional(Type.String({ maxLength: 4096 })),
    state: Type.Optional(Type.String({ maxLength: 512 })),
    error: Type.Optional(Type.String({ maxLength: 200 })),
    error_description: Type.Optional(Type.String({ maxLength: 2000 })),
  },
  // Providers add their own parameters (iss, session_state, scope); openid-client checks the ones it knows.
  { additionalProperties: Type.String({ maxLength: 4096 }) },
)

export function ssoRoutes(ctx: AppContext, sso: SsoConfig): Route[] {
  const oidc = sso.oidc && createOidcSignIn(sso.oidc)
  const github = sso.github && createGithubSignIn(sso.github)
  const secure = Boolean(ctx.config.PUBLIC_URL?.startsWith('https:'))
  if (sso.oidc && !sso.oidc.allowedEmails.size && !sso.oidc.allowedDomains.size && !sso.oidc.allowedGroups.size) {
    ctx.log.warn('OIDC sign-in admits everyone the issuer signs in: set OIDC_ALLOWED_EMAILS, OIDC_ALLOWED_DOMAINS or OIDC_ALLOWED_GROUPS unless the issuer is only your organization\'s', { issuer: sso.oidc.issuer.href })
  }

  const cookie = (value: string, maxAgeSec: number) =>
    [`${STATE_COOKIE}=${value}`, 'Path=/api/auth/', `Max-Age=${maxAgeSec}`, 'HttpOnly', 'SameSite=Lax', ...(secure ? ['Secure'] : [])].join('; ')

  /** Adds a cookie without dropping one already set on `res` (the session's). */
  function addCookie(res: ServerResponse, value: string): void {
    const previous = res.getHeader('set-cookie')
    res.setHeader('set-cookie', [...(Array.isArray(previous) ? previous : previous ? [String(previous)] : []), value])
  }

  function seal(res: ServerResponse, provider: Provider, redirectUri: string, pending: object): void {
    const sealed = ctx.secrets.encrypt(JSON.stringify({ purpose: 'sso', provider, redirectUri, pending, exp: Date.now() + STATE_TTL_SEC * 1000 }))
    addCookie(res, cookie(Buffer.from(sealed, 'base64').toString('base64url'), STATE_TTL_SEC))
  }

  /** The sealed state of a sign-in this browser started with `provider`, or a refusal. */
  function unseal<T>(req: IncomingMessage, provider: Provider): { redirectUri: string; pending: T } {
    const value = cookieValue(req, STATE_COOKIE)
    let data: { purpose?: string; provider?: string; redirectUri?: string; pending?: T; exp?: number } | undefined
    try {
      data = value ? JSON.parse(ctx.secrets.decrypt(Buffer.from(value, 'base64url').toString('base64'))) : undefined
    } catch {
      data = undefined
    }
    if (!data || data.purpose !== 'sso' || data.provider !== provider || !data.redirectUri || !data.pending || !(Number(data.exp) > Date.now())) {
      throw ssoRefused('this sign-in was not started in this browser, has expired, or was already used: start again from the sign-in page')
    }
    return { redirectUri: data.redirectUri, pending: data.pending }
  }

  /** Where the provider sends the browser back: PUBLIC_URL's origin, else the Host this request used (the boundary allowed it). */
  const redirectUri = (req: IncomingMessage, provider: Provider) =>
    `${ctx.config.PUBLIC_URL ? new URL(ctx.config.PUBLIC_URL).origin : `http://${req.headers.host}`}/api/auth/${provider}/callback`

  /**
   * The callback: checks that the provider's answer belongs to the sign-in this browser started,
   * lets `verify` turn it into an identity, signs that in and sends the browser home; a refusal
   * answers the refusal page (audited). The state cookie is spent either way.
   */
  async function complete<T extends { state: string }>(
    req: IncomingMessage, res: ServerResponse, provider: Provider, query: Static<typeof Callback>,
    verify: (answer: { code: string; redirectUri: string; pending: T }) => Promise<ExternalIdentity>,
  ): Promise<Reply | undefined> {
    addCookie(res, cookie('', 0))
    let identity: ExternalIdentity | undefined
    try {
      const { redirectUri, pending } = unseal<T>(req, provider)
      const name = provider === 'oidc' ? 'the identity provider' : 'GitHub'
      if (query.error) throw ssoRefused(`${name} did not sign you in (${query.error}${query.error_description ? `: ${query.error_description}` : ''})`)
      if (!query.state || query.state !== pending.state) throw ssoRefused(`the answer from ${name} does not belong to this sign-in (state mismatch): start again`)
      if (!query.code) throw ssoRefused(`${name} sent no sign-in code`)
      identity = await verify({ code: query.code, redirectUri, pending })
      // The zero-setup admin disappears with the first account: it must be an admin, or nobody could manage the app.
      if (identity.role !== 'admin' && !(await usersExist(ctx))) {
        throw ssoRefused(`no admin exists yet, and ${identity.login} would be a ${identity.role}: create the first admin first (or sign in first as a member of an admin group)`)
      }
      const user = await upsertExternalUser(ctx, identity)
      await startSession(ctx, req, res, user, { method: provider })
      addCookie(res, cookie('', 0))
      return new Reply(302, undefined, { location: '/', 'cache-control': 'no-store' })
    } catch (error) {
      if (!isAppError(error) || (error.status >= 500 && error.status !== 503)) throw error
      const label = (identity?.email ?? identity?.login ?? provider).slice(0, 100)
      await recordAudit(ctx.sql, { userId: null, label, address: clientAddress(req) }, { action: 'auth.sso_refused', details: { provider, reason: error.message } })
      refusalPage(res, error.status, error.message)
      return undefined
    }
  }

  /** `GET /api/auth/<provider>/start`: 302 to the provider, with the sealed state; 404 when the method is off. */
  const startRoute = (provider: Provider, off: string | null, begin: (redirectUri: string) => Promise<{ url: URL; pending: object }>) => route({
    method: 'GET', path: `/api/auth/${provider}/start`, access: 'public',
    handle: async ({ req, res }) => {
      if (off) throw notFound(off)
      const uri = redirectUri(req, provider)
      const { url, pending } = await begin(uri)
      seal(res, provider, uri, pending)
      return new Reply(302, undefined, { location: url.href, 'cache-control': 'no-store' })
    },
  })
  /** `GET /api/auth/<provider>/callback`: the provider's redirect back (`complete`). */
  const callbackRoute = <T extends { state: string }>(provider: Provider, off: string | null, verify: (answer: { code: string; redirectUri: string; pending: T }, req: IncomingMessage) => Promise<ExternalIdentity>) => route({
    method: 'GET', path: `/api/auth/${provider}/callback`, access: 'public', query: Callback,
    handle: async ({ req, res, query }) => {
      if (off) throw notFound(off)
      return complete<T>(req, res, provider, query, (answer) => verify(answer, req))
    },
  })
  const oidcOff = oidc ? null : 'OpenID Connect sign-in (OIDC_ISSUER is not set)'
  const githubOff = github ? null : 'GitHub sign-in (GITHUB_OAUTH_CLIENT_ID is not set)'

  return [
    startRoute('oidc', oidcOff, (uri) => oidc!.start(uri)),
    // openid-client reads the whole answer (code, state, iss) from the callback URL.
    callbackRoute<OidcPending>('oidc', oidcOff, ({ redirectUri: uri, pending }, req) =>
      oidc!.finish(new URL(`${uri}${new URL(req.url ?? '/', 'http://x').search}`), pending)),
    startRoute('github', githubOff, async (uri) => github!.start(uri, (await resolveSettings(ctx)).GITHUB_API_URL ?? 'https://api.github.com')),
    callbackRoute<GithubPending>('github', githubOff, ({ code, redirectUri: uri, pending }) => github!.finish(code, uri, pending)),
  ]
}

function cookieValue(req: IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=')
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim()
  }
  return undefined
}

const escapeHtml = (text: string) =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!)

/** A page a browser shows as is (no script: the CSP allows none inline). */
function refusalPage(res: ServerResponse, status: number, reason: string): void {
  const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sign-in refused · Terarchitect</title><link rel="stylesheet" href="/app.css"></head>` +
    `<body><main class="sso-refused"><h1>Sign-in refused</h1><p>${escapeHtml(reason)}</p><p><a href="/">Back to Terarchitect</a></p></main></body></html>`
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'content-length': String(Buffer.byteLength(html)), 'cache-control': 'no-store' })
  res.end(html)
}
