// The dashboard in a real browser: a real `tanuki project start --ui` on a temp git repository,
// watched live; a task's transcript; rerun; then `tanuki ui` after the run, with resume; and what
// needs a person after a run whose landing failed.
import { execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Page } from 'playwright-core'
import { afterEach, describe, expect, it } from 'vitest'
import { ARTIFACTS, launchBrowser, skipBrowser } from './browser.ts'
import {
  cleanup,
  configFor,
  createProject,
  startTanuki,
  slugTests,
  tanuki,
  waitFor,
  type CliProcess,
  type TempProject,
} from './helpers.ts'

let browser: Awaited<ReturnType<typeof launchBrowser>> | undefined
/** Folders outside a project (a remote), removed after each test. */
const outside: string[] = []
afterEach(async () => {
  await browser?.dispose()
  browser = undefined
  await cleanup()
  for (const dir of outside.splice(0)) rmSync(dir, { recursive: true, force: true })
})

const git = (dir: string, ...args: string[]): string =>
  execFileSync('git', args, { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim()

/** A chain A-1 → A-2 → Q-1; A-1 waits for a gate file the test creates, Q-1's verify fails once. */
function project(): TempProject & { gate: string } {
  const created = createProject({
    agents: { default: 1, qa: 1 },
    config: undefined,
    tasks: [
      {
        id: 'A-1',
        title: 'Build the base',
        sh: 'echo waiting for the gate; while [ ! -f "$GATE" ]; do sleep 0.1; done; echo built > a.txt',
        verify: 'test -f a.txt',
      },
      {
        id: 'A-2',
        title: 'Add a layer',
        dependsOn: ['A-1'],
        sh: 'echo layering; echo layer >> layer.txt',
        verify: 'true',
      },
      {
        id: 'Q-1',
        title: 'Check it all',
        role: 'qa',
        dependsOn: ['A-2'],
        sh: 'echo checking the layers',
        verify: 'test -f .checked-once || { echo not yet checked; touch .checked-once; exit 1; }',
        maxIterations: 3,
      },
    ],
  })
  const gate = join(created.dir, 'gate')
  // The shell agent inherits the environment: the gate's path reaches the task through it.
  process.env.GATE = gate
  return Object.assign(created, { gate })
}

async function dashboardUrl(run: CliProcess): Promise<string> {
  return waitFor('the dashboard URL', () => /Dashboard: (http:\/\/\S+)/.exec(run.output().stdout)?.[1])
}

const row = (page: Page, id: string) => page.locator(`[data-testid=task-list] [data-task="${id}"]`)

async function rowStatus(page: Page, id: string): Promise<string | null> {
  return row(page, id).getAttribute('data-status')
}

describe.skipIf(skipBrowser)('the dashboard in a browser', () => {
  it('shows a running project live, a transcript with verify output, reruns a task; refuses requests without the token or from another origin', async () => {
    const p = project()
    const run = startTanuki(p.dir, 'project', 'start', '--ui', '--watch')
    const url = await dashboardUrl(run)
    const origin = new URL(url).origin

    // The API, as another program (or page) would call it.
    expect((await fetch(`${origin}/api/status`)).status).toBe(401)
    expect((await fetch(`${origin}/`)).status).toBe(401)
    expect((await fetch(`${origin}/api/events`)).status).toBe(401)
    const token = new URL(url).searchParams.get('token')!
    const forged = await fetch(`${origin}/api/run/stop`, {
      method: 'POST',
      headers: { 'X-Tanuki-Token': token, Origin: 'http://attacker.example' },
    })
    expect(forged.status).toBe(403)

    browser = await launchBrowser()
    const page = await browser.newPage()
    const errors: string[] = []
    page.on('pageerror', (error) => errors.push(error.message))
    await page.goto(url)
    // The token left the address bar for a cookie.
    expect(page.url()).not.toContain('token=')
    await page.waitForSelector('body[data-ready=true]')
    await waitFor('A-1 in progress on the page', async () => (await rowStatus(page, 'A-1')) === 'in_progress')
    expect(await rowStatus(page, 'A-2')).toBe('pending')
    expect(await page.locator('[data-node="A-1"]').getAttribute('data-status')).toBe('in_progress')
    await expect.poll(() => page.locator('[data-agent="default-1"]').textContent()).toContain('A-1')
    // One notation for tries, in the list and the lanes: its first, of at most 30 (the default).
    await expect.poll(() => row(page, 'A-1').locator('.row-iter').textContent()).toBe('#1/30')
    expect(await page.locator('[data-agent="default-1"] .iter').textContent()).toBe(' #1/30')
    // Nothing needs a person while it runs: no panel.
    expect(await page.getByTestId('needs-you').count()).toBe(0)
    await page.screenshot({ path: join(ARTIFACTS, 'ui-running.png'), fullPage: true })

    // Open the gate: the page follows the run without being reloaded.
    writeFileSync(p.gate, '')
    await waitFor('A-2 complete on the page', async () => (await rowStatus(page, 'A-2')) === 'complete')
    await waitFor('Q-1 complete on the page', async () => (await rowStatus(page, 'Q-1')) === 'complete')
    expect(await page.locator('[data-node="Q-1"]').getAttribute('data-status')).toBe('complete')
    await expect.poll(() => page.getByTestId('progress').textContent()).toContain('3/3 complete')
    // Its second try was its last: `#2`, as its page numbers it.
    expect(await row(page, 'Q-1').locator('.row-iter').textContent()).toBe('#2')
    await page.screenshot({ path: join(ARTIFACTS, 'ui-complete.png'), fullPage: true })

    // Q-1's page: two iterations, the first failed its verify, and the agent's output.
    await row(page, 'Q-1').locator('a').click()
    await page.waitForSelector('[data-testid=task-page]')
    await expect.poll(() => page.getByTestId('iteration').count()).toBe(2)
    const first = page.getByTestId('iteration').first()
    await first.locator('summary').first().click()
    expect(await first.getAttribute('data-outcome')).toBe('retry')
    expect(await first.getByTestId('transcript').textContent()).toContain('checking the layers')
    expect(await first.getByTestId('verify').textContent()).toContain('not yet checked')
    expect(await page.getByTestId('iteration').last().getAttribute('data-outcome')).toBe('complete')
    await page.screenshot({ path: join(ARTIFACTS, 'ui-transcript.png'), fullPage: true })

    // Rerun A-2 from its page: it runs again, live, and gets a second iteration.
    await page.goto(`${origin}/#/task/A-2`)
    await expect.poll(() => page.getByTestId('iteration').count()).toBe(1)
    await page.getByTestId('rerun').click()
    await expect.poll(() => page.getByTestId('iteration').count(), { timeout: 30_000 }).toBe(2)
    await expect.poll(() => page.getByTestId('task-status').textContent(), { timeout: 30_000 }).toBe('complete')
    await page.screenshot({ path: join(ARTIFACTS, 'ui-rerun.png'), fullPage: true })

    // Stop from the page: the run ends gracefully.
    await page.goto(`${origin}/`)
    await page.getByTestId('stop').click()
    const ended = await run.done
    expect(ended.stderr).not.toContain('Error')
    expect(errors).toEqual([])
  })

  it('`tanuki ui` shows a project after its run, reruns a task and resumes the run, following it live', async () => {
    const p = project()
    writeFileSync(p.gate, '')
    const first = await startTanuki(p.dir, 'project', 'start').done
    expect(first.code, first.stderr).toBe(0)

    const ui = startTanuki(p.dir, 'ui')
    const url = await dashboardUrl(ui)
    browser = (await browser) ?? (await launchBrowser())
    const page = await browser.newPage()
    await page.goto(url)
    await page.waitForSelector('body[data-ready=true]')
    expect(await page.getByTestId('run-state').textContent()).toBe('complete')
    expect(await rowStatus(page, 'Q-1')).toBe('complete')

    await page.goto(`${new URL(url).origin}/#/task/A-2`)
    await expect.poll(() => page.getByTestId('iteration').count()).toBe(1)
    expect(await page.getByTestId('transcript').textContent()).toContain('layering')
    await page.getByTestId('rerun').click()
    // As `tanuki task rerun` does with no run on: into the journal, mirrored into the task file.
    await waitFor('A-2 pending in its file', () => /^status: pending$/m.test(readFileSync(p.taskPath('A-2'), 'utf8')))
    await page.goto(`${new URL(url).origin}/`)
    // Answered before the page moves on: a navigation right after the click could cancel the
    // request on a loaded machine, and then no run resumed (seen once in CI).
    await Promise.all([
      page.waitForResponse((response) => new URL(response.url()).pathname === '/api/run/resume'),
      page.getByTestId('resume').click(),
    ])
    await page.goto(`${new URL(url).origin}/#/task/A-2`)
    await expect.poll(() => page.getByTestId('iteration').count(), { timeout: 30_000 }).toBe(2)
    await expect.poll(() => page.getByTestId('task-status').textContent(), { timeout: 30_000 }).toBe('complete')
    await page.screenshot({ path: join(ARTIFACTS, 'ui-standalone.png'), fullPage: true })
    expect(existsSync(join(p.dir, '.tanuki', 'logs', 'tasks', 'A-2', 'iteration-002.log'))).toBe(true)
    ui.child.kill('SIGINT')
    expect((await ui.done).code).toBe(0)
  })

  it('`tanuki ui` after a run says what needs a person, why its work did not land, and every role table header whole', async () => {
    const p = createProject({
      files: { 'test/ok.test.cjs': "require('node:test')('ok', () => {})\n", 'fixtures/slug.cjs': slugTests },
      config: configFor({ default: 1, qa: 1 }, "\n  land: { verify: 'node --test' },"),
      tasks: [
        // Its own verify passes where the agent worked; the project's tests fail once it lands.
        {
          id: 'S',
          sh: 'cp fixtures/slug.cjs test/slug.test.cjs',
          verify: 'test -f test/slug.test.cjs',
          maxIterations: 1,
        },
        { id: 'T', role: 'qa', sh: 'echo fine > t.txt', verify: 'test -f t.txt' },
      ],
    })
    expect((await tanuki(p.dir, 'project', 'start')).code).toBe(1)

    const ui = startTanuki(p.dir, 'ui')
    const url = await dashboardUrl(ui)
    browser = await launchBrowser()
    const page = await browser.newPage()
    await page.goto(url)
    await page.waitForSelector('body[data-ready=true]')

    // The task in review, why, the command for it and a link to its page; the landed one is not there.
    const panel = page.getByTestId('needs-you')
    await expect.poll(() => panel.locator('li').count()).toBe(1)
    const item = panel.locator('li[data-task="S"]')
    expect(await item.getAttribute('data-kind')).toBe('review')
    expect(await item.getByTestId('need-why').textContent()).toContain('could not land: `node --test` failed')
    expect(await item.locator('code').textContent()).toBe('tanuki task show S')
    expect(await row(page, 'S').locator('.row-iter').textContent()).toBe('#1')

    // The role table is whole at normal widths: no header cut to "in pr…", no column out of its
    // panel, no role's name broken over lines to make room (every row one line high).
    for (const width of [1300, 1200, 1100]) {
      await page.setViewportSize({ width, height: 900 })
      const matrix = page.getByTestId('matrix')
      const cut = await matrix
        .locator('thead th')
        .evaluateAll((cells) =>
          cells.filter((cell) => cell.scrollWidth > cell.clientWidth).map((cell) => cell.textContent),
        )
      expect(cut, `at ${width}px`).toEqual([])
      const [right, boxRight] = await matrix.evaluate((table) => [
        table.getBoundingClientRect().right,
        table.parentElement!.getBoundingClientRect().right,
      ])
      expect(right, `at ${width}px`).toBeLessThanOrEqual(boxRight!)
      const heights = await matrix
        .locator('tbody tr')
        .evaluateAll((rows) => rows.map((each) => each.getBoundingClientRect().height))
      expect(new Set(heights).size, `at ${width}px`).toBe(1)
    }
    await page.setViewportSize({ width: 1300, height: 900 })
    await page.screenshot({ path: join(ARTIFACTS, 'ui-needs-you.png'), fullPage: true })

    // Its page says why its work did not land, from the journal: no run is on to tell it.
    await item.locator('a').click()
    await page.waitForSelector('[data-testid=task-page]')
    const landing = page.getByTestId('land-failed')
    await expect.poll(() => landing.count()).toBe(1)
    expect(await landing.textContent()).toContain('node --test exited 1 on the combined work')
    expect(await landing.locator('pre').textContent()).toContain('# fail 1')
    await page.screenshot({ path: join(ARTIFACTS, 'ui-land-failed.png'), fullPage: true })

    // A person accepts its work as it is, from another terminal: the page follows, from the journal.
    expect((await tanuki(p.dir, 'task', 'mark', 'S', 'complete')).code).toBe(0)
    const accepted = page.getByTestId('accepted')
    await expect.poll(() => accepted.count(), { timeout: 10_000 }).toBe(1)
    expect(await accepted.textContent()).toContain('by hand (tanuki task mark S complete)')
    ui.child.kill('SIGINT')
    expect((await ui.done).code).toBe(0)
  })
  it('`tanuki ui` after a run whose push the remote refused lists it under Needs you, with `tanuki land`', async () => {
    const remote = mkdtempSync(join(tmpdir(), 'tanuki-e2e-remote-'))
    outside.push(remote)
    git(remote, 'init', '-q', '--bare', '-b', 'main')
    const p = createProject({
      tasks: [{ id: 'P-1', sh: 'echo 1 > one.txt', verify: 'test -f one.txt' }],
      config: configFor({ default: 1 }, "\n  land: { push: 'origin' },"),
    })
    git(p.dir, 'remote', 'add', 'origin', remote)
    git(p.dir, 'push', '-q', 'origin', 'main')
    writeFileSync(join(remote, 'hooks', 'pre-receive'), '#!/bin/sh\necho "pushes are frozen" >&2\nexit 1\n', {
      mode: 0o755,
    })
    expect((await tanuki(p.dir, 'project', 'start')).code).toBe(1)

    const ui = startTanuki(p.dir, 'ui')
    const url = await dashboardUrl(ui)
    browser = await launchBrowser()
    const page = await browser.newPage()
    await page.goto(url)
    await page.waitForSelector('body[data-ready=true]')
    // The one thing that needs a person: the project's, not a task's (P-1 landed).
    const panel = page.getByTestId('needs-you')
    await expect.poll(() => panel.locator('li').count()).toBe(1)
    const item = panel.getByTestId('not-pushed')
    expect(await item.getAttribute('data-kind')).toBe('not-pushed')
    const why = await item.getByTestId('need-why').textContent()
    expect(why).toContain('main is not pushed to origin: pushes are frozen')
    // Its commands as code, not in backquotes.
    expect(why).toContain('Fix that, then tanuki land pushes it again (or git push origin main)')
    expect(await item.locator('code.need-command').textContent()).toBe('tanuki land')
    await page.screenshot({ path: join(ARTIFACTS, 'ui-not-pushed.png'), fullPage: true })
    ui.child.kill('SIGINT')
    expect((await ui.done).code).toBe(0)
  })
})
