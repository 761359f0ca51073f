/**
 * Plain text with its http(s) URLs as links (job log lines, summaries), and the link rules
 * markdown.ts shares: only absolute http(s) URLs become links, opened in a new tab without opener.
 * Its own module so the job log does not load the Markdown renderer.
 */
import { html, type TemplateResult } from 'lit'

export type Part = TemplateResult | string

/** `href` when `raw` is an absolute http(s) URL, else null. */
export function safeHref(raw: string): string | null {
  try {
    const url = new URL(raw.trim())
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : null
  } catch {
    return null
  }
}

export const link = (href: string, label: Part[] | string) => html`<a href=${href} target="_blank" rel="noopener noreferrer">${label}</a>`

// A bare URL ends before whitespace, `<`, or closing punctuation that ends a sentence.
const BARE_URL = /https?:\/\/[^\s<>"'`]+/g

/** Plain text with its http(s) URLs as links (job log lines, summaries). */
export function linkify(text: string): Part[] {
  const out: Part[] = []
  let at = 0
  for (const match of text.matchAll(BARE_URL)) {
    let url = match[0]
    while (/[.,;:!?)\]}]$/.test(url) && !(url.endsWith(')') && url.includes('('))) url = url.slice(0, -1)
    const start = match.index!
    const href = safeHref(url)
    if (!href) continue
    if (start > at) out.push(text.slice(at, start))
    out.push(link(href, url))
    at = start + url.length
  }
  if (at < text.length) out.push(text.slice(at))
  return out
}
