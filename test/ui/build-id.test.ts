// The UI shows the build it was bundled from (version + commit, baked in by scripts/build.mjs)
// next to the logo, the same id the built server reports in /api/health.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { ROOT } from '../helpers.ts'
import { assertNoCspViolations, launchBrowser, openPage, startUiApp } from './helpers.ts'

test('the header shows <version>+<commit> of the build', async () => {
  const ui = await startUiApp()
  const browser = await launchBrowser()
  try {
    const { page, problems } = await openPage(browser, ui.url)
    const shown = (await page.locator('ta-app .build').textContent({ timeout: 15000 }))?.trim()
    const version = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version as string
    // The commit the bundles were built from, as scripts/build.mjs baked it into dist/server.js.
    const baked = /commit: "([0-9a-f]{7,40}|unknown)"/.exec(readFileSync(join(ROOT, 'dist', 'server.js'), 'utf8'))?.[1]
    assert.ok(baked, 'dist/server.js carries the build')
    assert.is(shown, `${version}+${baked}`)
    assert.equal(problems, [])
    assertNoCspViolations()
  } finally {
    await browser.close()
    await ui.close()
  }
})

test.run()
