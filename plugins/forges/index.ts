/**
 * The forge plugins the app ships, in the order FORGE_KIND lists them. The entrypoint (server.ts)
 * passes these to `startApp`; a custom forge is one more `Forge` in the list.
 */
import type { Forge } from '../../core/forge.ts'
import { gitea } from './gitea/index.ts'
import { github } from './github/index.ts'
import { gitlab } from './gitlab/index.ts'

export function builtinForges(): Forge[] {
  return [github(), gitlab(), gitea()]
}
