/**
 * Live updates: one EventSource per feed (a project, or everything), shared by every view that
 * listens to it and closed when the last one leaves. EventSource reconnects by itself and sends
 * `Last-Event-ID`, so the server replays what a dropped connection missed, in order.
 *
 * The stream authenticates with the session cookie. A stream the server refuses (401 after a
 * logout, a revoked session) ends in the CLOSED state without saying why; the shell is then asked
 * (`onStreamRefused`) and may stop every feed (`stopLive`) and show the sign-in page.
 */

export const EVENT_TYPES = [
  'project.created', 'project.updated', 'project.deleted', 'graph.updated', 'board.updated',
  'ticket.created', 'ticket.updated', 'ticket.deleted', 'job.updated', 'log',
  'note.created', 'note.updated', 'note.deleted', 'settings.updated', 'pr.updated', 'ci.updated',
] as const
export type EventType = (typeof EVENT_TYPES)[number]
export type LiveListener = (type: EventType, data: any) => void
export type LiveState = 'connecting' | 'open' | 'reconnecting'

interface Feed {
  source: EventSource | null
  listeners: Set<LiveListener>
  state: LiveState
  opened: Promise<void>
  lastId: string
}

const feeds = new Map<string, Feed>()
const stateListeners = new Set<(state: LiveState) => void>()
let refused: () => void = () => {}

function open(key: string, projectId: number | null): Feed {
  let markOpen!: () => void
  const feed: Feed = {
    source: null, listeners: new Set(), state: 'connecting', lastId: '',
    opened: new Promise((resolve) => (markOpen = resolve)),
  }
  const setState = (state: LiveState) => {
    feed.state = state
    for (const listener of stateListeners) listener(state)
  }
  const connect = () => {
    const query = new URLSearchParams()
    if (projectId !== null) query.set('project_id', String(projectId))
    // A fresh EventSource (after the browser gave up) resumes through the query instead of the header.
    if (feed.lastId) query.set('last_event_id', feed.lastId)
    const source = new EventSource(`/api/events${String(query) ? `?${query}` : ''}`)
    feed.source = source
    source.addEventListener('open', () => {
      markOpen()
      setState('open')
    })
    source.addEventListener('error', () => {
      setState('reconnecting')
      // The browser retries by itself unless the answer was not an event stream (CLOSED).
      if (source.readyState === EventSource.CLOSED && feeds.get(key) === feed) {
        refused()
        setTimeout(() => feeds.get(key) === feed && connect(), 5000)
      }
    })
    for (const type of EVENT_TYPES) {
      source.addEventListener(type, (message) => {
        const event = message as MessageEvent<string>
        if (event.lastEventId) feed.lastId = event.lastEventId
        let data: unknown
        try {
          data = JSON.parse(event.data)
        } catch {
          return
        }
        for (const listener of feed.listeners) listener(type, data)
      })
    }
  }
  feeds.set(key, feed)
  connect()
  return feed
}

/**
 * Listens to a project's feed (`null`: every project). `ready` resolves once the stream is open,
 * after which no change is missed: load state after awaiting it and apply events on top.
 */
export function subscribe(projectId: number | null, listener: LiveListener): { ready: Promise<void>; close(): void } {
  const key = projectId === null ? '*' : String(projectId)
  const feed = feeds.get(key) ?? open(key, projectId)
  feed.listeners.add(listener)
  // Do not hold a page hostage to a stream that will not open (a proxy buffering SSE).
  const ready = Promise.race([feed.opened, new Promise<void>((resolve) => setTimeout(resolve, 1500))])
  return {
    ready,
    close() {
      feed.listeners.delete(listener)
      if (feed.listeners.size) return
      // Views swap often (tab changes); keep the stream a moment so the next view reuses it.
      setTimeout(() => {
        if (feed.listeners.size || feeds.get(key) !== feed) return
        feeds.delete(key)
        feed.source?.close()
      }, 2000)
    },
  }
}

/** Called when a stream was refused (not an event stream: often an ended session). */
export function onStreamRefused(handler: () => void): void {
  refused = handler
}

/** Closes every stream at once (signing out); views that subscribe later open fresh ones. */
export function stopLive(): void {
  const open = [...feeds.values()]
  feeds.clear()
  for (const feed of open) feed.source?.close()
  for (const listener of stateListeners) listener('connecting')
}

/** Connection state changes of any feed (for the "live" indicator). */
export function onLiveState(listener: (state: LiveState) => void): () => void {
  stateListeners.add(listener)
  return () => stateListeners.delete(listener)
}

export function liveState(): LiveState {
  const states = [...feeds.values()].map((feed) => feed.state)
  if (!states.length || states.includes('reconnecting')) return states.length ? 'reconnecting' : 'connecting'
  return states.every((state) => state === 'open') ? 'open' : 'connecting'
}
