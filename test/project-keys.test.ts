/**
 * Project keys and per-project ticket numbers (`SHOP-12`), on real PostgreSQL 15: keys derived
 * from names and unique, edited keys validated, numbers counted per project and distinct under
 * concurrent creation, never reused after a delete; sql/010_project_key.sql backfills a database
 * made before it (keys from names, numbers in id order).
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import postgres from 'postgres'
import { openDatabase } from '../core/db/index.ts'
import { migrate } from '../core/db/migrate.ts'
import { createLogger } from '../core/log.ts'
import { ROOT, clusterUrl, startTestApp, stopOwnCluster, type TestApp } from './helpers.ts'
import { assertError } from './api-helpers.ts'
import { createDatabase } from './postgres.ts'

let t: TestApp
const temp = mkdtempSync(join(tmpdir(), 'terarchitect-keys-'))

test.before(async () => {
  t = await startTestApp({ kind: 'postgres' })
})
test.after(async () => {
  await t?.close()
  rmSync(temp, { recursive: true, force: true })
  await stopOwnCluster()
})

const createProject = async (fields: Record<string, unknown>) => t.api('POST', '/api/projects', { repo_url: 'https://git.example/repo.git', ...fields })

test('keys come from the name: initials of several words, the first letters of one; unique', async () => {
  const shop = await createProject({ name: 'Online Shop' })
  assert.is(shop.status, 201, JSON.stringify(shop.body))
  assert.is(shop.body.key, 'OS')
  const again = await createProject({ name: 'online-shop 2' })
  assert.is(again.body.key, 'OSAA', 'a taken key gets two letters added')
  const one = await createProject({ name: 'widgets' })
  assert.is(one.body.key, 'WIDG')
  const digits = await createProject({ name: '42' })
  assert.is(digits.body.key, 'PRJ', 'a name without letters still gets a key')
  const listed = (await t.api('GET', '/api/projects')).body as { key: string }[]
  assert.is(new Set(listed.map((project) => project.key)).size, listed.length)
})

test('a key can be chosen and edited: 2–6 capital letters, not taken (400 / 409 naming the field)', async () => {
  const chosen = await createProject({ name: 'Payments', key: 'PAY' })
  assert.is(chosen.body.key, 'PAY')
  assertError(await createProject({ name: 'Other', key: 'PAY' }), 409, '/body/key')
  const other = await createProject({ name: 'Billing' })
  assertError(await t.api('PATCH', `/api/projects/${other.body.id}`, { key: 'PAY' }), 409, '/body/key')
  for (const bad of ['pay', 'P', 'PAYMENT', 'PA1', '']) {
    assertError(await t.api('PATCH', `/api/projects/${other.body.id}`, { key: bad }), 400, '/body/key', bad)
  }
  const renamed = await t.api('PATCH', `/api/projects/${other.body.id}`, { key: 'BILL' })
  assert.is(renamed.status, 200)
  assert.is(renamed.body.key, 'BILL')
  // Keeping one's own key is no conflict.
  assert.is((await t.api('PATCH', `/api/projects/${other.body.id}`, { key: 'BILL' })).status, 200)
})

test('numbers count per project, are distinct under concurrent creation and never reused', async () => {
  const a = (await createProject({ name: 'Alpha' })).body
  const b = (await createProject({ name: 'Beta' })).body
  const created = await Promise.all(Array.from({ length: 12 }, (_, i) => t.api('POST', `/api/projects/${a.id}/tickets`, { title: `a${i}` })))
  for (const res of created) assert.is(res.status, 201, JSON.stringify(res.body))
  assert.equal(created.map((res) => res.body.number).sort((x: number, y: number) => x - y), Array.from({ length: 12 }, (_, i) => i + 1))
  assert.ok(created.every((res) => res.body.project_key === a.key), 'tickets carry their project key')
  const first = await t.api('POST', `/api/projects/${b.id}/tickets`, { title: 'b' })
  assert.is(first.body.number, 1, "another project's first ticket is number 1")
  const last = created.find((res) => res.body.number === 12)!.body
  assert.is((await t.api('DELETE', `/api/projects/${a.id}/tickets/${last.id}`)).status, 204)
  const next = await t.api('POST', `/api/projects/${a.id}/tickets`, { title: 'after delete' })
  assert.is(next.body.number, 13, 'a deleted ticket’s number is not given out again')
})

test('010 backfills a database made before it: keys from names, numbers in id order', async () => {
  const url = await createDatabase(await clusterUrl())
  const before = join(temp, 'before')
  const all = readdirSync(join(ROOT, 'sql')).filter((name) => /^\d+_.+\.sql$/.test(name)).sort()
  const older = all.filter((name) => name < '010_')
  mkdirSync(before, { recursive: true })
  for (const name of older) copyFileSync(join(ROOT, 'sql', name), join(before, name))
  const sql = postgres(url, { max: 1, onnotice: () => {} })
  await migrate(sql as never, before, createLogger('error'))
  const [p1] = await sql`insert into projects (name) values ('Online Shop') returning id`
  const [p2] = await sql`insert into projects (name) values ('online shop') returning id`
  const [p3] = await sql`insert into projects (name) values ('x') returning id`
  for (const [project, title] of [[p1, 'one'], [p2, 'other'], [p1, 'two'], [p1, 'three'], [p3, 'x1']] as const) {
    await sql`insert into tickets (project_id, title, column_id) values (${project!.id}, ${title}, 'backlog')`
  }
  await sql.end()

  const db = await openDatabase({ databaseUrl: url, dataDir: temp, poolSize: 2, migrationsDir: join(ROOT, 'sql'), log: createLogger('error') })
  try {
    const projects = await db.sql`select id, key, last_ticket_number from projects order by id`
    assert.equal(projects.map((row) => row.key), ['OS', 'OSAA', 'PRJ'])
    assert.equal(projects.map((row) => row.last_ticket_number), [3, 1, 1])
    const tickets = await db.sql`select title, number from tickets order by id`
    assert.equal(tickets.map((row) => `${row.title}:${row.number}`), ['one:1', 'other:1', 'two:2', 'three:3', 'x1:1'])
  } finally {
    await db.close()
  }
})

test.run()
