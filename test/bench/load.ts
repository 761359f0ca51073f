/**
 * A small closed-loop HTTP load generator run in its own process (so it does not share the app's
 * event loop): `connections` keep-alive loops send requests for `seconds` and the percentiles of
 * their latencies are printed as one JSON line. Used by the API benches.
 *   node --import ./scripts/ts-register.mjs test/bench/load.ts <url> <connections> <seconds>
 */
import http from 'node:http'

export function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!
}

async function main() {
  const [url, connections = '50', seconds = '10'] = process.argv.slice(2)
  const target = new URL(url!)
  const agent = new http.Agent({ keepAlive: true, maxSockets: Number(connections) })
  const latencies: number[] = []
  let errors = 0
  const deadline = performance.now() + Number(seconds) * 1000
  const once = () =>
    new Promise<void>((resolve) => {
      const started = performance.now()
      const req = http.get({ host: target.hostname, port: target.port, path: target.pathname + target.search, agent }, (res) => {
        res.resume()
        res.on('end', () => {
          if (res.statusCode !== 200) errors++
          latencies.push(performance.now() - started)
          resolve()
        })
      })
      req.on('error', () => {
        errors++
        resolve()
      })
    })
  await Promise.all(Array.from({ length: Number(connections) }, async () => {
    while (performance.now() < deadline) await once()
  }))
  latencies.sort((a, b) => a - b)
  const total = latencies.length
  process.stdout.write(JSON.stringify({
    requests: total,
    errors,
    rps: Math.round(total / Number(seconds)),
    p50_ms: +percentile(latencies, 50).toFixed(2),
    p99_ms: +percentile(latencies, 99).toFixed(2),
  }) + '\n')
  agent.destroy()
}

if (process.argv[1]?.endsWith('load.ts')) void main()
