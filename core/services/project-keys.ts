/**
 * Project keys (`SHOP` in `SHOP-12`): 2–6 uppercase letters, unique. A new project's key is derived
 * from its name by `project_key_for` (sql/010_project_key.sql, which also backfilled existing
 * projects); an edited key must be free. Key changes serialize on one advisory lock, so two
 * creations never derive the same key and a taken key is a 409 naming the field, not a 500.
 */
import type { TransactionSql } from '../db/index.ts'
import { conflict } from '../errors.ts'

export async function lockProjectKeys(tx: TransactionSql): Promise<void> {
  await tx`select pg_advisory_xact_lock(hashtext('projects.key'))`
}

export async function freeProjectKey(tx: TransactionSql, name: string): Promise<string> {
  const [row] = await tx`select project_key_for(${name}) as key`
  return row!.key as string
}

/** 409 when another project (not `exceptId`) has `key`. */
export async function checkKeyFree(tx: TransactionSql, key: string, exceptId = 0): Promise<void> {
  const [taken] = await tx`select name from projects where key = ${key} and id <> ${exceptId}`
  if (taken) throw conflict(`the project key ${key} is taken by another project`, [{ path: '/body/key', message: `${key} is taken; choose another` }])
}
