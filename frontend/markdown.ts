/**
 * A small Markdown subset rendered as Lit templates (DOM the UI builds, never `innerHTML`):
 * paragraphs, headings, block quotes, lists, fenced code, code spans, emphasis, links and bare
 * URLs. Links are made for http(s) URLs only; anything else (`javascript:`, `data:`, relative) stays
 * text. Raw HTML is shown as the text it is; HTML comments (GitHub hides them too, and the app's
 * reply marker is one) are dropped.
 *
 * The elements this can create: p, h3–h6, blockquote, ul, ol, li, pre, code, em, strong, a, hr;
 * the only attributes: `href` (http/https), `target`, `rel` on links.
 */
import { css, html, nothing, type TemplateResult } from 'lit'
import { link, linkify, safeHref, type Part } from './linkify.ts'

/** Link text longer than this is not looked for: an unmatched `[` costs at most this much scanning. */
const LINK_TEXT_MAX = 1000

/** The index of the `]` closing the `[` at `open`, counting nested brackets; -1 when none within LINK_TEXT_MAX. */
function closingBracket(text: string, open: number): number {
  let depth = 0
  const end = Math.min(text.length, open + LINK_TEXT_MAX)
  for (let i = open; i < end; i++) {
    const c = text[i]
    if (c === '\\') i++
    else if (c === '[') depth++
    else if (c === ']' && --depth === 0) return i
  }
  return -1
}

/** Inline Markdown: code spans, `**strong**`, `*em*` / `_em_`, `[text](url)`, images as links, bare URLs. */
export function inline(text: string, depth = 0): Part[] {
  const out: Part[] = []
  let plain = ''
  const flush = () => {
    if (plain) out.push(...linkify(plain))
    plain = ''
  }
  let i = 0
  while (i < text.length) {
    const c = text[i]!
    const rest = text.slice(i)
    if (c === '\\' && i + 1 < text.length && /[!-/:-@[-`{-~]/.test(text[i + 1]!)) {
      // Any ASCII punctuation may be escaped (CommonMark).
      plain += text[i + 1]
      i += 2
      continue
    }
    if (c === '`') {
      const ticks = /^`+/.exec(rest)![0]
      const end = text.indexOf(ticks, i + ticks.length)
      if (end !== -1) {
        flush()
        out.push(html`<code>${text.slice(i + ticks.length, end).trim() || text.slice(i + ticks.length, end)}</code>`)
        i = end + ticks.length
        continue
      }
      plain += ticks
      i += ticks.length
      continue
    }
    // `_` and `__` emphasise only at word edges: snake_case and __dunder__ names stay text.
    const wordEdge = (at: number) => !/\w/.test(text[at] ?? '')
    if (depth < 8 && (rest.startsWith('**') || (rest.startsWith('__') && wordEdge(i - 1)))) {
      const end = text.indexOf(rest.slice(0, 2), i + 2)
      if (end > i + 2 && (c === '*' || wordEdge(end + 2))) {
        flush()
        out.push(html`<strong>${inline(text.slice(i + 2, end), depth + 1)}</strong>`)
        i = end + 2
        continue
      }
    }
    if (depth < 8 && (c === '*' || (c === '_' && wordEdge(i - 1))) && text[i + 1] && !/\s/.test(text[i + 1]!)) {
      const end = text.indexOf(c, i + 1)
      if (end > i + 1 && !/\s/.test(text[end - 1]!) && (c === '*' || wordEdge(end + 1))) {
        flush()
        out.push(html`<em>${inline(text.slice(i + 1, end), depth + 1)}</em>`)
        i = end + 1
        continue
      }
    }
    const image = c === '!' && text[i + 1] === '['
    if (c === '[' || image) {
      const open = image ? i + 1 : i
      const close = closingBracket(text, open)
      const target = close !== -1 && text[close + 1] === '(' ? /^\(\s*([^\s()]+(?:\([^\s()]*\))?[^\s()]*)(?:\s+"[^"]*")?\s*\)/.exec(text.slice(close + 1)) : null
      if (target) {
        const label = text.slice(open + 1, close)
        const href = safeHref(target[1]!)
        flush()
        if (href) out.push(link(href, image ? (label || href) : inline(label, depth + 1)))
        else out.push(...(image ? [label] : inline(label, depth + 1)))
        i = close + 1 + target[0].length
        continue
      }
    }
    plain += c
    i++
  }
  flush()
  return out
}

interface ListItem {
  lines: string[]
}

const FENCE = /^ {0,3}(`{3,}|~{3,})/
const HEADING = /^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$/
const QUOTE = /^ {0,3}> ?/
const BULLET = /^ {0,3}([-*+]|\d{1,9}[.)])\s+/
const RULE = /^ {0,3}([-*_])(\s*\1){2,}\s*$/

function heading(level: number, content: Part[]): TemplateResult {
  // Headings inside a comment stay below the page's own (h1/h2 are the app's).
  switch (Math.min(6, level + 2)) {
    case 3: return html`<h3>${content}</h3>`
    case 4: return html`<h4>${content}</h4>`
    case 5: return html`<h5>${content}</h5>`
    default: return html`<h6>${content}</h6>`
  }
}

/** Block Markdown over lines; `depth` bounds nesting (quotes and lists inside each other). */
function blocks(lines: string[], depth: number): TemplateResult[] {
  const out: TemplateResult[] = []
  let i = 0
  while (i < lines.length) {
    const line = lines[i]!
    if (!line.trim()) {
      i++
      continue
    }
    const fence = FENCE.exec(line)
    if (fence) {
      const body: string[] = []
      i++
      while (i < lines.length && !lines[i]!.trimStart().startsWith(fence[1]!)) body.push(lines[i++]!)
      i++
      out.push(html`<pre><code>${body.join('\n')}</code></pre>`)
      continue
    }
    const head = HEADING.exec(line)
    if (head) {
      out.push(heading(head[1]!.length, inline(head[2]!)))
      i++
      continue
    }
    if (RULE.test(line)) {
      out.push(html`<hr>`)
      i++
      continue
    }
    if (QUOTE.test(line)) {
      const quoted: string[] = []
      while (i < lines.length && QUOTE.test(lines[i]!)) quoted.push(lines[i++]!.replace(QUOTE, ''))
      out.push(depth < 6 ? html`<blockquote>${blocks(quoted, depth + 1)}</blockquote>` : html`<blockquote>${quoted.join('\n')}</blockquote>`)
      continue
    }
    const bullet = BULLET.exec(line)
    if (bullet) {
      const ordered = /\d/.test(bullet[1]!)
      const items: ListItem[] = []
      while (i < lines.length) {
        const current = lines[i]!
        const next = BULLET.exec(current)
        if (next && /\d/.test(next[1]!) === ordered) items.push({ lines: [current.slice(next[0].length)] })
        else if (current.trim() && /^\s/.test(current) && items.length) items[items.length - 1]!.lines.push(current.replace(/^\s{1,4}/, ''))
        else if (!current.trim() && i + 1 < lines.length && /^\s/.test(lines[i + 1]!) && items.length) items[items.length - 1]!.lines.push('')
        else break
        i++
      }
      const li = items.map((item) => html`<li>${depth < 6 && item.lines.length > 1 ? blocks(item.lines, depth + 1) : inline(item.lines.join('\n'))}</li>`)
      out.push(ordered ? html`<ol>${li}</ol>` : html`<ul>${li}</ul>`)
      continue
    }
    const para: string[] = []
    while (i < lines.length && lines[i]!.trim() && !FENCE.test(lines[i]!) && !HEADING.test(lines[i]!) && !QUOTE.test(lines[i]!) && !BULLET.test(lines[i]!)) {
      para.push(lines[i++]!.trim())
    }
    out.push(html`<p>${inline(para.join('\n'))}</p>`)
  }
  return out
}

/** Renders `source` (a PR comment, a summary) as Lit templates; nothing for an empty text. */
export function markdown(source: string): TemplateResult | typeof nothing {
  const text = source.replace(/<!--[\s\S]*?(-->|$)/g, '').replace(/\r\n?/g, '\n')
  if (!text.trim()) return nothing
  return html`${blocks(text.split('\n'), 0)}`
}

/** Styles for a container of rendered Markdown (class `md`). */
export const markdownStyles = css`
  .md > :first-child { margin-top: 0; }
  .md > :last-child { margin-bottom: 0; }
  .md p, .md ul, .md ol, .md pre, .md blockquote { margin: 0 0 8px; }
  .md ul, .md ol { padding-left: 20px; }
  .md h3, .md h4, .md h5, .md h6 { font-size: 13px; margin: 10px 0 6px; }
  .md h3 { font-size: 15px; }
  .md h4 { font-size: 14px; }
  .md code { font: 12px/1.45 var(--mono); background: var(--surface-2); border-radius: 4px; padding: 1px 4px; }
  .md pre { background: var(--surface-2); border-radius: 7px; padding: 8px 10px; overflow: auto; }
  .md pre code { background: none; padding: 0; white-space: pre; }
  .md blockquote { border-left: 3px solid var(--border); padding-left: 10px; color: var(--text-2); }
  .md hr { border: 0; border-top: 1px solid var(--border); margin: 10px 0; }
  .md p { white-space: pre-line; }
`
