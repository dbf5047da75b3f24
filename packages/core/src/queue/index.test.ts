import { describe, expect, it } from 'vitest'
import type { TaskPriority } from '../task/types.ts'
import { PRIORITY_RANK, TaskQueue, type QueueItem } from './index.ts'

const item = (id: string, priority: TaskPriority = 'medium', role = 'default'): QueueItem => ({ id, role, priority })

/** Dequeues everything of a role. */
function drain(queue: TaskQueue, role = 'default'): string[] {
  const ids: string[] = []
  for (let next = queue.dequeue(role); next; next = queue.dequeue(role)) ids.push(next.id)
  return ids
}

describe('TaskQueue', () => {
  it('serves the most urgent priority first', () => {
    const queue = new TaskQueue()
    queue.enqueue(item('low', 'low'))
    queue.enqueue(item('medium', 'medium'))
    queue.enqueue(item('critical', 'critical'))
    queue.enqueue(item('high', 'high'))
    expect(drain(queue)).toEqual(['critical', 'high', 'medium', 'low'])
  })

  it('is first-in first-out within a priority', () => {
    const queue = new TaskQueue()
    for (let i = 0; i < 20; i++) queue.enqueue(item(`m${i}`, i % 2 === 0 ? 'medium' : 'high'))
    const expected = [
      ...Array.from({ length: 10 }, (_, i) => `m${2 * i + 1}`),
      ...Array.from({ length: 10 }, (_, i) => `m${2 * i}`),
    ]
    expect(drain(queue)).toEqual(expected)
  })

  it('keeps roles apart', () => {
    const queue = new TaskQueue()
    queue.enqueue(item('web-1', 'low', 'web'))
    queue.enqueue(item('api-1', 'critical', 'api'))
    queue.enqueue(item('web-2', 'high', 'web'))
    expect(queue.dequeue('web')?.id).toBe('web-2')
    expect(queue.dequeue('api')?.id).toBe('api-1')
    expect(queue.dequeue('api')).toBeUndefined()
    expect(queue.dequeue('nobody')).toBeUndefined()
    expect(queue.peek('nobody')).toBeUndefined()
    expect(queue.dequeue('web')?.id).toBe('web-1')
  })

  it('peeks without taking', () => {
    const queue = new TaskQueue()
    expect(queue.peek('default')).toBeUndefined()
    queue.enqueue(item('a', 'low'))
    queue.enqueue(item('b', 'high'))
    expect(queue.peek('default')?.id).toBe('b')
    expect(queue.peek('default')?.id).toBe('b')
    expect(queue.size()).toBe(2)
    expect(queue.dequeue('default')?.id).toBe('b')
  })

  it('counts by role and overall', () => {
    const queue = new TaskQueue()
    expect(queue.size()).toBe(0)
    expect(queue.sizes()).toEqual({})
    queue.enqueue(item('a', 'low', 'web'))
    queue.enqueue(item('b', 'low', 'web'))
    queue.enqueue(item('c', 'low', 'api'))
    expect(queue.size()).toBe(3)
    expect(queue.size('web')).toBe(2)
    expect(queue.size('api')).toBe(1)
    expect(queue.size('none')).toBe(0)
    expect(queue.sizes()).toEqual({ web: 2, api: 1 })
    expect(queue.roles().sort()).toEqual(['api', 'web'])
    queue.dequeue('api')
    // Roles with nothing waiting are left out.
    expect(queue.sizes()).toEqual({ web: 2 })
    expect(queue.roles()).toEqual(['web'])
  })

  it('removes a task wherever it is', () => {
    const queue = new TaskQueue()
    for (const id of ['a', 'b', 'c', 'd']) queue.enqueue(item(id))
    expect(queue.contains('b')).toBe(true)
    expect(queue.remove('b')).toBe(true)
    expect(queue.remove('b')).toBe(false)
    expect(queue.remove('never')).toBe(false)
    expect(queue.contains('b')).toBe(false)
    expect(queue.size()).toBe(3)
    expect(queue.size('default')).toBe(3)
    // Removing the head: peek and dequeue skip it.
    expect(queue.remove('a')).toBe(true)
    expect(queue.peek('default')?.id).toBe('c')
    expect(drain(queue)).toEqual(['c', 'd'])
    expect(queue.size()).toBe(0)
  })

  it('takes a task back after it was removed or dequeued, at the back of its priority', () => {
    const queue = new TaskQueue()
    queue.enqueue(item('a'))
    queue.enqueue(item('b'))
    queue.remove('a')
    expect(queue.enqueue(item('a'))).toBe(true)
    expect(queue.contains('a')).toBe(true)
    expect(queue.size()).toBe(2)
    expect(drain(queue)).toEqual(['b', 'a'])
    expect(queue.enqueue(item('b', 'critical'))).toBe(true)
    expect(queue.dequeue('default')?.id).toBe('b')
  })

  it('refuses a task that is already queued, changing nothing', () => {
    const queue = new TaskQueue()
    expect(queue.enqueue(item('a', 'low'))).toBe(true)
    expect(queue.enqueue(item('a', 'critical', 'other'))).toBe(false)
    expect(queue.size()).toBe(1)
    expect(queue.sizes()).toEqual({ default: 1 })
    expect(queue.dequeue('other')).toBeUndefined()
    expect(queue.dequeue('default')).toEqual(item('a', 'low'))
  })

  it('lists tasks in dequeue order, and clears', () => {
    const queue = new TaskQueue()
    queue.enqueue(item('a', 'low', 'web'))
    queue.enqueue(item('b', 'high', 'api'))
    queue.enqueue(item('c', 'critical', 'web'))
    queue.remove('b')
    queue.enqueue(item('d', 'high', 'web'))
    expect(queue.list().map((x) => x.id)).toEqual(['c', 'd', 'a'])
    expect(queue.list('web').map((x) => x.id)).toEqual(['c', 'd', 'a'])
    expect(queue.list('api')).toEqual([])
    queue.clear()
    expect(queue.size()).toBe(0)
    expect(queue.sizes()).toEqual({})
    expect(queue.dequeue('web')).toBeUndefined()
    expect(queue.enqueue(item('a'))).toBe(true)
  })

  it('returns the items it was given, with their own fields', () => {
    const queue = new TaskQueue<QueueItem & { title: string }>()
    const task = { id: 'x', role: 'r', priority: 'high' as const, title: 'X' }
    queue.enqueue(task)
    expect(queue.dequeue('r')).toBe(task)
  })

  it('agrees with a sorted reference model over 20,000 random operations', () => {
    let seed = 2024
    const random = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648
      return seed % n
    }
    const priorities: TaskPriority[] = ['critical', 'high', 'medium', 'low']
    const roles = ['a', 'b', 'c']
    const queue = new TaskQueue()
    // The model: every queued item with its arrival number; the next of a role is the minimum.
    const model = new Map<string, { item: QueueItem; seq: number }>()
    let seq = 0
    let nextId = 0
    const modelNext = (role: string): QueueItem | undefined =>
      [...model.values()]
        .filter((entry) => entry.item.role === role)
        .sort((x, y) => PRIORITY_RANK[x.item.priority] - PRIORITY_RANK[y.item.priority] || x.seq - y.seq)[0]?.item

    for (let step = 0; step < 20_000; step++) {
      const op = random(10)
      const role = roles[random(roles.length)]!
      if (op < 4) {
        // Sometimes re-use an id (queued or not) to exercise refusal and re-enqueue.
        const id = random(4) === 0 && nextId > 0 ? `i${random(nextId)}` : `i${nextId++}`
        const added = { id, role, priority: priorities[random(4)]! }
        const accepted = queue.enqueue(added)
        expect(accepted).toBe(!model.has(id))
        if (accepted) model.set(id, { item: added, seq: seq++ })
      } else if (op < 7) {
        const expected = modelNext(role)
        expect(queue.dequeue(role)).toEqual(expected)
        if (expected) model.delete(expected.id)
      } else if (op < 8) {
        expect(queue.peek(role)).toEqual(modelNext(role))
      } else {
        const id = `i${random(nextId + 1)}`
        expect(queue.remove(id)).toBe(model.delete(id))
      }
      if (step % 500 === 0) {
        expect(queue.size()).toBe(model.size)
        for (const r of roles) expect(queue.size(r)).toBe([...model.values()].filter((e) => e.item.role === r).length)
      }
    }
    for (const role of roles) {
      const rest = drain(queue, role)
      const expected = [...model.values()]
        .filter((entry) => entry.item.role === role)
        .sort((x, y) => PRIORITY_RANK[x.item.priority] - PRIORITY_RANK[y.item.priority] || x.seq - y.seq)
        .map((entry) => entry.item.id)
      expect(rest).toEqual(expected)
    }
    expect(queue.size()).toBe(0)
  })
})
