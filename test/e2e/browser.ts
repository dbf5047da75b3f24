/**
 * A real headless browser for the dashboard's tests: Debian's `chromium` driven by playwright-core.
 * Under `CI=true` the browser tests must run (a missing Chromium fails them); elsewhere they are
 * skipped with a notice, as the Docker tests are without an engine.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium, type BrowserContext } from 'playwright-core'
import { REPO_ROOT } from './helpers.ts'

export const CHROMIUM = process.env.TANUKI_CHROMIUM ?? '/usr/bin/chromium'
export const browserProblem = existsSync(CHROMIUM)
  ? undefined
  : `no Chromium at ${CHROMIUM} (Debian: apt-get install -y chromium; or set TANUKI_CHROMIUM)`
export const skipBrowser = browserProblem !== undefined && process.env.CI !== 'true'
if (skipBrowser) console.warn(`[e2e] browser tests skipped: ${browserProblem}`)

/** Where screenshots go (gitignored): test/e2e/artifacts. */
export const ARTIFACTS = join(REPO_ROOT, 'test', 'e2e', 'artifacts')

/**
 * Chromium's flags here: without the background-networking ones it tries to reach Google's
 * services, and this machine's closed network refuses those connections.
 */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]

/** A browser with a fresh profile; `close()` also deletes the profile. */
export async function launchBrowser(): Promise<BrowserContext & { dispose(): Promise<void> }> {
  if (browserProblem) throw new Error(`CI=true but the browser tests cannot run: ${browserProblem}`)
  mkdirSync(ARTIFACTS, { recursive: true })
  const profile = mkdtempSync(join(tmpdir(), 'tanuki-chromium-'))
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1300, height: 900 },
  })
  return Object.assign(context, {
    async dispose() {
      await context.close().catch(() => {})
      rmSync(profile, { recursive: true, force: true })
    },
  })
}
