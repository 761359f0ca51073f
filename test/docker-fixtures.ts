/**
 * Docker fixtures for the engine, executor and bench suites: a reachable daemon with the base
 * image (provisioned on demand), the dind test image, and small tar payloads.
 */
import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createDockerEngine, type DockerEngine } from '../plugins/executors/docker/engine.ts'
import { isDockerError } from '../plugins/executors/docker/errors.ts'

export const BASE_IMAGE = 'terarchitect-base:bookworm'
const PROVISION_SCRIPT = fileURLToPath(new URL('../scripts/provision-docker.sh', import.meta.url))

async function ready(engine: DockerEngine): Promise<boolean> {
  try {
    await engine.ping(AbortSignal.timeout(2000))
    await engine.imageInspect(BASE_IMAGE)
    return true
  } catch {
    return false
  }
}

/**
 * A client for the real daemon with the base image present. Runs scripts/provision-docker.sh when
 * either is missing (needs root); fails with a message saying what to do when that is not possible.
 */
export async function ensureDocker(): Promise<DockerEngine> {
  const engine = createDockerEngine({ dockerHost: process.env.DOCKER_HOST })
  if (await ready(engine)) return engine
  if (process.getuid?.() !== 0) {
    throw new Error(`Docker tests need a daemon and ${BASE_IMAGE}: run \`sudo bash scripts/provision-docker.sh\` first`)
  }
  process.stderr.write(`docker or ${BASE_IMAGE} missing: running scripts/provision-docker.sh\n`)
  const result = spawnSync('bash', [PROVISION_SCRIPT], { stdio: ['ignore', 2, 2] })
  if (result.status !== 0 || !(await ready(engine))) {
    throw new Error(`scripts/provision-docker.sh failed (exit ${result.status}): see its output above; Docker tests cannot run`)
  }
  return engine
}

/** Makes a temp dir with the given files; returns its path. */
export function contextDir(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'terarchitect-ctx-'))
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content, { mode: 0o755 })
  return dir
}

/**
 * Entrypoint of the dind test image; the agent image's entrypoint does the same. The cgroup v1
 * hierarchies are mounted read-only in a non-privileged container and the inner runc must create
 * cgroups: `mount -o remount,rw,bind` works on each (a plain `remount,rw` fails with EBUSY).
 * Under --privileged they are already rw and the remounts are no-ops.
 */
const DIND_ENTRYPOINT = `#!/bin/sh
set -e
if [ ! -f /sys/fs/cgroup/cgroup.controllers ]; then
  for hierarchy in /sys/fs/cgroup/*/; do mount -o remount,rw,bind "$hierarchy" 2>/dev/null || true; done
fi
dockerd >/var/log/dockerd.log 2>&1 &
tries=0
until docker version >/dev/null 2>&1; do
  tries=$((tries + 1))
  if [ "$tries" -gt 150 ]; then cat /var/log/dockerd.log >&2; exit 1; fi
  sleep 0.2
done
exec "$@"
`

/**
 * There is no registry here, so the Docker engine is installed from Debian's apt mirror inside a
 * RUN step (the daemon's bridge network reaches it): ≈10 s, once per content hash. This was the
 * fastest way found; a second debootstrap with --include=docker.io takes ≈60 s.
 * No ENTRYPOINT: dind runs `dind-entrypoint.sh <cmd>` explicitly, dood runs the CLI straight.
 */
const DIND_DOCKERFILE = `FROM ${BASE_IMAGE}
RUN apt-get update -q && apt-get install -y -q --no-install-recommends docker.io && rm -rf /var/lib/apt/lists/*
COPY dind-entrypoint.sh /usr/local/bin/dind-entrypoint.sh
`

/** Builds (once per content) an image with docker.io inside; returns its tag. */
export async function ensureDindTestImage(engine: DockerEngine): Promise<string> {
  const hash = createHash('sha256').update(DIND_DOCKERFILE).update(DIND_ENTRYPOINT).digest('hex').slice(0, 12)
  const tag = `terarchitect-test-dind:${hash}`
  try {
    await engine.imageInspect(tag)
    return tag
  } catch (error) {
    if (!isDockerError(error, 'docker_not_found')) throw error
  }
  const dir = contextDir({ Dockerfile: DIND_DOCKERFILE, 'dind-entrypoint.sh': DIND_ENTRYPOINT })
  try {
    await engine.imageBuild(dir, { tag })
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
  return tag
}

/**
 * Shell that imports a tiny image (dash + libc from the container's own root, no registry) into the
 * nested daemon and runs it: prints `nested-ok` when Docker-in-Docker really works.
 */
export const NESTED_DOCKER_RUN = [
  'tar -ch -C / usr/bin/dash lib64/ld-linux-x86-64.so.2 lib/x86_64-linux-gnu/libc.so.6 | docker import - tiny >/dev/null',
  'docker run --rm tiny /usr/bin/dash -c "echo nested-ok"',
].join(' && ')
