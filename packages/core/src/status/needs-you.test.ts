import { describe, expect, it } from 'vitest'
import { landingHolds, needsYou, type NeedsYouTask } from './needs-you.ts'

const task = (id: string, status: string, more: Partial<NeedsYouTask> = {}): NeedsYouTask => ({ id, status, ...more })

describe('needsYou', () => {
  it('names each task a person must settle, why, and the command for it, in the order of the tasks', () => {
    const tasks = [
      task('A', 'complete', { landed: { commit: 'abc' } }),
      task('B', 'review', { reason: 'verify exited with code 1: npm test; no tries left (3)' }),
      task('C', 'failed', { lastError: { cause: 'the agent crashed 3 times' } }),
      task('D', 'pending', {
        reason: 'waits: verify `npm test` cannot run on this machine (exit 127); then `tanuki project resume`',
      }),
      task('E', 'pending', { reason: 'waits: the run budget ($5.00) is spent' }),
      task('F', 'in_progress'),
    ]
    expect(needsYou(tasks)).toEqual([
      {
        taskId: 'B',
        kind: 'review',
        why: 'verify exited with code 1: npm test; no tries left (3)',
        command: 'tanuki task show B',
      },
      { taskId: 'C', kind: 'failed', why: 'the agent crashed 3 times', command: 'tanuki task show C' },
      {
        taskId: 'D',
        kind: 'waits',
        why: 'verify `npm test` cannot run on this machine (exit 127); then `tanuki project resume`',
        command: 'tanuki project resume',
      },
      // Its reason names no command: what every held task comes back with once its cause is fixed.
      { taskId: 'E', kind: 'waits', why: 'the run budget ($5.00) is spent', command: 'tanuki project resume' },
    ])
  })

  it('takes the command a held task’s reason names, and leaves out one that waits on its dependencies', () => {
    const tasks = [
      task('A', 'pending', { reason: 'waits: verify `make` cannot run; then `tanuki task rerun A` (or …)' }),
      task('B', 'pending', { reason: 'waits: something', blockers: [{ id: 'A' }] }),
    ]
    expect(needsYou(tasks).map((item) => [item.taskId, item.command])).toEqual([['A', 'tanuki task rerun A']])
  })

  it('counts complete work not landed only with a target: `tanuki land`, or the dependencies that hold it', () => {
    const tasks = [
      task('S', 'review', { reason: 'could not land' }),
      task('M', 'complete', { dependsOn: ['S'] }),
      task('N', 'complete', { dependsOn: ['M'] }),
      task('P', 'complete'),
      task('Q', 'complete', { heldBack: { target: 'main' } }),
      task('R', 'complete', { waitsFor: 'feature' }),
      task('T', 'complete', { landed: null }),
    ]
    expect(needsYou(tasks).map((item) => item.taskId)).toEqual(['S'])
    const items = needsYou(tasks, { target: 'main' }).filter((item) => item.kind === 'not-landed')
    expect(items).toEqual([
      { taskId: 'M', kind: 'not-landed', holds: [{ id: 'S', status: 'review' }] },
      // Through M, complete and not landed itself.
      { taskId: 'N', kind: 'not-landed', holds: [{ id: 'S', status: 'review' }] },
      { taskId: 'P', kind: 'not-landed', holds: [], command: 'tanuki land' },
      { taskId: 'T', kind: 'not-landed', holds: [], command: 'tanuki land' },
    ])
  })

  it('names complete work whose landing waits for a target that fails the gate by itself, with `tanuki land`', () => {
    const why =
      "main fails `npm test` without any task's work (since commit abc1234 'wip'), …: fix main, then `tanuki land`"
    const tasks = [
      task('A', 'complete', { reason: `waits: ${why}` }),
      // Landed since (a person's `tanuki land`): its old reason is not news.
      task('B', 'complete', { reason: `waits: ${why}`, landed: { commit: 'b' } }),
    ]
    expect(needsYou(tasks)).toEqual([{ taskId: 'A', kind: 'waits', why, command: 'tanuki land' }])
  })

  it('is empty when nothing needs a person', () => {
    expect(
      needsYou([task('A', 'complete', { landed: { commit: 'x' } }), task('B', 'pending')], { target: 'main' }),
    ).toEqual([])
  })
})

describe('landingHolds', () => {
  it('finds each dependency not complete once, through complete ones not landed', () => {
    const tasks = [
      task('A', 'failed'),
      task('B', 'complete', { dependsOn: ['A'] }),
      task('C', 'complete', { dependsOn: ['A'], landed: { commit: 'c' } }),
      task('D', 'complete', { dependsOn: ['B', 'C', 'A', 'missing'] }),
    ]
    const byId = new Map(tasks.map((each) => [each.id, each]))
    expect(landingHolds(byId.get('D')!, byId).map((dep) => dep.id)).toEqual(['A'])
  })
})
