// `npm run build`: bundles the three entrypoints, the core library and the UI into dist/.
// The app bundle keeps PGlite and postgres.js external (PGlite loads its WebAssembly and data files
// relative to its own package); the coordinator and agent bundles are self-contained so they can be
// copied to another host or into the agent image.
import { build } from 'esbuild'
import { spawnSync } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
process.chdir(root)
rmSync('dist', { recursive: true, force: true })
mkdirSync('dist/public', { recursive: true })

// The build id (core/version.ts): package.json's version and the commit built, baked into every
// bundle; `unknown` when this is not a git checkout.
const git = spawnSync('git', ['rev-parse', '--short=12', 'HEAD'], { encoding: 'utf8' })
const buildInfo = {
  version: JSON.parse(readFileSync('package.json', 'utf8')).version,
  commit: git.status === 0 && /^[0-9a-f]{7,40}$/.test(git.stdout.trim()) ? git.stdout.trim() : 'unknown',
}
const define = { __TERARCHITECT_BUILD__: JSON.stringify(buildInfo) }

const node = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: true,
  logLevel: 'warning',
  define,
  // Some CommonJS dependencies call require(); give the ESM bundle one.
  banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
}

const entries = [
  { in: 'server.ts', out: 'dist/server.js', external: ['@electric-sql/*', 'postgres'] },
  { in: 'coordinator.ts', out: 'dist/coordinator.js', external: [] },
  { in: 'agent.ts', out: 'dist/agent.js', external: [] },
  { in: 'core/index.ts', out: 'dist/core/index.js', external: ['@electric-sql/*', 'postgres', '@sinclair/typebox'] },
].filter((entry) => existsSync(entry.in))

await Promise.all(entries.map((entry) => build({ ...node, entryPoints: [entry.in], outfile: entry.out, external: entry.external })))
cpSync('sql', 'dist/sql', { recursive: true })

if (existsSync('frontend/main.ts')) {
  await build({
    entryPoints: ['frontend/main.ts'],
    // app.js is what a page loads first; pages only some people open (admin pages) are split into
    // chunks/ and loaded when first shown.
    outdir: 'dist/public',
    entryNames: 'app',
    chunkNames: 'chunks/[name]-[hash]',
    splitting: true,
    bundle: true,
    format: 'esm',
    target: 'es2022',
    minify: true,
    sourcemap: true,
    logLevel: 'warning',
    define,
  })
  cpSync('frontend/index.html', 'dist/public/index.html')
}
process.stdout.write(`build ${buildInfo.version}+${buildInfo.commit}: `)
process.stdout.write(`built ${entries.map((entry) => entry.out).join(', ')}${existsSync('frontend/main.ts') ? ', dist/public' : ''}\n`)
