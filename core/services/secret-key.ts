/**
 * The secret key at start: which key (TERARCHITECT_SECRET_KEY, or `<data dir>/secret.key`, with a
 * loud warning when a PostgreSQL database relies on a file), rotation from
 * TERARCHITECT_SECRET_KEY_PREVIOUS (stored secrets the previous key made are re-encrypted with the
 * current one in one transaction, logged as counts, never values), and a warning naming every stored
 * secret no configured key reads (they read as `unreadable` in Settings until set again).
 */
import type { AppConfig } from '../config.ts'
import type { Sql } from '../db/index.ts'
import { redact, type Logger } from '../log.ts'
import { createSecretBox, loadMasterKey, type SecretBox } from '../secrets.ts'

/** Where encrypted values are stored: one row per value, named by `id` in logs. */
const STORES = [
  { table: 'app_settings', id: 'key', column: 'value', where: 'secret', label: 'setting' },
  { table: 'project_settings', id: "(project_id || '/' || key)", column: 'value', where: 'secret', label: 'project setting' },
  { table: 'forge_tokens', id: 'credential', column: 'token', where: 'true', label: 'coordinator forge token of credential' },
  { table: 'notification_endpoints', id: 'id', column: 'secret', where: 'true', label: 'notification endpoint' },
  // A URL still in clear (stored before URLs were sealed) is sealed by the notification sender instead.
  { table: 'notification_endpoints', id: 'id', column: 'url', where: "url !~* '^https?://'", label: 'notification endpoint URL of' },
] as const

export interface RotationResult {
  reencrypted: number
  /** Labels of the values no configured key decrypts, e.g. `setting GITHUB_TOKEN`. */
  unreadable: string[]
}

export async function openSecretBox(options: { config: AppConfig; sql: Sql; dbKind: 'postgres' | 'pglite'; log: Logger }): Promise<SecretBox> {
  const { config, log } = options
  const master = loadMasterKey(config.TERARCHITECT_SECRET_KEY, config.TERARCHITECT_DATA_DIR)
  redact(master.key)
  redact(config.TERARCHITECT_SECRET_KEY_PREVIOUS)
  if (options.dbKind === 'postgres' && master.file) {
    // The key must travel with the database: a file on this host is lost with the host, and replicas
    // each generating their own cannot read one another's secrets.
    log.warn(`WARNING: DATABASE_URL is set but TERARCHITECT_SECRET_KEY is not: secrets in this database are encrypted with the key file ${master.file}${master.created ? ' (just generated)' : ''}. ` +
      'Set TERARCHITECT_SECRET_KEY to its content (the same value on every replica) and keep it with the database backups', { file: master.file })
  }
  const box = createSecretBox(master.key, config.TERARCHITECT_SECRET_KEY_PREVIOUS, Math.floor(Date.now() / 1000) + config.JOB_TOKEN_TTL_SEC)
  const result = await reencryptStoredSecrets(options.sql, box)
  if (config.TERARCHITECT_SECRET_KEY_PREVIOUS || result.reencrypted) {
    log.info('secret key rotation: stored secrets re-encrypted with the current key', { reencrypted: result.reencrypted })
  }
  if (result.unreadable.length) {
    log.warn(`stored secrets the secret key cannot decrypt (made with another key): ${result.unreadable.join(', ')}; ` +
      'they count as unset: set them again in Settings, or start once with TERARCHITECT_SECRET_KEY_PREVIOUS set to the key they were made with',
    { unreadable: result.unreadable })
  }
  return box
}

/**
 * Re-encrypts with the current key every stored value only the previous key reads, in one
 * transaction (rows locked, so replicas starting together do it once). Returns the count and the
 * values neither key reads.
 */
export async function reencryptStoredSecrets(sql: Sql, box: SecretBox): Promise<RotationResult> {
  return sql.begin(async (tx) => {
    let reencrypted = 0
    const unreadable: string[] = []
    for (const store of STORES) {
      const rows = await tx.unsafe(`select ${store.id} as id, ${store.column} as value from ${store.table} where ${store.where} order by 1 for update`)
      for (const row of rows) {
        const stored = row.value as string
        if (box.readsWithCurrentKey(stored)) continue
        const plain = box.tryDecrypt(stored)
        if (plain === null) {
          unreadable.push(`${store.label} ${row.id}`)
          continue
        }
        redact(plain)
        await tx.unsafe(`update ${store.table} set ${store.column} = $1 where ${store.id} = $2`, [box.encrypt(plain), row.id])
        reencrypted++
      }
    }
    return { reencrypted, unreadable }
  })
}
