import type { Usage } from '../agent/types.ts'
import type { TaskStatus } from '../task/types.ts'

/** One status change of one task. */
export interface StatusChange {
  taskId: string
  from: TaskStatus
  to: TaskStatus
  /** The agent involved, if any. */
  agent?: string
  /** Why, in a few words (the failure, "agent crashed", "recovered after restart"…). */
  reason?: string
  /** Back to `pending`: the iterations the task keeps counted (a try a stop cut short is not one). */
  iterations?: number
  /**
   * Out of `in_progress` because a stop, a crash or a person's command cut a try short: what the
   * agent said that try spent before (`estimated` when Tanuki priced it), which no
   * `iteration:finished` tells. Absent when it said nothing.
   */
  usage?: Usage
  /**
   * To `complete` by a person's mark (`tanuki task mark ID complete`): its work was accepted as it
   * is, and its landing runs only `land.verify`, not its own verify.
   */
  accepted?: true
  /** Clock time in ms since the epoch. */
  at: number
}

/**
 * The history of every status change, per task and overall, in order.
 *
 * @example
 * tracker.record({ taskId: 'a', from: 'pending', to: 'assigned', agent: 'backend-1', at: Date.now() })
 * tracker.history('a') // [{ from: 'pending', to: 'assigned', … }]
 */
export class StatusTracker {
  private readonly all: StatusChange[] = []
  private readonly byTask = new Map<string, StatusChange[]>()

  record(change: StatusChange): void {
    this.all.push(change)
    let list = this.byTask.get(change.taskId)
    if (!list) this.byTask.set(change.taskId, (list = []))
    list.push(change)
  }

  /** Every change of one task, or of all tasks, oldest first. */
  history(taskId?: string): readonly StatusChange[] {
    return taskId === undefined ? this.all : (this.byTask.get(taskId) ?? [])
  }

  /** The most recent change of a task. */
  last(taskId: string): StatusChange | undefined {
    const list = this.byTask.get(taskId)
    return list?.[list.length - 1]
  }

  /** How many times a task entered a status (e.g. how often it was assigned). */
  count(taskId: string, to: TaskStatus): number {
    let n = 0
    for (const change of this.byTask.get(taskId) ?? []) if (change.to === to) n++
    return n
  }
}
