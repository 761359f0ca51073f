/**
 * One job event in the ticket's live log, rendered by its normalized kind (message, tool_call,
 * command, file_change, error, usage) or, for plain events, as its step and summary.
 */
import { css, html, nothing } from 'lit'
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

function body(entry: LogEvent) {
  const event = entry.event
  switch (event?.kind) {
    case 'message':
      return html`<div class="line top">${icons.message()}<div class="message">${event.text}</div></div>`
    case 'tool_call':
      return html`
        <div class="line">${icons.tool()}<b class="mono">${event.name}</b>
          <span class="badge ${TOOL_STATUS[event.status] ?? ''}">${event.status ?? 'started'}</span></div>
        ${event.input !== undefined ? html`<details><summary>Input</summary><pre class="block">${pretty(event.input)}</pre></details>` : nothing}
        ${event.output ? html`<details><summary>Output</summary><pre class="block">${event.output}</pre></details>` : nothing}`
    case 'command': {
      const failed = event.exit !== 0 && event.exit !== null && event.exit !== undefined
      const output = String(event.output ?? '')
      return html`
        <div class="line">${icons.terminal()}<code class="cmd">$ ${event.cmd}</code>
          ${event.exit === null || event.exit === undefined ? nothing : html`<span class="badge ${failed ? 'danger' : 'success'}">exit ${event.exit}</span>`}</div>
        ${output ? html`<details ?open=${failed || output.split('\n').length <= 6}><summary>Output</summary><pre class="block">${output}</pre></details>` : nothing}`
    }
    case 'file_change':
      return html`
        <div class="line">${icons.file()}<code>${event.path}</code><span class="badge ${CHANGE[event.change] ?? ''}">${event.change}</span></div>
        ${event.diff ? diffView(String(event.diff)) : nothing}`
    case 'error':
      return html`<div class="alert error">${icons.alert()}<span class="grow pre">${event.message}</span></div>`
    case 'usage':
      return html`<div class="line faint">${icons.coins()}<span>${usageText(event)}</span></div>`
  }
  return html`
    <div class="line"><span class="badge">${entry.step}</span><span class="summary">${entry.summary}</span></div>
    ${event ? html`<details><summary>Event</summary><pre class="block">${pretty(event)}</pre></details>` : nothing}
    ${entry.raw_output ? html`<details><summary>Output</summary><pre class="block">${entry.raw_output}</pre></details>` : nothing}`
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
  .block { margin: 6px 0 0; padding: 8px 10px; background: var(--surface-2); border-radius: 7px; font: 12px/1.5 var(--mono); white-space: pre-wrap; overflow-wrap: anywhere; max-height: 320px; overflow: auto; }
  .entry.error .alert { padding: 8px 10px; }
`]
