/**
 * The daemon side of per-project images (core/coordinator/images.ts): resolving a reference to the
 * id a container will run, and the tag that keeps a recorded image from `docker image prune`
 * (prune removes only dangling images: an image whose AGENT_IMAGE tag moved on stays tagged here).
 */
import type { DockerEngine } from './engine.ts'
import { isDockerError } from './errors.ts'

export const PROJECT_IMAGE_REPO = 'terarchitect-agent-project'

/** The id of `image` (a tag or an id); undefined when the daemon does not have it. */
export async function imageIdOf(engine: DockerEngine, image: string): Promise<string | undefined> {
  try {
    return (await engine.imageInspect(image)).Id
  } catch (error) {
    if (isDockerError(error, 'docker_not_found')) return undefined
    throw error
  }
}

/** The tag of `imageId` recorded for `projectId`: `terarchitect-agent-project:p<id>-<12 hex of the image id>`. */
export function projectImageTag(imageId: string, projectId: number): string {
  return `${PROJECT_IMAGE_REPO}:p${projectId}-${imageId.replace(/^sha256:/, '').slice(0, 12)}`
}

/** Tags `imageId` for `projectId`; returns the tag. */
export async function keepProjectImage(engine: DockerEngine, imageId: string, projectId: number): Promise<string> {
  const tag = projectImageTag(imageId, projectId)
  await engine.imageTag(imageId, PROJECT_IMAGE_REPO, tag.slice(PROJECT_IMAGE_REPO.length + 1))
  return tag
}

/**
 * Removes a project tag (the image itself goes too when nothing else tags or uses it). Only tags of
 * PROJECT_IMAGE_REPO are touched; one that is already gone is not an error.
 */
export async function dropProjectImageTag(engine: DockerEngine, tag: string): Promise<void> {
  if (!tag.startsWith(`${PROJECT_IMAGE_REPO}:`)) return
  try {
    await engine.imageRemove(tag)
  } catch (error) {
    if (isDockerError(error, 'docker_not_found')) return
    // In use by a container (409): untag only; the image is removed with its last container.
    if (isDockerError(error, 'docker_conflict')) return engine.imageRemove(tag, { force: true })
    throw error
  }
}
