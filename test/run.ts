/**
 * `npm test`: provisions what the suites need (scripts/provision.sh), builds, starts one shared
 * PostgreSQL 15 cluster, runs every `test/**.test.ts` file in its own process with V8 coverage,
 * prints the c8 coverage summary of core/ and plugins/, and ends with `N passed, N failed`.
 * Arguments filter test files by substring: `npm test -- queue api`.
 *
 * Files run `TEST_JOBS` at a time (default 2): most suites spend their time waiting on a daemon, a
 * lease or a child process, so two lanes finish well before one. Each file's output is printed in one
 * piece when it ends. A file whose assertions measure time (a latency median, a p50 ceiling) says
 * `// test-runner: alone` and runs with no other file beside it; one that takes minutes of docker or
 * CLI work says `// test-runner: slow` and starts first. A file still alive 20 s after uvu's summary
 * (every suite ran) holds a handle open: it is stopped and named in the results, its tests counted.
 */
import { spawn, spawnSync } from 'node:child_process'
import { readdirSync, readFileSync, rmSync, mkdirSync, statSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { join, relative } from 'node:path'
import { ROOT } from './helpers.ts'
import { startCluster } from './postgres.ts'
import { pgliteTemplate } from './pglite-template.ts'

const FILE_TIMEOUT_MS = 15 * 60 * 1000
const LINGER_MS = 20 * 1000
const LANES = Math.max(1, Number(process.env.TEST_JOBS) || 2)
const filters = process.argv.slice(2)

function testFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) return entry.name === 'bench' || entry.name === 'fixtures' ? [] : testFiles(path)
    return entry.name.endsWith('.test.ts') ? [path] : []
  })
}

function step(title: string, command: string, args: string[]): void {
  process.stdout.write(`\n== ${title}\n`)
  const result = spawnSync(command, args, { cwd: ROOT, stdio: 'inherit' })
  if (result.status !== 0) {
    process.stdout.write(`${title} failed (exit ${result.status})\n0 passed, 1 failed\n`)
    process.exit(1)
  }
}

interface FileResult {
  file: string
  passed: number
  failed: number
  skipped: number
  seconds: number
  /** Until the first output; and from the last uvu summary to the process's end. */
  startSeconds: number
  tailSeconds: number
  /** Stopped LINGER_MS after its tests ended. */
  lingered: boolean
}

async function runFile(file: string, env: NodeJS.ProcessEnv): Promise<FileResult> {
  const started = Date.now()
  const child = spawn(process.execPath, ['--import', './scripts/ts-register.mjs', file], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  // When the first output and the last summary arrived: a file whose process outlives its tests
  // (a handle left open, a child holding the pipes) shows up as a long tail in the results.
  let firstAt = 0
  let summaryAt = 0
  let lingered = false
  let lingerTimer: ReturnType<typeof setTimeout> | undefined
  const collect = (chunk: Buffer) => {
    firstAt ||= Date.now()
    output += chunk.toString()
    if (!summaryAt && /Duration:/.test(output)) {
      summaryAt = Date.now()
      // uvu prints its one summary when every suite of the file has run: a process still alive
      // LINGER_MS later holds a handle open. It is stopped and named, not counted as a failure.
      lingerTimer = setTimeout(() => {
        lingered = true
        output += `\n${relative(ROOT, file)}: still running ${LINGER_MS / 1000} s after its tests ended (a handle left open); stopped\n`
        child.kill('SIGKILL')
      }, LINGER_MS)
    }
  }
  child.stdout.on('data', collect)
  child.stderr.on('data', collect)
  const timer = setTimeout(() => {
    output += `\n${file}: timed out after ${FILE_TIMEOUT_MS / 60000} minutes\n`
    child.kill('SIGKILL')
  }, FILE_TIMEOUT_MS)
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve))
  clearTimeout(timer)
  clearTimeout(lingerTimer)
  process.stdout.write(`\n== ${relative(ROOT, file)}\n${output}`)
  // uvu prints one summary per process: Total, Passed, Skipped.
  const count = (label: string) => Number(new RegExp(`${label}:\\s+(\\d+)`).exec(output)?.[1] ?? 0)
  const total = count('Total')
  const passed = count('Passed')
  const skipped = count('Skipped')
  let failed = Math.max(0, total - passed - skipped)
  if (code !== 0 && failed === 0 && !lingered) failed = 1 // crashed or timed out outside a test
  const ended = Date.now()
  return {
    file: relative(ROOT, file), passed, failed, skipped, seconds: (ended - started) / 1000,
    startSeconds: ((firstAt || ended) - started) / 1000, tailSeconds: summaryAt ? (ended - summaryAt) / 1000 : 0, lingered,
  }
}

/** Start-up and tail times worth a look (over 20 s). */
function timing(r: FileResult): string {
  const parts = [
    r.startSeconds > 20 ? `start ${r.startSeconds.toFixed(0)} s` : '',
    r.lingered ? 'stopped after its tests: a handle left open' : r.tailSeconds > 20 ? `tail ${r.tailSeconds.toFixed(0)} s` : '',
  ].filter(Boolean)
  return parts.length ? `; ${parts.join(', ')}` : ''
}

/** The machine's CPU counters (/proc/stat, in ticks): busy and iowait against the total. */
function cpuTimes(): { busy: number; iowait: number; total: number } | undefined {
  try {
    const [user, nice, system, idle, iowait, irq, softirq, steal] = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number) as number[]
    const busy = user! + nice! + system! + irq! + softirq! + steal!
    return { busy, iowait: iowait!, total: busy + idle! + iowait! }
  } catch {
    return undefined // not Linux
  }
}

/**
 * How busy the cores were while the lanes ran: whether another lane (TEST_JOBS) would find idle
 * CPU (the files waiting on docker, leases, timers) or only contend.
 */
function cpuShare(from: ReturnType<typeof cpuTimes>, to: ReturnType<typeof cpuTimes>): string {
  if (!from || !to || to.total === from.total) return 'CPU use unknown'
  const share = (key: 'busy' | 'iowait') => `${((100 * (to[key] - from[key])) / (to.total - from.total)).toFixed(0)}%`
  return `CPU ${share('busy')} busy, ${share('iowait')} iowait (of ${availableParallelism()} cores)`
}

let lanesSummary = ''

async function main() {
  step('provision', 'bash', ['scripts/provision.sh'])
  step('build', process.execPath, ['scripts/build.mjs'])
  const files = testFiles(join(ROOT, 'test'))
    .filter((file) => !filters.length || filters.some((filter) => file.includes(filter)))
    .sort()
  const coverageDir = join(ROOT, 'coverage', 'tmp')
  rmSync(join(ROOT, 'coverage'), { recursive: true, force: true })
  mkdirSync(coverageDir, { recursive: true })
  // One PostgreSQL cluster for every file, and the migrated PGlite data dir their embedded apps copy
  // (pglite-template.ts), made before the files start.
  const [cluster] = await Promise.all([startCluster(), pgliteTemplate()])
  const env = { ...process.env, TEST_PG_URL: cluster.url, NODE_V8_COVERAGE: coverageDir, FORCE_COLOR: '0' }
  const results: FileResult[] = []
  const alone = files.filter((file) => /^\/\/ test-runner: alone$/m.test(readFileSync(file, 'utf8')))
  // Files marked `// test-runner: slow` (minutes of docker or CLI work) first, then larger files
  // first, a rough stand-in for their running time, so the lanes end close together.
  const slow = (file: string) => (/^\/\/ test-runner: slow$/m.test(readFileSync(file, 'utf8')) ? 1 : 0)
  const shared = files.filter((file) => !alone.includes(file)).sort((a, b) => slow(b) - slow(a) || statSync(b).size - statSync(a).size)
  process.stdout.write(`\n== ${files.length} files: ${shared.length} on ${LANES} lanes, then ${alone.length} alone\n`)
  const lanesStarted = Date.now()
  const cpuAtStart = cpuTimes()
  try {
    const lane = async () => {
      for (let file = shared.shift(); file; file = shared.shift()) results.push(await runFile(file, env))
    }
    await Promise.all(Array.from({ length: LANES }, lane))
    lanesSummary = `${LANES} lanes: ${((Date.now() - lanesStarted) / 1000).toFixed(0)} s; ${cpuShare(cpuAtStart, cpuTimes())}`
    for (const file of alone) results.push(await runFile(file, env))
  } finally {
    await cluster.stop()
  }
  process.stdout.write('\n== coverage (core/, plugins/)\n')
  spawnSync(process.execPath, [join(ROOT, 'node_modules/c8/bin/c8.js'), 'report', '--temp-directory', coverageDir,
    '--include', 'core/**', '--include', 'plugins/**', '--reporter', 'text-summary', '--reporter', 'lcov'], { cwd: ROOT, stdio: 'inherit' })
  process.stdout.write('\n== results\n')
  for (const r of results.sort((a, b) => a.file.localeCompare(b.file))) {
    process.stdout.write(`${r.failed ? 'FAIL' : 'ok  '} ${r.file}  ${r.passed} passed, ${r.failed} failed${r.skipped ? `, ${r.skipped} skipped` : ''}  (${r.seconds.toFixed(1)} s${timing(r)})\n`)
  }
  const sum = (key: 'passed' | 'failed' | 'skipped') => results.reduce((total, r) => total + r[key], 0)
  const skipped = sum('skipped')
  let failed = sum('failed')
  if (process.env.CI === 'true' && skipped) {
    process.stdout.write(`CI: ${skipped} skipped test(s) count as failures\n`)
    failed += skipped
  }
  if (lanesSummary) process.stdout.write(`${lanesSummary}\n`)
  process.stdout.write(`\n${sum('passed')} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}\n`)
  process.exit(failed ? 1 : 0)
}

main().catch((error) => {
  process.stdout.write(`test runner crashed: ${error?.stack ?? error}\n0 passed, 1 failed\n`)
  process.exit(1)
})
