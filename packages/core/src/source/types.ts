import type { Task, TaskPatch } from '../task/types.ts'

/** A change a task source noticed (a person edited, added or deleted a task). */
export type TaskChange =
  | { type: 'added' | 'changed'; task: Task }
  | { type: 'removed'; id: string }
  /** A file that no longer parses; the task keeps its last good version. */
  | { type: 'invalid'; source: string; error: Error }

/**
 * Where tasks come from and where their status goes back to.
 *
 * @example
 * const source: TaskSource = {
 *   name: 'tanuki:memory',
 *   load: async () => tasks,
 *   update: async (id, patch) => { console.log(id, patch) },
 * }
 */
export interface TaskSource {
  readonly name: string
  /** Every task. Rejects with a `TanukiError` naming the file and field for invalid input. */
  load(): Promise<Task[]>
  /**
   * Writes status (and the other `TaskPatch` keys) back, touching nothing else. A source that
   * writes synchronously returns nothing; the orchestrator then starts a completed task's
   * dependents without waiting a turn. Otherwise it waits for the promise before it does.
   * The status mirror calls it for up to eight tasks at once, one call per task at a time: a
   * source that keeps several tasks in one file must order its writes to that file itself.
   * A task the source no longer has (its file was removed) rejects with `TANUKI_TASK_NOT_FOUND`:
   * the mirror skips it, as the journal keeps its status.
   */
  update(id: string, patch: TaskPatch): void | Promise<void>
  /** Reports changes made by others while the project runs. Returns an unsubscribe function. */
  watch?(listener: (change: TaskChange) => void): () => void
}
