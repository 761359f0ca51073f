/**
 * OpenID Connect sign-in: authorization code with PKCE, state and nonce, through `openid-client`
 * (the protocol's checks — ID token signature, issuer, audience, nonce, state, `iss` response
 * parameter — are its job, not ours). The issuer's metadata is discovered on first use and kept;
 * a failed discovery is retried on the next sign-in.
 */
import * as oidcClient from 'openid-client'
import { unavailable } from '../../errors.ts'
import type { Role } from '../../http/router.ts'
import type { ExternalIdentity } from '../users.ts'
import { describe, ssoRefused, type OidcConfig } from './config.ts'

/** What the browser carries between start and callback (inside the sealed state cookie). */
export interface OidcPending {
  state: string
  nonce: string
  verifier: string
}

export function createOidcSignIn(settings: OidcConfig) {
  let discovered: Promise<oidcClient.Configuration> | undefined

  function configuration(): Promise<oidcClient.Configuration> {
    discovered ??= oidcClient
      .discovery(settings.issuer, settings.clientId, undefined, oidcClient.ClientSecretBasic(settings.clientSecret), {
        timeout: 10,
        // providerUrl() admits http:// only on loopback addresses.
        ...(settings.issuer.protocol === 'http:' ? { execute: [oidcClient.allowInsecureRequests] } : {}),
      })
      .catch((error: unknown) => {
        discovered = undefined
        throw unavailable(`the OpenID Connect issuer could not be reached or described itself wrongly (${describe(error)})`, error)
      })
    return discovered
  }

  return {
    /** The provider's authorization URL for this sign-in and what the callback must find again. */
    async start(redirectUri: string): Promise<{ url: URL; pending: OidcPending }> {
      const config = await configuration()
      const pending = { state: oidcClient.randomState(), nonce: oidcClient.randomNonce(), verifier: oidcClient.randomPKCECodeVerifier() }
      const url = oidcClient.buildAuthorizationUrl(config, {
        redirect_uri: redirectUri,
        scope: settings.scopes,
        state: pending.state,
        nonce: pending.nonce,
        code_challenge: await oidcClient.calculatePKCECodeChallenge(pending.verifier),
        code_challenge_method: 'S256',
      })
      return { url, pending }
    },

    /**
     * Completes the sign-in from the callback URL (`redirectUri` + the provider's query): the
     * identity, after the allow rules and with its mapped role; a refusal is a 403 naming why.
     */
    async finish(callbackUrl: URL, pending: OidcPending): Promise<ExternalIdentity> {
      const config = await configuration()
      let claims: Record<string, unknown>
      try {
        const tokens = await oidcClient.authorizationCodeGrant(config, callbackUrl, {
          pkceCodeVerifier: pending.verifier,
          expectedState: pending.state,
          expectedNonce: pending.nonce,
          idTokenExpected: true,
        })
        claims = { ...tokens.claims() }
        // Many issuers put email and groups only in userinfo (scope claims with an access token).
        if (config.serverMetadata().userinfo_endpoint) {
          const info = await oidcClient.fetchUserInfo(config, tokens.access_token, String(claims.sub))
          claims = { ...info, ...claims }
        }
      } catch (error) {
        throw ssoRefused(`the identity provider's answer was not accepted (${describe(error)})`)
      }
      return admit(settings, claims)
    },
  }
}

/** The allow rules and the role mapping over the verified claims (exported for unit tests). */
export function admit(settings: OidcConfig, claims: Record<string, unknown>): ExternalIdentity {
  const subject = typeof claims.sub === 'string' ? claims.sub : ''
  if (!subject) throw ssoRefused('the identity provider sent no subject')
  // An address the issuer says it has not verified proves nothing about who signs in.
  const email = typeof claims.email === 'string' && claims.email_verified !== false ? claims.email.toLowerCase() : null
  const groups = groupsOf(claims[settings.groupsClaim])
  const rules = settings.allowedEmails.size + settings.allowedDomains.size + settings.allowedGroups.size
  const domain = email?.split('@')[1]
  const allowed = rules === 0 ||
    (email !== null && settings.allowedEmails.has(email)) ||
    (domain !== undefined && settings.allowedDomains.has(domain)) ||
    groups.some((group) => settings.allowedGroups.has(group))
  if (!allowed) {
    const who = email ?? (typeof claims.email === 'string' ? `${claims.email} (not verified)` : `subject ${subject} (no email)`)
    throw ssoRefused(`${who} is not allowed to sign in here: not in OIDC_ALLOWED_EMAILS, OIDC_ALLOWED_DOMAINS or OIDC_ALLOWED_GROUPS`)
  }
  const role: Role = groups.some((group) => settings.adminGroups.has(group)) ? 'admin'
    : groups.some((group) => settings.memberGroups.has(group)) ? 'member'
    : settings.defaultRole
  const text = (value: unknown) => (typeof value === 'string' && value.trim() ? value.trim() : undefined)
  return {
    provider: `oidc:${settings.issuer.href}`,
    subject,
    login: text(claims.preferred_username) ?? email?.split('@')[0] ?? subject,
    displayName: text(claims.name),
    email,
    role,
  }
}

/** A groups claim as lower-cased names: an array of strings, or one space/comma-separated string. */
function groupsOf(value: unknown): string[] {
  const items = Array.isArray(value) ? value : typeof value === 'string' ? value.split(/[\s,]+/) : []
  return items.filter((item): item is string => typeof item === 'string' && item !== '').map((item) => item.toLowerCase())
}
