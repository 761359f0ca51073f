/** `<ta-review-panel>`: where PR review will live; the review API does not exist yet, so this says so. */
import { LitElement, css, html } from 'lit'
import { icons } from './icons.ts'
import { shared } from './styles.ts'
import type { Project } from './types.ts'

export class ReviewPanel extends LitElement {
  static override properties = { project: { attribute: false } }
  declare project: Project

  static override styles = [shared, css`
    :host { display: block; padding: 40px 24px; overflow: auto; }
    .empty { max-width: 560px; margin: 0 auto; background: var(--surface); border: 1px solid var(--border); border-radius: var(--radius-lg); }
    ul { text-align: left; margin: 4px 0 0; padding-left: 20px; color: var(--text-2); display: grid; gap: 4px; }
  `]

  override render() {
    return html`<div class="empty" role="status">
      ${icons.review()}
      <h3>Review automation not enabled</h3>
      <p>This server does not offer the review API yet. Once it does, this tab lists the project's pull requests and
        their review comments, lets you post a comment or merge, and every new comment on a PR becomes a review job
        that addresses it on the same branch.</p>
      <ul>
        <li>Pull requests opened by agents still appear on their tickets (the PR link).</li>
        <li>Comment on the PR on GitHub in the meantime.</li>
      </ul>
    </div>`
  }
}
customElements.define('ta-review-panel', ReviewPanel)
