import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Code, Heading, Root, Table } from 'mdast'
import { remark } from 'remark'
import remarkGfm from 'remark-gfm'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { TanukiError, createMemoryBackend, createOrchestrator, type TanukiEvents } from '@tanuki/core'
import { FakePipe, finalStatuses, loadFixture, replay } from '../../test/support.ts'
import { runScenario } from '../../test/scenario.ts'
import { ModelFeed } from '../model/index.ts'
import { createSummaryReporter, renderSummary, summaryReporter } from './index.ts'

const events = loadFixture()
let dir: string
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tanuki-summary-'))
})
afterEach(async () => {
  await rm(dir, { recursive: true, force: true })
})

function parse(markdown: string): Root {
  return remark().use(remarkGfm).parse(markdown)
}

/** Plain text of an mdast node. */
function text(node: unknown): string {
  const n = node as { value?: string; children?: unknown[] }
  return n.value ?? (n.children ?? []).map(text).join('')
}

/** The task table as rows of cell texts, keyed by column header. */
function taskTable(tree: Root): Record<string, string>[] {
  const table = tree.children.find((node): node is Table => node.type === 'table')
  expect(table).toBeDefined()
  const [head, ...rows] = table!.children
  const headers = head!.children.map(text)
  return rows.map((row) => Object.fromEntries(row.children.map((cell, i) => [headers[i], text(cell)])))
}

describe('summary reporter', () => {
  it('writes a Markdown report with every task and its status, once, to a file and, with `full`, the terminal', async () => {
    const path = join(dir, 'summary.md')
    const pipe = new FakePipe()
    await replay(createSummaryReporter({ path, stream: pipe, full: true }), events)
    const markdown = await readFile(path, 'utf8')
    // Settled and closed both came: written once.
    expect(pipe.output.trim()).toBe(markdown.trim())

    const statuses = finalStatuses(events)
    const rows = taskTable(parse(markdown))
    expect(rows.map((row) => row.Task).sort()).toEqual([...statuses.keys()].sort())
    for (const row of rows) expect(row.Status).toBe(statuses.get(row.Task!))

    const completed = events
      .filter((e) => e.name === 'task:completed')
      .map((e) => e.payload as TanukiEvents['task:completed'])
    for (const done of completed) {
      const row = rows.find((r) => r.Task === done.taskId)!
      expect(row.Iterations).toBe(String(done.iterations))
      expect(row.Agent).toBe(done.agent)
    }
    // Tokens and cost: the sum of what each task's iterations reported.
    const usage = new Map<string, { inputTokens: number; outputTokens: number }>()
    for (const e of events.filter((e) => e.name === 'iteration:finished')) {
      const f = e.payload as TanukiEvents['iteration:finished']
      if (!f.usage) continue
      const sum = usage.get(f.taskId) ?? { inputTokens: 0, outputTokens: 0 }
      sum.inputTokens += f.usage.inputTokens ?? 0
      sum.outputTokens += f.usage.outputTokens ?? 0
      usage.set(f.taskId, sum)
    }
    expect(usage.size).toBeGreaterThan(0)
    for (const [taskId, sum] of usage) {
      expect(rows.find((r) => r.Task === taskId)!.Tokens).toBe(`${sum.inputTokens} in / ${sum.outputTokens} out`)
    }
    // Titles with Markdown-special characters survive the round trip.
    expect(rows.find((r) => r.Task === 'deploy')!.Title).toBe('Deploy <the> "app" & UI')
  })

  it('has a section per failure and review, with the tail of the verify output in a code block', async () => {
    const path = join(dir, 'summary.md')
    await replay(createSummaryReporter({ path, stream: false }), events)
    const tree = parse(await readFile(path, 'utf8'))
    const troubled = [...finalStatuses(events)].filter(([, status]) => status === 'failed' || status === 'review')
    expect(troubled.length).toBeGreaterThan(0)
    for (const [id, status] of troubled) {
      const at = tree.children.findIndex(
        (node) => node.type === 'heading' && (node as Heading).depth === 3 && text(node) === `${id}: ${status}`,
      )
      expect(at).toBeGreaterThan(0)
      const next = tree.children.slice(at + 1).findIndex((node) => node.type === 'heading')
      const section = tree.children.slice(at + 1, next === -1 ? undefined : at + 1 + next)
      const code = section.find((node): node is Code => node.type === 'code')
      expect(code).toBeDefined()
      const finished = events
        .filter((e) => e.name === 'iteration:finished' && (e.payload as { taskId: string }).taskId === id)
        .map((e) => e.payload as TanukiEvents['iteration:finished'])
        .at(-1)!
      const expected = (finished.verify?.output ?? finished.output).trim()
      expect(code!.value).toBe(expected === '' ? '(no output)' : expected)
    }
  })

  it('says why a task an earlier run settled failed or went to review', async () => {
    const path = join(dir, 'summary.md')
    const task = { role: 'default', priority: 'medium' as const, dependsOn: [] }
    await replay(createSummaryReporter({ path, stream: false }), [
      { name: 'orchestrator:state', payload: { from: 'starting', to: 'running', at: 1 } },
      {
        name: 'project:loaded',
        payload: {
          total: 2,
          ready: 0,
          recovered: [],
          tasks: [
            { ...task, id: 'D', title: 'D', status: 'failed', iterations: 3, reason: 'marked failed by a person' },
            { ...task, id: 'R', title: 'R', status: 'review', iterations: 1, reason: 'no completion criteria' },
          ],
          at: 2,
        },
      },
      {
        name: 'project:settled',
        payload: { allComplete: false, progress: {} as TanukiEvents['project:settled']['progress'], at: 3 },
      },
    ])
    const markdown = await readFile(path, 'utf8')
    expect(markdown).toContain('Failed after 3 iterations: marked failed by a person')
    expect(markdown).toContain('Needs review after 1 iteration: no completion criteria')
    expect(markdown).not.toContain('no reason given')
  })

  it('names each failure’s class and cause, and a role paused by its configuration', async () => {
    const pipe = new FakePipe()
    const orchestrator = createOrchestrator({
      config: {
        cooldownMs: 0,
        agents: { web: { count: 1 }, api: { count: 1 } },
        tasks: [
          { id: 'W-1', title: 'web', role: 'web', completion: { verify: 'exit 1', maxIterations: 1 } },
          { id: 'A-1', title: 'api', role: 'api', completion: { signal: 'DONE' } },
        ],
      },
      backends: [
        createMemoryBackend({
          script: ({ role }) =>
            role === 'api'
              ? {
                  type: 'fail',
                  error: 'authentication refused',
                  failure: { class: 'could-not-start', cause: 'the API refused ANTHROPIC_API_KEY (401)', config: true },
                }
              : { type: 'succeed', output: 'tried' },
        }),
      ],
      reporters: [createSummaryReporter({ path: join(dir, 'summary.md'), stream: pipe })],
    })
    await orchestrator.start()
    await orchestrator.done()
    const markdown = await readFile(join(dir, 'summary.md'), 'utf8')
    expect(markdown).toContain('## Paused roles')
    expect(markdown).toContain('- **api**: the API refused ANTHROPIC_API_KEY (401). Its tasks wait')
    expect(markdown).toMatch(/### W-1: review[^#]*Cause: \*\*verify-failed\*\*: /)
  })

  it('names a verify that cannot run where the agents work, and that the tasks with it wait', async () => {
    const pipe = new FakePipe()
    const orchestrator = createOrchestrator({
      config: {
        cooldownMs: 0,
        tasks: [
          { id: 'T-1', title: 'one', completion: { verify: 'pytset' } },
          { id: 'T-2', title: 'two', completion: { verify: 'pytset' } },
        ],
      },
      backends: [
        createMemoryBackend({ exec: () => ({ exitCode: 127, output: 'sh: 1: pytset: not found\n', timedOut: false }) }),
      ],
      reporters: [createSummaryReporter({ path: join(dir, 'summary.md'), stream: pipe })],
    })
    await orchestrator.start()
    await orchestrator.done()
    const markdown = await readFile(join(dir, 'summary.md'), 'utf8')
    expect(markdown).toContain('## Verify that cannot run')
    expect(markdown).toContain(
      '- verify `pytset` cannot run on this machine for role "default" (exit 127: sh: 1: pytset: not found). ' +
        '`pytset` was not found there: install it (or put it on PATH), or correct the verify in the task files that give it; ' +
        'then `tanuki project resume`. The tasks of role **default** with this verify wait, unharmed (T-1 met it).',
    )
    // T-2 never ran: it says what it waits for, not "not started".
    expect(markdown).toContain('- **T-2** (pending): waits: verify `pytset` cannot run (see above)')
  })

  it('names no verify that cannot run once a rerun in a run that stays on let every task it held complete', async () => {
    const machine = { installed: false }
    const feed = new ModelFeed()
    const orchestrator = createOrchestrator({
      config: {
        cooldownMs: 0,
        stopWhenSettled: false,
        tasks: [
          { id: 'T-1', title: 'one', completion: { verify: 'pytset' } },
          { id: 'T-2', title: 'two', completion: { verify: 'pytset' } },
        ],
      },
      backends: [
        createMemoryBackend({
          exec: () =>
            machine.installed
              ? { exitCode: 0, output: '', timedOut: false }
              : { exitCode: 127, output: 'sh: 1: pytset: not found\n', timedOut: false },
        }),
      ],
      reporters: [{ name: 'model', onEvent: (event, payload) => feed.apply(event, payload) }],
    })
    const settled: boolean[] = []
    const waiters: (() => void)[] = []
    orchestrator.events.on('project:settled', (e) => {
      settled.push(e.allComplete)
      waiters.shift()?.()
    })
    const nextSettle = () => new Promise<void>((resolve) => waiters.push(resolve))
    const first = nextSettle()
    await orchestrator.start()
    await first
    expect(renderSummary(feed.model)).toContain('## Verify that cannot run')
    machine.installed = true
    const second = nextSettle()
    await orchestrator.rerun('T-2')
    await second
    await orchestrator.stop()
    await orchestrator.done()
    expect(settled).toEqual([false, true])
    const markdown = renderSummary(feed.model)
    expect(markdown).not.toContain('## Verify that cannot run')
    expect(markdown).not.toContain('waits: verify')
  })

  it('counts what tries a crash and a stop cut short spent, the estimate marked ~', async () => {
    const path = join(dir, 'summary.md')
    let tries = 0
    const orchestrator = createOrchestrator({
      config: { cooldownMs: 0, tasks: [{ id: 'C-1', title: 'cut', completion: { signal: 'DONE' } }] },
      backends: [
        createMemoryBackend({
          // The first agent dies mid-try, having said what it spent; the second is stopped mid-try,
          // before its bill, with what Tanuki priced of its answers so far.
          script: () =>
            ++tries === 1
              ? { type: 'die', delayMs: 5, usage: { costUsd: 0.25, inputTokens: 100, outputTokens: 10 } }
              : { type: 'hang', usage: { costUsd: 0.5, inputTokens: 200, outputTokens: 20, estimated: true } },
        }),
      ],
      reporters: [createSummaryReporter({ path, stream: false })],
    })
    let started = 0
    const second = new Promise<void>((resolve) =>
      orchestrator.events.on('iteration:started', () => void (++started === 2 && resolve())),
    )
    await orchestrator.start()
    await second
    // The second agent has begun (and spent) before the stop.
    await new Promise((resolve) => setTimeout(resolve, 5))
    await orchestrator.stop()
    expect((await orchestrator.done()).spend).toEqual({ usd: 0.75, tokens: 330 })
    const markdown = await readFile(path, 'utf8')
    expect(markdown).toContain('Tokens: 300 in / 30 out.')
    expect(markdown).toContain("Cost: ~$0.7500 (~: in part Tanuki's estimate")
    expect(taskTable(parse(markdown)).find((row) => row.Task === 'C-1')).toMatchObject({
      Tokens: '300 in / 30 out',
      Cost: '~$0.7500',
    })
  })

  it('writes the report of a live run into the state dir when the run settles', async () => {
    const pipe = new FakePipe()
    const { summary } = await runScenario({
      config: { plugins: [summaryReporter({ stream: pipe })] },
      project: { root: dir },
    })
    const markdown = await readFile(join(dir, '.tanuki', 'summary.md'), 'utf8')
    // The terminal gets the brief, which says where the file is.
    expect(pipe.output).toContain(`Every task, and the output of each failure: ${join(dir, '.tanuki', 'summary.md')}\n`)
    expect(pipe.output).not.toContain('## Tasks')
    const tree = parse(markdown)
    expect(text(tree.children[0])).toBe(`Tanuki run summary: scenario`)
    expect(taskTable(tree).filter((row) => row.Status === 'complete')).toHaveLength(summary.progress.complete)
  })

  it('writes nothing, and leaves the last report alone, when the start is refused', async () => {
    const path = join(dir, 'summary.md')
    await writeFile(path, 'the last run\n')
    const pipe = new FakePipe()
    const orchestrator = createOrchestrator({
      // A source that fails to load: the reporters are up by then, and close without a run.
      config: { plugins: [summaryReporter({ path, stream: pipe })] },
      sources: [
        {
          name: 'broken',
          load: () => Promise.reject(new TanukiError('TANUKI_TASK_INVALID', 'bad.md: no id')),
          update: async () => {},
        },
      ],
      backends: [createMemoryBackend()],
      project: { root: dir },
    })
    await expect(orchestrator.start()).rejects.toMatchObject({ code: 'TANUKI_TASK_INVALID' })
    expect(pipe.output).toBe('')
    expect(await readFile(path, 'utf8')).toBe('the last run\n')
  })

  it('writes at close when the run was stopped before it settled', async () => {
    const path = join(dir, 'summary.md')
    await replay(
      createSummaryReporter({ path, stream: false }),
      events.slice(
        0,
        events.findIndex((e) => e.name === 'project:settled'),
      ),
    )
    const rows = taskTable(parse(await readFile(path, 'utf8')))
    expect(rows.length).toBe(finalStatuses(events).size)
  })
})
