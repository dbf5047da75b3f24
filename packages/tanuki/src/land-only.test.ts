import { TanukiError, createTask, type Task } from '@tanuki/core'
import { describe, expect, it } from 'vitest'
import { checkNamed, onlyThese } from './land-only.ts'
import { landingOrder } from './land.ts'

const task = (id: string, dependsOn: string[] = [], status: Task['status'] = 'complete'): Task =>
  createTask({ id, title: id, dependsOn, status, completion: { signal: 'DONE' } })

describe('onlyThese: `tanuki land ID…`', () => {
  const tasks = [
    task('a'),
    task('b', ['a']),
    task('c', ['b']),
    task('d'),
    task('e'),
    task('f'),
    task('r', [], 'review'),
  ]
  const facts = new Map<string, { landed?: { commit: string }; completedAt?: number }>([
    ['e', { landed: { commit: 'e'.repeat(40) } }],
    ['f', { landed: { commit: 'by hand' } }],
  ])
  const known = {
    facts,
    target: 'main',
    waitsElsewhere: (id: string) => (id === 'd' ? 'release' : undefined),
  }
  // What lands here: d waits for another branch, as the landing leaves it out of the order.
  const order = landingOrder(
    tasks.filter((t) => t.id !== 'd'),
    facts,
  )

  it('takes the tasks named and, first, every dependency not landed, however deep', () => {
    const chosen = onlyThese(order, ['c'], known)
    expect(chosen.order.map((t) => t.id)).toEqual(['a', 'b', 'c'])
    expect(chosen.notes).toEqual([
      'b lands too, first: c depends on it, and its work has not landed.',
      'a lands too, first: c depends on it, and its work has not landed.',
    ])
  })

  it('says what landed already, by Tanuki or by hand, and what waits for another branch', () => {
    const chosen = onlyThese(order, ['e', 'f', 'd'], known)
    expect(chosen.order).toEqual([])
    expect(chosen.notes).toEqual([
      `e landed already, as ${'e'.repeat(12)}.`,
      'f is on main already: a person landed it by hand.',
      'd was done for release and waits for it: `tanuki land --into release d` lands it there.',
      '3 complete tasks still wait to land: a, b, c (`tanuki land` lands them).',
    ])
  })

  it('refuses a task that is not there or not complete', () => {
    const notFound = (id: string) => new TanukiError('TANUKI_TASK_NOT_FOUND', `no ${id}`)
    expect(() => checkNamed(['a', 'e'], tasks, notFound)).not.toThrow()
    expect(() => checkNamed(['a', 'zz'], tasks, notFound)).toThrow('no zz')
    expect(() => checkNamed(['r'], tasks, notFound)).toThrow(
      'r is in review, not complete: only complete work lands. `tanuki task show r` says why; `tanuki task mark r complete` accepts its work as it is.',
    )
  })
})
