/**
 * Secrets at rest and job tokens. One master key (TERARCHITECT_SECRET_KEY, or a random key kept in
 * `<data dir>/secret.key` with mode 0600) derives two sub-keys with HKDF: one for AES-256-GCM
 * encryption of settings, one for HMAC-SHA256 signatures of job tokens.
 */
import { createCipheriv, createDecipheriv, createHash, createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

export interface JobClaims {
  jobId: number
  ticketId: number | null
  projectId: number
  /** The job's attempt and claim number when the token was issued: it is valid only while both hold. */
  attempt: number
  claim: number
  /** Expiry, seconds since the epoch. */
  exp: number
}

export interface SecretBox {
  encrypt(plain: string): string
  decrypt(stored: string): string
  signJobToken(claims: JobClaims): string
  /** Returns the claims of a valid, unexpired token, else null. */
  verifyJobToken(token: string): JobClaims | null
}

/** Returns the configured key, or reads/creates the key file in the data dir. */
export function loadMasterKey(configured: string | undefined, dataDir: string): string {
  if (configured) return configured
  const file = join(dataDir, 'secret.key')
  if (existsSync(file)) return readFileSync(file, 'utf8').trim()
  mkdirSync(dataDir, { recursive: true, mode: 0o700 })
  const key = randomBytes(32).toString('base64url')
  writeFileSync(file, key + '\n', { mode: 0o600, flag: 'wx' })
  return key
}

const TOKEN_PREFIX = 'tj1.'

export function createSecretBox(masterKey: string): SecretBox {
  const derive = (info: string) => Buffer.from(hkdfSync('sha256', masterKey, 'terarchitect', info, 32))
  const encryptionKey = derive('settings-encryption')
  const signingKey = derive('job-token-signing')
  const sign = (payload: string) => createHmac('sha256', signingKey).update(payload).digest()

  return {
    encrypt(plain) {
      const iv = randomBytes(12)
      const cipher = createCipheriv('aes-256-gcm', encryptionKey, iv)
      const data = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()])
      return Buffer.concat([iv, cipher.getAuthTag(), data]).toString('base64')
    },
    decrypt(stored) {
      const raw = Buffer.from(stored, 'base64')
      const decipher = createDecipheriv('aes-256-gcm', encryptionKey, raw.subarray(0, 12))
      decipher.setAuthTag(raw.subarray(12, 28))
      return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8')
    },
    signJobToken(claims) {
      const payload = Buffer.from(JSON.stringify(claims)).toString('base64url')
      return `${TOKEN_PREFIX}${payload}.${sign(payload).toString('base64url')}`
    },
    verifyJobToken(token) {
      if (!token.startsWith(TOKEN_PREFIX)) return null
      const [payload, signature] = token.slice(TOKEN_PREFIX.length).split('.')
      if (!payload || !signature) return null
      const expected = sign(payload)
      const given = Buffer.from(signature, 'base64url')
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null
      try {
        const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as JobClaims
        // Tokens signed before claims carried attempt and claim are refused, not guessed at.
        if (!Number.isInteger(claims.attempt) || !Number.isInteger(claims.claim)) return null
        return claims.exp > Date.now() / 1000 ? claims : null
      } catch {
        return null
      }
    },
  }
}

/** Constant-time string comparison for bearer keys. */
export function safeEqual(given: string, expected: string): boolean {
  const a = createHmac('sha256', 'compare').update(given).digest()
  const b = createHmac('sha256', 'compare').update(expected).digest()
  return timingSafeEqual(a, b)
}

/** A new random bearer credential: `prefix` + 256 bits, base64url. */
export function generateToken(prefix: string): string {
  return prefix + randomBytes(32).toString('base64url')
}

/** How bearer credentials are stored: sha256 hex (they are 256-bit random, so no salt or stretching). */
export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex')
}

