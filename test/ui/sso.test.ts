// Single sign-on in Chromium (issue 9, acceptance 5): the provider lives on another site
// (`localhost`) than the app (`127.0.0.1`), so its redirect back is a cross-site top-level
// navigation, as with a real identity provider. The browser boundary lets that GET through, the
// SameSite=Lax state cookie travels with it, and the person ends up signed in on the app; a
// refused person sees the page naming why. The app runs without the built UI: this is about the
// routes, the cookies and the boundary, not the pages.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import type { Browser } from 'playwright-core'
import { startTestApp, type TestApp } from '../helpers.ts'
import { startOidcProvider, type FakeIdp, type OidcPerson } from '../fixtures/oidc-provider.ts'
import { launchBrowser } from './helpers.ts'

const PEOPLE: Record<string, OidcPerson> = {
  root: { email: 'root@example.com', email_verified: true, groups: ['admins'], preferred_username: 'root' },
  eve: { email: 'eve@elsewhere.test', email_verified: true, preferred_username: 'eve' },
}

const test = suite<{ t: TestApp; browser: Browser; idp: FakeIdp; as: { id: string }; crossSite: string[] }>('sso in Chromium')

test.before(async (context) => {
  context.crossSite = []
  context.idp = await startOidcProvider(PEOPLE, 'localhost')
  context.as = context.idp.as
  context.t = await startTestApp({
    kind: 'pglite',
    env: { OIDC_ISSUER: context.idp.issuer, OIDC_CLIENT_ID: 'terarchitect', OIDC_CLIENT_SECRET: 'oidc-ui-secret', OIDC_ALLOWED_DOMAINS: 'example.com', OIDC_ADMIN_GROUPS: 'admins' },
  })
  await context.idp.register({ clientId: 'terarchitect', clientSecret: 'oidc-ui-secret', redirectUri: `${context.t.url}/api/auth/oidc/callback` })
  context.browser = await launchBrowser()
})
test.after(async ({ t, browser, idp }) => {
  await browser.close()
  await t.close()
  await idp.close()
})

async function signIn(context: { t: TestApp; browser: Browser; as: { id: string }; crossSite: string[] }, who: string) {
  context.as.id = who
  const browserContext = await context.browser.newContext()
  const page = await browserContext.newPage()
  page.on('request', (request) => {
    if (request.url().includes('/api/auth/oidc/callback')) {
      void request.allHeaders().then((headers) => context.crossSite.push(`${headers['sec-fetch-site']} ${headers['sec-fetch-mode']}`))
    }
  })
  page.on('console', (message) => {
    if (/Content.Security.Policy/i.test(message.text())) context.crossSite.push(`csp: ${message.text()}`)
  })
  let callbackStatus = 0
  page.on('response', (response) => {
    if (response.url().includes('/api/auth/oidc/callback')) callbackStatus = response.status()
  })
  // As from the sign-in page's button: a navigation the app's own page starts.
  await page.goto(`${context.t.url}/api/health`)
  await page.evaluate((url) => { window.location.href = url }, `${context.t.url}/api/auth/oidc/start`)
  await page.waitForURL((url) => url.origin === context.t.url && (url.pathname === '/' || url.pathname.endsWith('/callback')))
  await page.waitForLoadState()
  return { page, browserContext, callbackStatus: () => callbackStatus }
}

test('a permitted person comes back from the provider on another site and is signed in', async (context) => {
  const { t } = context
  const { page, browserContext, callbackStatus } = await signIn(context, 'root')
  assert.is(callbackStatus(), 302)
  assert.is(new URL(page.url()).pathname, '/', `ends on the app's home page, not ${page.url()}`)
  assert.ok(context.crossSite.includes('cross-site navigate'), `the callback was a cross-site navigation: ${context.crossSite.join(', ')}`)
  const cookies = await browserContext.cookies(t.url)
  assert.ok(cookies.some((c) => c.name === 'terarchitect_session' && c.httpOnly && c.sameSite === 'Lax'), 'a session cookie')
  assert.not.ok(cookies.some((c) => c.name === 'terarchitect_sso'), 'the state cookie was spent')
  const me = await page.evaluate(() => fetch('/api/auth/me').then((res) => res.json()))
  assert.equal([me.user?.login, me.role], ['root', 'admin'])
  await browserContext.close()
})

test('a refused person sees why, and has no session', async (context) => {
  const { t } = context
  const { page, browserContext, callbackStatus } = await signIn(context, 'eve')
  assert.is(callbackStatus(), 403)
  assert.match(await page.locator('main').innerText(), /eve@elsewhere\.test is not allowed to sign in here/)
  assert.not.ok((await browserContext.cookies(t.url)).some((c) => c.name === 'terarchitect_session'))
  assert.equal(context.crossSite.filter((line) => line.startsWith('csp:')), [], 'no Content-Security-Policy violation on the way')
  await browserContext.close()
})

test.run()
