import type { TanukiEvents } from '@tanuki/core'
import type { TaskState } from './types.ts'

/** Why a task that a verify which cannot run holds waits, as the summary lists it under that verify. */
function heldByVerify(command: string): string {
  return `waits: verify \`${command}\` cannot run (see above)`
}

/**
 * What holds pending tasks back until a person acts, from events: roles paused by their
 * configuration, verifies that cannot run where a role's agents work (`verify:blocked`, until
 * `verify:unblocked`), tasks held for another reason (`task:waiting`), and complete work an
 * earlier run did for another branch (`project:target`).
 */
export class Holds {
  /** Roles paused by their configuration, with what to fix. */
  readonly pausedRoles = new Map<string, string>()
  /** Verify commands that cannot run where a role's agents work, with what to fix: their tasks wait. */
  readonly blockedVerifies: TanukiEvents['verify:blocked'][] = []
  /** Complete work an earlier run did for another branch than this run's target: each target with its tasks. */
  elsewhere: TanukiEvents['project:target']['elsewhere'] = []

  /** `tasks`: the model's tasks, whose `reason` says what holds them. */
  constructor(private readonly tasks: ReadonlyMap<string, TaskState>) {}

  /** Folds in a `task:waiting` of `task`. */
  waiting(task: TaskState, e: TanukiEvents['task:waiting']): void {
    if (task.status === 'pending') task.reason = e.reason
  }

  /** Folds in a `verify:blocked`. */
  verifyBlocked(e: TanukiEvents['verify:blocked']): void {
    // Met again when it was tried again (a resume, a rerun): the news of it is the latest, once.
    const known = this.blockedVerifies.findIndex((b) => b.role === e.role && b.command === e.command)
    if (known >= 0) this.blockedVerifies.splice(known, 1)
    this.blockedVerifies.push(e)
    // The task that met it says why through its status change; the others it holds, here.
    for (const id of e.tasks ?? []) {
      const task = this.tasks.get(id)
      if (id !== e.taskId && task && task.status === 'pending') task.reason = heldByVerify(e.command)
    }
  }

  /** Folds in a `verify:unblocked`. */
  verifyUnblocked(e: TanukiEvents['verify:unblocked']): void {
    // It runs again: it is news no more, unless a task meets it again (`verify:blocked` anew).
    const known = this.blockedVerifies.findIndex((b) => b.role === e.role && b.command === e.command)
    if (known >= 0) this.blockedVerifies.splice(known, 1)
    for (const id of e.tasks) {
      const task = this.tasks.get(id)
      // Held by it, whether said here or by `task:waiting`: it is tried again now.
      if (task?.status === 'pending' && task.reason?.startsWith('waits: ')) delete task.reason
    }
  }

  /**
   * A rerun or reset of a complete task: it no longer waits for the branch its earlier work was
   * done for, since it is done again, for this run's.
   */
  redone(id: string): void {
    this.elsewhere = this.elsewhere
      .map(({ target, tasks }) => ({ target, tasks: tasks.filter((each) => each !== id) }))
      .filter(({ tasks }) => tasks.length > 0)
  }
}
