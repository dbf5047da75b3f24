import type { TanukiEventName, TanukiEvents } from '@tanuki/core'
import { describe, expect, it } from 'vitest'
import { describeEvent, settledLine } from './console/lines.ts'
import { colors } from './format.ts'
import { renderJunit } from './junit/index.ts'
import { RunModel } from './model/index.ts'
import { renderSummary } from './summary/index.ts'

const plain = colors(false)

/** A model fed a run where one task landed, one waited on the integration branch, one conflicted and failed its gate. */
function landingRun(): RunModel {
  const model = new RunModel()
  const feed = <E extends TanukiEventName>(name: E, event: TanukiEvents[E]): void => model.apply(name, event)
  feed('project:loaded', {
    total: 3,
    ready: 3,
    recovered: [],
    tasks: ['A', 'B', 'C'].map((id) => ({
      id,
      title: `Task ${id}`,
      role: 'dev',
      priority: 'medium',
      status: 'pending',
      dependsOn: [],
    })),
    at: 1,
  })
  for (const id of ['A', 'B']) feed('task:status', { taskId: id, from: 'in_progress', to: 'complete', at: 2 })
  feed('task:landed', { taskId: 'A', commit: 'a'.repeat(40), moved: true, at: 3 })
  feed('task:landed', {
    taskId: 'B',
    commit: 'b'.repeat(40),
    moved: false,
    note: 'your uncommitted changes would be overwritten',
    at: 4,
  })
  feed('task:conflict', { taskId: 'C', files: ['src/app.ts'], what: 'the work of C', at: 5 })
  feed('task:land-failed', { taskId: 'C', command: 'npm test', exitCode: 1, output: 'FAIL', at: 6 })
  return model
}

describe('landings in the reports', () => {
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
    // A person said so (`tanuki task mark B complete --landed`): no commit to show.
    expect(lines('task:landed', { taskId: 'B', commit: 'by hand', moved: true, at: 5 })).toEqual([
      'info: ⇡ B landed by hand',
    ])
    expect(lines('task:conflict', { taskId: 'C', files: ['src/app.ts'], what: 'the work of C', at: 5 })).toEqual([
      'failure: ⚡ C conflict in src/app.ts bringing in the work of C: an agent resolves it',
    ])
    expect(lines('task:land-failed', { taskId: 'C', command: 'npm test', exitCode: 1, output: 'FAIL', at: 6 })).toEqual(
      ['failure: ✗ C did not land: `npm test` exited 1 on the combined work'],
    )
    expect(settledLine(model, plain)).toContain('2/3 complete, 2 landed')
  })

  it('the summary has a Landed column and a Landing section', () => {
    const summary = renderSummary(landingRun())
    expect(summary).toContain('| Task | Title | Role | Status | Landed |')
    expect(summary).toContain('| A | Task A | dev | complete | aaaaaaaaaa |')
    expect(summary).toContain('| B | Task B | dev | complete | bbbbbbbbbb (integration branch) |')
    expect(summary).toContain('Landed: 2 tasks.')
    expect(summary).toContain('- **C**: conflict in `src/app.ts` bringing in the work of C')
    expect(summary).toContain('- **C**: `npm test` exited 1 on the combined work')
    expect(summary).toContain(
      '- **B**: landed on the integration branch only. your uncommitted changes would be overwritten',
    )
  })

  it('JUnit carries the landed commit and the conflicted files as properties', () => {
    const xml = renderJunit(landingRun())
    expect(xml).toContain(`<property name="landed" value="${'a'.repeat(40)}"/>`)
    expect(xml).toContain('<property name="conflicts" value="src/app.ts"/>')
  })
})
