import { errorMessage } from '../errors.ts'
import type { TaskChange, TaskSource } from '../source/types.ts'
import type { Task, TaskStatus } from '../task/types.ts'
import type { Bus } from './bus.ts'
import { IN_FLIGHT, type TaskRecord, type TaskTable } from './task-table.ts'

/** What the rules may do to the run. */
export interface ChangeContext {
  readonly table: TaskTable
  readonly bus: Bus
  /** Queues the tasks among these that are pending and ready. */
  enqueue(ids: Iterable<string>): void
  /** Takes a task out of its queue (its role or priority may have changed). */
  dequeue(id: string): void
  /** The run has something to do again: it must settle anew. */
  unsettle(): void
}

/** A status a person wrote into a task, and what it asks of the run. */
type StatusEdit = (ctx: ChangeContext, record: TaskRecord, written: TaskStatus) => void

const rerun: StatusEdit = (ctx, record) => {
  record.attempts = 0
  const ready = ctx.table.setStatus(record, 'pending', { reason: 'set to pending by a person' })
  ctx.table.blockIfStuck(record)
  ctx.enqueue(ready)
  ctx.enqueue(ctx.table.unblockDependents(record.task.id))
}

/**
 * Statuses a person may write, by status. `assigned`, `in_progress` and `blocked` follow from
 * what Tanuki does; set by hand they would leave a task "running" with no agent (and the run never
 * settling), so the task keeps the status it had.
 */
const STATUS_EDITS: Record<TaskStatus, StatusEdit> = {
  pending: rerun,
  complete: (ctx, record) => {
    ctx.enqueue(ctx.table.setStatus(record, 'complete', { reason: 'marked complete by a person' }))
    ctx.enqueue(ctx.table.unblockDependents(record.task.id))
  },
  failed: (ctx, record) => ctx.table.fail(record, 'marked failed by a person'),
  review: (ctx, record) => ctx.table.setStatus(record, 'review', { reason: 'set to review by a person' }),
  assigned: refuse,
  in_progress: refuse,
  blocked: refuse,
}

function refuse(ctx: ChangeContext, record: TaskRecord, written: TaskStatus): void {
  ctx.enqueue([record.task.id])
  ctx.bus.emit('orchestrator:error', {
    context: `reading ${record.task.source ?? record.task.id}`,
    message: `status "${written}" is Tanuki's to set; ${record.task.id} stays ${record.task.status}. Use pending, complete, failed or review.`,
  })
}

/**
 * Applies a change a task source reported while the run is on: a new task is scheduled, an edited
 * one takes its new definition (unless it is running: it keeps the one it started with), a status
 * written by hand is applied by the table above, a deleted one is forgotten. Problems (a cycle, a
 * file that no longer parses) are reported as `orchestrator:error`; the run goes on.
 */
export function applySourceChange(ctx: ChangeContext, source: TaskSource, change: TaskChange): void {
  try {
    if (change.type === 'invalid') {
      ctx.bus.emit('orchestrator:error', { context: `reading ${change.source}`, message: change.error.message })
    } else if (change.type === 'removed') {
      const record = ctx.table.get(change.id)
      if (record && !IN_FLIGHT.has(record.task.status)) ctx.table.delete(change.id)
    } else {
      const record = ctx.table.get(change.task.id)
      if (!record) added(ctx, source, change.task)
      // Work in flight keeps its definition until it ends; the write-back keeps the person's edits.
      else if (!IN_FLIGHT.has(record.task.status)) edited(ctx, record, change.task)
    }
  } catch (error) {
    ctx.bus.emit('orchestrator:error', { context: 'applying a task change', message: errorMessage(error) })
  }
}

function added(ctx: ChangeContext, source: TaskSource, task: Task): void {
  const record = ctx.table.insert(task, source)
  ctx.unsettle()
  ctx.bus.emit('task:added', { taskId: task.id })
  if (IN_FLIGHT.has(record.task.status)) ctx.table.setStatus(record, 'pending', { reason: 'new task' })
  if (record.task.status === 'pending') ctx.table.blockIfStuck(record)
  ctx.enqueue([task.id])
  ctx.enqueue(ctx.table.unblockDependents(task.id))
}

function edited(ctx: ChangeContext, record: TaskRecord, task: Task): void {
  const previous = record.task.status
  ctx.table.redefine(record, task)
  // Role, priority or dependencies may have changed: queue it again only if it is (still) ready.
  ctx.dequeue(task.id)
  ctx.unsettle()
  if (task.status === previous) {
    if (record.task.status === 'pending') ctx.table.blockIfStuck(record)
    else if (record.task.status === 'blocked' && ctx.table.hardBlockers(task.id).length === 0) {
      ctx.table.setStatus(record, 'pending', { reason: 'no longer blocked' })
    }
    ctx.enqueue([task.id])
    return
  }
  STATUS_EDITS[task.status](ctx, record, task.status)
}
