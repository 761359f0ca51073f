/**
 * Copies a value shown once (a token, a signing secret) and says so. Clipboard access needs a
 * secure context; without one the person is asked to select it (its code block selects on one click).
 */
import { notify } from './toast-host.ts'

export async function copyText(text: string, what: string): Promise<void> {
  try {
    await navigator.clipboard.writeText(text)
    notify(`${what} copied`, 'success')
  } catch {
    notify(`Select the ${what.toLowerCase()} and copy it`, 'info')
  }
}
