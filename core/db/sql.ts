/**
 * The one SQL code path: postgres.js, whether the server is PostgreSQL or the embedded PGlite
 * behind pglite-socket.
 */
import postgres from 'postgres'

export type Sql = postgres.Sql<{ bigint: number }>
export type TransactionSql = postgres.TransactionSql<{ bigint: number }>

/** Common client options: int8 parsed as a JS number (ids and counts stay far below 2^53). */
export function createSql(target: { url: string } | { path: string }, max: number): Sql {
  const options = {
    max,
    onnotice: () => {},
    types: {
      bigint: { to: 20, from: [20], serialize: (value: number) => String(value), parse: (value: string) => Number(value) },
    },
  }
  if ('url' in target) return postgres(target.url, options) as unknown as Sql
  return postgres({ ...options, path: target.path, user: 'postgres', database: 'postgres' }) as unknown as Sql
}
