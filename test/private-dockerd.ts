/**
 * A second, private Docker daemon for tests that stop and restart dockerd: stopping the host's
 * daemon would kill every other suite's containers. It has its own socket, data root, exec root
 * (so its own containerd) and its own bridge, and touches no iptables, sysctl or docker0:
 * `--bridge none` must never be used here, because dockerd then DELETES the host's docker0.
 * Needs root. Everything is removed by `destroy()` (also attempted when the process exits).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdirSync, openSync, rmSync } from 'node:fs'
import { createDockerEngine, type DockerEngine } from '../plugins/executors/docker/engine.ts'
import { BASE_IMAGE } from './docker-fixtures.ts'
import { sleep } from './helpers.ts'

export interface PrivateDockerd {
  dockerHost: string
  engine: DockerEngine
  /** Starts the daemon; resolves once it answers. */
  start(): Promise<void>
  /** SIGTERM, then waits until the process is gone. */
  stop(): Promise<void>
  /** Copies an image of the host daemon into this one (docker save | docker load). */
  copyImage(image: string): void
  destroy(): Promise<void>
}

/**
 * `args`: more dockerd flags (e.g. `--insecure-registry`). `copyBaseImage` (default true): copies
 * the host's BASE_IMAGE in at start, for tests that build on it; a daemon that only pulls from a
 * registry (the swarm manager) skips it (17–57 s of docker save | docker load).
 */
export async function startPrivateDockerd(run: string, options: { args?: string[]; copyBaseImage?: boolean } = {}): Promise<PrivateDockerd> {
  if (process.getuid?.() !== 0) throw new Error('a private dockerd needs root')
  const dir = `/var/lib/terarchitect-test-dockerd/${run}`
  const socket = `${dir}/docker.sock`
  const bridge = `tt${run.replace(/[^a-z0-9]/gi, '').slice(0, 10)}`
  const subnet = pickSubnet()
  mkdirSync(dir, { recursive: true })
  const ip = (...args: string[]) => {
    const result = spawnSync('ip', args, { encoding: 'utf8' })
    if (result.status !== 0) throw new Error(`ip ${args.join(' ')}: ${result.stderr}`)
  }
  ip('link', 'add', bridge, 'type', 'bridge')
  ip('addr', 'add', `${subnet}.1/24`, 'dev', bridge)
  ip('link', 'set', bridge, 'up')

  const engine = createDockerEngine({ dockerHost: `unix://${socket}` })
  let child: ChildProcess | undefined
  const kill = () => {
    if (child?.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  }
  process.on('exit', kill)

  const daemon: PrivateDockerd = {
    dockerHost: `unix://${socket}`,
    engine,
    async start() {
      const log = openSync(`${dir}/dockerd.log`, 'a')
      child = spawn('dockerd', [
        '--host', `unix://${socket}`, '--data-root', `${dir}/data`, '--exec-root', `${dir}/exec`, '--pidfile', `${dir}/docker.pid`,
        '--bridge', bridge, '--iptables=false', '--ip-masq=false', '--ip-forward=false', ...(options.args ?? []),
      ], { detached: true, stdio: ['ignore', log, log] })
      child.unref()
      const deadline = Date.now() + 30000
      for (;;) {
        try {
          await engine.ping(AbortSignal.timeout(1000))
          return
        } catch {
          if (Date.now() > deadline || child.exitCode !== null) throw new Error(`private dockerd did not start; see ${dir}/dockerd.log`)
          await sleep(100)
        }
      }
    },
    async stop() {
      if (!child || child.exitCode !== null || child.signalCode !== null) return
      const exited = new Promise((resolve) => child!.once('exit', resolve))
      child.kill('SIGTERM')
      if (!(await Promise.race([exited.then(() => true), sleep(20000).then(() => false)]))) {
        child.kill('SIGKILL')
        await exited
      }
      engine.close()
    },
    copyImage(image) {
      const result = spawnSync('sh', ['-c', `docker save "$1" | docker -H "$2" load`, 'sh', image, `unix://${socket}`], { encoding: 'utf8' })
      if (result.status !== 0) throw new Error(`copying ${image} failed: ${result.stderr}`)
    },
    async destroy() {
      await daemon.stop()
      process.off('exit', kill)
      spawnSync('ip', ['link', 'del', bridge])
      // dockerd unmounts its layers on a clean stop; never cross into another filesystem anyway.
      spawnSync('rm', ['-rf', '--one-file-system', dir])
      rmSync(dir, { recursive: true, force: true, maxRetries: 3 })
    },
  }
  try {
    await daemon.start()
    if (options.copyBaseImage !== false) daemon.copyImage(BASE_IMAGE)
  } catch (error) {
    await daemon.destroy()
    throw error
  }
  return daemon
}

/** A /24 in 172.31.0.0/16 that no interface here uses yet. */
function pickSubnet(): string {
  const used = spawnSync('ip', ['-4', '-o', 'addr'], { encoding: 'utf8' }).stdout
  for (let attempt = 0; attempt < 50; attempt++) {
    const candidate = `172.31.${100 + Math.floor(Math.random() * 150)}`
    if (!used.includes(`${candidate}.`)) return candidate
  }
  throw new Error('no free 172.31.x.0/24 subnet')
}
