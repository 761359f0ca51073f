// Single sign-on (issue 9, acceptance 5): OpenID Connect against a real provider in this process
// (oidc-provider on a loopback port), and "Sign in with GitHub" against the fake GitHub's OAuth
// pages, driven like a browser (redirects followed by hand, one cookie jar per host name, the
// provider's redirect back arriving as a cross-site navigation). On PGlite: the flows touch the
// database only through the accounts services, which the accounts suites run on both databases.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { request } from 'node:http'
import { startTestApp, type TestApp } from './helpers.ts'
import { PROXIED, firstAdmin } from './people-helpers.ts'
import { start as startGithub, type FakeGithub } from './fixtures/fake-github.ts'
import { startOidcProvider, type FakeIdp } from './fixtures/oidc-provider.ts'
import { resolveAppConfig } from '../core/config.ts'
import { githubWebBase, resolveSsoConfig } from '../core/services/sso/config.ts'
import { redactText } from '../core/log.ts'

/** A browser enough for redirect flows: cookies per host name (ports share them, as in browsers) and path. */
function browser() {
  const jars = new Map<string, Map<string, { value: string; path: string }>>()
  async function get(url: URL, headers: Record<string, string> = {}): Promise<Response> {
    const jar = jars.get(url.hostname) ?? new Map()
    jars.set(url.hostname, jar)
    const cookie = [...jar].filter(([, c]) => url.pathname.startsWith(c.path)).map(([name, c]) => `${name}=${c.value}`).join('; ')
    const res = await fetch(url, { redirect: 'manual', headers: { ...(cookie ? { cookie } : {}), ...headers } })
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attributes] = line.split(';').map((part) => part.trim())
      const eq = pair!.indexOf('=')
      const name = pair!.slice(0, eq)
      const value = pair!.slice(eq + 1)
      const path = attributes.find((a) => /^path=/i.test(a))?.slice(5) || '/'
      if (!value || attributes.some((a) => /^max-age=0$/i.test(a) || /^expires=Thu, 01 Jan 1970/i.test(a))) jar.delete(name)
      else jar.set(name, { value, path })
    }
    return res
  }
  return {
    get,
    /** Follows redirects from `url` until `stop(url)` (not fetched) or a non-redirect answer. */
    async visit(start: string | URL, stop: (url: URL) => boolean = () => false): Promise<{ url: URL; res?: Response }> {
      let url = new URL(start)
      for (let hops = 0; hops < 20; hops++) {
        if (stop(url)) return { url }
        // The provider's redirect back to the app is a navigation from another site.
        const res = await get(url, url.pathname.endsWith('/callback') ? { 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'navigate' } : {})
        const location = res.headers.get('location')
        if (res.status < 300 || res.status > 399 || !location || location === '/') return { url, res }
        url = new URL(location, url)
      }
      throw new Error('too many redirects')
    },
    /** A second browser holding this one's cookies (an attacker who copied them). */
    clone() {
      const copy = browser()
      for (const [host, jar] of jars) copy.jars.set(host, new Map(jar))
      return copy
    },
    jars,
  }
}

const sessionOf = (b: ReturnType<typeof browser>, app: TestApp) => {
  const session = b.jars.get(new URL(app.url).hostname)?.get('terarchitect_session')
  return session ? { cookie: `terarchitect_session=${session.value}` } : {} as Record<string, string>
}
const me = async (t: TestApp, b: ReturnType<typeof browser>) => (await t.api('GET', '/api/auth/me', undefined, { ...sessionOf(b, t), ...PROXIED })).body
const userCount = async (t: TestApp) => (await t.app.ctx.sql`select count(*)::int as n from users`)[0]!.n as number
const isCallback = (url: URL) => url.pathname.endsWith('/callback')

// ---------------------------------------------------------------------------------------------
const oidc = suite<{ t: TestApp; idp: FakeIdp; as: { id: string }; issuer: string }>('sso: OpenID Connect')

oidc.before(async (context) => {
  context.idp = await startOidcProvider({
    alice: { email: 'alice@example.com', email_verified: true, groups: ['eng', 'TT-Admins'], preferred_username: 'alice', name: 'Alice A' },
    bob: { email: 'bob@example.com', email_verified: true, groups: ['eng'], preferred_username: 'bob' },
    carol: { email: 'carol@contractor.test', email_verified: true, groups: ['contractors'] },
    dave: { email: 'dave@example.com', email_verified: false, preferred_username: 'dave' },
    mallory: { email: 'mallory@evil.test', email_verified: true, groups: ['eng-ish'], preferred_username: 'mallory' },
  })
  context.as = context.idp.as
  context.issuer = context.idp.issuer
  context.t = await startTestApp({
    kind: 'pglite',
    env: {
      OIDC_ISSUER: context.issuer,
      OIDC_CLIENT_ID: 'terarchitect',
      OIDC_CLIENT_SECRET: 'oidc-client-secret-for-tests',
      OIDC_ALLOWED_DOMAINS: 'example.com',
      OIDC_ALLOWED_GROUPS: 'contractors',
      OIDC_ADMIN_GROUPS: 'tt-admins',
    },
  })
  await context.idp.register({ clientId: 'terarchitect', clientSecret: 'oidc-client-secret-for-tests', redirectUri: `${context.t.url}/api/auth/oidc/callback` })
})
oidc.after(async ({ t, idp }) => {
  await t.close()
  await idp.close()
})

/** Signs `who` in with a fresh browser; the app's last answer (302 to / when signed in). */
async function oidcSignIn(context: { t: TestApp; as: { id: string } }, who: string) {
  context.as.id = who
  const b = browser()
  const { res } = await b.visit(`${context.t.url}/api/auth/oidc/start`)
  return { b, res: res!, text: await res!.text() }
}

oidc('the sign-in methods are announced; the first person to sign in must be an admin', async (context) => {
  const { t } = context
  assert.equal((await t.api('GET', '/api/auth/me')).body.methods, { password: true, oidc: true, github: false })
  const bob = await oidcSignIn(context, 'bob')
  assert.is(bob.res.status, 403, bob.text)
  assert.match(bob.text, /no admin exists yet/)
  assert.is(await userCount(t), 0, 'nobody was created')
})

oidc('an admin-group member signs in as admin; others get the default role; who is who stays with the subject', async (context) => {
  const { t } = context
  const alice = await oidcSignIn(context, 'alice')
  assert.is(alice.res.status, 302, alice.text)
  assert.is(alice.res.headers.get('location'), '/')
  const cookies = alice.res.headers.getSetCookie()
  assert.ok(cookies.some((c) => c.startsWith('terarchitect_session=') && /HttpOnly/.test(c) && /SameSite=Lax/.test(c)), 'a session cookie')
  assert.ok(cookies.some((c) => /^terarchitect_sso=;/.test(c) && /Max-Age=0/.test(c)), 'the state cookie is cleared')
  const aliceMe = await me(t, alice.b)
  assert.equal([aliceMe.user?.login, aliceMe.user?.display_name, aliceMe.role], ['alice', 'Alice A', 'admin'])

  const bob = await oidcSignIn(context, 'bob')
  assert.is(bob.res.status, 302, bob.text)
  assert.equal([(await me(t, bob.b)).user?.login, (await me(t, bob.b)).role], ['bob', 'viewer'])
  const carol = await oidcSignIn(context, 'carol')
  assert.is(carol.res.status, 302, `an allowed group admits another domain: ${carol.text}`)
  assert.equal([(await me(t, carol.b)).user?.login, (await me(t, carol.b)).role], ['carol', 'viewer'])

  const again = await oidcSignIn(context, 'alice')
  assert.is(again.res.status, 302)
  const rows = await t.app.ctx.sql`select u.login, u.email, u.role, i.provider, i.subject from users u join user_identities i on i.user_id = u.id order by u.id`
  assert.equal(rows.map((r) => [r.login, r.email, r.role, r.provider, r.subject]), [
    ['alice', 'alice@example.com', 'admin', `oidc:${context.issuer}/`, 'alice'],
    ['bob', 'bob@example.com', 'viewer', `oidc:${context.issuer}/`, 'bob'],
    ['carol', 'carol@contractor.test', 'viewer', `oidc:${context.issuer}/`, 'carol'],
  ], 'a second sign-in finds the same account')
  const logins = await t.app.ctx.sql`select actor_label, details from audit where action = 'auth.login' order by id`
  assert.equal(logins.map((r) => [r.actor_label, (r.details as { method: string }).method]), [['alice', 'oidc'], ['bob', 'oidc'], ['carol', 'oidc'], ['alice', 'oidc']])
})

oidc('a refused domain or an unverified email is refused with the reason, and nobody is created', async (context) => {
  const { t } = context
  const before = await userCount(t)
  const mallory = await oidcSignIn(context, 'mallory')
  assert.is(mallory.res.status, 403)
  assert.match(mallory.res.headers.get('content-type') ?? '', /text\/html/)
  assert.match(mallory.text, /mallory@evil\.test is not allowed to sign in here/)
  assert.not.ok(sessionOf(mallory.b, t).cookie, 'no session')
  const dave = await oidcSignIn(context, 'dave')
  assert.is(dave.res.status, 403)
  assert.match(dave.text, /dave@example\.com \(not verified\) is not allowed/)
  assert.is(await userCount(t), before, 'no user row for a refused person')
  const refused = await t.app.ctx.sql`select actor_label, details from audit where action = 'auth.sso_refused' order by id`
  assert.ok(refused.some((r) => r.actor_label === 'oidc' && /mallory@evil\.test/.test((r.details as { reason: string }).reason)), 'the refusal is audited')
})

oidc('a disabled account stays out, whichever way it signs in', async (context) => {
  const { t } = context
  const alice = await oidcSignIn(context, 'alice')
  assert.is(alice.res.status, 302, alice.text)
  const [bob] = await t.app.ctx.sql`select id from users where login = 'bob'`
  const disabled = await t.api('PATCH', `/api/users/${bob!.id}`, { disabled: true }, { ...sessionOf(alice.b, t), ...PROXIED })
  assert.is(disabled.status, 200, JSON.stringify(disabled.body))
  const refused = await oidcSignIn(context, 'bob')
  assert.is(refused.res.status, 403)
  assert.match(refused.text, /disabled/)
  assert.not.ok(sessionOf(refused.b, t).cookie, 'no session')
  assert.is((await t.api('PATCH', `/api/users/${bob!.id}`, { disabled: false }, { ...sessionOf(alice.b, t), ...PROXIED })).status, 200)
})

oidc('a state mismatch, a callback in another browser and a replayed callback are refused', async (context) => {
  const { t } = context
  context.as.id = 'bob'
  const a = browser()
  const first = await a.visit(`${t.url}/api/auth/oidc/start`, isCallback)
  assert.ok(first.url.searchParams.get('code'), 'the provider answered with a code')

  const elsewhere = await browser().visit(first.url)
  assert.is(elsewhere.res!.status, 403, 'no state cookie: another browser (login CSRF)')
  assert.match(await elsewhere.res!.text(), /not started in this browser/)

  const forged = new URL(first.url)
  forged.searchParams.set('state', 'not-the-state')
  const mismatch = await a.visit(forged)
  assert.is(mismatch.res!.status, 403)
  const mismatchText = await mismatch.res!.text()
  assert.match(mismatchText, /state/, mismatchText)
  assert.is(await a.visit(first.url).then((r) => r.res!.status), 403, 'the state cookie was spent by the refused attempt')

  const b = browser()
  const second = await b.visit(`${t.url}/api/auth/oidc/start`, isCallback)
  const copied = b.clone()
  assert.is((await b.visit(second.url)).res!.status, 302, 'the genuine callback signs in')
  assert.is((await b.visit(second.url)).res!.status, 403, 'replayed in the same browser: the state cookie is gone')
  const replay = await copied.visit(second.url)
  assert.is(replay.res!.status, 403, 'replayed with a copy of the state cookie: the code is spent')
  assert.match(await replay.res!.text(), /not accepted/)
})

oidc('the routes sit behind the browser boundary\'s Host check; bad callback input is a 4xx', async ({ t }) => {
  // fetch() will not send another Host; node:http will.
  const status = await new Promise<number>((resolve, reject) => {
    request(`${t.url}/api/auth/oidc/start`, { headers: { host: 'attacker.test' } }, (res) => (res.resume(), resolve(res.statusCode!))).on('error', reject).end()
  })
  assert.is(status, 421)
  const long = await fetch(`${t.url}/api/auth/oidc/callback?state=${'x'.repeat(600)}`, { redirect: 'manual' })
  assert.is(long.status, 400)
  assert.match(await long.text(), /state/)
  assert.is((await t.api('POST', '/api/auth/oidc/callback', {})).status, 405)
  const twice = await fetch(`${t.url}/api/auth/oidc/callback?state=a&state=b`, { redirect: 'manual' })
  assert.is(twice.status, 400, 'a repeated parameter names the field')
  assert.match(await twice.text(), /\/query\/state/)
})

oidc('a provider that answers with an error (the person cancelled) is a refusal naming it', async (context) => {
  const { t } = context
  context.as.id = 'bob'
  const b = browser()
  const answer = await b.visit(`${t.url}/api/auth/oidc/start`, isCallback)
  const cancelled = new URL(answer.url)
  cancelled.search = new URLSearchParams({ error: 'access_denied', error_description: 'the person cancelled', state: answer.url.searchParams.get('state')!, iss: answer.url.searchParams.get('iss') ?? '' }).toString()
  const res = (await b.visit(cancelled)).res!
  assert.is(res.status, 403)
  assert.match(await res.text(), /did not sign you in \(access_denied: the person cancelled\)/)
})

// ---------------------------------------------------------------------------------------------
const github = suite<{ t: TestApp; gh: FakeGithub }>('sso: GitHub')

github.before(async (context) => {
  context.gh = await startGithub({ oauthApp: { clientId: 'Iv1.testclient', clientSecret: 'github-oauth-secret-for-tests' } })
  context.gh.state.oauth.orgs = { octo: ['Acme'], eve: ['other-org'] }
  context.gh.state.oauth.profiles = { octo: { name: 'Octo Cat', email: 'octo@acme.test' } }
  context.t = await startTestApp({
    kind: 'pglite',
    env: {
      // As on GitHub Enterprise Server: the web pages are at the API URL without /api/v3.
      GITHUB_API_URL: `${context.gh.url}/api/v3`,
      GITHUB_OAUTH_CLIENT_ID: 'Iv1.testclient',
      GITHUB_OAUTH_CLIENT_SECRET: 'github-oauth-secret-for-tests',
      GITHUB_OAUTH_ALLOWED_ORGS: 'acme',
      GITHUB_OAUTH_ALLOWED_USERS: 'Solo',
      GITHUB_OAUTH_DEFAULT_ROLE: 'member',
    },
  })
  await firstAdmin(context.t)
})
github.after(async ({ t, gh }) => {
  await t.close()
  await gh.close()
})

async function githubSignIn({ t, gh }: { t: TestApp; gh: FakeGithub }, who: string) {
  gh.state.oauth.login = who
  const b = browser()
  const { res } = await b.visit(`${t.url}/api/auth/github/start`)
  return { b, res: res!, text: await res!.text() }
}

github('an organization member signs in through the Enterprise web base; the GitHub token is kept nowhere', async (context) => {
  const { t, gh } = context
  assert.equal((await t.api('GET', '/api/auth/me')).body.methods, { password: true, oidc: false, github: true })
  const octo = await githubSignIn(context, 'octo')
  assert.is(octo.res.status, 302, octo.text)
  const who = await me(t, octo.b)
  assert.equal([who.user?.login, who.user?.display_name, who.role], ['octo', 'Octo Cat', 'member'])
  const authorize = gh.state.oauth.authorizations.at(-1)!
  assert.equal([authorize.redirect_uri, authorize.scope, authorize.client_id], [`${t.url}/api/auth/github/callback`, 'read:user read:org', 'Iv1.testclient'])
  assert.ok(gh.requests.some((r) => r.path === '/login/oauth/authorize') && gh.requests.some((r) => r.path === '/login/oauth/access_token'), 'OAuth pages at the web base')
  const [identity] = await t.app.ctx.sql`select provider, subject from user_identities`
  assert.equal(identity!.provider, `github:${new URL(gh.url).host}`)
  const tokens = [...gh.state.oauth.tokens.keys()]
  assert.ok(tokens.length >= 1)
  const stored = await t.app.ctx.sql`
    select (select coalesce(string_agg(row_to_json(u)::text, ''), '') from users u) ||
           (select coalesce(string_agg(row_to_json(s)::text, ''), '') from sessions s) ||
           (select coalesce(string_agg(row_to_json(a)::text, ''), '') from audit a) ||
           (select coalesce(string_agg(row_to_json(i)::text, ''), '') from user_identities i) as text`
  for (const token of tokens) assert.not.ok((stored[0]!.text as string).includes(token), 'the GitHub token is not stored')
  assert.not.ok(octo.b.jars.get('127.0.0.1')?.get('terarchitect_sso'), 'the state cookie is gone from the browser')
})

github('an allowed login without the organization signs in; anyone else is refused with the reason', async (context) => {
  const { t } = context
  const solo = await githubSignIn(context, 'solo')
  assert.is(solo.res.status, 302, solo.text)
  assert.is((await me(t, solo.b)).user?.login, 'solo')
  const before = await userCount(t)
  const eve = await githubSignIn(context, 'eve')
  assert.is(eve.res.status, 403)
  assert.match(eve.text, /GitHub user eve is not allowed to sign in here/)
  assert.is(await userCount(t), before, 'nobody was created')
})

github('a forged state or a spent code is refused', async (context) => {
  const { t, gh } = context
  gh.state.oauth.login = 'octo'
  const b = browser()
  const answer = await b.visit(`${t.url}/api/auth/github/start`, isCallback)
  const forged = new URL(answer.url)
  forged.searchParams.set('state', 'forged')
  const mismatch = await b.visit(forged)
  assert.is(mismatch.res!.status, 403)
  assert.match(await mismatch.res!.text(), /state mismatch/)

  const c = browser()
  const second = await c.visit(`${t.url}/api/auth/github/start`, isCallback)
  const copied = c.clone()
  assert.is((await c.visit(second.url)).res!.status, 302)
  const replay = await copied.visit(second.url)
  assert.is(replay.res!.status, 403)
  assert.match(await replay.res!.text(), /bad_verification_code/)
})

// ---------------------------------------------------------------------------------------------
const config = suite('sso: configuration')

config('GitHub\'s web base comes from the API URL; an explicit GITHUB_OAUTH_URL wins', () => {
  assert.is(githubWebBase('https://api.github.com').href, 'https://github.com/')
  assert.is(githubWebBase('https://ghe.example.com/api/v3').href, 'https://ghe.example.com/')
  assert.is(githubWebBase('https://ghe.example.com/api/v3/').href, 'https://ghe.example.com/')
  const base = { GITHUB_OAUTH_CLIENT_ID: 'id', GITHUB_OAUTH_CLIENT_SECRET: 'secret-value-1', GITHUB_OAUTH_ALLOWED_USERS: 'a' }
  assert.is(resolveSsoConfig(resolveAppConfig(base)).github!.webBase, null)
  assert.is(resolveSsoConfig(resolveAppConfig({ ...base, GITHUB_OAUTH_URL: 'https://ghe.example.com' })).github!.webBase!.href, 'https://ghe.example.com/')
})

config('bad single sign-on settings stop the start naming the variable; secrets are redacted', () => {
  const refused = (env: Record<string, string>, name: string) => {
    try {
      resolveSsoConfig(resolveAppConfig(env))
    } catch (error) {
      assert.ok((error as { details: { path: string }[] }).details.some((d) => d.path === name), `${name} named: ${(error as Error).message}`)
      return
    }
    assert.unreachable(`${JSON.stringify(env)} was accepted`)
  }
  const oidcEnv = { OIDC_ISSUER: 'https://idp.example.com', OIDC_CLIENT_ID: 'id', OIDC_CLIENT_SECRET: 'oidc-secret-to-redact' }
  refused({ ...oidcEnv, OIDC_ISSUER: 'http://idp.example.com' }, 'OIDC_ISSUER')
  refused({ ...oidcEnv, OIDC_ISSUER: 'not a url' }, 'OIDC_ISSUER')
  refused({ OIDC_ISSUER: 'https://idp.example.com' }, 'OIDC_CLIENT_ID')
  refused({ OIDC_CLIENT_ID: 'id', OIDC_CLIENT_SECRET: 'x-secret' }, 'OIDC_ISSUER')
  refused({ ...oidcEnv, OIDC_SCOPES: 'email profile' }, 'OIDC_SCOPES')
  refused({ GITHUB_OAUTH_CLIENT_ID: 'id', GITHUB_OAUTH_CLIENT_SECRET: 'secret-value-2' }, 'GITHUB_OAUTH_ALLOWED_ORGS')
  refused({ GITHUB_OAUTH_CLIENT_ID: 'id' }, 'GITHUB_OAUTH_CLIENT_SECRET')
  refused({ GITHUB_OAUTH_CLIENT_ID: 'id', GITHUB_OAUTH_CLIENT_SECRET: 'secret-value-3', GITHUB_OAUTH_ALLOWED_USERS: 'a', GITHUB_OAUTH_URL: 'http://ghe.example.com' }, 'GITHUB_OAUTH_URL')
  const resolved = resolveSsoConfig(resolveAppConfig({ ...oidcEnv, OIDC_ISSUER: 'http://127.0.0.1:9/' }))
  assert.is(resolved.oidc!.issuer.href, 'http://127.0.0.1:9/', 'http is fine on loopback')
  assert.is(redactText('secret is oidc-secret-to-redact'), 'secret is ***')
})

config('an app without single sign-on answers 404 on the sign-in routes', async () => {
  const t = await startTestApp({ kind: 'pglite' })
  try {
    for (const path of ['/api/auth/oidc/start', '/api/auth/oidc/callback', '/api/auth/github/start', '/api/auth/github/callback']) {
      const res = await fetch(t.url + path, { redirect: 'manual' })
      assert.is(res.status, 404, path)
      assert.match(await res.text(), /is not set/)
    }
  } finally {
    await t.close()
  }
})

config.run()
oidc.run()
github.run()
