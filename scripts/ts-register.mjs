// `node --import ./scripts/ts-register.mjs file.ts` runs TypeScript sources directly: tests, benches
// and `npm run dev`. Production runs the esbuild bundles in dist/ instead.
import { register } from 'node:module'

register('./ts-hooks.mjs', import.meta.url)
