import { stripVTControlCharacters } from 'node:util'
import { afterEach, describe, expect, it, vi } from 'vitest'
import type { TanukiEvents } from '@tanuki/core'
import { FakePipe, FakeTerminal, finalStatuses, loadFixture, replay, screen } from '../../test/support.ts'
import { runScenario, scenarioTasks, type RecordedEvent } from '../../test/scenario.ts'
import { createConsoleReporter } from './index.ts'
import { formatTime } from '../format.ts'

const events = loadFixture()
const count = (name: string): number => events.filter((e) => e.name === name).length
const retries = events.filter(
  (e) => e.name === 'iteration:finished' && (e.payload as TanukiEvents['iteration:finished']).outcome === 'retry',
)
const ESC = '\u001b'

describe('console reporter, plain lines', () => {
  it('says when an agent is parked, when every agent is, when it resumes, and what to fix in a paused role', async () => {
    const pipe = new FakePipe()
    const at = Date.UTC(2026, 10, 29, 12, 0, 0)
    const until = at + 90_000
    const parked = (agent: string) => ({
      name: 'agent:parked' as const,
      payload: { agent, role: 'web', account: 'claude:ANTHROPIC_API_KEY', until, reason: 'usage limit', at },
    })
    await replay(createConsoleReporter({ stream: pipe, env: {} }), [
      { name: 'agent:spawned', payload: { agent: 'web-1', role: 'web', backend: 'process', at } },
      { name: 'agent:spawned', payload: { agent: 'web-2', role: 'web', backend: 'process', at } },
      parked('web-1'),
      parked('web-2'),
      {
        name: 'agent:resumed',
        payload: { agent: 'web-1', role: 'web', account: 'claude:ANTHROPIC_API_KEY', at: until },
      },
      // A spawn that pauses its role is said by the pause, once; another one is said itself.
      {
        name: 'agent:spawn-failed',
        payload: {
          agent: 'api-1',
          role: 'api',
          backend: 'process',
          message: 'ANTHROPIC_API_KEY was refused (401)',
          pausesRole: true,
          at,
        },
      },
      { name: 'role:paused', payload: { role: 'api', cause: 'ANTHROPIC_API_KEY was refused (401)', at } },
      {
        name: 'agent:spawn-failed',
        payload: { agent: 'web-3', role: 'web', backend: 'docker', message: 'no room for another container', at },
      },
      // A cause that ends in a full stop (a missing program's does) gets no second one.
      { name: 'role:paused', payload: { role: 'cli', cause: 'no program `gemini` on PATH.', at } },
      {
        name: 'verify:blocked',
        payload: {
          role: 'qa',
          command: 'pytset',
          taskId: 'T-1',
          tasks: ['T-1'],
          program: 'pytset',
          cause:
            'verify `pytset` cannot run on this machine for role "qa" (exit 127: sh: 1: pytset: not found). Fix it',
          at,
        },
      },
      {
        name: 'verify:unblocked',
        payload: { role: 'qa', command: 'pytset', taskId: 'T-2', tasks: ['T-1', 'T-3'], at },
      },
    ])
    const lines = stripVTControlCharacters(pipe.output).trimEnd().split('\n')
    // One park of the account: one line, however many of its agents it holds.
    expect(
      lines.filter((l) => / agents on claude:ANTHROPIC_API_KEY parked until \d\d:\d\d:\d\d: usage limit$/.test(l)),
    ).toHaveLength(1)
    // Only once both are parked does it say when work resumes.
    expect(lines.filter((l) => l.includes('every agent is parked; work resumes at'))).toHaveLength(1)
    expect(lines.findIndex((l) => l.includes('every agent is parked'))).toBeGreaterThan(
      lines.findIndex((l) => l.includes('parked until')),
    )
    expect(lines.some((l) => / agents on claude:ANTHROPIC_API_KEY resumed$/.test(l))).toBe(true)
    expect(lines.some((l) => l.includes('role api paused: ANTHROPIC_API_KEY was refused (401). Its tasks wait'))).toBe(
      true,
    )
    expect(lines.some((l) => l.includes('role cli paused: no program `gemini` on PATH. Its tasks wait'))).toBe(true)
    expect(lines.filter((l) => l.includes('ANTHROPIC_API_KEY was refused (401)'))).toHaveLength(1)
    expect(
      lines.some((l) => l.endsWith('✗ agent web-3 could not start (web, docker): no room for another container')),
    ).toBe(true)
    expect(
      lines.some((l) =>
        l.endsWith(
          '✗ verify `pytset` cannot run on this machine for role "qa" (exit 127: sh: 1: pytset: not found). Fix it. ' +
            'T-1 and the other tasks of role qa with this verify wait, unharmed; the rest go on.',
        ),
      ),
    ).toBe(true)
    // Tried again (a resume, a person's rerun) and found to run: said, with what it queued again.
    expect(
      lines.some((l) =>
        l.endsWith(
          "↻ verify `pytset` runs again for role qa (tried before T-2's agent worked); queued again: T-1, T-3",
        ),
      ),
    ).toBe(true)
  })

  it('says which new tasks took a settled status from their files, and how to run one', async () => {
    const at = Date.UTC(2026, 10, 30, 12, 0, 0)
    const loaded = (ids: string[]) => ({
      name: 'project:loaded' as const,
      payload: {
        total: ids.length + 1,
        ready: 0,
        recovered: [],
        tasks: [
          {
            id: 'A',
            title: 'A',
            role: 'default',
            priority: 'medium' as const,
            status: 'complete' as const,
            dependsOn: [],
          },
          ...ids.map((id) => ({
            id,
            title: id,
            role: 'default',
            priority: 'medium' as const,
            status: 'complete' as const,
            dependsOn: [],
            fromFile: true as const,
          })),
        ],
        at,
      },
    })
    const lines = async (events: Parameters<typeof replay>[1]): Promise<string[]> => {
      const pipe = new FakePipe()
      // Quiet: the line is one a person must see.
      await replay(createConsoleReporter({ stream: pipe, env: {}, quiet: true }), events)
      return stripVTControlCharacters(pipe.output).trimEnd().split('\n')
    }
    expect(await lines([loaded(['B'])])).toContainEqual(
      expect.stringContaining(
        "B is new and its file says `status: complete`: taken as it is, not run. A copy of another task's file? `tanuki task rerun B` runs it.",
      ),
    )
    const many = await lines([loaded(['B', 'C', 'D', 'E', 'F', 'G'])])
    expect(many).toContainEqual(
      expect.stringContaining(
        "6 new tasks' files give them a settled status, taken as it is: they do not run (B complete, C complete",
      ),
    )
    expect(many.join('\n')).toContain('and 1 more')
    expect(many.join('\n')).not.toContain(' A complete')
    const added = await lines([
      {
        name: 'task:added',
        payload: {
          taskId: 'H',
          title: 'H',
          role: 'default',
          priority: 'medium',
          status: 'review',
          dependsOn: [],
          fromFile: true,
          at,
        },
      },
      {
        name: 'task:added',
        payload: { taskId: 'I', title: 'I', role: 'default', priority: 'medium', status: 'pending', dependsOn: [], at },
      },
    ])
    expect(added.filter((l) => l.includes('is new and its file says'))).toEqual([
      expect.stringContaining('H is new and its file says `status: review`'),
    ])
  })

  it("prints an agent's next task after its last one's outcome, though the completion came later", async () => {
    const pipe = new FakePipe()
    const at = Date.UTC(2026, 10, 30, 12, 0, 0)
    const reporter = createConsoleReporter({ stream: pipe, env: {} })
    // As the orchestrator emits them: the agent takes B at once; A's completion waits for the journal.
    await replay(
      reporter,
      [
        { name: 'task:assigned', payload: { taskId: 'A', agent: 'coder-1', role: 'coder', at } },
        { name: 'task:assigned', payload: { taskId: 'X', agent: 'coder-2', role: 'coder', at } },
        { name: 'task:assigned', payload: { taskId: 'B', agent: 'coder-1', role: 'coder', at } },
        { name: 'task:review', payload: { taskId: 'X', agent: 'coder-2', reason: 'no', iterations: 1, at } },
        { name: 'task:conflict', payload: { taskId: 'B', files: ['a.txt'], what: 'the work of A', at } },
        { name: 'task:completed', payload: { taskId: 'A', agent: 'coder-1', iterations: 1, durationMs: 5, at } },
        { name: 'task:completed', payload: { taskId: 'B', agent: 'coder-1', iterations: 1, durationMs: 5, at } },
      ],
      { close: false },
    )
    const lines = stripVTControlCharacters(pipe.output).trimEnd().split('\n')
    const index = (text: string): number => lines.findIndex((l) => l.includes(text))
    expect(index('X needs review')).toBeGreaterThan(index('X assigned'))
    expect(index('A complete')).toBeGreaterThan(index('A assigned'))
    expect(index('B assigned')).toBeGreaterThan(index('A complete'))
    expect(index('a.txt')).toBeGreaterThan(index('B assigned'))
    expect(index('B complete')).toBeGreaterThan(index('a.txt'))
    // The other agent's lines were not held.
    expect(index('X needs review')).toBeLessThan(index('A complete'))
  })

  it("prints a held line anyway when the last task's outcome never comes, and at the end", async () => {
    vi.useFakeTimers()
    try {
      const pipe = new FakePipe()
      const at = Date.UTC(2026, 10, 30, 12, 0, 0)
      const reporter = createConsoleReporter({ stream: pipe, env: {} })
      // A person's command took A over: no outcome event for it.
      await replay(
        reporter,
        [
          { name: 'task:assigned', payload: { taskId: 'A', agent: 'coder-1', role: 'coder', at } },
          { name: 'task:assigned', payload: { taskId: 'B', agent: 'coder-1', role: 'coder', at } },
        ],
        { close: false },
      )
      expect(pipe.output).not.toContain('B assigned')
      vi.advanceTimersByTime(300)
      expect(pipe.output).toContain('B assigned')
      await replay(reporter, [{ name: 'task:assigned', payload: { taskId: 'C', agent: 'coder-1', role: 'coder', at } }])
      // Closed: nothing is left unsaid.
      expect(pipe.output).toContain('C assigned')
    } finally {
      vi.useRealTimers()
    }
  })

  it('prints a line held after the run settled (--watch) when it is closed', async () => {
    vi.useFakeTimers()
    try {
      const pipe = new FakePipe()
      const at = Date.UTC(2026, 10, 30, 12, 0, 0)
      const reporter = createConsoleReporter({ stream: pipe, env: {} })
      const progress = {
        ...{ total: 1, complete: 1, inProgress: 0, pending: 0, failed: 0, review: 0, blocked: 0 },
        ...{ landed: 0, nothingToLand: 0, heldBack: 0, percentage: 100, byStatus: { complete: 1 }, byRole: {} },
      }
      await replay(
        reporter,
        [
          { name: 'project:settled', payload: { allComplete: true, progress, at } },
          // Tasks added while it watches: the agent takes D before C's completion is told.
          { name: 'task:assigned', payload: { taskId: 'C', agent: 'coder-1', role: 'coder', at } },
          { name: 'task:assigned', payload: { taskId: 'D', agent: 'coder-1', role: 'coder', at } },
        ],
        { close: false },
      )
      expect(pipe.output).not.toContain('D assigned')
      // Ctrl-C before the held line's wait is over: it is said all the same.
      await reporter.onClose?.()
      expect(pipe.output).toContain('D assigned')
    } finally {
      vi.useRealTimers()
    }
  })

  it('prints one timestamped line per event that matters', async () => {
    const pipe = new FakePipe()
    await replay(createConsoleReporter({ stream: pipe, env: {} }), events)
    const lines = pipe.output.trimEnd().split('\n')
    for (const line of lines) expect(line).toMatch(/^\d\d:\d\d:\d\d /)

    const matching = (pattern: RegExp): string[] => lines.filter((line) => pattern.test(line))
    expect(matching(/ assigned to /)).toHaveLength(count('task:assigned'))
    expect(matching(/ complete after /)).toHaveLength(count('task:completed'))
    expect(matching(/ failed after /)).toHaveLength(count('task:failed'))
    expect(matching(/ needs review after /)).toHaveLength(count('task:review'))
    expect(matching(/ blocked: /)).toHaveLength(count('task:blocked'))
    expect(matching(/ requeued \(attempt /)).toHaveLength(count('task:requeued'))
    expect(matching(/^\S+ \+ agent .* started/)).toHaveLength(count('agent:spawned'))
    expect(matching(/✗ agent \S+ crashed/)).toHaveLength(count('agent:crashed'))
    expect(matching(/ iteration \d+\/\d+: retry/)).toHaveLength(retries.length)
    // Every one of those, the loaded line and the final line; nothing else.
    const expected =
      [
        'task:assigned',
        'task:completed',
        'task:failed',
        'task:review',
        'task:blocked',
        'task:requeued',
        'agent:spawned',
        'agent:crashed',
        'project:loaded',
      ].reduce((sum, name) => sum + count(name), 0) +
      retries.length +
      1
    expect(lines).toHaveLength(expected)

    // Each task event names its task, in the order the events came.
    const taskEvents = events.filter((e) =>
      ['task:assigned', 'task:completed', 'task:failed', 'task:review'].includes(e.name),
    )
    const taskLines = matching(/ (assigned to|complete after|failed after|needs review after) /)
    taskLines.forEach((line, i) => expect(line).toContain((taskEvents[i]!.payload as { taskId: string }).taskId))

    const statuses = [...finalStatuses(events).values()]
    const last = lines.at(-1)!
    expect(last).toContain(`${statuses.filter((s) => s === 'complete').length}/${statuses.length} complete`)
    expect(last).toContain(`${statuses.filter((s) => s === 'blocked').length} blocked`)
  })

  it('writes no escape codes with NO_COLOR, even when asked to colour by FORCE_COLOR', async () => {
    const pipe = new FakePipe()
    await replay(createConsoleReporter({ stream: pipe, env: { NO_COLOR: '1', FORCE_COLOR: '1' } }), events)
    expect(pipe.output.length).toBeGreaterThan(0)
    expect(pipe.output).not.toContain(ESC)
  })

  it('colours with FORCE_COLOR or color: true, and the text is the same without the codes', async () => {
    const plain = new FakePipe()
    const colored = new FakePipe()
    await replay(createConsoleReporter({ stream: plain, env: {} }), events)
    await replay(createConsoleReporter({ stream: colored, env: { FORCE_COLOR: '1' } }), events)
    expect(colored.output).toContain(`${ESC}[`)
    expect(stripVTControlCharacters(colored.output)).toBe(plain.output)
  })

  it('prints only failures and the final line when quiet', async () => {
    const pipe = new FakePipe()
    await replay(createConsoleReporter({ stream: pipe, env: {}, quiet: true }), events)
    const lines = pipe.output.trimEnd().split('\n')
    const failures =
      count('task:failed') +
      count('task:review') +
      count('agent:crashed') +
      count('agent:spawn-failed') +
      count('orchestrator:error')
    expect(lines).toHaveLength(failures + 1)
    expect(lines.some((line) => / assigned to /.test(line))).toBe(false)
    expect(lines.at(-1)).toMatch(/not all complete/)
  })

  it('prints every iteration and every output line when verbose', async () => {
    const pipe = new FakePipe()
    await replay(createConsoleReporter({ stream: pipe, env: {}, verbose: true }), events)
    const lines = pipe.output.split('\n')
    expect(lines.filter((line) => / iteration \d+\/\d+ starting on /.test(line))).toHaveLength(
      count('iteration:started'),
    )
    expect(lines.filter((line) => / iteration \d+\/\d+: (complete|retry|review|failed) /.test(line))).toHaveLength(
      count('iteration:finished'),
    )
    const outputLines = events
      .filter((e) => e.name === 'iteration:output')
      .flatMap((e) => (e.payload as TanukiEvents['iteration:output']).text.replace(/\n$/, '').split('\n'))
    expect(lines.filter((line) => line.includes(' │ '))).toHaveLength(outputLines.length)
    for (const text of outputLines) expect(pipe.output).toContain(`│ ${text}`)
  })

  it("says each workspace setup in one line when verbose, and nothing of it otherwise: its output is the task log's", async () => {
    const at = Date.UTC(2026, 10, 29, 12, 0, 0)
    const setup = (taskId: string, exitCode: number) => ({
      name: 'task:setup' as const,
      payload: {
        taskId,
        agent: 'web-1',
        role: 'web',
        command: 'npm ci',
        exitCode,
        output: 'added 120 packages in 2s\nnpm notice a line of many\n',
        timedOut: false,
        durationMs: 2300,
        at,
      },
    })
    const verbose = new FakePipe()
    await replay(createConsoleReporter({ stream: verbose, env: {}, verbose: true }), [setup('W-1', 0), setup('W-2', 1)])
    const said = (pipe: FakePipe) =>
      stripVTControlCharacters(pipe.output)
        .split('\n')
        .filter((l) => l.includes('setup'))
    expect(said(verbose)).toEqual([
      expect.stringMatching(/· W-1 setup `npm ci` on web-1: done in 2\.3s$/),
      expect.stringMatching(/· W-2 setup `npm ci` on web-1: exited 1$/),
    ])
    expect(verbose.output).not.toContain('added 120 packages')
    const plain = new FakePipe()
    await replay(createConsoleReporter({ stream: plain, env: {} }), [setup('W-1', 0), setup('W-2', 1)])
    expect(said(plain)).toEqual([])
  })

  it('says the run was stopped when it closes before settling', async () => {
    const pipe = new FakePipe()
    const upToSettle = events.slice(
      0,
      events.findIndex((e) => e.name === 'project:settled'),
    )
    await replay(createConsoleReporter({ stream: pipe, env: {} }), upToSettle)
    expect(pipe.output.trimEnd().split('\n').at(-1)).toMatch(/run stopped: \d+\/\d+ complete/)
  })
})

describe('console reporter, a landing’s gate', () => {
  afterEach(() => {
    vi.useRealTimers()
  })
  const at = Date.UTC(2026, 10, 30, 12, 0, 0)
  const gate = (taskId: string, command = 'npm test', setup = false) => ({
    name: 'task:land-gate' as const,
    payload: { taskId, command, setup, at },
  })
  const landed = (taskId: string) => ({
    name: 'task:landed' as const,
    payload: { taskId, commit: 'c'.repeat(40), moved: true, target: 'main', at },
  })

  it('says each command as it starts with --verbose, between the completion and the landing', async () => {
    const pipe = new FakePipe()
    await replay(createConsoleReporter({ stream: pipe, env: {}, verbose: true }), [
      gate('A', 'npm ci', true),
      gate('A'),
      landed('A'),
    ])
    const lines = stripVTControlCharacters(pipe.output).split('\n')
    expect(lines.filter((l) => l.includes('⇢')).map((l) => l.replace(/^\S+ /, ''))).toEqual([
      '⇢ landing A: running the setup `npm ci`…',
      '⇢ landing A: running the gate `npm test`…',
    ])
    expect(lines.findIndex((l) => l.includes('A landed'))).toBeGreaterThan(lines.findIndex((l) => l.includes('⇢')))
  })

  it('without --verbose, says a gate only once it runs long, and not one that ended', async () => {
    vi.useFakeTimers()
    const pipe = new FakePipe()
    const reporter = createConsoleReporter({ stream: pipe, env: {} })
    await replay(reporter, [gate('A')], { close: false })
    vi.advanceTimersByTime(2000)
    expect(pipe.output).not.toContain('⇢')
    vi.advanceTimersByTime(1500)
    // Stamped when said (3 s after the gate began), so plain lines stay in the order of their times.
    expect(stripVTControlCharacters(pipe.output)).toContain(
      `${formatTime(at + 3000)} ⇢ landing A: running the gate \`npm test\`…`,
    )
    await replay(reporter, [landed('A'), gate('B', 'make check')], { close: false })
    await replay(reporter, [landed('B')], { close: false })
    vi.advanceTimersByTime(10_000)
    expect(pipe.output).not.toContain('landing B')
    // Quiet: never.
    const hushed = new FakePipe()
    await replay(createConsoleReporter({ stream: hushed, env: {}, quiet: true }), [gate('A')], { close: false })
    vi.advanceTimersByTime(10_000)
    expect(hushed.output).not.toContain('⇢')
  })

  it('the live view shows the gate while it runs, and no more once its landing ended', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'Date'] })
    const term = new FakeTerminal(100, 30)
    const reporter = createConsoleReporter({ stream: term, env: {} })
    await replay(reporter, [gate('A')], { close: false })
    vi.advanceTimersByTime(300)
    expect((await screen(term.output, 100, 30)).join('\n')).toMatch(/ {2}⇢ landing A: gate `npm test` {2}\S+/)
    await replay(reporter, [landed('A')], { close: false })
    vi.advanceTimersByTime(300)
    expect((await screen(term.output, 100, 30)).join('\n')).not.toContain('⇢ landing A')
    await reporter.onClose?.()
  })
})

describe('console reporter, live view', () => {
  it('draws on a terminal: the final screen shows the end state, with failures printed above it', async () => {
    const term = new FakeTerminal(100, 30)
    await replay(createConsoleReporter({ stream: term, env: {}, title: 'scenario' }), events)
    // Drawn as a terminal (cursor moves, erasing), not as log lines.
    expect(term.output).toContain(`${ESC}[1A`)
    const lines = await screen(term.output, 100, 30)
    const text = lines.join('\n')

    const statuses = finalStatuses(events)
    const complete = [...statuses.values()].filter((s) => s === 'complete').length
    const percentage = Math.floor((complete * 100) / statuses.size)
    const barLine = lines.find((line) => line.startsWith('scenario '))!
    expect(barLine).toContain(`${percentage}%`)
    expect(text).toContain(`${complete}/${statuses.size} complete`)
    // One bar per role, with its own count.
    for (const role of new Set(scenarioTasks.map((t) => t.role))) {
      const ids = scenarioTasks.filter((t) => t.role === role).map((t) => t.id)
      const done = ids.filter((id) => statuses.get(id) === 'complete').length
      expect(lines.find((line) => line.trimStart().startsWith(`${role} `))).toContain(`${done}/${ids.length}`)
    }
    // A line per agent.
    for (const agent of new Set(
      events.filter((e) => e.name === 'agent:spawned').map((e) => (e.payload as { agent: string }).agent),
    )) {
      expect(lines.filter((line) => line.trimStart().startsWith(`${agent} `))).toHaveLength(1)
    }
    // Failures and reviews stay on screen above the live area, each once.
    const failed = lines.findIndex((line) => / ui failed after /.test(line))
    const review = lines.findIndex((line) => / docs needs review after /.test(line))
    expect(failed).toBeGreaterThanOrEqual(0)
    expect(review).toBeGreaterThan(failed)
    expect(review).toBeLessThan(lines.indexOf(barLine))
    expect(lines.filter((line) => / ui failed after /.test(line))).toHaveLength(1)
    // Ordinary news does not scroll by: the bars show it.
    expect(text).not.toMatch(/ assigned to /)
    // Exactly one live area is left: earlier frames were erased.
    expect(lines.filter((line) => line.startsWith('scenario '))).toHaveLength(1)
    expect(lines.at(-1)).toMatch(/not all complete/)
    // The cursor was hidden while drawing and is shown again.
    expect(term.output.lastIndexOf(`${ESC}[?25h`)).toBeGreaterThan(term.output.lastIndexOf(`${ESC}[?25l`))
  })

  it('ends at 100% with every task complete on a run where all complete', async () => {
    const term = new FakeTerminal(90, 24)
    const tasks = [
      { id: 'one', title: 'One', role: 'backend', completion: { signal: 'ONE' } },
      { id: 'two', title: 'Two', role: 'backend', dependsOn: ['one'], completion: { signal: 'TWO' } },
      { id: 'three', title: 'Three', role: 'frontend', completion: { signal: 'THREE' } },
    ]
    const { summary } = await runScenario({
      tasks,
      reporters: [createConsoleReporter({ stream: term, env: {}, title: 'demo' })],
    })
    expect(summary.allComplete).toBe(true)
    const lines = await screen(term.output, 90, 24)
    expect(lines.find((line) => line.startsWith('demo '))).toMatch(/ 100% /)
    expect(lines.find((line) => line.trimStart().startsWith('backend '))).toMatch(/ 100%\s+2\/2/)
    expect(lines.find((line) => line.trimStart().startsWith('frontend '))).toMatch(/ 100%\s+1\/1/)
    expect(lines.join('\n')).toContain('3/3 complete')
    expect(lines.at(-1)).toMatch(/all 3 tasks complete/)
    // A line each, though the run may settle before the first redraw printed them.
    for (const id of ['one', 'two', 'three'])
      expect(lines.filter((line) => line.includes(`✓ ${id} complete after 1 iteration`))).toHaveLength(1)
  })

  it('shows mid-run each busy agent with its task, iteration n/max and time on the task', async () => {
    const term = new FakeTerminal(100, 30)
    // Up to the first output: every agent has started its first iteration.
    const upTo = events.findIndex((e) => e.name === 'iteration:output')
    const started = events
      .slice(0, upTo)
      .filter((e) => e.name === 'iteration:started')
      .map((e) => e.payload as TanukiEvents['iteration:started'])
    expect(started.length).toBeGreaterThan(1)
    const reporter = createConsoleReporter({ stream: term, env: {}, title: 'scenario' })
    await replay(reporter, events.slice(0, upTo), { close: false })
    await new Promise((resolve) => setTimeout(resolve, 400))
    const lines = await screen(term.output, 100, 30)
    for (const run of started) {
      expect(lines.find((line) => line.trimStart().startsWith(`${run.agent} `))).toMatch(
        new RegExp(`● ${run.taskId}\\s+iteration ${run.iteration}/${run.maxIterations}\\s+\\d\\d:\\d\\d$`),
      )
    }
    await reporter.onClose?.()
  })

  it('cuts lines to the terminal width so a narrow terminal does not wrap the frame', async () => {
    const term = new FakeTerminal(40, 24)
    await replay(
      createConsoleReporter({ stream: term, env: {}, title: 'a-rather-long-project-name' }),
      events.slice(
        0,
        events.findIndex((e) => e.name === 'project:settled'),
      ),
      { close: false },
    )
    // Let the redraw timer draw a frame.
    await new Promise((resolve) => setTimeout(resolve, 400))
    // The last frame, without the log lines printed above it (those wrap as any log does).
    const drawn = stripVTControlCharacters(term.output.slice(term.output.lastIndexOf(`${ESC}[G`) + 3))
    const frameLines = drawn.slice(drawn.lastIndexOf('a-rather-long')).split('\n')
    expect(frameLines.length).toBeGreaterThan(2)
    for (const line of frameLines) expect(line.length).toBeLessThan(40)
  })

  it('stops redrawing once closed: no timer is left behind', async () => {
    const term = new FakeTerminal()
    const reporter = createConsoleReporter({ stream: term, env: {} })
    await replay(reporter, events.slice(0, 20), { close: false })
    await new Promise((resolve) => setTimeout(resolve, 300))
    await reporter.onClose?.()
    const writes = term.writes
    await new Promise((resolve) => setTimeout(resolve, 1200))
    expect(term.writes).toBe(writes)
  })

  it('keeps a line per completion in the scrollback, as on a pipe; not the assignments the agent lines show', async () => {
    const term = new FakeTerminal(100, 30)
    const pipe = new FakePipe()
    await replay(createConsoleReporter({ stream: term, env: {}, title: 'scenario' }), events)
    await replay(createConsoleReporter({ stream: pipe, env: {} }), events)
    const lines = await screen(term.output, 100, 30)
    const barLine = lines.findIndex((line) => line.startsWith('scenario '))
    const completed = events
      .filter((e) => e.name === 'task:completed')
      .map((e) => (e.payload as TanukiEvents['task:completed']).taskId)
    expect(completed.length).toBeGreaterThan(1)
    for (const id of completed) {
      // Once, above the live area, worded as the pipe's line.
      const said = lines.filter((line) => line.includes(`✓ ${id} complete after `))
      expect(said, lines.join('\n')).toHaveLength(1)
      expect(lines.indexOf(said[0]!)).toBeLessThan(barLine)
      expect(pipe.output).toContain(said[0]!.slice(said[0]!.indexOf('✓')))
    }
    // Blocked and requeued tasks too, each once.
    expect(lines.filter((line) => / deploy blocked: /.test(line))).toHaveLength(1)
    expect(lines.filter((line) => / styles requeued /.test(line))).toHaveLength(1)
    expect(lines.join('\n')).not.toMatch(/ assigned to | agent \S+ started /)
  })

  it('says a task added during the run in one line, while the live area is drawn and after the run settled', async () => {
    const term = new FakeTerminal(100, 30)
    const reporter = createConsoleReporter({ stream: term, env: {}, title: 'scenario' })
    const settle = events.findIndex((e) => e.name === 'project:settled')
    const at = (events[settle]!.payload as { at: number }).at
    const added = (taskId: string, title: string): RecordedEvent => ({
      name: 'task:added',
      payload: { taskId, title, role: 'backend', priority: 'medium', status: 'pending', dependsOn: [], at },
    })
    // One while the agents work, one after everything settled (`project start --watch` goes on).
    await replay(
      reporter,
      [...events.slice(0, 10), added('early', 'Added while running'), ...events.slice(10, settle + 1)],
      {
        close: false,
      },
    )
    await replay(
      reporter,
      [
        added('late', 'Added after the settle'),
        {
          name: 'task:completed',
          payload: { taskId: 'late', agent: 'backend-1', iterations: 1, durationMs: 1200, at },
        },
      ],
      { close: false },
    )
    await reporter.onClose?.()
    const lines = await screen(term.output, 100, 30)
    const text = lines.join('\n')
    expect(lines.filter((line) => line.endsWith('+ early added: Added while running (backend)'))).toHaveLength(1)
    expect(lines.filter((line) => line.endsWith('+ late added: Added after the settle (backend)'))).toHaveLength(1)
    expect(
      lines.filter((line) => line.endsWith('✓ late complete after 1 iteration in 1.2s (backend-1)')),
      text,
    ).toHaveLength(1)
    // Said in the order they came: the settled run's last line, then the late task.
    const settled = lines.findIndex((line) => /not all complete/.test(line))
    expect(lines.findIndex((line) => line.includes('+ late added'))).toBeGreaterThan(settled)
    expect(lines.findIndex((line) => line.includes('+ early added'))).toBeLessThan(settled)
  })

  it('prints plain lines when quiet, even on a terminal', async () => {
    const term = new FakeTerminal()
    await replay(createConsoleReporter({ stream: term, env: { NO_COLOR: '1' }, quiet: true }), events)
    expect(term.output).not.toContain(ESC)
    expect(term.output).toMatch(/ ui failed after /)
  })
})

describe('console reporter, agent output', () => {
  it('prints output streamed in pieces as whole lines, and the unfinished last line at the end of the iteration', async () => {
    // The recorded output, re-cut into pieces at odd places, as a real agent streams it.
    const pieces = events.flatMap((e) => {
      if (e.name !== 'iteration:output') return [e]
      const out = e.payload as TanukiEvents['iteration:output']
      const cuts = [0, 3, 7, out.text.length].filter((n, i, all) => n <= out.text.length && all.indexOf(n) === i)
      return cuts.slice(1).map((end, i) => ({ name: e.name, payload: { ...out, text: out.text.slice(cuts[i], end) } }))
    })
    expect(pieces.length).toBeGreaterThan(events.length)
    const whole = new FakePipe()
    const cut = new FakePipe()
    await replay(createConsoleReporter({ stream: whole, env: {}, verbose: true }), events)
    await replay(createConsoleReporter({ stream: cut, env: {}, verbose: true }), pieces)
    const outputLines = (text: string): string[] =>
      text
        .split('\n')
        .filter((line) => line.includes(' │ '))
        .sort()
    expect(outputLines(cut.output)).toEqual(outputLines(whole.output))
  })

  it('prints nothing of the output unless verbose, not even an unfinished last line', async () => {
    const withOutput = events.map((e) =>
      e.name === 'iteration:output'
        ? { ...e, payload: { ...(e.payload as TanukiEvents['iteration:output']), text: 'no newline at the end' } }
        : e,
    )
    const withoutOutput = events.filter((e) => e.name !== 'iteration:output')
    for (const options of [{}, { quiet: true }]) {
      const heard = new FakePipe()
      const none = new FakePipe()
      await replay(createConsoleReporter({ stream: heard, env: {}, ...options }), withOutput)
      await replay(createConsoleReporter({ stream: none, env: {}, ...options }), withoutOutput)
      expect(heard.output).not.toContain('no newline at the end')
      expect(heard.output).toBe(none.output)
    }
  })

  it('on a terminal, prints verbose output and every iteration above the live area at the next redraw', async () => {
    const term = new FakeTerminal(200, 30)
    await replay(createConsoleReporter({ stream: term, env: {}, verbose: true, title: 'scenario' }), events)
    const lines = await screen(term.output, 200, 30)
    const bar = lines.findIndex((line) => line.startsWith('scenario '))
    const iterations = lines.slice(0, bar).filter((line) => / iteration \d+\/\d+(: | starting on )/.test(line))
    expect(iterations).toHaveLength(count('iteration:started') + count('iteration:finished'))
    for (const e of events.filter((e) => e.name === 'iteration:output')) {
      const out = e.payload as TanukiEvents['iteration:output']
      const first = out.text.split('\n')[0]!
      const at = lines.findIndex((line) => line.includes(`${out.taskId}#${out.iteration} │ ${first}`))
      expect(at).toBeGreaterThanOrEqual(0)
      expect(at).toBeLessThan(bar)
    }
  })
})

describe('console reporter, redraw pace', () => {
  afterEach(() => {
    vi.useRealTimers()
  })

  it('redraws at most once per refresh interval, and only when something changed or a second passed', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'Date'] })
    // Events that print nothing above the live area: only the timer draws.
    const quiet = new Set([
      'task:blocked',
      'task:requeued',
      'task:failed',
      'task:review',
      'agent:crashed',
      'agent:spawn-failed',
      'orchestrator:error',
      'project:settled',
    ])
    const news = events.filter((e) => !quiet.has(e.name))
    const term = new FakeTerminal()
    const reporter = createConsoleReporter({ stream: term, env: {}, refreshMs: 100 })
    await replay(reporter, news.slice(0, 30), { close: false })
    expect(term.writes).toBe(0)
    // refreshMs below 250 is raised to 250: nothing at 100 ms, one frame at 250 ms for all 30 events.
    vi.advanceTimersByTime(100)
    expect(term.writes).toBe(0)
    vi.advanceTimersByTime(150)
    expect(term.writes).toBe(1)
    // Nothing new: no redraw until a second has passed (elapsed times move once a second).
    vi.advanceTimersByTime(500)
    expect(term.writes).toBe(1)
    vi.advanceTimersByTime(500)
    expect(term.writes).toBe(2)
    // News: drawn at the next tick, not at once.
    await replay(reporter, news.slice(30, 40), { close: false })
    expect(term.writes).toBe(2)
    vi.advanceTimersByTime(250)
    expect(term.writes).toBe(3)
    await reporter.onClose?.()
    const closed = term.writes
    vi.advanceTimersByTime(5000)
    expect(term.writes).toBe(closed)
  })
})
