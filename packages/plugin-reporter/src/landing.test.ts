import type { TanukiEventName, TanukiEvents } from '@tanuki/core'
import { describe, expect, it } from 'vitest'
import { describeEvent, settledLine } from './console/lines.ts'
import { colors, someOf } from './format.ts'
import { renderJunit } from './junit/index.ts'
import { RunModel } from './model/index.ts'
import { renderSummary } from './summary/index.ts'

const plain = colors(false)
const NOTE =
  'your uncommitted changes in /p (notes.txt) would be overwritten by the landed work; nothing of yours was touched. ' +
  'The work waits on tanuki/land/main: commit or stash your changes, then run `tanuki land`.'

/** A model of a run that loaded tasks `ids` (role dev, in `status`), and how to feed it more events. */
function loaded(
  ids: string[],
  status: 'pending' | 'complete',
  at: number,
): { model: RunModel; feed: <E extends TanukiEventName>(name: E, event: TanukiEvents[E]) => void } {
  const model = new RunModel()
  const feed = <E extends TanukiEventName>(name: E, event: TanukiEvents[E]): void => model.apply(name, event)
  feed('project:loaded', {
    total: ids.length,
    ready: ids.length,
    recovered: [],
    tasks: ids.map((id) => ({
      id,
      title: `Task ${id}`,
      role: 'dev',
      priority: 'medium' as const,
      status,
      dependsOn: [],
    })),
    at,
  })
  return { model, feed }
}

/** A model fed a run where one task landed, one waited on the integration branch, one conflicted and failed its gate. */
function landingRun(): RunModel {
  const { model, feed } = loaded(['A', 'B', 'C'], 'pending', 1)
  for (const id of ['A', 'B']) feed('task:status', { taskId: id, from: 'in_progress', to: 'complete', at: 2 })
  feed('task:landed', { taskId: 'A', commit: 'a'.repeat(40), moved: true, target: 'main', at: 3 })
  feed('task:landed', { taskId: 'B', commit: 'b'.repeat(40), moved: false, note: NOTE, target: 'main', at: 4 })
  feed('task:conflict', { taskId: 'C', files: ['src/app.ts'], what: 'the work of A', landing: true, at: 5 })
  feed('task:land-failed', { taskId: 'C', command: 'npm test', exitCode: 1, output: 'FAIL', at: 6 })
  return model
}

describe('landings in the reports', () => {
  it('a cost that is in part Tanuki’s estimate (a try cut off before its bill) is marked so in the summary', () => {
    const { model, feed } = loaded(['A', 'B'], 'pending', 1)
    const finished = (taskId: string, usage: { costUsd: number; estimated?: boolean }) =>
      feed('iteration:finished', {
        taskId,
        agent: 'dev-1',
        iteration: 1,
        maxIterations: 3,
        outcome: 'retry',
        reason: 'timed out',
        output: '',
        usage,
        durationMs: 10,
        at: 2,
      })
    finished('A', { costUsd: 0.5, estimated: true })
    finished('B', { costUsd: 0.25 })
    const summary = renderSummary(model)
    expect(summary).toContain("Cost: ~$0.7500 (~: in part Tanuki's estimate at list prices")
    expect(summary).toMatch(/\| A \|[^\n]*\| ~\$0\.5000 \|/)
    expect(summary).toMatch(/\| B \|[^\n]*\| \$0\.2500 \|/)
  })

  it('work an earlier run did for another branch, rerun during the run, no longer waits for that branch', () => {
    const { model, feed } = loaded(['K-1', 'K-2'], 'complete', 1)
    feed('project:target', {
      target: 'feature-x',
      previous: 'main',
      elsewhere: [{ target: 'main', tasks: ['K-1', 'K-2'] }],
      at: 1,
    })
    feed('task:status', { taskId: 'K-1', from: 'complete', to: 'pending', at: 2 })
    expect(model.elsewhere).toEqual([{ target: 'main', tasks: ['K-2'] }])
    feed('task:status', { taskId: 'K-2', from: 'complete', to: 'pending', at: 3 })
    expect(model.elsewhere).toEqual([])
  })

  it('a verify tried again clears why the tasks it held waited, however that was said', () => {
    const { model, feed } = loaded(['A', 'B', 'C'], 'pending', 1)
    feed('task:waiting', { taskId: 'C', reason: 'waits: verify `pytset` cannot run on this machine …', at: 2 })
    feed('verify:blocked', { role: 'dev', command: 'pytset', taskId: 'A', tasks: ['A', 'B'], cause: 'c', at: 3 })
    expect(model.tasks.get('B')?.reason).toBe('waits: verify `pytset` cannot run (see above)')
    feed('verify:unblocked', { role: 'dev', command: 'pytset', taskId: 'A', tasks: ['B', 'C'], at: 4 })
    expect(model.tasks.get('B')?.reason).toBeUndefined()
    expect(model.tasks.get('C')?.reason).toBeUndefined()
    expect(model.blockedVerifies).toEqual([])
  })

  it('a verify met again when it is tried again is said once in the summary, with the latest cause', () => {
    const { model, feed } = loaded(['A', 'B'], 'pending', 1)
    feed('verify:blocked', { role: 'dev', command: 'pytset', taskId: 'A', tasks: ['A', 'B'], cause: 'first', at: 2 })
    // A resume: B tried it before its agent worked, and it still could not run.
    feed('verify:blocked', { role: 'dev', command: 'pytset', taskId: 'B', tasks: ['B', 'A'], cause: 'again', at: 3 })
    expect(model.blockedVerifies.map((b) => b.cause)).toEqual(['again'])
  })

  it('a task held while its dependency’s work waits for another branch says so in the summary, not "not started"', () => {
    const { model, feed } = loaded(['X', 'Y'], 'pending', 1)
    const reason = 'waits: its dependency X waits to land on main, …'
    feed('task:waiting', { taskId: 'Y', reason, at: 2 })
    expect(model.tasks.get('Y')?.reason).toBe(reason)
    expect(renderSummary(model)).toContain(`- **Y** (pending): ${reason}`)
  })

  it('the console says what landed, what waits on the integration branch, and what conflicted or failed its gate', () => {
    const model = landingRun()
    const lines = (name: TanukiEventName, event: unknown) =>
      describeEvent(name, event as never, model, plain).map((line) => `${line.level}: ${line.text}`)
    expect(lines('task:landed', { taskId: 'A', commit: 'a'.repeat(40), moved: true, at: 3 })).toEqual([
      'info: ⇡ A landed as aaaaaaaaaa',
    ])
    expect(
      lines('task:landed', { taskId: 'B', commit: 'b'.repeat(40), moved: false, note: 'commit first', at: 4 }),
    ).toEqual(['info: ⇡ B landed as bbbbbbbbbb (not on your branch yet)', 'failure: ! B: commit first'])
    // The branch it landed on, when the lander said: a later run lands where the first one did,
    // which need not be the branch checked out now.
    expect(
      lines('task:landed', { taskId: 'A', commit: 'a'.repeat(40), moved: true, target: 'feature', at: 3 }),
    ).toEqual(['info: ⇡ A landed on feature as aaaaaaaaaa'])
    expect(
      lines('task:landed', { taskId: 'B', commit: 'b'.repeat(40), moved: false, target: 'feature', note: 'x', at: 4 }),
    ).toEqual(['info: ⇡ B landed as bbbbbbbbbb (not on feature yet)', 'failure: ! B: x'])
    // A person said so (`tanuki task mark B complete --landed`): no commit to show.
    expect(lines('task:landed', { taskId: 'B', commit: 'by hand', moved: true, at: 5 })).toEqual([
      'info: ⇡ B landed by hand',
    ])
    // At landing: said for a person, naming the landed work it met (as the lander found it).
    expect(
      lines('task:conflict', { taskId: 'C', files: ['src/app.ts'], what: 'the work of A', landing: true, at: 5 }),
    ).toEqual(['failure: ⚡ C did not land: conflict in src/app.ts with the work of A; an agent resolves it'])
    expect(
      lines('task:conflict', {
        taskId: 'C',
        files: ['src/app.ts'],
        what: 'work landed since it began',
        landing: true,
        at: 5,
      }),
    ).toEqual([
      'failure: ⚡ C did not land: conflict in src/app.ts with work landed since it began; an agent resolves it',
    ])
    // In an agent's workspace, bringing in a dependency's work.
    expect(lines('task:conflict', { taskId: 'C', files: ['src/app.ts'], what: 'the work of A', at: 5 })).toEqual([
      'failure: ⚡ C conflict in src/app.ts bringing in the work of A: an agent resolves it',
    ])
    expect(lines('task:land-failed', { taskId: 'C', command: 'npm test', exitCode: 1, output: 'FAIL', at: 6 })).toEqual(
      [
        'failure: ✗ C did not land: `npm test` exited 1 on the combined work (`tanuki task show C` has what it printed)',
      ],
    )
    expect(settledLine(model, plain)).toBe(
      `✗ not all complete: 2/3 complete, 1 landed, 1 waiting for main (B), 1 pending in 5ms: ${NOTE}`,
    )
  })

  it('the summary has a Landed column and a Landing section', () => {
    const summary = renderSummary(landingRun())
    expect(summary).toContain('| Task | Title | Role | Status | Landed |')
    expect(summary).toContain('| A | Task A | dev | complete | aaaaaaaaaa |')
    expect(summary).toContain('| B | Task B | dev | complete | bbbbbbbbbb (integration branch) |')
    expect(summary).toContain('Landed: 1 task.')
    expect(summary).toContain('- **C**: conflict in `src/app.ts` with the work of A')
    expect(summary).toContain('- **C**: `npm test` exited 1 on the combined work')
    // Last: what keeps work from the target.
    expect(summary.trimEnd().split('\n').slice(-3)).toEqual([
      '## Waiting for main',
      '',
      `**B** landed on the integration branch, not on main: ${NOTE}`,
    ])
  })

  it('JUnit carries the landed commit, the work waiting for the target and the conflicted files as properties', () => {
    const xml = renderJunit(landingRun())
    expect(xml).toContain(`<property name="landed" value="${'a'.repeat(40)}"/>`)
    expect(xml).toContain(
      `<property name="waiting" value="for main on the integration branch as ${'b'.repeat(40)}: ${NOTE.replace(/'/g, '&apos;')}"/>`,
    )
    expect(xml).not.toContain(`<property name="landed" value="${'b'.repeat(40)}"/>`)
    expect(xml).toContain('<property name="conflicts" value="src/app.ts"/>')
  })
})

describe('tasks with nothing to land', () => {
  /** A landed, E (marked complete, no work recorded) and R (a rerun whose work was already there). */
  function emptyRun(): RunModel {
    const { model, feed } = loaded(['A', 'E', 'R'], 'complete', 1000)
    feed('task:landed', { taskId: 'A', commit: 'a'.repeat(40), moved: true, target: 'main', at: 2000 })
    feed('task:landed', {
      taskId: 'E',
      commit: 'a'.repeat(40),
      moved: true,
      empty: 'no-work',
      target: 'main',
      at: 2100,
    })
    feed('task:landed', {
      taskId: 'R',
      commit: 'a'.repeat(40),
      moved: true,
      empty: 'no-changes',
      target: 'main',
      at: 2200,
    })
    return model
  }

  it('are never said to have landed, in the console, the summary or JUnit, and are counted apart', () => {
    const model = emptyRun()
    const lines = (event: TanukiEvents['task:landed']) =>
      describeEvent('task:landed', event, model, plain).map((line) => `${line.level}: ${line.text}`)
    expect(
      lines({ taskId: 'E', commit: 'a'.repeat(40), moved: true, empty: 'no-work', target: 'main', at: 1 }),
    ).toEqual(['info: · nothing to land for E (no work was recorded)'])
    expect(
      lines({ taskId: 'R', commit: 'a'.repeat(40), moved: true, empty: 'no-changes', target: 'main', at: 1 }),
    ).toEqual(['info: · nothing to land for R (its work is already on main)'])
    expect(model.landedCount()).toBe(1)
    expect(model.nothingToLandCount()).toBe(2)
    expect(settledLine(model, plain)).toBe('✓ all 3 tasks complete, 1 landed, 2 with nothing to land in 1.2s')
    const summary = renderSummary(model)
    expect(summary).toContain('Landed: 1 task. Nothing to land: 2 tasks (no work recorded, or none new).')
    expect(summary).toContain('| E | Task E | dev | complete | nothing to land |')
    const xml = renderJunit(model)
    expect(xml).toContain('<property name="nothing-to-land" value="no work was recorded"/>')
    expect(xml).toContain('<property name="nothing-to-land" value="its work is already on main"/>')
    expect(xml.match(/name="landed"/g)).toHaveLength(1)
  })
})

describe('work held back from the target', () => {
  /** Two tasks complete, landed on the integration branch; the target did not move. */
  function heldRun(): RunModel {
    const model = new RunModel()
    const feed = <E extends TanukiEventName>(name: E, event: TanukiEvents[E]): void => model.apply(name, event)
    feed('project:loaded', {
      total: 2,
      ready: 1,
      recovered: [],
      tasks: ['H-1', 'H-2'].map((id) => ({
        id,
        title: `Task ${id}`,
        role: 'dev',
        priority: 'medium' as const,
        status: 'pending' as const,
        dependsOn: [],
      })),
      at: 1000,
    })
    for (const id of ['H-1', 'H-2']) {
      feed('task:status', { taskId: id, from: 'in_progress', to: 'complete', at: 2000 })
      feed('task:landed', { taskId: id, commit: id.repeat(10), moved: false, note: NOTE, target: 'main', at: 3000 })
    }
    feed('project:settled', {
      allComplete: true,
      progress: { total: 2, complete: 2, percentage: 100 } as TanukiEvents['project:settled']['progress'],
      at: 3400,
    })
    return model
  }

  it('the last line says the work is complete but waits for the target: which tasks, where, why and what to do', () => {
    expect(settledLine(heldRun(), plain)).toBe(`! all 2 tasks complete, 2 waiting for main (H-1, H-2) in 2.4s: ${NOTE}`)
    expect(renderSummary(heldRun())).toContain(
      '**All tasks complete; 2 not on main yet.** 2 of 2 tasks complete (100%).',
    )
  })

  it('once a landing moves the target, the work that waited is landed, as before', () => {
    const model = heldRun()
    model.apply('task:landed', { taskId: 'H-3', commit: 'c'.repeat(40), moved: true, target: 'main', at: 3500 })
    expect(model.heldBack()).toBeUndefined()
    expect(model.tasks.get('H-1')?.landed).toEqual({ commit: 'H-1'.repeat(10), moved: true })
    expect(settledLine(model, plain)).toBe('✓ all 2 tasks complete, 3 landed in 2.5s')
    const summary = renderSummary(model)
    expect(summary).toContain('**All tasks complete.**')
    expect(summary).toContain('Landed: 3 tasks.')
    expect(summary).not.toContain('integration branch')
    expect(renderJunit(model)).not.toContain('name="waiting"')
  })

  it('a landing by hand moves no target; a rerun task waits no more', () => {
    const model = heldRun()
    model.apply('task:landed', { taskId: 'H-1', commit: 'by hand', moved: true, at: 3500 })
    expect(model.heldBack()).toEqual({ target: 'main', tasks: ['H-2'], note: NOTE })
    model.apply('task:status', { taskId: 'H-2', from: 'complete', to: 'pending', at: 3600 })
    expect(model.heldBack()).toBeUndefined()
    expect(model.landedCount()).toBe(1)
  })

  it('names five tasks and counts the rest', () => {
    expect(someOf(['A', 'B', 'C', 'D', 'E', 'F', 'G'])).toBe('A, B, C, D, E and 2 more')
    expect(someOf(['A', 'B'])).toBe('A, B')
  })
})

describe('work landed in an earlier run', () => {
  /** A resumed run: E-1 landed in an earlier run (the journal says so), E-2 lands in this one. */
  function resumedRun(): RunModel {
    const model = new RunModel()
    const feed = <E extends TanukiEventName>(name: E, event: TanukiEvents[E]): void => model.apply(name, event)
    feed('project:loaded', {
      total: 2,
      ready: 1,
      recovered: [],
      tasks: [
        {
          id: 'E-1',
          title: 'Task E-1',
          role: 'dev',
          priority: 'medium',
          status: 'complete',
          dependsOn: [],
          landed: { commit: 'e'.repeat(40), at: 500 },
          iterations: 3,
        },
        { id: 'E-2', title: 'Task E-2', role: 'dev', priority: 'medium', status: 'pending', dependsOn: ['E-1'] },
      ],
      at: 1000,
    })
    feed('task:status', { taskId: 'E-2', from: 'in_progress', to: 'complete', at: 2000 })
    feed('task:landed', { taskId: 'E-2', commit: 'f'.repeat(40), moved: true, target: 'main', at: 3000 })
    feed('project:settled', {
      allComplete: true,
      progress: { total: 2, complete: 2, percentage: 100 } as TanukiEvents['project:settled']['progress'],
      at: 3400,
    })
    return model
  }

  it('the summary shows where it landed, marked as an earlier run, and counts it apart from this run’s landings', () => {
    const summary = renderSummary(resumedRun())
    // The iterations its earlier run took, as the journal has them.
    expect(summary).toContain('| E-1 | Task E-1 | dev | complete | eeeeeeeeee (earlier run) | 3 |')
    expect(summary).toContain('| E-2 | Task E-2 | dev | complete | ffffffffff | 0 |')
    expect(summary).toContain('Landed: 1 task. Landed in an earlier run: 1 task.')
    // The console's last line counts what this run landed.
    expect(settledLine(resumedRun(), plain)).toBe('✓ all 2 tasks complete, 1 landed in 2.4s')
  })

  it('a task rerun since its earlier landing is not shown as landed', () => {
    const model = resumedRun()
    model.apply('task:status', { taskId: 'E-1', from: 'complete', to: 'pending', at: 3500 })
    expect(model.tasks.get('E-1')?.landed).toBeUndefined()
    expect(model.landedEarlierCount()).toBe(0)
  })
})

describe('a task redefined during the run', () => {
  it('is shown with its new title, role, priority and dependencies', () => {
    const { model, feed } = loaded(['R-1', 'R-2'], 'pending', 1000)
    feed('task:redefined', {
      taskId: 'R-2',
      title: 'Retitled',
      role: 'qa',
      priority: 'high',
      dependsOn: ['R-1'],
      at: 2000,
    })
    expect(model.tasks.get('R-2')).toMatchObject({
      title: 'Retitled',
      role: 'qa',
      priority: 'high',
      dependsOn: ['R-1'],
    })
    expect(model.tasks.get('R-1')).toMatchObject({ title: 'Task R-1', role: 'dev' })
  })
})
