/**
 * `docker-dind`: one container per job with its own dockerd inside (the agent image's entrypoint
 * starts it), so a job's `docker build`/`docker run` never touches the host daemon.
 */
import type { Executor } from '../../../core/executor.ts'
import { createLogger } from '../../../core/log.ts'
import { createDockerEngine } from './engine.ts'
import { probeDocker } from './probe-docker.ts'
import { reconcileContainers } from './reconcile-containers.ts'
import { commandFor, resolveSettings, type ContainerVariant, type DockerExecutorOptions, type RunContainerSettings } from './run-container.ts'
import { prepareWarm, runOrHandOver } from './warm-container.ts'

export const NAME = 'docker-dind'

export interface DockerDindOptions extends DockerExecutorOptions {
  /**
   * `auto` (default): try `Privileged`, and when the host refuses it fall back to the recipe below
   * and remember that for later runs. `always` / `never`: only that one. Ignored with `runtime`.
   */
  privileged?: 'auto' | 'always' | 'never'
  /**
   * Shares what was learned between executors of one coordinator (one executor per image), so a
   * host that refuses `Privileged` costs one refused create, not one per image.
   */
  learned?: { variant?: ContainerVariant }
}

const PRIVILEGED: ContainerVariant = { name: 'privileged', hostConfig: { Privileged: true } }

/**
 * What a nested dockerd needs when `Privileged` is refused. Measured on a host whose bounding set
 * lacks CAP_SYS_RESOURCE: runc then fails "unable to apply caps: operation not permitted" at start
 * for `--privileged`, but all other capabilities can be granted. Unconfined seccomp/AppArmor allow
 * mount/unshare/pivot_root; empty Masked/ReadonlyPaths (= `--security-opt systempaths=unconfined`)
 * let the inner runc see /proc/sys etc. The cgroup v1 hierarchies are still mounted read-only in
 * the container: the image's entrypoint must `mount -o remount,rw,bind` each of them before dockerd
 * starts (plain `remount,rw` fails with EBUSY). /var/lib/docker is an anonymous volume because
 * overlayfs cannot stack on the container's own overlay root.
 */
export const UNPRIVILEGED_RECIPE: ContainerVariant = {
  name: 'unprivileged-recipe',
  hostConfig: {
    CapAdd: ['ALL'],
    CapDrop: ['SYS_RESOURCE'],
    SecurityOpt: ['seccomp=unconfined', 'apparmor=unconfined'],
    MaskedPaths: [],
    ReadonlyPaths: [],
  },
}

/**
 * The `docker-dind` executor: probe = daemon + API 1.41 + image present; reconcile, prepare (warm
 * containers) and close supported. With `runtime` (e.g. sysbox-runc, which gives a container what a nested dockerd needs
 * without host privileges) the container gets no extra privileges at all.
 */
export function dockerDind(options: DockerDindOptions = {}): Executor {
  const engine = options.engine ?? createDockerEngine({ dockerHost: options.dockerHost })
  const log = options.log ?? createLogger('info', { executor: NAME })
  const settings = resolveSettings(options, engine, log)
  const mode = options.privileged ?? 'auto'
  // What worked last on this host; `auto` starts unknown and learns from the first run.
  const memory = options.learned ?? {}
  if (options.runtime) memory.variant = { name: `runtime ${options.runtime}`, hostConfig: {} }
  else if (mode !== 'auto') memory.variant = mode === 'never' ? UNPRIVILEGED_RECIPE : PRIVILEGED

  const containerSettings = (command: string[]): RunContainerSettings => ({
    ...settings,
    command,
    variants: memory.variant ? [memory.variant] : [PRIVILEGED, UNPRIVILEGED_RECIPE],
    anonymousVolumes: ['/var/lib/docker'],
    onVariantStarted(variant) {
      if (memory.variant?.name === variant.name) return
      memory.variant = variant
      log.info(
        variant === PRIVILEGED
          ? 'dind: using privileged containers'
          : 'dind: host refuses privileged containers; using the unprivileged recipe (CapAdd ALL, CapDrop SYS_RESOURCE, seccomp/apparmor unconfined, unmasked /proc)',
        { variant: variant.name },
      )
    },
  })

  return {
    name: NAME,
    probe: () => probeDocker(engine, settings.image),
    run: (spec, output, signal) => runOrHandOver(spec, output, signal, containerSettings(commandFor(settings.command, spec))),
    prepare: (spec) => prepareWarm(spec, containerSettings(settings.warmCommand)),
    reconcile: (coordinatorId, keep, pool) => reconcileContainers(engine, coordinatorId, keep, log, pool),
    close: async () => engine.close(),
  }
}
