import { TanukiError } from '../errors.ts'
import type { Task, TaskPatch } from '../task/types.ts'
import type { TaskChange, TaskSource } from './types.ts'

/** A task source held in memory: for tasks built in code, embedding, and tests. */
export interface MemorySource extends TaskSource {
  /** The tasks as last written (status and the other patched fields applied). */
  readonly tasks: ReadonlyMap<string, Task & { patch: TaskPatch }>
  /** Every `update` call, in order. */
  readonly writes: readonly { id: string; patch: TaskPatch }[]
  /** Announces a change to watchers, as a person editing a file would. */
  change(change: TaskChange): void
}

/**
 * @example
 * const source = createMemorySource([createTask({ id: 'a', title: 'A', completion: { signal: 'DONE' } })])
 */
export function createMemorySource(tasks: readonly Task[], name = 'tanuki:memory'): MemorySource {
  const stored = new Map<string, Task & { patch: TaskPatch }>()
  for (const task of tasks) stored.set(task.id, { ...task, patch: {} })
  const writes: { id: string; patch: TaskPatch }[] = []
  const listeners = new Set<(change: TaskChange) => void>()
  return {
    name,
    tasks: stored,
    writes,
    async load() {
      return [...stored.values()].map(({ patch: _patch, ...task }) => ({ ...task, dependsOn: [...task.dependsOn] }))
    },
    update(id, patch) {
      const task = stored.get(id)
      if (!task) throw new TanukiError('TANUKI_TASK_NOT_FOUND', `No task "${id}" in ${name}`)
      writes.push({ id, patch })
      Object.assign(task.patch, patch)
      if (patch.status) task.status = patch.status
    },
    watch(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
    change(change) {
      if (change.type === 'added' || change.type === 'changed')
        stored.set(change.task.id, { ...change.task, patch: {} })
      if (change.type === 'removed') stored.delete(change.id)
      for (const listener of listeners) listener(change)
    },
  }
}
