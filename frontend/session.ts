/**
 * Who is using the UI: the answer of `GET /api/auth/me`, kept for every element, and what the role
 * allows. The server decides (it answers 401/403 whatever the UI shows); the UI only hides or
 * disables what would be refused and says why, so nobody clicks into a refusal.
 */
import { api } from './api.ts'
import { stopLive } from './live.ts'
import type { Role } from '../core/http/router.ts'

export type { Role }

export interface SessionUser {
  id: number
  login: string
  display_name: string
  role: Role
}

export interface Me {
  user: SessionUser | null
  /** The zero-setup local admin: a loopback request on a loopback bind, with no account needed. */
  local: boolean
  role: Role | null
  setup_required: boolean
  methods: { password: boolean; oidc: boolean; github: boolean }
}

const RANK: Record<Role, number> = { viewer: 0, member: 1, admin: 2 }

let me: Me | null = null
const listeners = new Set<(me: Me) => void>()

export const session = (): Me | null => me

/** The role of whoever uses the UI (the local admin counts as admin), or null when signed out. */
export function role(): Role | null {
  if (!me) return null
  return me.user?.role ?? me.role ?? (me.local ? 'admin' : null)
}

/** Reads `/api/auth/me` again and tells the listeners (the shell re-decides what to show). */
export async function loadSession(): Promise<Me> {
  me = await api.get<Me>('/api/auth/me')
  for (const listener of listeners) listener(me)
  return me
}

export function onSession(listener: (me: Me) => void): () => void {
  listeners.add(listener)
  return () => listeners.delete(listener)
}

/**
 * Why the current role may not `what` (a sentence for a tooltip or an inline note), or null when it
 * may. `denied('member', 'move tickets')` → "Viewers cannot move tickets".
 */
export function denied(need: Role, what: string): string | null {
  const current = role()
  if (current && RANK[current] >= RANK[need]) return null
  if (need === 'admin') return `Only admins can ${what}`
  return `Viewers cannot ${what}`
}

/** Ends the session: the live streams close first, then the server forgets the cookie. */
export async function signOut(): Promise<void> {
  stopLive()
  try {
    await api.post('/api/auth/logout')
  } finally {
    await loadSession()
  }
}

/** Whether the server let this browser in: an account, the local admin, or another credential it accepted. */
export const signedIn = (me: Me): boolean => Boolean(me.user || me.local || me.role)
