/**
 * Pages kept out of the initial bundle: the module is imported when the page is first shown and
 * its element upgrades in place when the module arrives (the build splits dynamic imports into
 * chunks/). A failed load is reported instead of leaving a blank page.
 */
import { notifyError } from './toast-host.ts'

export function lazy<T>(loading: Promise<unknown>, page: T): T {
  loading.catch((error) => notifyError(error, 'Could not load this page'))
  return page
}

/**
 * A dialog kept out of the initial bundle: its element stays in the template (an empty tag holding
 * its properties and listeners until it upgrades) and its module starts loading when it first opens.
 * `.open=${loadWhen(this.formOpen, () => import('./project-form.ts'))}`
 */
export function loadWhen(open: boolean, loading: () => Promise<unknown>): boolean {
  if (open) lazy(loading(), null)
  return open
}
