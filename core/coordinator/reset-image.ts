/**
 * `node dist/coordinator.js reset-image <project id>… | --all`: moves projects to the current
 * AGENT_IMAGE by dropping the images the coordinator recorded for them in project_images.json, and
 * the tags that kept those images. Safe while the coordinator runs (it re-reads the file before each
 * job). The operator's entries are kept and listed: edit the file to change them.
 */
import { openProjectImages } from './images.ts'

export interface ResetImageOptions {
  stateDir: string
  agentImage: string
  /** Removes a keep-tag; a failure is reported, the reset stands. */
  untag(tag: string): Promise<void>
  out(line: string): void
}

export const RESET_IMAGE_USAGE = 'usage: coordinator reset-image <project id>… | --all'

/** Runs the command; resolves with the exit code (0 done, 2 bad arguments, 1 the file could not be changed). */
export async function resetImage(args: string[], options: ResetImageOptions): Promise<number> {
  const all = args.length === 1 && args[0] === '--all'
  if (!all && (args.length === 0 || !args.every((arg) => /^[1-9]\d*$/.test(arg)))) {
    options.out(RESET_IMAGE_USAGE)
    return 2
  }
  const images = openProjectImages(options.stateDir)
  let result
  try {
    result = images.reset(all ? 'all' : args.map(Number))
  } catch (error) {
    options.out(`reset-image: ${images.path}: ${(error as Error).message}`)
    return 1
  }
  for (const { projectId, image, tag } of result.removed) {
    options.out(`project ${projectId}: recorded image ${image} dropped; its next job runs AGENT_IMAGE ${options.agentImage}`)
    if (!tag) continue
    await options.untag(tag).catch((error: unknown) =>
      options.out(`project ${projectId}: the tag ${tag} could not be removed (${(error as Error).message}); remove it with: docker image rm ${tag}`))
  }
  for (const { projectId, image } of result.operator) {
    options.out(`project ${projectId}: keeps ${image}, set by the operator in ${images.path} (edit the file to change it)`)
  }
  if (!all) {
    const named = new Set([...result.removed, ...result.operator].map((entry) => entry.projectId))
    for (const id of args.map(Number).filter((id) => !named.has(id))) options.out(`project ${id}: no image recorded; it runs AGENT_IMAGE ${options.agentImage}`)
  } else if (result.removed.length === 0) {
    options.out('no recorded images; every project without an operator entry runs AGENT_IMAGE')
  }
  return 0
}
