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
