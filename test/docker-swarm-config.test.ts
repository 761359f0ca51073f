// The docker-swarm executor's settings (core/coordinator-config.ts): parsed once at start, bad
// values refused naming the variable, a loopback app address refused in swarm mode; and the example
// stack file (deploy/swarm/) a valid Compose file (checked by the docker-compose CLI, which
// scripts/provision-docker.sh installs; no daemon needed).
import { spawnSync } from 'node:child_process'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { resolveCoordinatorConfig } from '../core/coordinator-config.ts'
import { ROOT } from './helpers.ts'

const BASE = { TERARCHITECT_WORKER_API_KEY: 'k', AGENT_DOCKER_MODE: 'swarm', TERARCHITECT_API_URL: 'http://10.0.0.5:5010' }
const refusal = (env: Record<string, string>) => {
  try {
    resolveCoordinatorConfig({ ...BASE, ...env })
  } catch (error) {
    return (error as Error).message
  }
  throw new Error(`accepted: ${JSON.stringify(env)}`)
}

test('swarm settings: defaults, constraints split at commas, the reservation in bytes', () => {
  const defaults = resolveCoordinatorConfig(BASE)
  assert.equal([defaults.AGENT_DOCKER_MODE, defaults.swarmConstraints, defaults.SWARM_CPU_RESERVATION, defaults.swarmMemoryReservation, defaults.SWARM_START_TIMEOUT_SEC], ['swarm', [], 0.5, 1024 ** 3, 600])
  const set = resolveCoordinatorConfig({ ...BASE, SWARM_CONSTRAINTS: 'node.labels.agents==true, node.role!=manager', SWARM_CPU_RESERVATION: '0.25', SWARM_MEMORY_RESERVATION: '512m', SWARM_START_TIMEOUT_SEC: '120' })
  assert.equal([set.swarmConstraints, set.SWARM_CPU_RESERVATION, set.swarmMemoryReservation, set.SWARM_START_TIMEOUT_SEC], [['node.labels.agents==true', 'node.role!=manager'], 0.25, 512 * 1024 ** 2, 120])
})

test('bad swarm settings are refused naming the variable', () => {
  assert.match(refusal({ SWARM_CONSTRAINTS: 'node.labels.agents' }), /SWARM_CONSTRAINTS: expected name==value or name!=value/)
  assert.match(refusal({ SWARM_MEMORY_RESERVATION: 'lots' }), /SWARM_MEMORY_RESERVATION: expected 0 or at least 6m/)
  assert.match(refusal({ SWARM_CPU_RESERVATION: '-1' }), /SWARM_CPU_RESERVATION/)
  assert.match(refusal({ SWARM_START_TIMEOUT_SEC: '0' }), /SWARM_START_TIMEOUT_SEC/)
  // Tasks run on other nodes: the coordinator's loopback is not theirs.
  assert.match(refusal({ TERARCHITECT_API_URL: 'http://127.0.0.1:5010' }), /TERARCHITECT_API_URL: AGENT_DOCKER_MODE=swarm: must be an address every swarm node's agents can reach/)
})

test('the example stack file is a valid Compose file with the swarm settings', () => {
  const compose = spawnSync('docker-compose', ['-f', 'deploy/swarm/coordinator-stack.yml', 'config'], {
    cwd: ROOT, encoding: 'utf8',
    env: { ...process.env, COORDINATOR_IMAGE: 'coordinator:test', AGENT_IMAGE: 'agent:test', TERARCHITECT_API_URL: 'http://10.0.0.5:5010' },
  })
  assert.not.ok(compose.error, 'docker-compose is missing: run scripts/provision-docker.sh')
  assert.is(compose.status, 0, compose.stderr)
  assert.match(compose.stdout, /AGENT_DOCKER_MODE: swarm/)
  assert.match(compose.stdout, /SWARM_CONSTRAINTS: node.labels.agents==true/)
  assert.match(compose.stdout, /AGENT_IMAGE: agent:test/)
  // The settings in it are ones the coordinator accepts.
  const environment = Object.fromEntries([...compose.stdout.matchAll(/^ {6}([A-Z_]+): (.+)$/gm)].map((match) => [match[1]!, match[2]!.replace(/^'|'$/g, '')]))
  const config = resolveCoordinatorConfig({ ...environment, TERARCHITECT_WORKER_KEY_FILE: undefined, TERARCHITECT_WORKER_API_KEY: 'k' })
  assert.is(config.AGENT_DOCKER_MODE, 'swarm')
})

test.run()
