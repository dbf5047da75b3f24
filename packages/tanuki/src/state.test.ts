import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { createMemoryBackend, createOrchestrator, createTask, replay } from '@tanuki/core'
import { statePaths, type StatePaths } from './paths.ts'
import { createStateReporter, statusFromJournal, type StateReporterOptions } from './state.ts'

const dirs: string[] = []
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

/** The state paths of a project folder of the test's own, removed after it. */
function tempPaths(): StatePaths {
  const root = mkdtempSync(join(tmpdir(), 'tanuki-state-'))
  dirs.push(root)
  return statePaths(root)
}

/** A state reporter outside any run: the logs alone. */
function logsOnly(paths: StatePaths, onError: StateReporterOptions['onError'] = () => {}) {
  return createStateReporter({ paths, status: () => ({}) as never, onError })
}

describe('the state reporter', () => {
  it("gives a task that runs again logs of its own instead of mixing them into the first run's", async () => {
    const paths = tempPaths()
    let runs = 0
    // A person reruns the task during its first try: its fresh tries start at 1 again.
    const backend = createMemoryBackend({
      script: ({ iteration }) => {
        if (++runs === 1) {
          setTimeout(() => void orchestrator.rerun('a'), 5)
          return { type: 'hang' }
        }
        return iteration === 1 ? { type: 'succeed', output: 'not yet' } : { type: 'succeed', output: 'DONE' }
      },
    })
    const errors: string[] = []
    const state = createStateReporter({
      paths,
      status: () => orchestrator.status(),
      onError: (context) => errors.push(context),
    })
    const orchestrator = createOrchestrator({
      config: { cooldownMs: 0, tasks: [createTask({ id: 'a', title: 'A', completion: { signal: 'DONE' } })] },
      backends: [backend],
      reporters: [state],
    })
    await orchestrator.start()
    expect(await orchestrator.done()).toMatchObject({ allComplete: true })
    expect(errors).toEqual([])

    const dir = join(paths.logs, 'tasks', 'a')
    expect(readdirSync(dir).sort()).toEqual(['iteration-001.log', 'iteration-002.log', 'iteration-003.log'])
    const [first, second, third] = ['001', '002', '003'].map((n) =>
      readFileSync(join(dir, `iteration-${n}.log`), 'utf8'),
    )
    expect(first).toMatch(/^# a — iteration 1\/30 on default-1/)
    expect(first).not.toContain('## Result')
    expect(second).toMatch(/^# a — iteration 1\/30 \(log 2 of this task\)/)
    expect(second).toContain('not yet')
    expect(third).toMatch(/^# a — iteration 2\/30 \(log 3 of this task\)/)
    expect(third).toContain('## Result: complete')

    // The next run (a new reporter) goes on counting from the folders this one left.
    const next = logsOnly(paths)
    for (const taskId of ['a', 'b'])
      next.onIterationStarted!({ taskId, agent: 'default-1', iteration: 1, maxIterations: 1, prompt: 'p', at: 0 })
    await next.flush()
    expect(readdirSync(dir)).toContain('iteration-004.log')
    expect(readdirSync(join(paths.logs, 'tasks', 'b'))).toEqual(['iteration-001.log'])
  })

  it("writes what a setup printed into the task's log, before the iteration it readied, without counting it as one", async () => {
    const paths = tempPaths()
    const at = Date.parse('2026-11-29T10:00:00Z')
    const setup = (exitCode: number, output: string) => ({
      taskId: 'a',
      agent: 'web-1',
      role: 'web',
      command: 'npm ci',
      exitCode,
      output,
      timedOut: false,
      durationMs: 5,
      at,
    })
    const first = logsOnly(paths)
    // The setup failed: no iteration ran. The next run sets up again, and the agent works.
    first.onTaskSetup!(setup(1, 'npm ERR! code ENOTCACHED\n'))
    await first.flush()
    const next = logsOnly(paths)
    next.onTaskSetup!(setup(0, 'added 1 package\n'))
    next.onIterationStarted!({ taskId: 'a', agent: 'web-1', iteration: 1, maxIterations: 3, prompt: 'p', at })
    await next.flush()

    const dir = join(paths.logs, 'tasks', 'a')
    // `tanuki logs` prints a folder's files in this order.
    expect(readdirSync(dir).sort()).toEqual(['iteration-001-setup.log', 'iteration-001.log'])
    expect(readFileSync(join(dir, 'iteration-001-setup.log'), 'utf8')).toBe(
      '# a — setup on web-1 at 2026-11-29T10:00:00.000Z\n\n## Setup: `npm ci` exited 1\n\nnpm ERR! code ENOTCACHED\n\n' +
        '# a — setup on web-1 at 2026-11-29T10:00:00.000Z\n\n## Setup: `npm ci` exited 0\n\nadded 1 package\n\n',
    )
    expect(readFileSync(join(dir, 'iteration-001.log'), 'utf8')).toMatch(/^# a — iteration 1\/3 on web-1 /)
    expect(readFileSync(join(paths.logs, 'agents', 'web-1.log'), 'utf8')).toContain(
      '[a setup: `npm ci` exited 1]\nnpm ERR! code ENOTCACHED\n',
    )
  })

  it("writes an agent's output, streamed in pieces, whole and in order into the task's log and the agent's", async () => {
    const paths = tempPaths()
    const state = logsOnly(paths)
    const at = Date.parse('2026-11-29T10:00:00Z')
    const common = { agent: 'default-1', iteration: 1, maxIterations: 3 }
    const pieces = ['{"type":"assistant","text":"déjà ', 'vu — 狸"}\n', '', 'tail without a newline', '\n'.repeat(3)]
    state.onIterationStarted!({ ...common, taskId: 'a', prompt: 'Do it.', at })
    for (const [i, text] of pieces.entries())
      state.onIterationOutput!({ ...common, taskId: 'a', stream: i % 2 ? 'stderr' : 'stdout', text })
    // Another task's output in between goes to its own log, and to the same agent's.
    state.onIterationStarted!({ ...common, taskId: 'b', prompt: 'And this.', at })
    state.onIterationOutput!({ ...common, taskId: 'b', stream: 'stdout', text: 'b says ✓\n' })
    state.onIterationFinished!({
      ...common,
      taskId: 'a',
      outcome: 'complete',
      reason: 'signal',
      output: '',
      at,
      durationMs: 5,
    })
    await state.flush()

    const output = pieces.join('')
    const taskLog = readFileSync(join(paths.logs, 'tasks', 'a', 'iteration-001.log'), 'utf8')
    expect(taskLog).toBe(
      `# a — iteration 1/3 on default-1 at 2026-11-29T10:00:00.000Z\n\n## Prompt\n\nDo it.\n## Agent output\n\n${output}\n## Result: complete — signal\n`,
    )
    expect(readFileSync(join(paths.logs, 'tasks', 'b', 'iteration-001.log'), 'utf8')).toContain('b says ✓\n')
    expect(readFileSync(join(paths.logs, 'agents', 'default-1.log'), 'utf8')).toBe(
      `\n# a — iteration 1/3 on default-1 at 2026-11-29T10:00:00.000Z\n${output}` +
        `\n# b — iteration 1/3 on default-1 at 2026-11-29T10:00:00.000Z\nb says ✓\n` +
        `\n[a #1: complete — signal]\n`,
    )
  })

  it('keeps megabytes of output between two writes whole, big pieces and small', async () => {
    const paths = tempPaths()
    const state = logsOnly(paths)
    const common = { taskId: 'a', agent: 'default-1', iteration: 1, maxIterations: 1 }
    state.onIterationStarted!({ ...common, prompt: 'p', at: 0 })
    // More than the reporter's buffer holds before the 50 ms write: small pieces, one huge one.
    const pieces = Array.from({ length: 600 }, (_, i) => `${i} ${'é狸'.repeat(1000)}\n`)
    pieces.splice(300, 0, `${'x'.repeat(400_000)}\n`)
    for (const text of pieces) state.onIterationOutput!({ ...common, stream: 'stdout', text })
    await state.flush()
    const output = pieces.join('')
    expect(readFileSync(join(paths.logs, 'tasks', 'a', 'iteration-001.log'), 'utf8')).toContain(
      `## Agent output\n\n${output}`,
    )
    expect(readFileSync(join(paths.logs, 'agents', 'default-1.log'), 'utf8').endsWith(output)).toBe(true)
  })

  it('keeps the order of batches written while others are still under way, reusing their buffers after', async () => {
    const paths = tempPaths()
    const state = logsOnly(paths)
    const common = { taskId: 'a', agent: 'default-1', iteration: 1, maxIterations: 1 }
    state.onIterationStarted!({ ...common, prompt: 'p', at: 0 })
    const said: string[] = []
    const say = (round: number): void => {
      // Enough in a round to fill a buffer and start the next one.
      for (let i = 0; i < 40; i++) {
        const text = `${round}.${i} ${String.fromCharCode(97 + round).repeat(40_000)}\n`
        said.push(text)
        state.onIterationOutput!({ ...common, stream: 'stdout', text })
      }
    }
    // Three batches taken before the first is written, then two more into buffers written before.
    const unawaited: Promise<void>[] = []
    for (const round of [0, 1, 2]) {
      say(round)
      unawaited.push(state.flush())
    }
    await Promise.all(unawaited)
    for (const round of [3, 4]) {
      say(round)
      await state.flush()
    }
    const log = readFileSync(join(paths.logs, 'tasks', 'a', 'iteration-001.log'), 'utf8')
    expect(log.slice(log.indexOf('## Agent output\n\n') + '## Agent output\n\n'.length)).toBe(said.join(''))
    expect(readFileSync(join(paths.logs, 'agents', 'default-1.log'), 'utf8').endsWith(said.join(''))).toBe(true)
  })

  it('says each log it cannot write, and still writes the others of the batch', async () => {
    const paths = tempPaths()
    // Files where the task log folders of a and b would go.
    mkdirSync(join(paths.logs, 'tasks'), { recursive: true })
    for (const id of ['a', 'b']) writeFileSync(join(paths.logs, 'tasks', id), 'in the way')
    const failed: string[] = []
    const state = logsOnly(paths, (context, error) =>
      failed.push(`${context}: ${(error as NodeJS.ErrnoException).code}`),
    )
    for (const taskId of ['a', 'b', 'c'])
      state.onIterationStarted!({ taskId, agent: 'default-1', iteration: 1, maxIterations: 1, prompt: 'p', at: 0 })
    await state.flush()
    expect(failed).toEqual(['writing the logs: EEXIST', 'writing the logs: EEXIST'])
    expect(readFileSync(join(paths.logs, 'tasks', 'c', 'iteration-001.log'), 'utf8')).toContain('# c — iteration 1/1')
    expect(readFileSync(join(paths.logs, 'agents', 'default-1.log'), 'utf8')).toContain('# b — iteration 1/1')
  })

  it('reports the writes it cannot make instead of throwing them out of the run', async () => {
    const root = mkdtempSync(join(tmpdir(), 'tanuki-state-'))
    dirs.push(root)
    // The state folder is a file: every log and snapshot write fails.
    writeFileSync(join(root, '.tanuki'), 'not a folder')
    const paths = statePaths(root)
    const late: string[] = []
    const state = createStateReporter({
      paths,
      status: () => orchestrator.status(),
      onError: (context) => late.push(context),
    })
    const orchestrator = createOrchestrator({
      config: { cooldownMs: 0, tasks: [createTask({ id: 'a', title: 'A', completion: { signal: 'DONE' } })] },
      // The agent takes a moment, so the batched log write happens during the run, not at its end.
      backends: [createMemoryBackend({ script: () => ({ type: 'succeed', output: 'DONE', delayMs: 150 }) })],
      reporters: [state],
    })
    const errors: string[] = []
    orchestrator.events.on('orchestrator:error', (e) => errors.push(`${e.context}: ${e.message}`))
    await orchestrator.start()
    expect(await orchestrator.done()).toMatchObject({ allComplete: true })
    expect(late).toContain('writing the logs')
    expect(errors.some((e) => e.startsWith('closing reporter tanuki:state') && e.includes('.tanuki'))).toBe(true)
  })
})

describe('the status of a project that is not running', () => {
  it('shows work waiting on the integration branch as waiting for the target, not landed, until the journal says it reached it', () => {
    const paths = tempPaths()
    const tasks = ['a', 'b'].map((id) => createTask({ id, title: id.toUpperCase() }))
    const heldBack = { target: 'main', note: 'your uncommitted changes in notes.txt would be overwritten' }
    const records = [
      { t: 'run', state: 'settled', target: 'main' },
      { t: 'task', id: 'a', status: 'complete', landed: { commit: 'a1', at: 1, heldBack } },
      { t: 'task', id: 'b', status: 'complete', landed: { commit: 'b1', at: 2, heldBack } },
    ] as const
    const held = statusFromJournal(tasks, replay(records), paths)
    expect(held.progress).toMatchObject({ complete: 2, landed: 0, heldBack: 2 })
    expect(held.tasks[0]).toMatchObject({
      landed: null,
      heldBack: { target: 'main', commit: 'a1', at: new Date(1).toISOString(), note: heldBack.note },
    })
    // `tanuki land` moved main: it records the landings without heldBack.
    const moved = [
      ...records,
      ...(['a', 'b'] as const).map((id, i) => ({ t: 'task', id, landed: { commit: `${id}1`, at: i + 1 } }) as const),
    ]
    const landed = statusFromJournal(tasks, replay(moved), paths)
    expect(landed.progress).toMatchObject({ landed: 2, heldBack: 0 })
    expect(landed.tasks[1]).toMatchObject({ landed: { commit: 'b1', at: new Date(2).toISOString() } })
    expect(landed.tasks[1]?.heldBack).toBeUndefined()
  })

  it('counts as not landed complete work with no landing that waits neither for the target nor for another branch', () => {
    const paths = tempPaths()
    const tasks = ['a', 'b', 'c', 'd', 'e'].map((id) => createTask({ id, title: id.toUpperCase() }))
    const heldBack = { target: 'main', note: 'main could not move' }
    const records = [
      { t: 'run', state: 'settled', target: 'main' },
      { t: 'task', id: 'a', status: 'complete' },
      { t: 'task', id: 'b', status: 'complete', landed: { commit: 'b1', at: 1 } },
      { t: 'task', id: 'c', status: 'complete', landed: { commit: 'c1', at: 2, heldBack } },
      { t: 'task', id: 'd', status: 'complete', target: 'old' },
      { t: 'task', id: 'e', status: 'review' },
    ] as const
    const status = statusFromJournal(tasks, replay(records), paths)
    expect(status.tasks.find((task) => task.id === 'd')?.waitsFor).toBe('old')
    expect(status.progress).toMatchObject({ complete: 4, landed: 1, heldBack: 1, notLanded: 1 })
    // No target (no git, or no run yet): nothing is said to be not landed.
    const untargeted = statusFromJournal(tasks, replay(records.slice(1)), paths)
    expect(untargeted.progress).not.toHaveProperty('notLanded')
  })
})
