/**
 * One job event in the ticket's live log, rendered by its normalized kind (message, tool_call,
 * command, file_change, error, usage) or, for plain events, as its step and summary (URLs as
 * links). Raw payloads (a tool's input and output, an event's JSON, a step's output) are folded
 * behind one "Details" disclosure.
 */
import { css, html, nothing } from 'lit'
import { linkify } from './linkify.ts'
import { diffStyles, diffView } from './diff-view.ts'
import { clock, usageText } from './format.ts'
import { icons } from './icons.ts'

export interface LogEvent {
  seq: number
  job_id: number
  created_at: string
  step: string
  summary: string
  raw_output?: string | null
  event: Record<string, any> | null
}

const TOOL_STATUS: Record<string, string> = { ok: 'success', error: 'danger', denied: 'warning', started: 'accent' }
const CHANGE: Record<string, string> = { add: 'success', modify: 'accent', delete: 'danger' }

function pretty(value: unknown): string {
  if (typeof value === 'string') return value
  try {
    return JSON.stringify(value, null, 2)
  } catch {
    return String(value)
  }
}

/**
 * The log's rows: a tool call's `started` event and its final one (same job, name and input; the
 * workers' events carry no call id) become one row, keyed by the started event's seq, so the row
 * updates in place when the call ends.
 */
export function foldToolCalls(events: LogEvent[]): LogEvent[] {
  const rows: LogEvent[] = []
  const open = new Map<string, number>()
  for (const entry of events) {
    const event = entry.event
    if (event?.kind !== 'tool_call') {
      rows.push(entry)
      continue
    }
    const key = `${entry.job_id} ${event.name} ${JSON.stringify(event.input ?? null)}`
    const started = open.get(key)
    if (event.status === 'started' || started === undefined) {
      if (event.status === 'started') open.set(key, rows.length)
      rows.push(entry)
      continue
    }
    open.delete(key)
    rows[started] = { ...entry, seq: rows[started]!.seq, created_at: rows[started]!.created_at }
  }
  return rows
}

function details(parts: { label: string; text: string }[], open = false) {
  const shown = parts.filter((part) => part.text)
  if (!shown.length) return nothing
  return html`<details ?open=${open}><summary>Details</summary>${shown.map((part) => html`
    ${shown.length > 1 ? html`<div class="part">${part.label}</div>` : nothing}<pre class="block">${part.text}</pre>`)}</details>`
}

function body(entry: LogEvent) {
  const event = entry.event
  switch (event?.kind) {
    case 'message':
      return html`<div class="line top">${icons.message()}<div class="message">${linkify(String(event.text ?? ''))}</div></div>`
    case 'tool_call':
      return html`
        <div class="line">${icons.tool()}<b class="mono">${event.name}</b>
          <span class="badge ${TOOL_STATUS[event.status] ?? ''}">${event.status === 'started' || !event.status ? html`<span class="spinner"></span> running` : event.status}</span></div>
        ${details([{ label: 'Input', text: event.input === undefined ? '' : pretty(event.input) }, { label: 'Output', text: String(event.output ?? '') }])}`
    case 'command': {
      const failed = event.exit !== 0 && event.exit !== null && event.exit !== undefined
      const output = String(event.output ?? '')
      return html`
        <div class="line">${icons.terminal()}<code class="cmd">$ ${event.cmd}</code>
          ${event.exit === null || event.exit === undefined ? nothing : html`<span class="badge ${failed ? 'danger' : 'success'}">exit ${event.exit}</span>`}</div>
        ${details([{ label: 'Output', text: output }], failed)}`
    }
    case 'file_change':
      return html`
        <div class="line">${icons.file()}<code>${event.path}</code><span class="badge ${CHANGE[event.change] ?? ''}">${event.change}</span></div>
        ${event.diff ? diffView(String(event.diff)) : nothing}`
    case 'error':
      return html`<div class="alert error">${icons.alert()}<span class="grow pre">${linkify(String(event.message ?? ''))}</span></div>`
    case 'usage':
      return html`<div class="line faint">${icons.coins()}<span>${usageText(event)}</span></div>`
  }
  return html`
    <div class="line"><span class="badge">${entry.step}</span><span class="summary">${linkify(entry.summary)}</span></div>
    ${details([{ label: 'Output', text: entry.raw_output ?? '' }, { label: 'Event', text: event ? pretty(event) : '' }])}`
}

export function logEntry(entry: LogEvent) {
  const kind = entry.event?.kind ?? 'step'
  return html`<li class="entry ${kind}" data-seq=${entry.seq}>
    <time datetime=${entry.created_at}>${clock(entry.created_at)}</time>
    <div class="content">${body(entry)}</div>
  </li>`
}

export const logStyles = [diffStyles, css`
  .entry { display: grid; grid-template-columns: 64px 1fr; gap: 10px; padding: 7px 0; border-bottom: 1px solid var(--border); }
  .entry:last-child { border-bottom: 0; }
  time { font: 11px/20px var(--mono); color: var(--text-3); }
  .content { min-width: 0; display: grid; gap: 6px; }
  .line { display: flex; align-items: center; gap: 7px; min-height: 20px; flex-wrap: wrap; }
  .line > svg { width: 15px; height: 15px; color: var(--text-3); flex: none; }
  .line.top { align-items: flex-start; flex-wrap: nowrap; }
  .line.top > svg { margin-top: 2px; color: var(--accent); }
  .message { white-space: pre-wrap; overflow-wrap: anywhere; line-height: 1.5; }
  .summary { overflow-wrap: anywhere; }
  .cmd { white-space: pre-wrap; overflow-wrap: anywhere; }
  .pre { white-space: pre-wrap; overflow-wrap: anywhere; }
  details summary { cursor: pointer; font-size: 12px; color: var(--text-2); }
  details .part { margin-top: 6px; font-size: 11px; color: var(--text-3); text-transform: uppercase; letter-spacing: .04em; }
  .badge .spinner { width: 10px; height: 10px; }
  .block { margin: 6px 0 0; padding: 8px 10px; background: var(--surface-2); border-radius: 7px; font: 12px/1.5 var(--mono); white-space: pre-wrap; overflow-wrap: anywhere; max-height: 320px; overflow: auto; }
  .entry.error .alert { padding: 8px 10px; }
`]
