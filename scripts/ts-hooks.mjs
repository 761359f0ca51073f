// Module load hook: strips types from .ts files with esbuild (no type check; `npm run typecheck`
// does that). Inline source maps keep stack traces and c8 coverage pointing at the .ts lines.
import { transform } from 'esbuild'
import { fileURLToPath } from 'node:url'

export async function load(url, context, nextLoad) {
  if (!url.startsWith('file:') || !url.endsWith('.ts')) return nextLoad(url, context)
  const { source } = await nextLoad(url, { ...context, format: 'module' })
  const out = await transform(String(source), {
    loader: 'ts',
    format: 'esm',
    target: 'node20',
    sourcemap: 'inline',
    sourcefile: fileURLToPath(url),
  })
  return { format: 'module', source: out.code, shortCircuit: true }
}
