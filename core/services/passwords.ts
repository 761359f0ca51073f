/**
 * Password hashing with node:crypto scrypt. The stored form carries its parameters, so they can be
 * raised later without breaking existing hashes: `scrypt$<N>$<r>$<p>$<salt b64url>$<hash b64url>`.
 * Verification is timing-safe, and `verifyDummy` spends the same work for an unknown login so the
 * answer time does not tell which logins exist.
 */
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto'

/** N=2^15, r=8, p=1: OWASP's scrypt floor; ≈50 ms and 32 MiB per hash here. */
const PARAMS = { N: 32768, r: 8, p: 1 }
const KEY_LENGTH = 32
/** Node refuses N·r·128 above maxmem (32 MiB by default): leave room for the parameters above. */
const MAX_MEM = 64 * 1024 * 1024

function derive(password: string, salt: Buffer, params: { N: number; r: number; p: number }): Promise<Buffer> {
  const options: ScryptOptions = { ...params, maxmem: MAX_MEM }
  return new Promise((resolve, reject) =>
    scrypt(password.normalize('NFC'), salt, KEY_LENGTH, options, (error, key) => (error ? reject(error) : resolve(key))))
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16)
  const key = await derive(password, salt, PARAMS)
  return ['scrypt', PARAMS.N, PARAMS.r, PARAMS.p, salt.toString('base64url'), key.toString('base64url')].join('$')
}

/** True when `password` matches `stored`; false for a wrong password or a malformed hash. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split('$')
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false
  const [N, r, p] = parts.slice(1, 4).map(Number) as [number, number, number]
  if (![N, r, p].every((value) => Number.isInteger(value) && value > 0) || N * r * 128 > MAX_MEM) return false
  const expected = Buffer.from(parts[5]!, 'base64url')
  const key = await derive(password, Buffer.from(parts[4]!, 'base64url'), { N, r, p })
  return key.length === expected.length && timingSafeEqual(key, expected)
}

let dummy: Promise<string> | undefined

/** Spends a verification's work and returns false: for logins that do not exist or have no password. */
export async function verifyDummy(password: string): Promise<false> {
  dummy ??= hashPassword(randomBytes(16).toString('hex'))
  await verifyPassword(password, await dummy)
  return false
}
