/** Styles every component shares: controls, badges, dialogs' inner layout, spinners. Tokens live in index.html. */
import { css } from 'lit'

export const shared = css`
  :host { box-sizing: border-box; }
  *, *::before, *::after { box-sizing: inherit; }
  /* Inside <details> the inherited value is the UA's content-box (its content slot); fields fill their column regardless. */
  details * { box-sizing: border-box; }
  [hidden] { display: none !important; }
  h1, h2, h3, h4 { margin: 0; font-weight: 600; letter-spacing: -0.01em; }
  p { margin: 0; }
  a { color: var(--accent); text-decoration: none; }
  a:hover { text-decoration: underline; }
  code, .mono { font-family: var(--mono); font-size: 12.5px; }
  .muted { color: var(--text-2); }
  .faint { color: var(--text-3); }
  .sr-only { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }

  .btn {
    display: inline-flex; align-items: center; justify-content: center; gap: 6px;
    height: 32px; padding: 0 12px; border-radius: 7px; border: 1px solid var(--border-strong);
    background: var(--surface); color: var(--text); font: 500 13px/1 var(--font); cursor: pointer;
    white-space: nowrap; transition: background .12s, border-color .12s, box-shadow .12s; text-decoration: none;
  }
  .btn:hover { background: var(--surface-2); text-decoration: none; }
  .btn:focus-visible, .input:focus-visible, .card:focus-visible, .icon-btn:focus-visible, .tab:focus-visible { outline: none; box-shadow: var(--focus); }
  .btn:disabled, .btn[aria-disabled='true'] { opacity: .5; cursor: not-allowed; }
  .btn.primary { background: var(--accent); border-color: var(--accent); color: var(--accent-text); }
  .btn.primary:hover:not(:disabled) { background: var(--accent-hover); }
  .btn.danger { background: var(--danger); border-color: var(--danger); color: #fff; }
  .btn.danger-ghost { color: var(--danger); }
  .btn.ghost { border-color: transparent; background: transparent; }
  .btn.ghost:hover { background: var(--surface-2); }
  .btn.small { height: 26px; padding: 0 8px; font-size: 12px; border-radius: 6px; }
  .btn svg, .icon-btn svg { width: 16px; height: 16px; flex: none; }
  .icon-btn {
    display: inline-grid; place-items: center; width: 30px; height: 30px; border-radius: 7px; border: 0;
    background: transparent; color: var(--text-2); cursor: pointer; padding: 0;
  }
  .icon-btn:hover { background: var(--surface-2); color: var(--text); }
  .icon-btn:disabled { opacity: .4; cursor: not-allowed; }

  .field { display: grid; gap: 6px; margin-bottom: 14px; }
  .field > span:not(.hint):not(.field-error), .label { font-weight: 500; font-size: 13px; color: var(--text); }
  .hint { font-size: 12px; color: var(--text-3); }
  .input {
    width: 100%; height: 34px; padding: 0 10px; border-radius: 7px; border: 1px solid var(--border-strong);
    background: var(--surface); color: var(--text); font: 14px var(--font);
  }
  .input::placeholder { color: var(--text-3); opacity: .8; }
  textarea.input { height: auto; min-height: 84px; padding: 8px 10px; resize: vertical; line-height: 1.5; }
  select.input {
    appearance: none; padding-right: 30px; cursor: pointer;
    background: var(--surface) url("data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' width='12' height='12' viewBox='0 0 24 24' fill='none' stroke='%237a8394' stroke-width='2.5' stroke-linecap='round' stroke-linejoin='round'%3E%3Cpath d='m6 9 6 6 6-6'/%3E%3C/svg%3E") no-repeat right 10px center;
  }
  .input[aria-invalid='true'] { border-color: var(--danger); }
  .input:disabled { background: var(--surface-2); color: var(--text-3); cursor: not-allowed; }
  .field-error { color: var(--danger); font-size: 12.5px; display: flex; gap: 4px; align-items: flex-start; }

  .alert { display: flex; gap: 10px; align-items: flex-start; padding: 10px 12px; border-radius: var(--radius); font-size: 13px; border: 1px solid transparent; }
  .alert svg { width: 16px; height: 16px; flex: none; margin-top: 1px; }
  .alert.error { background: var(--danger-soft); color: var(--danger); border-color: color-mix(in srgb, var(--danger) 25%, transparent); }
  .alert.warning { background: var(--warning-soft); color: var(--warning); border-color: color-mix(in srgb, var(--warning) 25%, transparent); }
  .alert.success { background: var(--success-soft); color: var(--success); }
  .alert.info { background: var(--info-soft); color: var(--text-2); }
  .alert .grow { flex: 1; }

  .badge {
    display: inline-flex; align-items: center; gap: 5px; height: 20px; padding: 0 7px; border-radius: 999px;
    font-size: 11.5px; font-weight: 500; background: var(--surface-2); color: var(--text-2); white-space: nowrap;
  }
  .badge.accent { background: var(--accent-soft); color: var(--accent); }
  .badge.success { background: var(--success-soft); color: var(--success); }
  .badge.danger { background: var(--danger-soft); color: var(--danger); }
  .badge.warning { background: var(--warning-soft); color: var(--warning); }
  .dot { width: 7px; height: 7px; border-radius: 50%; background: currentColor; flex: none; }

  .spinner {
    width: 14px; height: 14px; border-radius: 50%; flex: none;
    border: 2px solid color-mix(in srgb, currentColor 25%, transparent); border-top-color: currentColor;
    animation: spin .8s linear infinite;
  }
  @keyframes spin { to { transform: rotate(360deg); } }
  @keyframes pulse { 0%, 100% { opacity: 1; } 50% { opacity: .45; } }
  @keyframes shimmer { 0% { background-position: -400px 0; } 100% { background-position: 400px 0; } }
  .skeleton {
    border-radius: var(--radius); background: linear-gradient(90deg, var(--surface-2) 0, var(--surface-3) 50%, var(--surface-2) 100%);
    background-size: 800px 100%; animation: shimmer 1.4s infinite linear;
  }
  .empty { display: grid; place-items: center; text-align: center; gap: 10px; padding: 48px 24px; color: var(--text-2); }
  /* The illustration only: an icon in the empty state's button keeps the button's size. */
  .empty > svg { width: 44px; height: 44px; color: var(--text-3); }
  .empty h3 { color: var(--text); font-size: 16px; }
  .row { display: flex; align-items: center; gap: 8px; }
  .grow { flex: 1; }
  /* Small layout helpers: the CSP allows no style="" attributes (computed values go through cssProps). */
  .spinner.small { width: 10px; height: 10px; }
  .spinner.xsmall { width: 9px; height: 9px; border-width: 1.5px; }
  .text-danger { color: var(--danger); }
  .mt-8 { margin-top: 8px; }
  .mb-12 { margin-bottom: 12px; }
  .mb-14 { margin-bottom: 14px; }
  .m-0 { margin: 0; }
  .pad-24 { padding: 24px; }
  .px-14 { padding: 0 14px; }
  @media (prefers-reduced-motion: reduce) { .spinner, .skeleton { animation-duration: 3s; } }
`

/** The status of a job as a badge class and label. */
export const STATUS_LOOK: Record<string, { cls: string; label: string }> = {
  pending: { cls: 'warning', label: 'Queued' },
  running: { cls: 'accent', label: 'Running' },
  succeeded: { cls: 'success', label: 'Succeeded' },
  failed: { cls: 'danger', label: 'Failed' },
  cancelled: { cls: '', label: 'Cancelled' },
}

/** A full page of the app (Users, API tokens, Audit): a heading, an intro, and a table. */
export const pageStyles = css`
  :host { display: block; max-width: 1080px; margin: 0 auto; padding: 32px 28px 80px; }
  .head { display: flex; align-items: flex-end; gap: 12px; margin-bottom: 18px; flex-wrap: wrap; }
  .head h1 { font-size: 24px; }
  .head p { color: var(--text-2); margin-top: 4px; }
  .alert { margin-bottom: 14px; }
  table { width: 100%; border-collapse: separate; border-spacing: 0; background: var(--surface); border: 1px solid var(--border); border-radius: 10px; overflow: hidden; }
  th, td { text-align: left; padding: 9px 12px; border-bottom: 1px solid var(--border); vertical-align: middle; font-size: 13px; }
  th { font-size: 11.5px; font-weight: 600; color: var(--text-3); text-transform: uppercase; letter-spacing: .04em; background: var(--surface-2); }
  tr:last-child td { border-bottom: 0; }
  td.num, td.when { font-variant-numeric: tabular-nums; white-space: nowrap; }
  td.actions { white-space: nowrap; text-align: right; }
  td select.input { width: auto; height: 28px; font-size: 13px; }
  .empty { background: var(--surface); border: 1px solid var(--border); border-radius: 10px; }
`
