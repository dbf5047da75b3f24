import { errorMessage } from '../errors.ts'
import type { TaskChange, TaskSource } from '../source/types.ts'
import { changedSince, specHashes, type SpecField } from '../task/spec.ts'
import type { Task } from '../task/types.ts'
import type { Bus } from './bus.ts'
import type { RedefinedField } from './events.ts'
import { IN_FLIGHT, type TaskRecord, type TaskTable } from './task-table.ts'
import type { RunContext } from './types.ts'

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
  /** A task's role or verify changed; `before`: the ones it had. */
  redefined?(record: TaskRecord, before: { role: string; verify: string | undefined }): void
}

/** One rule: when it applies to a change of a known task, and what it does. */
interface Rule {
  when: (record: TaskRecord, task: Task) => boolean
  then: (ctx: ChangeContext, record: TaskRecord, task: Task) => void
}

const specOf = ({ status: _status, assignedTo: _assignedTo, extra: _extra, ...spec }: Task): string =>
  JSON.stringify(spec)

/**
 * What an edit of a known task does, first matching rule first. The journal is the authority for
 * run state: a status in a file that disagrees with it (a `git stash`, checkout or pull reverted
 * it, or a person typed one) is written back, never obeyed; people rerun work on purpose with
 * `tanuki task rerun|reset|mark`. The spec (title, body, role, priority, completion, depends_on)
 * is picked up live; a task in flight takes its title, body and completion from its next prompt
 * and judgement on, and the rest once its run ends.
 */
const EDIT_RULES: Rule[] = [
  {
    // Running: what its loop reads (title, body, completion) is taken at once, for its next
    // prompt and judgement; the rest (role, priority, depends_on) once this run of it ends.
    when: (record) => IN_FLIGHT.has(record.task.status),
    then: (ctx, record, task) => {
      const changed = loopChanges(record.task, task)
      if (changed.length > 0) {
        const before = { role: record.task.role, verify: record.task.completion.verify }
        const { title, body, completion } = task
        record.task = { ...record.task, title, body, completion: { ...completion } }
        emitRedefined(ctx, record.task, { whileRunning: changed })
        if (before.verify !== completion.verify) ctx.redefined?.(record, before)
      }
      if (specOf({ ...task, status: record.task.status }) !== specOf(record.task)) record.edited = task
      else delete record.edited
      if (task.status !== record.task.status) ctx.table.remirror(record, task.status, task.source)
    },
  },
  {
    // The spec changed: take it, and queue the task again if it is (still) ready.
    when: (record, task) => specOf(record.task) !== specOf(task),
    then: (ctx, record, task) => {
      const before = { role: record.task.role, verify: record.task.completion.verify }
      // Complete: the edit does not run it again, and a person who saved it may think it will.
      // Told once for each set of fields that differ from what it ran with.
      const since = record.task.status === 'complete' ? changedSince(task, record.ran ?? specHashes(record.task)) : []
      const tell = since.length > 0 && record.toldSince !== since.join(',')
      if (since.length > 0) record.toldSince = since.join(',')
      else delete record.toldSince
      ctx.table.redefine(record, task)
      emitRedefined(ctx, record.task, tell ? { sinceComplete: since } : {})
      ctx.dequeue(task.id)
      ctx.unsettle()
      if (record.task.status === 'pending') ctx.table.blockIfStuck(record)
      else if (record.task.status === 'blocked' && ctx.table.hardBlockers(task.id).length === 0) {
        ctx.table.setStatus(record, 'pending', { reason: 'no longer blocked' })
      }
      ctx.enqueue([task.id])
      if (before.role !== record.task.role || before.verify !== record.task.completion.verify)
        ctx.redefined?.(record, before)
      if (task.status !== record.task.status) ctx.table.remirror(record, task.status, task.source)
    },
  },
  {
    // Only the status differs: the journal wins.
    when: (record, task) => task.status !== record.task.status,
    then: (ctx, record, task) => ctx.table.remirror(record, task.status, task.source),
  },
]

/** What a task in flight reads of its definition from one try to the next, as the events name it. */
const LOOP_FIELDS = [
  ['title', (task: Task) => task.title],
  ['body', (task: Task) => task.body],
  ['verify', (task: Task) => task.completion.verify],
  ['signal', (task: Task) => task.completion.signal],
  ['max_iterations', (task: Task) => task.completion.maxIterations],
] as const

/** Which of those an edit changed. */
function loopChanges(before: Task, after: Task): RedefinedField[] {
  return LOOP_FIELDS.filter(([, read]) => read(before) !== read(after)).map(([name]) => name)
}

/** Tells of a task's new spec: what people see of it, and what the edit changes (`extra`). */
function emitRedefined(
  ctx: ChangeContext,
  task: Task,
  extra: { whileRunning?: RedefinedField[]; sinceComplete?: SpecField[] },
): void {
  const { id, title, role, priority, dependsOn } = task
  ctx.bus.emit('task:redefined', { taskId: id, title, role, priority, dependsOn: [...dependsOn], ...extra })
}

/**
 * A task's run ended (or a person's command took it out of flight): an edit of its file made
 * while it ran that it could not take then (its role, priority, dependencies) is taken now.
 */
export function applyDeferredEdit(ctx: ChangeContext, record: TaskRecord): void {
  const edited = record.edited
  if (!edited || IN_FLIGHT.has(record.task.status) || ctx.table.get(edited.id) !== record) return
  delete record.edited
  try {
    EDIT_RULES.find((rule) => rule.when(record, edited))?.then(ctx, record, { ...edited, status: record.task.status })
  } catch (error) {
    ctx.bus.emit('orchestrator:error', {
      context: `applying a change of ${named(edited)}`,
      message: errorMessage(error),
    })
  }
}

/**
 * Applies a change a task source reported while the run is on: a new task is scheduled, an edited
 * one follows the rules above, a deleted one is forgotten (unless it is running). Problems (a
 * cycle, a file that no longer parses) are reported as `orchestrator:error`; the run goes on.
 */
export function applySourceChange(ctx: ChangeContext, source: TaskSource, change: TaskChange): void {
  try {
    if (change.type === 'invalid') {
      // A source's errors name the file already: said once.
      const { message } = change.error
      const own = message.startsWith(`${change.source}: `) ? message.slice(change.source.length + 2) : message
      ctx.bus.emit('orchestrator:error', { context: `reading ${change.source}`, message: own })
    } else if (change.type === 'removed') {
      const record = ctx.table.get(change.id)
      if (record && !IN_FLIGHT.has(record.task.status)) ctx.table.delete(change.id)
    } else {
      const record = ctx.table.get(change.task.id)
      if (!record) added(ctx, source, change.task)
      else EDIT_RULES.find((rule) => rule.when(record, change.task))?.then(ctx, record, change.task)
    }
  } catch (error) {
    // Named by its task and file: a person has to find what to fix.
    const what =
      change.type === 'removed' ? `task ${change.id}` : change.type === 'invalid' ? change.source : named(change.task)
    ctx.bus.emit('orchestrator:error', { context: `applying a change of ${what}`, message: errorMessage(error) })
  }
}

/** A task as a person finds it: its id, and its file when it came from one. */
function named(task: Task): string {
  const id = `task ${task.id}`
  return task.source && task.source !== id ? `${id} (${task.source})` : id
}

/**
 * Watches every source that can say what changed: a change that comes while the run is on is
 * applied, and work is handed out again. Returns how to stop watching each.
 */
export function watchSources(
  ctx: ChangeContext & Pick<RunContext, 'state' | 'dispatchAll' | 'checkSettled'>,
  sources: readonly TaskSource[],
): (() => void)[] {
  const unwatch: (() => void)[] = []
  for (const source of sources) {
    const unsubscribe = source.watch?.((change) => {
      if (ctx.state() !== 'running') return
      applySourceChange(ctx, source, change)
      ctx.dispatchAll()
      ctx.checkSettled()
    })
    if (unsubscribe) unwatch.push(unsubscribe)
  }
  return unwatch
}

function added(ctx: ChangeContext, source: TaskSource, task: Task): void {
  const record = ctx.table.insert(task, source)
  ctx.unsettle()
  // Its definition goes with it: no later event names its title, and one that never runs (waiting
  // on a task in review, blocked) would get no role or dependencies from `task:queued` either.
  const { id, title, role, priority, status, dependsOn } = record.task
  const fromFile = record.takenFromFile ? { fromFile: true as const } : {}
  ctx.bus.emit('task:added', { taskId: id, title, role, priority, status, dependsOn: [...dependsOn], ...fromFile })
  if (IN_FLIGHT.has(record.task.status)) ctx.table.setStatus(record, 'pending', { reason: 'new task' })
  if (record.task.status === 'pending') ctx.table.blockIfStuck(record)
  ctx.enqueue([task.id])
  ctx.enqueue(ctx.table.unblockDependents(task.id))
}
