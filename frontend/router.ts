/**
 * A tiny History API router. Paths are the app's URLs (the server answers index.html for any
 * non-API path, so reloads land on the same view). Views with unsaved work register a guard;
 * leaving is then confirmed first, for in-app links and the browser's back/forward alike.
 */
import { confirmDialog } from './confirm-dialog.ts'

export type RouteName = 'projects' | 'project' | 'jobs' | 'coordinators' | 'settings' | 'users' | 'tokens' | 'audit' | 'notifications' | 'not-found'
export type ProjectTab = 'board' | 'graph' | 'notes' | 'jobs' | 'review' | 'settings'

export interface Route {
  name: RouteName
  projectId?: number
  tab?: ProjectTab
  ticketId?: number
  path: string
}

const TABS: ProjectTab[] = ['board', 'graph', 'notes', 'jobs', 'review', 'settings']
/** Pages with a one-segment path: `/jobs`, `/settings`, … */
const PAGES: RouteName[] = ['jobs', 'coordinators', 'settings', 'users', 'tokens', 'audit', 'notifications']

export function parse(path: string): Route {
  const parts = path.replace(/\/+$/, '').split('/').filter(Boolean)
  if (!parts.length) return { name: 'projects', path }
  if (parts.length === 1 && PAGES.includes(parts[0] as RouteName)) return { name: parts[0] as RouteName, path }
  if (parts[0] === 'projects' && /^\d+$/.test(parts[1] ?? '')) {
    const projectId = Number(parts[1])
    if (parts.length === 2) return { name: 'project', projectId, tab: 'board', path }
    if (parts[2] === 'tickets' && /^\d+$/.test(parts[3] ?? '') && parts.length === 4) {
      return { name: 'project', projectId, tab: 'board', ticketId: Number(parts[3]), path }
    }
    if (parts.length === 3 && TABS.includes(parts[2] as ProjectTab)) return { name: 'project', projectId, tab: parts[2] as ProjectTab, path }
  }
  return { name: 'not-found', path }
}

/** A guard returns a message when leaving would lose work, or null. */
type Guard = () => string | null

const guards = new Set<Guard>()
const listeners = new Set<(route: Route) => void>()
let current = parse(location.pathname)

export const currentRoute = (): Route => current

export function onRoute(listener: (route: Route) => void): () => void {
  listeners.add(listener)
  return () => listeners.delete(listener)
}

export function addGuard(guard: Guard): () => void {
  guards.add(guard)
  return () => guards.delete(guard)
}

async function mayLeave(): Promise<boolean> {
  for (const guard of guards) {
    const message = guard()
    if (message && !(await confirmDialog({ title: 'Leave without saving?', message, confirm: 'Discard changes', danger: true }))) return false
  }
  return true
}

function emit(): void {
  current = parse(location.pathname)
  for (const listener of listeners) listener(current)
}

/** Goes to `path`; resolves false when a guard kept the person on the page. */
export async function navigate(path: string, options: { replace?: boolean } = {}): Promise<boolean> {
  if (path === location.pathname + location.search) return true
  if (!(await mayLeave())) return false
  if (options.replace) history.replaceState(null, '', path)
  else history.pushState(null, '', path)
  emit()
  return true
}

/** Same page, another URL (a drawer opened or closed) without consulting guards. */
export function replaceQuietly(path: string, push = true): void {
  if (push) history.pushState(null, '', path)
  else history.replaceState(null, '', path)
  emit()
}

window.addEventListener('popstate', async () => {
  const target = location.pathname
  if (guards.size && parse(target).path !== current.path) {
    // Put the old URL back while asking; go to the target only when the person agrees.
    history.pushState(null, '', current.path)
    if (!(await mayLeave())) return
    history.replaceState(null, '', target)
  }
  emit()
})

window.addEventListener('beforeunload', (event) => {
  for (const guard of guards) {
    if (guard()) {
      event.preventDefault()
      event.returnValue = ''
      return
    }
  }
})

/** Follows same-origin `<a href="/…">` clicks in any shadow root through the router. */
document.addEventListener('click', (event) => {
  if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return
  const anchor = event.composedPath().find((node): node is HTMLAnchorElement => node instanceof HTMLAnchorElement)
  if (!anchor || anchor.target || anchor.hasAttribute('download') || anchor.origin !== location.origin) return
  if (anchor.pathname.startsWith('/api/')) return
  event.preventDefault()
  // The hash stays: a page may show what it names (`/settings#s-GITHUB_TOKEN`).
  void navigate(anchor.pathname + anchor.search + anchor.hash)
})
