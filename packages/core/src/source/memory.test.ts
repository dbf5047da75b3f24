import { describe, expect, it } from 'vitest'
import { isTanukiError } from '../errors.ts'
import { createTask } from '../task/parse.ts'
import type { TaskChange } from './types.ts'
import { createMemorySource } from './memory.ts'

const a = createTask({ id: 'a', title: 'A', completion: { signal: 'S' } })
const b = createTask({ id: 'b', title: 'B', dependsOn: ['a'], completion: { verify: 'true' } })

describe('createMemorySource', () => {
  it('loads copies of its tasks', async () => {
    const source = createMemorySource([a, b])
    expect(source.name).toBe('tanuki:memory')
    const loaded = await source.load()
    expect(loaded).toEqual([a, b])
    expect('patch' in loaded[0]!).toBe(false)
    // Changing what load returned does not change the source.
    loaded[1]!.dependsOn.push('x')
    expect((await source.load())[1]!.dependsOn).toEqual(['a'])
    expect(createMemorySource([], 'mine').name).toBe('mine')
  })

  it('records every update and applies status and the patch', async () => {
    const source = createMemorySource([a, b])
    await source.update('a', { status: 'in_progress', assigned_to: 'w-1' })
    await source.update('a', { status: 'complete', assigned_to: null, completed_at: '2025-01-01T00:00:00Z' })
    await source.update('b', { failure: 'no' })
    expect(source.writes).toEqual([
      { id: 'a', patch: { status: 'in_progress', assigned_to: 'w-1' } },
      { id: 'a', patch: { status: 'complete', assigned_to: null, completed_at: '2025-01-01T00:00:00Z' } },
      { id: 'b', patch: { failure: 'no' } },
    ])
    expect(source.tasks.get('a')!.status).toBe('complete')
    expect(source.tasks.get('a')!.patch).toEqual({
      status: 'complete',
      assigned_to: null,
      completed_at: '2025-01-01T00:00:00Z',
    })
    expect(source.tasks.get('b')!.status).toBe('pending')
    expect((await source.load()).map((task) => task.status)).toEqual(['complete', 'pending'])
  })

  it('refuses to update a task it does not hold', async () => {
    const source = createMemorySource([a], 'mem')
    let error: unknown
    try {
      source.update('ghost', { status: 'complete' })
    } catch (e) {
      error = e
    }
    expect(isTanukiError(error, 'TANUKI_TASK_NOT_FOUND')).toBe(true)
    expect((error as Error).message).toBe('No task "ghost" in mem')
    expect(source.writes).toEqual([])
  })

  it('tells watchers of changes and applies them', async () => {
    const source = createMemorySource([a])
    const seen: TaskChange[] = []
    const unwatch = source.watch!((change) => seen.push(change))
    const edited = { ...a, title: 'A, edited' }
    source.change({ type: 'added', task: b })
    source.change({ type: 'changed', task: edited })
    source.change({ type: 'removed', id: 'b' })
    const invalid: TaskChange = { type: 'invalid', source: 'tasks/c.md', error: new Error('bad') }
    source.change(invalid)
    expect(seen.map((change) => change.type)).toEqual(['added', 'changed', 'removed', 'invalid'])
    expect((await source.load()).map((task) => task.title)).toEqual(['A, edited'])
    unwatch()
    source.change({ type: 'added', task: b })
    expect(seen).toHaveLength(4)
    expect((await source.load()).map((task) => task.id)).toEqual(['a', 'b'])
  })
})
