/**
 * Which image a docker-mode job runs, and what is recorded after it succeeds (project_images.json,
 * images.ts). The choice is resolved to an image id before the container is created and the
 * container runs that id, so what is recorded is exactly what ran even when a tag moves meanwhile.
 *
 * - The project's entry (the operator's, or one recorded earlier), else AGENT_IMAGE.
 * - A recorded image the daemon no longer has → AGENT_IMAGE (and a note on the ticket), never the
 *   host: the record is replaced after the next successful run.
 * - An operator's image or AGENT_IMAGE the daemon does not have is run by name, so the container
 *   start fails with "no such image" and run-job's documented fallback applies.
 */
import type { Logger } from '../log.ts'
import type { ProjectImages } from './images.ts'
import type { ContainerExecutors } from './types.ts'

export interface ImageChoice {
  /** What the container runs: an image id when the daemon resolved it, else the reference. */
  run: string
  /** The reference it came from (AGENT_IMAGE or the project's entry). */
  ref: string
  source: 'default' | 'operator' | 'recorded'
  /** Shown in the job's start note. */
  label: string
}

const short = (id: string) => id.replace(/^sha256:/, '').slice(0, 12)

/** Resolves the image for `projectId`; `note` writes to the job's log. Throws when the daemon cannot be asked. */
export async function chooseImage(
  projectId: number, images: ProjectImages | undefined, defaultImage: string, containers: ContainerExecutors,
  note: (text: string) => void, log: Logger,
): Promise<ImageChoice> {
  const entry = images?.get(projectId)
  const resolve = async (ref: string) => (containers.imageId ? await containers.imageId(ref) : undefined)
  if (entry?.recorded) {
    const id = await resolve(entry.image)
    if (id) return { run: id, ref: entry.image, source: 'recorded', label: `${short(id)} recorded for this project; AGENT_IMAGE is ${defaultImage}` }
    note(`the image recorded for this project (${entry.image}) is gone; using AGENT_IMAGE ${defaultImage}`)
    log.warn('recorded project image is missing; using AGENT_IMAGE', { projectId, image: entry.image, agentImage: defaultImage })
  } else if (entry) {
    const id = await resolve(entry.image)
    return { run: id ?? entry.image, ref: entry.image, source: 'operator', label: `${entry.image} from ${images!.path}` }
  }
  const id = await resolve(defaultImage)
  return { run: id ?? defaultImage, ref: defaultImage, source: 'default', label: id ? `${defaultImage} = ${short(id)}` : defaultImage }
}

/**
 * After a container exited 0: tags and records the image it ran, unless the operator chose the
 * project's image. Never throws (a failure to record is logged; the job's outcome is not touched).
 */
export async function recordImage(
  projectId: number, choice: ImageChoice, images: ProjectImages | undefined, containers: ContainerExecutors, log: Logger,
): Promise<void> {
  if (!images || choice.source === 'operator' || !/^sha256:[0-9a-f]{64}$/.test(choice.run)) return
  try {
    let tag: string | undefined
    if (containers.keepImage) {
      tag = await containers.keepImage(choice.run, projectId).catch((error: unknown) => {
        log.warn('could not tag the project image; `docker image prune` may remove it (the project then uses AGENT_IMAGE)', { image: choice.run, error: (error as Error).message })
        return undefined
      })
    }
    const outcome = images.record(projectId, { image: choice.run, from: choice.ref, ...(tag ? { tag } : {}) })
    if (outcome === 'recorded') log.info('project image recorded', { projectId, image: choice.run, from: choice.ref, tag })
    else if (outcome === 'unreadable') log.warn(`${images.path} is unreadable; the image was not recorded`, { projectId })
  } catch (error) {
    log.warn('recording the project image failed', { projectId, error: (error as Error).message })
  }
}
