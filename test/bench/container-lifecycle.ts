// Container create → start → exit → removed: the hand-written Engine client vs `docker run --rm`,
// same image, same command, same run, interleaved so both see the same daemon state.
//   node --import ./scripts/ts-register.mjs test/bench/container-lifecycle.ts [iterations=20]
// Target (DESIGN.md §10): the client at least 10% faster than the CLI.
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import type { DockerEngine } from '../../plugins/executors/docker/engine.ts'
import { BASE_IMAGE, ensureDocker } from '../docker-fixtures.ts'

const run = promisify(execFile)
const iterations = Number(process.argv[2] ?? 20)
const WARMUP = 2
const COMMAND = ['sh', '-c', 'echo hello']

/** What the executors do: create, wait registered before start, start, follow logs, exit code, remove. */
async function viaClient(engine: DockerEngine): Promise<void> {
  const { Id } = await engine.containerCreate({ Image: BASE_IMAGE, Cmd: COMMAND, HostConfig: { AutoRemove: false } })
  const waiter = await engine.containerWait(Id, { condition: 'next-exit' })
  await engine.containerStart(Id)
  let output = ''
  const logs = engine.containerLogs(Id, { follow: true }, (frame) => { output += frame.data.toString() })
  const { statusCode } = await waiter.result
  await logs
  await engine.containerRemove(Id, { volumes: true })
  if (statusCode !== 0 || output !== 'hello\n') throw new Error(`client run: exit ${statusCode}, output ${JSON.stringify(output)}`)
}

/** The CLI equivalent: attaches, waits, removes (`--rm` waits for the removal too). */
async function viaCli(): Promise<void> {
  const { stdout } = await run('docker', ['run', '--rm', BASE_IMAGE, ...COMMAND])
  if (stdout !== 'hello\n') throw new Error(`cli run: output ${JSON.stringify(stdout)}`)
}

async function time(task: () => Promise<void>): Promise<number> {
  const started = process.hrtime.bigint()
  await task()
  return Number(process.hrtime.bigint() - started) / 1e6
}

const summary = (samples: number[]) => {
  const sorted = [...samples].sort((a, b) => a - b)
  const p50 = sorted[Math.floor((sorted.length - 1) / 2)]!
  const mean = samples.reduce((sum, value) => sum + value, 0) / samples.length
  return { p50, mean }
}

const engine = await ensureDocker()
for (let index = 0; index < WARMUP; index++) {
  await viaClient(engine)
  await viaCli()
}
const client: number[] = []
const cli: number[] = []
for (let index = 0; index < iterations; index++) {
  // Alternate which goes first so neither always runs on a daemon that just finished cleaning up.
  if (index % 2 === 0) {
    client.push(await time(() => viaClient(engine)))
    cli.push(await time(viaCli))
  } else {
    cli.push(await time(viaCli))
    client.push(await time(() => viaClient(engine)))
  }
}
engine.close()

const a = summary(client)
const b = summary(cli)
const fmt = (value: number) => value.toFixed(1).padStart(7)
console.log(`container lifecycle, ${BASE_IMAGE}, ${JSON.stringify(COMMAND)}, ${iterations} iterations each (+${WARMUP} warm-up)`)
console.log(`  engine client   p50 ${fmt(a.p50)} ms   mean ${fmt(a.mean)} ms`)
console.log(`  docker run --rm p50 ${fmt(b.p50)} ms   mean ${fmt(b.mean)} ms`)
console.log(`  client/cli      p50 ${(a.p50 / b.p50).toFixed(2)}   mean ${(a.mean / b.mean).toFixed(2)}` +
  `   (client ${((1 - a.p50 / b.p50) * 100).toFixed(0)}% faster at p50)`)
