import { describe, expect, it } from 'vitest'
import { StatusTracker, type StatusChange } from './index.ts'

describe('StatusTracker', () => {
  const changes: StatusChange[] = [
    { taskId: 'a', from: 'pending', to: 'assigned', agent: 'w-1', at: 1 },
    { taskId: 'b', from: 'pending', to: 'assigned', agent: 'w-2', at: 2 },
    { taskId: 'a', from: 'assigned', to: 'in_progress', agent: 'w-1', at: 3 },
    { taskId: 'a', from: 'in_progress', to: 'pending', agent: 'w-1', reason: 'agent crashed', at: 4 },
    { taskId: 'a', from: 'pending', to: 'assigned', agent: 'w-3', at: 5 },
    { taskId: 'a', from: 'assigned', to: 'complete', agent: 'w-3', reason: 'verify passed', at: 6 },
  ]

  it('keeps every change in order, overall and per task', () => {
    const tracker = new StatusTracker()
    for (const change of changes) tracker.record(change)
    expect(tracker.history()).toEqual(changes)
    expect(tracker.history('a').map((change) => change.at)).toEqual([1, 3, 4, 5, 6])
    expect(tracker.history('b')).toEqual([changes[1]])
    expect(tracker.history('unknown')).toEqual([])
  })

  it('keeps from, to, agent, reason and time of each change', () => {
    const tracker = new StatusTracker()
    for (const change of changes) tracker.record(change)
    expect(tracker.history('a')[2]).toEqual({
      taskId: 'a',
      from: 'in_progress',
      to: 'pending',
      agent: 'w-1',
      reason: 'agent crashed',
      at: 4,
    })
  })

  it('tells the last change and how often a task entered a status', () => {
    const tracker = new StatusTracker()
    expect(tracker.last('a')).toBeUndefined()
    for (const change of changes) tracker.record(change)
    expect(tracker.last('a')?.to).toBe('complete')
    expect(tracker.last('b')?.agent).toBe('w-2')
    expect(tracker.count('a', 'assigned')).toBe(2)
    expect(tracker.count('a', 'failed')).toBe(0)
    expect(tracker.count('unknown', 'assigned')).toBe(0)
  })
})
