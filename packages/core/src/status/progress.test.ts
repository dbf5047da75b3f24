import { describe, expect, it } from 'vitest'
import type { TaskStatus } from '../task/types.ts'
import { progressOf } from './progress.ts'

const task = (role: string, status: TaskStatus) => ({ role, status })

describe('progressOf', () => {
  it('counts tasks by status and by role', () => {
    const progress = progressOf([
      { ...task('api', 'complete'), landed: { commit: 'abc', at: 1 } },
      // Landed on the integration branch, waiting for the target: not landed.
      { ...task('api', 'complete'), landed: { commit: 'def', at: 2, heldBack: { target: 'main', note: 'why' } } },
      // Nothing of it landed (no work was recorded): counted apart, not landed.
      { ...task('api', 'complete'), landed: { commit: 'abc', at: 3, empty: 'no-work' as const } },
      task('api', 'in_progress'),
      task('web', 'assigned'),
      task('web', 'pending'),
      task('web', 'failed'),
      task('web', 'review'),
      task('db', 'blocked'),
    ])
    expect(progress).toEqual({
      total: 9,
      complete: 3,
      inProgress: 2,
      pending: 1,
      failed: 1,
      review: 1,
      blocked: 1,
      landed: 1,
      heldBack: 1,
      nothingToLand: 1,
      percentage: 33,
      byStatus: { pending: 1, assigned: 1, in_progress: 1, review: 1, complete: 3, failed: 1, blocked: 1 },
      byRole: {
        api: { total: 4, complete: 3, in_progress: 1 },
        web: { total: 4, assigned: 1, pending: 1, failed: 1, review: 1 },
        db: { total: 1, blocked: 1 },
      },
    })
  })

  it('rounds the percentage down, so 100 means every task is complete', () => {
    const tasks = [...Array.from({ length: 199 }, () => task('r', 'complete')), task('r', 'pending')]
    expect(progressOf(tasks).percentage).toBe(99)
    expect(progressOf([task('r', 'complete')]).percentage).toBe(100)
    expect(progressOf([task('r', 'pending'), task('r', 'pending'), task('r', 'complete')]).percentage).toBe(33)
  })

  it('is all zeros for no tasks, with every status listed', () => {
    const progress = progressOf([])
    expect(progress.total).toBe(0)
    expect(progress.percentage).toBe(0)
    expect(progress.byRole).toEqual({})
    expect(progress.byStatus).toEqual({
      pending: 0,
      assigned: 0,
      in_progress: 0,
      review: 0,
      complete: 0,
      failed: 0,
      blocked: 0,
    })
  })

  it('accepts any iterable, such as a generator', () => {
    function* tasks() {
      yield task('a', 'complete')
      yield task('b', 'pending')
    }
    expect(progressOf(tasks())).toMatchObject({ total: 2, complete: 1, pending: 1, percentage: 50 })
  })
})
