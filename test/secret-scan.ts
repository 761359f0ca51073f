/**
 * The check that ends every agent suite: no secret the suite configured, and no credential the app
 * issues (job tokens `tj1.…`, `tco_`/`twk_`/`tpa_` tokens), is stored anywhere the suite can see.
 *
 * Scanned: every text, character, JSON and array column of every table of the app's database
 * (columns discovered from information_schema, so a table added later is scanned too), every pull
 * request title and body, comment, review comment and review on the fake GitHub, and the captured
 * logs (the app's, the coordinator's, the agent's output). Nothing is excluded: secret settings are
 * stored as AES-GCM ciphertext in base64 and credentials the app issues are stored as hashes, so
 * neither can hold a clear value; a match anywhere is a leak.
 */
import type { Sql } from '../core/db/index.ts'
import type { World } from './bench/agent-harness.ts'
import type { GithubState } from './fixtures/fake-github.ts'
import type { TestApp } from './helpers.ts'

/** Shapes of the credentials the app issues; none is ever stored in clear. */
const ISSUED_CREDENTIAL = /tj1\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}|(?:tco|twk|tpa)_[A-Za-z0-9_-]{20,}/

export interface SecretScanInput {
  /** The app's database (the test app's `app.ctx.sql`). */
  sql?: Sql
  /** The fake GitHub's state (or several). */
  github?: GithubState | GithubState[]
  /** Captured logs and outputs, by name (e.g. `app log`, `agent stdout`). */
  logs?: Record<string, string | string[]>
  /** Every secret the suite configured, by name (`forge token`, `worker key`, …). */
  secrets: Record<string, string | undefined>
  /**
   * Text a person wrote holding a secret on purpose (a ticket description that tries a leak): the
   * person's own text, and its verbatim copies, are not findings; anything else is.
   */
  allowed?: string[]
}

export interface ScanOptions {
  /** More secrets, by name. */
  extra?: Record<string, string | undefined>
  allowed?: string[]
}

/** Where each secret or issued credential was found: `<where>: <secret name>`; empty when clean. */
export async function findStoredSecrets(input: SecretScanInput): Promise<string[]> {
  const secrets = Object.entries(input.secrets).filter((entry): entry is [string, string] => typeof entry[1] === 'string' && entry[1].length >= 4)
  const findings: string[] = []
  const allowed = (input.allowed ?? []).filter(Boolean)
  const check = (where: string, stored: string | null | undefined) => {
    if (!stored) return
    const text = allowed.reduce((rest, person) => rest.split(person).join(''), stored)
    for (const [name, value] of secrets) if (text.includes(value)) findings.push(`${where}: ${name}`)
    const issued = ISSUED_CREDENTIAL.exec(text)
    if (issued) findings.push(`${where}: an issued credential (${issued[0].slice(0, 6)}…)`)
  }
  if (input.sql) await scanDatabase(input.sql, check)
  for (const state of [input.github ?? []].flat()) scanGithub(state, check)
  for (const [name, text] of Object.entries(input.logs ?? {})) {
    const lines = [text].flat().join('\n').split('\n')
    lines.forEach((line, index) => check(`${name} line ${index + 1}`, line))
  }
  return findings
}

/** Fails (throws) naming every place a secret was found. */
export async function assertNoStoredSecrets(input: SecretScanInput): Promise<void> {
  const findings = await findStoredSecrets(input)
  if (findings.length) throw new Error(`secrets stored where they must never be:\n  ${findings.slice(0, 50).join('\n  ')}${findings.length > 50 ? `\n  … and ${findings.length - 50} more` : ''}`)
}

const TEXT_TYPES = ['text', 'character varying', 'character', 'json', 'jsonb', 'ARRAY', 'USER-DEFINED']

async function scanDatabase(sql: Sql, check: (where: string, text: string | null) => void): Promise<void> {
  const columns = await sql<{ table_name: string; column_name: string; data_type: string }[]>`
    select c.table_name, c.column_name, c.data_type
    from information_schema.columns c
    join information_schema.tables t on t.table_schema = c.table_schema and t.table_name = c.table_name
    where c.table_schema = current_schema() and t.table_type = 'BASE TABLE'
    order by c.table_name, c.ordinal_position`
  const tables = new Map<string, { all: string[]; text: string[] }>()
  for (const column of columns) {
    const table = tables.get(column.table_name) ?? { all: [], text: [] }
    table.all.push(column.column_name)
    if (TEXT_TYPES.includes(column.data_type)) table.text.push(column.column_name)
    tables.set(column.table_name, table)
  }
  const quote = (name: string) => `"${name.replace(/"/g, '""')}"`
  for (const [table, { all, text }] of tables) {
    if (!text.length) continue
    // Rows are named by their `id` (or their first column) so a finding points at the row.
    const key = all.includes('id') ? 'id' : all[0]!
    const selected = [`${quote(key)}::text as "row key"`, ...text.map((column) => `${quote(column)}::text as ${quote(column)}`)]
    const rows = await sql.unsafe(`select ${selected.join(', ')} from ${quote(table)}`) as unknown as Record<string, string | null>[]
    for (const row of rows) {
      for (const column of text) check(`table ${table}, column ${column}, row ${key}=${row['row key']}`, row[column] ?? null)
    }
  }
}

function scanGithub(state: GithubState, check: (where: string, text: string | null) => void): void {
  for (const repo of state.repos.values()) {
    const name = `${repo.owner}/${repo.name}`
    for (const pull of repo.pulls) {
      check(`GitHub ${name} PR #${pull.number} title`, pull.title)
      check(`GitHub ${name} PR #${pull.number} body`, pull.body)
      check(`GitHub ${name} PR #${pull.number} head branch`, pull.head.ref)
    }
    for (const comment of repo.comments) check(`GitHub ${name} #${comment.issue_number} comment ${comment.id}`, comment.body)
    for (const comment of repo.reviewComments) check(`GitHub ${name} PR #${comment.pull_number} review comment ${comment.id}`, comment.body)
    for (const review of repo.reviews) check(`GitHub ${name} PR #${review.pull_number} review ${review.id}`, review.body)
  }
}

/**
 * The scan of an agent-suite world (test/bench/agent-harness.ts): its database, its fake GitHub,
 * the app's log, the output of every agent it ran and the given logs (coordinator, containers), for
 * every secret the world configured plus `options.extra`.
 */
export function assertWorldClean(world: World, logs: Record<string, string | string[]> = {}, { extra = {}, allowed = [] }: ScanOptions = {}): Promise<void> {
  const { secrets } = world
  return assertNoStoredSecrets({
    sql: world.t.app.ctx.sql,
    github: world.gh.state,
    logs: { 'app log': world.t.logs, 'agent output': world.agentOutput, ...logs },
    secrets: {
      'forge token (GITHUB_TOKEN)': secrets.githubToken,
      'worker LLM key (WORKER_API_KEY)': secrets.workerKey,
      'Director key (AGENT_API_KEY)': secrets.directorKey,
      'worker key (TERARCHITECT_WORKER_API_KEY)': secrets.workerApiKey,
      'admin token (TERARCHITECT_ADMIN_TOKEN)': secrets.adminToken,
      'webhook secret (GITHUB_WEBHOOK_SECRET)': secrets.webhookSecret,
      'embedding key (EMBEDDING_API_KEY)': secrets.embeddingKey,
      ...extra,
    },
    allowed,
  })
}

/**
 * The scan of a coordinator suite's app (test/coordinator-fixtures.ts): its database, the app's log
 * and the coordinators' logs, for the app's secret settings, its worker key and `options.extra`.
 */
export function assertAppClean(app: TestApp & { secrets: Record<string, string> }, logs: Record<string, string | string[]> = {}, { extra = {}, allowed = [] }: ScanOptions = {}): Promise<void> {
  return assertNoStoredSecrets({ sql: app.app.ctx.sql, logs: { 'app log': app.logs, ...logs }, secrets: { ...app.secrets, ...extra }, allowed })
}
