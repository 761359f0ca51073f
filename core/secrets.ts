/**
 * Secrets at rest and job tokens. One master key (TERARCHITECT_SECRET_KEY, or a random key kept in
 * `<data dir>/secret.key` with mode 0600) derives two sub-keys with HKDF: one for AES-256-GCM
 * encryption of settings, one for HMAC-SHA256 signatures of job tokens.
 *
 * Rotation: with TERARCHITECT_SECRET_KEY_PREVIOUS set, values and job tokens made with the previous
 * key still read (decrypt/verify try the current key first), and the app re-encrypts stored values
 * with the current key at start (services/secret-key.ts).
 */
import { createCipheriv, createDecipheriv, createHash, createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { ensurePrivateDir } from './private-dir.ts'

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
  /** Throws when no key given to the box decrypts `stored`. */
  decrypt(stored: string): string
  /** The plain text, or null when no key given to the box decrypts `stored` (another key made it). */
  tryDecrypt(stored: string): string | null
  /** True when the current key decrypts `stored` (false: the previous key, or none, does). */
  readsWithCurrentKey(stored: string): boolean
  signJobToken(claims: JobClaims): string
  /** Returns the claims of a valid, unexpired token, else null. */
  verifyJobToken(token: string): JobClaims | null
}

export interface MasterKey {
  key: string
  /** The key file read or created; undefined when the key was configured. */
  file?: string
  created: boolean
}

/** Returns the configured key, or reads/creates the key file `<data dir>/secret.key`. */
export function loadMasterKey(configured: string | undefined, dataDir: string): MasterKey {
  if (configured) return { key: configured, created: false }
  const file = join(dataDir, 'secret.key')
  ensurePrivateDir(dataDir)
  if (existsSync(file)) return { key: readFileSync(file, 'utf8').trim(), file, created: false }
  const key = randomBytes(32).toString('base64url')
  writeFileSync(file, key + '\n', { mode: 0o600, flag: 'wx' })
  return { key, file, created: true }
}

const TOKEN_PREFIX = 'tj1.'

interface DerivedKeys {
  encryption: Buffer
  signing: Buffer
}

function deriveKeys(masterKey: string): DerivedKeys {
  const derive = (info: string) => Buffer.from(hkdfSync('sha256', masterKey, 'terarchitect', info, 32))
  return { encryption: derive('settings-encryption'), signing: derive('job-token-signing') }
}

/** AES-256-GCM open; null when the tag does not verify (another key) or the text is not a sealed value. */
function open(stored: string, key: Buffer): string | null {
  const raw = Buffer.from(stored, 'base64')
  if (raw.length < 28) return null
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12))
    decipher.setAuthTag(raw.subarray(12, 28))
    return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8')
  } catch {
    return null
  }
}

/**
 * `previousKey`: TERARCHITECT_SECRET_KEY_PREVIOUS, read (never written with) during a rotation.
 * `previousTokensExpireBy` (epoch seconds): a job token signed with the previous key is accepted
 * only if it expires by then (now + the token lifetime, at start): tokens issued before the
 * rotation cannot expire later, while one forged with a leaked old key and a far `exp` is refused.
 */
export function createSecretBox(masterKey: string, previousKey?: string, previousTokensExpireBy = 0): SecretBox {
  const current = deriveKeys(masterKey)
  const keys = previousKey && previousKey !== masterKey ? [current, deriveKeys(previousKey)] : [current]
  const sign = (payload: string, signing = current.signing) => createHmac('sha256', signing).update(payload).digest()
  const tryDecrypt = (stored: string) => {
    for (const key of keys) {
      const plain = open(stored, key.encryption)
      if (plain !== null) return plain
    }
    return null
  }

  return {
    encrypt(plain) {
      const iv = randomBytes(12)
      const cipher = createCipheriv('aes-256-gcm', current.encryption, iv)
      const data = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()])
      return Buffer.concat([iv, cipher.getAuthTag(), data]).toString('base64')
    },
    decrypt(stored) {
      const plain = tryDecrypt(stored)
      if (plain === null) throw new Error('the stored secret cannot be decrypted with the secret key (it was made with another key)')
      return plain
    },
    tryDecrypt,
    readsWithCurrentKey: (stored) => open(stored, current.encryption) !== null,
    signJobToken(claims) {
      const payload = Buffer.from(JSON.stringify(claims)).toString('base64url')
      return `${TOKEN_PREFIX}${payload}.${sign(payload).toString('base64url')}`
    },
    verifyJobToken(token) {
      if (!token.startsWith(TOKEN_PREFIX)) return null
      const [payload, signature] = token.slice(TOKEN_PREFIX.length).split('.')
      if (!payload || !signature) return null
      const given = Buffer.from(signature, 'base64url')
      // Tokens issued before a key rotation stay valid while the previous key is configured.
      const signedWith = keys.findIndex((key) => {
        const expected = sign(payload, key.signing)
        return given.length === expected.length && timingSafeEqual(given, expected)
      })
      if (signedWith < 0) return null
      try {
        const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as JobClaims
        // Tokens signed before claims carried attempt and claim are refused, not guessed at.
        if (!Number.isInteger(claims.attempt) || !Number.isInteger(claims.claim)) return null
        if (signedWith > 0 && !(claims.exp <= previousTokensExpireBy)) return null
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

