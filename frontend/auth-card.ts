/** The centred card the sign-in and first-admin pages share. */
import { css, html, type TemplateResult } from 'lit'
import { logo } from './icons.ts'

export const authCardStyles = css`
  :host { display: grid; place-items: center; min-height: 100%; padding: 40px 16px; background: var(--bg); }
  .card {
    width: min(400px, 100%); padding: 28px 28px 24px; background: var(--surface); border: 1px solid var(--border);
    border-radius: var(--radius-lg); box-shadow: var(--shadow-1);
  }
  .brand { display: flex; align-items: center; gap: 10px; font-weight: 650; font-size: 15px; margin-bottom: 20px; }
  .brand svg { width: 28px; height: 28px; }
  h1 { font-size: 20px; margin-bottom: 6px; }
  .lead { color: var(--text-2); margin-bottom: 18px; }
  .alert { margin-bottom: 14px; }
  .submit { width: 100%; height: 36px; margin-top: 4px; }
`

/** The card's frame: the product mark, a heading, a lead sentence, then the content. */
export function authCard(heading: string, lead: TemplateResult | string, content: TemplateResult): TemplateResult {
  return html`<div class="card">
    <div class="brand">${logo()} Terarchitect</div>
    <h1>${heading}</h1>
    <p class="lead">${lead}</p>
    ${content}
  </div>`
}
