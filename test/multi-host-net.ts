/**
 * The network of test/multi-host.test.ts: hosts as network namespaces, one veth pair each to a
 * bridge in a `switch` namespace, in a private /24 no route of this machine uses. The root
 * namespace (this test process, its browsers) joins the switch too, as the operator's machine.
 * The bridge lives in a namespace of its own because the root namespace's iptables (Docker sets
 * FORWARD to DROP) would otherwise filter bridged traffic between the hosts.
 *
 * Every name starts with `tamh-`; a pid file names the run that owns them. A run refuses to start
 * while another run that is still alive owns them, and removes what a dead run left behind first.
 */
import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process'
import { existsSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs'

export const SUBNET = '10.213.77'
const PREFIX = 'tamh-'
const SWITCH = `${PREFIX}switch`
const OWNER = '/run/terarchitect-multi-host.pid'

export interface Host {
  name: string
  /** Its namespace. */
  netns: string
  address: string
  /** The switch's end of its veth pair: down = its cable is cut. */
  port: string
}

function ip(args: string[], allowFail = false): string {
  const result = spawnSync('ip', args, { encoding: 'utf8' })
  if (result.status !== 0 && !allowFail) throw new Error(`ip ${args.join(' ')}: ${result.stderr.trim()}`)
  return result.stdout
}

const ours = () => ip(['netns', 'list']).split('\n').map((line) => line.split(' ')[0]!).filter((name) => name.startsWith(PREFIX))
const ourLinks = () => ip(['-o', 'link', 'show']).split('\n').map((line) => /^\d+: ([^:@]+)/.exec(line)?.[1]).filter((name): name is string => !!name?.startsWith(PREFIX))

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/**
 * Removes every namespace and root-namespace link of this test. Processes still inside one (an
 * earlier run that was killed before its clean-up) are killed first: nothing else runs in them.
 */
export function removeNetwork(): void {
  const inodes = new Set(ours().map((netns) => inodeOf(`/run/netns/${netns}`)))
  for (const pid of readdirSync('/proc').filter((entry) => /^\d+$/.test(entry))) {
    const inode = /^net:\[(\d+)\]$/.exec(readLink(`/proc/${pid}/ns/net`))?.[1]
    if (inode && inodes.has(inode)) killQuietly(Number(pid))
  }
  for (const netns of ours()) ip(['netns', 'delete', netns], true)
  for (const link of ourLinks()) ip(['link', 'delete', link], true)
  if (existsSync(OWNER) && Number(readFileSync(OWNER, 'utf8')) === process.pid) rmSync(OWNER)
}

/**
 * Builds the network: `names` hosts at .2, .3, … and the root namespace at .1. Refuses when a live
 * run owns the names or the subnet is routed here already; clears a dead run's leftovers.
 */
export function createNetwork(names: string[]): { hosts: Record<string, Host>; operator: string } {
  if (process.getuid?.() !== 0) throw new Error('the multi-host test builds network namespaces: run it as root')
  const owner = existsSync(OWNER) ? Number(readFileSync(OWNER, 'utf8')) : 0
  if (owner && owner !== process.pid && alive(owner)) throw new Error(`another multi-host run (pid ${owner}) owns the ${PREFIX}* namespaces: refusing to start`)
  const stale = [...ours(), ...ourLinks()]
  if (stale.length) {
    process.stderr.write(`  removing what an earlier run left: ${stale.join(', ')}\n`)
    removeNetwork()
    const left = [...ours(), ...ourLinks()]
    if (left.length) throw new Error(`stale namespaces or links of an earlier run could not be removed: ${left.join(', ')}`)
  }
  if (ip(['route', 'show']).includes(`${SUBNET}.`)) throw new Error(`${SUBNET}.0/24 is routed on this machine already: refusing to start`)
  writeFileSync(OWNER, String(process.pid))

  const inSwitch = (...args: string[]) => ip(['-n', SWITCH, ...args])
  ip(['netns', 'add', SWITCH])
  inSwitch('link', 'set', 'lo', 'up')
  inSwitch('link', 'add', 'br0', 'type', 'bridge')
  inSwitch('link', 'set', 'br0', 'up')
  // The operator's machine (root namespace): .1, on a veth whose far end is a switch port.
  const operator = `${SUBNET}.1`
  ip(['link', 'add', `${PREFIX}op`, 'type', 'veth', 'peer', 'name', 'op', 'netns', SWITCH])
  ip(['addr', 'add', `${operator}/24`, 'dev', `${PREFIX}op`])
  ip(['link', 'set', `${PREFIX}op`, 'up'])
  inSwitch('link', 'set', 'op', 'master', 'br0', 'up')

  const hosts: Record<string, Host> = {}
  names.forEach((name, i) => {
    const netns = `${PREFIX}${name}`
    const address = `${SUBNET}.${i + 2}`
    ip(['netns', 'add', netns])
    ip(['-n', netns, 'link', 'set', 'lo', 'up'])
    ip(['-n', netns, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', name, 'netns', SWITCH])
    ip(['-n', netns, 'addr', 'add', `${address}/24`, 'dev', 'eth0'])
    ip(['-n', netns, 'link', 'set', 'eth0', 'up'])
    inSwitch('link', 'set', name, 'master', 'br0', 'up')
    hosts[name] = { name, netns, address, port: name }
  })
  return { hosts, operator }
}

/** Cuts a host's cable: its switch port goes down (the host still sees its own link up). */
export function cutLink(host: Host): void {
  ip(['-n', SWITCH, 'link', 'set', host.port, 'down'])
}

/** Spawns `command` inside the host's namespace (nsenter execs it: the child's pid is the program's). */
export function spawnIn(host: Host, command: string[], options: SpawnOptions & { user?: { uid: number; gid: number } } = {}): ChildProcess {
  const { user, ...rest } = options
  const as = user ? ['--setuid', String(user.uid), '--setgid', String(user.gid)] : []
  return spawn('nsenter', [`--net=/run/netns/${host.netns}`, ...as, '--', ...command], rest)
}

function readLink(path: string): string {
  try {
    return readlinkSync(path)
  } catch {
    return ''
  }
}

function inodeOf(path: string): string {
  try {
    return String(statSync(path).ino)
  } catch {
    return ''
  }
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL')
  } catch {}
}

/** Which host (of `hosts`) the process `pid` runs in, by its network namespace; undefined if none. */
export function hostOf(pid: number, hosts: Host[]): Host | undefined {
  const inode = /^net:\[(\d+)\]$/.exec(readLink(`/proc/${pid}/ns/net`))?.[1]
  return inode ? hosts.find((host) => inodeOf(`/run/netns/${host.netns}`) === inode) : undefined
}
