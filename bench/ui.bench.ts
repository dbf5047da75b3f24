/**
 * The web dashboard (@tanuki/plugin-ui) under load: a real server (Hono on Node) and real
 * Chromium pages.
 *
 * Run: `node --import tsx bench/ui.bench.ts` after `npm run setup` (the page is built into
 * packages/plugin-ui/dist/client) with Debian's chromium installed.
 * Options: `--tasks 10000`, `--events 50000`, `--pages 5`, `--reps 3`.
 *
 * (a) load: a project of N tasks (a tree of dependencies over 8 roles). Time from `page.goto` to
 *     the page showing it: the status read, the model built, the list's first rows and the
 *     graph's clusters drawn (`body[data-ready]`). A fresh browser context each time. Target:
 *     under 2 s for 10,000 tasks.
 * (b) events: 5 dashboards open (5 Chromium pages on the stream), the server sent M events of a
 *     busy run (status changes, assignments, iterations with usage) as fast as it folds them.
 *     Prints the server process's CPU time per event and events per second, with the pages
 *     receiving every batch (checked: each page's model ends with every task complete).
 *
 * This is not a test: it prints figures next to the targets and never fails on them.
 */
import { cpus, loadavg, tmpdir } from 'node:os'
import { mkdtempSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { chromium, type BrowserContext, type Page } from 'playwright-core'
import { serveDashboard, type DashboardSource, type SourceListener, type StatusDocument } from '@tanuki/plugin-ui'

const { values: options } = parseArgs({
  options: {
    tasks: { type: 'string', default: '10000' },
    events: { type: 'string', default: '50000' },
    pages: { type: 'string', default: '5' },
    reps: { type: 'string', default: '3' },
  },
})
const TASKS = Number(options.tasks)
const EVENTS = Number(options.events)
const PAGES = Number(options.pages)
const REPS = Number(options.reps)
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]

const id = (i: number): string => `TASK-${String(i).padStart(5, '0')}`

function projectDoc(n: number): StatusDocument {
  return {
    status: 'running',
    updatedAt: new Date().toISOString(),
    tasks: Array.from({ length: n }, (_, i) => ({
      id: id(i),
      title: `Implement part ${i} of the system`,
      role: `role-${i % 8}`,
      priority: 'medium' as const,
      status: 'pending' as const,
      dependsOn: i === 0 ? [] : [id(Math.floor((i - 1) / 3))],
      iterations: 0,
    })),
    progress: {
      total: n,
      complete: 0,
      inProgress: 0,
      pending: n,
      failed: 0,
      review: 0,
      blocked: 0,
      percentage: 0,
      byStatus: {},
      byRole: {},
    },
    agents: [],
  }
}

/** A source in memory: the document, and events the bench pushes. */
function source(doc: StatusDocument): DashboardSource & { emit: SourceListener } {
  const listeners = new Set<SourceListener>()
  const nothing = async (): Promise<void> => {}
  return {
    status: () => doc,
    task: () => undefined,
    subscribe: (listener) => {
      listeners.add(listener)
      return () => void listeners.delete(listener)
    },
    emit: (name, event) => {
      for (const listener of listeners) listener(name, event)
    },
    rerun: nothing,
    reset: nothing,
    stop: nothing,
    resume: nothing,
  }
}

async function browser(): Promise<{ context: BrowserContext; close(): Promise<void> }> {
  const profile = mkdtempSync(join(tmpdir(), 'tanuki-bench-chromium-'))
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.TANUKI_CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: ARGS,
    viewport: { width: 1300, height: 900 },
  })
  return {
    context,
    async close() {
      await context.close()
      rmSync(profile, { recursive: true, force: true })
    },
  }
}

async function loadFigure(): Promise<void> {
  const server = await serveDashboard({ source: source(projectDoc(TASKS)) })
  const { context, close } = await browser()
  const times: number[] = []
  try {
    for (let rep = 0; rep <= REPS; rep++) {
      const page = await context.newPage()
      const started = performance.now()
      await page.goto(server.url)
      await page.waitForSelector('body[data-ready=true] [data-testid=task-list] [data-task]')
      await page.waitForSelector('[data-testid=graph] [data-node]')
      const took = performance.now() - started
      // The first load warms the browser's and the server's caches: not counted.
      if (rep > 0) times.push(took)
      const rows = await page.locator('[data-testid=task-list] [data-task]').count()
      if (rep === REPS) {
        // Responsive: a filter over 10,000 tasks, then the neighbourhood of a task in the graph.
        const t0 = performance.now()
        await page.fill('input[type=search]', 'part 999')
        await page.waitForSelector(`[data-task="${id(999)}"]`)
        const filtered = performance.now() - t0
        const t1 = performance.now()
        await page.click(`[data-task="${id(999)}"]`)
        await page.waitForSelector(`[data-node="${id(999)}"]`)
        const neighbourhood = performance.now() - t1
        console.log(
          `  rows in the page: ${rows} of ${TASKS} (virtualised); filter typed → shown ${filtered.toFixed(0)} ms; task picked → its neighbourhood drawn ${neighbourhood.toFixed(0)} ms`,
        )
      }
      await page.close()
    }
  } finally {
    await close()
    await server.close()
  }
  times.sort((a, b) => a - b)
  const median = times[Math.floor(times.length / 2)]!
  console.log(
    `(a) ${TASKS.toLocaleString('en')} tasks shown in ${times.map((t) => `${t.toFixed(0)} ms`).join(', ')} (median ${median.toFixed(0)} ms) — target < 2000 ms: ${median < 2000 ? 'meets' : 'MISSES'}`,
  )
}

/** The events of a busy run: every task assigned, one iteration with usage, completed. */
function* runEvents(n: number): Generator<[string, unknown]> {
  let at = Date.now()
  for (let i = 0; ; i++) {
    const taskId = id(i % TASKS)
    const agent = `role-${i % 8}-1`
    yield ['task:status', { taskId, from: 'pending', to: 'assigned', agent, at: at++ }]
    yield ['task:assigned', { taskId, agent, role: `role-${i % 8}`, at: at++ }]
    yield ['task:status', { taskId, from: 'assigned', to: 'in_progress', agent, at: at++ }]
    yield ['iteration:started', { taskId, agent, iteration: 1, maxIterations: 30, prompt: 'x'.repeat(2000), at: at++ }]
    yield [
      'iteration:finished',
      {
        taskId,
        agent,
        iteration: 1,
        maxIterations: 30,
        outcome: 'complete',
        reason: 'verify passed',
        output: 'y'.repeat(2000),
        usage: { inputTokens: 1000, outputTokens: 200, costUsd: 0.01 },
        durationMs: 10,
        at: at++,
      },
    ]
    yield ['task:status', { taskId, from: 'in_progress', to: 'complete', agent, at: at++ }]
    yield ['task:completed', { taskId, agent, iterations: 1, durationMs: 10, at: at++ }]
    if ((i + 1) * 7 >= n) return
  }
}

async function eventFigure(): Promise<void> {
  const events = [...runEvents(EVENTS)]
  const src = source(projectDoc(TASKS))
  const server = await serveDashboard({ source: src })
  const { context, close } = await browser()
  const pages: Page[] = []
  try {
    for (let i = 0; i < PAGES; i++) {
      const page = await context.newPage()
      await page.goto(server.url)
      await page.waitForSelector('body[data-ready=true]')
      pages.push(page)
    }
    while (server.hub.clients < PAGES) await new Promise((resolve) => setTimeout(resolve, 10))
    const cpu = process.cpuUsage()
    const started = performance.now()
    // In slices, yielding to the event loop between them, as a run's events arrive.
    for (let i = 0; i < events.length; i += 500) {
      for (const [name, event] of events.slice(i, i + 500)) src.emit(name, event)
      await new Promise((resolve) => setImmediate(resolve))
    }
    server.hub.flush()
    const wall = performance.now() - started
    const used = process.cpuUsage(cpu)
    const cpuMs = (used.user + used.system) / 1000
    // Every page got every batch: each shows every task complete.
    const done = Math.min(TASKS, Math.ceil(events.length / 7))
    for (const page of pages) {
      await page.waitForFunction(
        (want) => document.querySelector('[data-testid=progress]')?.textContent?.startsWith(`${want}/`),
        done,
        { timeout: 60_000 },
      )
    }
    console.log(
      `(b) ${events.length.toLocaleString('en')} events, ${PAGES} dashboards open: server CPU ${((cpuMs * 1000) / events.length).toFixed(1)} µs per event (${cpuMs.toFixed(0)} ms in all), ${Math.round(events.length / (wall / 1000)).toLocaleString('en')} events/s; every page caught up (${done} complete)`,
    )
  } finally {
    await close()
    await server.close()
  }
}

console.log(
  `ui.bench: Node ${process.version}, ${cpus().length} CPUs, load ${loadavg()[0]!.toFixed(1)}; ${TASKS} tasks, ${PAGES} pages`,
)
await loadFigure()
await eventFigure()
