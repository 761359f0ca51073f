/**
 * Accounts: people with a login, a role (viewer < member < admin) and optionally a password or
 * external identities (OIDC, GitHub). Users are disabled, never deleted, so the audit trail keeps
 * its actors. Disabling a user revokes their sessions and API tokens in the same transaction; the
 * last enabled admin can be neither demoted nor disabled.
 */
import type { AppContext } from '../context.ts'
import { write } from '../context.ts'
import type { Sql, TransactionSql } from '../db/index.ts'
import { AppError, badRequest, conflict, forbidden, notFound } from '../errors.ts'
import type { Role } from '../http/router.ts'
import { hashPassword } from './passwords.ts'
import { recordAudit, type Actor } from './audit.ts'
import { endSessionStreams } from './session-streams.ts'
import { deleteSetupCodes } from './setup-code.ts'

export interface User {
  id: number
  login: string
  display_name: string
  email: string | null
  role: Role
  disabled: boolean
  has_password: boolean
  created_at: string
}

const COLUMNS = `id, login, display_name, email, role, disabled, password_hash is not null as has_password, created_at`
/** Serializes changes that could leave no enabled admin (two admins demoting each other at once). */
const ADMIN_LOCK = 7_210_003
/** Serializes account creation that could be the first (setup and single sign-on): exactly one first admin. */
const FIRST_USER_LOCK = 7_210_004

/**
 * Takes the first-account lock for the caller's transaction and says whether accounts exist. Every
 * path that may create the first account (`POST /api/auth/setup`, a first single sign-on) holds it
 * from this check to its commit, so two of them never both see "no account yet".
 */
export async function lockFirstUser(tx: TransactionSql): Promise<{ usersExist: boolean }> {
  await tx`select pg_advisory_xact_lock(${FIRST_USER_LOCK})`
  return { usersExist: await anyUser(tx) }
}

export const LOGIN_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._@-]{0,99}$'

const present = new WeakMap<AppContext, { value: boolean; at: number }>()

/**
 * Whether any account exists. Once true it stays true (users are never deleted); false is
 * re-read at most every second, so a first user created on another replica is seen quickly.
 */
export async function usersExist(ctx: AppContext): Promise<boolean> {
  const cached = present.get(ctx)
  if (cached && (cached.value || Date.now() - cached.at < 1000)) return cached.value
  const value = await anyUser(ctx.sql)
  present.set(ctx, { value, at: Date.now() })
  return value
}

export async function listUsers(ctx: AppContext): Promise<User[]> {
  return (await ctx.sql.unsafe(`select ${COLUMNS} from users order by id`)) as unknown as User[]
}

export async function getUser(sql: Sql | TransactionSql, id: number): Promise<User> {
  const [row] = await sql.unsafe(`select ${COLUMNS} from users where id = $1`, [id])
  if (!row) throw notFound(`user ${id}`)
  return row as unknown as User
}

/** The account a login names (case-insensitive), with its password hash, or null. */
export async function findUserByLogin(sql: Sql | TransactionSql, login: string): Promise<(User & { password_hash: string | null }) | null> {
  const [row] = await sql.unsafe(`select ${COLUMNS}, password_hash from users where lower(login) = lower($1)`, [login])
  return (row as unknown as User & { password_hash: string | null }) ?? null
}

export interface UserCreate {
  login: string
  password?: string | undefined
  display_name?: string | undefined
  email?: string | null | undefined
  role: Role
}

/** A new account with its password already hashed (`hashNewUser`), ready for `insertUser`. */
export interface NewUser extends Omit<UserCreate, 'password'> {
  password_hash: string | null
}

/**
 * Hashes a new account's password. Call it before opening the transaction that inserts the
 * account: a hash is ≈50 ms of scrypt, and a transaction holds its connection meanwhile (the
 * embedded database has only one, so every other request would wait on it).
 */
export async function hashNewUser(input: UserCreate): Promise<NewUser> {
  const { password, ...rest } = input
  return { ...rest, password_hash: password === undefined ? null : await hashPassword(password) }
}

/** Inserts a user in the caller's transaction; a taken login (any case) is a 409 naming it. */
export async function insertUser(ctx: AppContext, tx: TransactionSql, input: NewUser, actor: Actor): Promise<User> {
  const [taken] = await tx`select id from users where lower(login) = lower(${input.login})`
  if (taken) throw conflict(`the login "${input.login}" is taken`, [{ path: '/body/login', message: 'already in use' }])
  const [row] = await tx`
    insert into users (login, display_name, email, role, password_hash)
    values (${input.login}, ${input.display_name ?? input.login}, ${input.email ?? null}, ${input.role}, ${input.password_hash})
    returning id`
  const user = await getUser(tx, row!.id as number)
  await recordAudit(tx, actor, { action: 'user.create', target: { type: 'user', id: user.id }, details: { login: user.login, role: user.role } })
  present.set(ctx, { value: true, at: Date.now() })
  return user
}

export async function createUser(ctx: AppContext, input: UserCreate, actor: Actor): Promise<User> {
  const user = await hashNewUser(input)
  return write(ctx, ({ tx }) => insertUser(ctx, tx, user, actor))
}

export interface UserPatch {
  display_name?: string | undefined
  email?: string | null | undefined
  role?: Role | undefined
  disabled?: boolean | undefined
  password?: string | undefined
}

/**
 * Applies an admin's change to a user. Disabling ends the user's sessions and API tokens; a new
 * password ends them too, except `keepSession` (the SHA-256 of the session that changed its own
 * user's password).
 */
export async function updateUser(ctx: AppContext, id: number, patch: UserPatch, actor: Actor, keepSession?: string): Promise<User> {
  const ended: string[] = []
  // Hashed before the transaction, which would hold its connection for the hash's ≈50 ms.
  const passwordHash = patch.password === undefined ? undefined : await hashPassword(patch.password)
  const user = await write(ctx, async ({ tx }) => {
    await tx`select pg_advisory_xact_lock(${ADMIN_LOCK})`
    const current = await getUser(tx, id)
    const losesAdmin = current.role === 'admin' && !current.disabled &&
      ((patch.role !== undefined && patch.role !== 'admin') || patch.disabled === true)
    if (losesAdmin) {
      const [{ n }] = (await tx`select count(*)::int as n from users where role = 'admin' and not disabled`) as unknown as [{ n: number }]
      if (n <= 1) {
        const field = patch.disabled === true ? '/body/disabled' : '/body/role'
        throw conflict('this is the last enabled admin: make another admin first', [{ path: field, message: 'would leave no enabled admin' }])
      }
    }
    const values: Record<string, unknown> = {}
    if (patch.display_name !== undefined) values.display_name = patch.display_name
    if (patch.email !== undefined) values.email = patch.email
    if (patch.role !== undefined) values.role = patch.role
    if (patch.disabled !== undefined) values.disabled = patch.disabled
    if (passwordHash !== undefined) values.password_hash = passwordHash
    if (Object.keys(values).length) await tx`update users set ${tx(values)}, updated_at = now() where id = ${id}`
    if (patch.disabled === true || patch.password !== undefined) {
      // A disabled user is out at once; a changed password ends what the old one may have let
      // someone else open: sessions and API tokens.
      const keep = patch.disabled === true ? null : keepSession ?? null
      const rows = await tx`update sessions set revoked = true
        where user_id = ${id} and not revoked and (${keep}::text is null or id_hash <> ${keep}::text) returning id_hash`
      ended.push(...rows.map((row) => row.id_hash as string))
      await tx`update api_tokens set revoked_at = now() where user_id = ${id} and revoked_at is null`
    }
    const changed = Object.keys(values).map((key) => (key === 'password_hash' ? 'password' : key))
    await recordAudit(tx, actor, { action: 'user.update', target: { type: 'user', id }, details: { login: current.login, changed, ...(patch.role ? { role: patch.role } : {}), ...(patch.disabled !== undefined ? { disabled: patch.disabled } : {}) } })
    return getUser(tx, id)
  })
  endSessionStreams(ended)
  return user
}

export interface ExternalIdentity {
  provider: string
  subject: string
  login: string
  displayName?: string | undefined
  email?: string | null | undefined
  role: Role
}

/**
 * The user an identity provider vouched for: found by (provider, subject), else created with the
 * given role and the wanted login (suffixed `-2`, `-3`, … when taken). A disabled user is refused
 * (403); an existing user keeps the role an admin gave them. Creation holds the first-account lock:
 * the first account must be an admin (403 otherwise, as the zero-setup admin disappears with it),
 * it races neither setup nor another first sign-in, and it ends the setup codes like setup does.
 */
export async function upsertExternalUser(ctx: AppContext, identity: ExternalIdentity): Promise<User> {
  if (!identity.provider || !identity.subject) throw badRequest('an external identity needs a provider and a subject')
  const user = await write(ctx, async ({ tx }) => {
    const [known] = await tx`select user_id from user_identities where provider = ${identity.provider} and subject = ${identity.subject}`
    if (known) return getUser(tx, known.user_id as number)
    const first = !(await lockFirstUser(tx)).usersExist
    if (first && identity.role !== 'admin') {
      throw forbidden(`no admin exists yet, and ${identity.login} would be a ${identity.role}: create the first admin first (or sign in first as a member of an admin group)`)
    }
    const [again] = await tx`select user_id from user_identities where provider = ${identity.provider} and subject = ${identity.subject}`
    if (again) return getUser(tx, again.user_id as number)
    if (first) await deleteSetupCodes(tx)
    const login = await freeLogin(tx, identity.login)
    const actor: Actor = { userId: null, label: identity.provider, address: null }
    const created = await insertUser(ctx, tx, { login, display_name: identity.displayName || login, email: identity.email ?? null, role: identity.role, password_hash: null }, actor)
    await tx`insert into user_identities (provider, subject, user_id) values (${identity.provider}, ${identity.subject}, ${created.id})`
    return created
  })
  if (user.disabled) throw forbidden(`the account "${user.login}" is disabled`)
  return user
}

async function freeLogin(tx: TransactionSql, wanted: string): Promise<string> {
  const base = (wanted.replace(/[^A-Za-z0-9._@-]/g, '-').replace(/^[^A-Za-z0-9]+/, '') || 'user').slice(0, 90)
  for (let n = 1; n < 1000; n++) {
    const login = n === 1 ? base : `${base}-${n}`
    const [taken] = await tx`select 1 from users where lower(login) = lower(${login})`
    if (!taken) return login
  }
  throw new AppError('login_exhausted', 409, `no free login near "${base}"`)
}

/** Whether any account exists, straight from the database (start-up checks, before a context exists). */
export async function anyUser(sql: Sql | TransactionSql): Promise<boolean> {
  const [row] = await sql`select exists (select 1 from users) as value`
  return Boolean(row!.value)
}
