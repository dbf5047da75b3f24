import type { Usage } from '../agent/types.ts'
import type { TaskQueue } from '../queue/index.ts'
import { Resolver, cycleError, type Blocker } from '../resolver/index.ts'
import type { TaskSource } from '../source/types.ts'
import { StatusTracker } from '../status/index.ts'
import { progressFromCounts } from '../status/progress.ts'
import { specHashes, type SpecHashes } from '../task/spec.ts'
import { TASK_STATUSES, type Task, type TaskPatch, type TaskStatus } from '../task/types.ts'
import type { LandingFeedback } from '../land/types.ts'
import type { Landing, RunState, RunStore, Spend, TaskRunState, TryFeedback } from '../state/types.ts'
import type { Bus } from './bus.ts'
import type { StatusMirror } from './mirror.ts'
import type { Progress } from './events.ts'
import { journalError } from './tries.ts'
import { taskView, type TaskView } from './types.ts'

/** Statuses that hold an agent. */
export const IN_FLIGHT: ReadonlySet<TaskStatus> = new Set(['assigned', 'in_progress'])

/**
 * Whether a task file's `status` is one a person (or git) put there against the journal's: they
 * differ, and neither is in flight (a file that says in flight, or of a task the journal has in
 * flight, lagged behind a run that ended without writing it: nobody typed that).
 */
export function overruledStatus(fileStatus: TaskStatus, journalStatus: TaskStatus): boolean {
  return fileStatus !== journalStatus && !IN_FLIGHT.has(fileStatus) && !IN_FLIGHT.has(journalStatus)
}

/** Statuses a task file can bring that keep the task from running (`blocked` is derived again). */
const SETTLED_IN_FILE: ReadonlySet<TaskStatus> = new Set(['complete', 'failed', 'review'])

/** What the orchestrator knows of one task besides its definition. */
export interface TaskRecord {
  task: Task
  source: TaskSource
  /** Iterations run, across every attempt. */
  iterations: number
  /** Its `iterations` when a person last reran it (`TaskRunState.triesFrom`): absent, from 0. */
  triesFrom?: number
  /** Times it lost its agent. */
  attempts: number
  reason?: string
  /** The last iteration's failure. */
  lastError?: TaskRunState['lastError']
  /** What its iterations cost. */
  spend?: Spend
  /**
   * What a try cut short (a stop, a crash, a person's command) spent, which no `iteration:finished`
   * told: its next status change, the one that ends the try, tells it.
   */
  untold?: Usage
  /** Where its work landed. */
  landed?: Landing
  /** Why it came back after completing: carried into its next prompt. */
  feedback?: LandingFeedback
  /** Why its last judged try did not pass: told to the next try on any agent (`TaskRunState.lastTry`). */
  lastTry?: TryFeedback
  /** When it last completed (clock ms): the order in which completed work lands. */
  completedAt?: number
  /** Its spec's hashes when it last completed (`TaskRunState.ran`): an edit since is told, not run. */
  ran?: SpecHashes
  /** The fields an edit of it, complete, was last told to have changed since it ran (`task:redefined`). */
  toldSince?: string
  /**
   * Set when the task was new to a journal that already knew the project (a file added, perhaps
   * copied from a finished task's) and its file's `status` was a settled one: it was taken as it
   * is, so the task does not run. Not recorded: only `project:loaded` and `task:added` tell it.
   */
  takenFromFile?: boolean
  /** The branch its complete work waits for, when not the run's target (`TaskRunState.target`). */
  target?: string
  /** The verify command that holds it, pending, since it could not run (`TaskRunState.heldBy`). */
  heldBy?: string
  /** A person marked it complete, accepting its work as it is (`TaskRunState.accepted`). */
  accepted?: true
  /**
   * Its file's definition, edited while it ran, with what it could not take then (its role,
   * priority, dependencies): taken once its run ends.
   */
  edited?: Task
  /** Aborts the task's run in progress. */
  controller?: AbortController
  /** Its try met a usage or rate limit and waits for its account's park to lift: none is under way. */
  waitsOnPark?: boolean
  /** The run in progress. */
  running?: Promise<void>
}

/** The parts of a task's run state kept on its record, as the journal records them. */
type RecordedFacts = Pick<
  TaskRunState,
  | 'iterations'
  | 'triesFrom'
  | 'attempts'
  | 'lastError'
  | 'spend'
  | 'landed'
  | 'feedback'
  | 'lastTry'
  | 'target'
  | 'heldBy'
  | 'accepted'
>

/** Who and why, for a status change. */
export interface StatusCause {
  agent?: string
  reason?: string
}

/**
 * Every task of a run and everything derived from their statuses: counts by status and role, the
 * dependency graph, the history, the write-back to each task's source, and what a failure or a
 * missing dependency blocks. `setStatus` is the one place a status changes.
 */
export class TaskTable {
  readonly resolver = new Resolver()
  readonly tracker = new StatusTracker()
  private readonly records = new Map<string, TaskRecord>()
  private readonly statusCounts = new Map<TaskStatus, number>()
  private readonly roleCounts = new Map<string, Map<TaskStatus, number>>()
  /**
   * What the journal knows of tasks that are not loaded: a file removed while running (a checkout
   * of an older commit), or missing at start. Such a task that comes back keeps its run state.
   */
  private readonly forgotten = new Map<string, TaskRunState>()
  /** Tasks whose work landed on the target. */
  private landedCount = 0
  /** Tasks whose work landed on the integration branch and waits for the target. */
  private heldBackCount = 0
  /** Tasks counted as landed with nothing of theirs to land (`Landing.empty`). */
  private nothingToLandCount = 0
  /** Whether the journal knew of an earlier run when the tasks loaded: not a first start. */
  private journalKnewProject = false

  constructor(
    private readonly bus: Bus,
    private readonly queue: TaskQueue,
    private readonly store: RunStore,
    private readonly mirror: StatusMirror,
  ) {}

  get size(): number {
    return this.records.size
  }

  get(id: string): TaskRecord | undefined {
    return this.records.get(id)
  }

  values(): IterableIterator<TaskRecord> {
    return this.records.values()
  }

  /** Tasks with this status. */
  count(status: TaskStatus): number {
    return this.statusCounts.get(status) ?? 0
  }

  /** Tasks holding an agent. */
  inFlight(): number {
    return this.count('assigned') + this.count('in_progress')
  }

  /**
   * Adds the tasks of a start-up load, with what the journal recorded of them; throws on a cycle,
   * naming its path. The journal wins over the status in a task's file (a `git stash` or checkout
   * may have changed it), and such a file is written again. A task the journal does not know yet
   * (a first start, a project from before the journal) brings its file's status into it.
   */
  load(entries: readonly { task: Task; source: TaskSource }[], state: RunState): void {
    this.journalKnewProject = state.run.startedAt !== undefined
    for (const { task, source } of entries) this.records.set(task.id, this.restore(task, source, state.tasks[task.id]))
    for (const [id, saved] of Object.entries(state.tasks)) {
      if (this.records.has(id)) continue
      this.forgotten.set(id, saved)
      // Its file was deleted once its work was done (people tidy up): what depends on it is not
      // held back by a task that is over.
      if (saved.status === 'complete') this.resolver.retire(id)
    }
    this.resolver.addAll(Array.from(this.records.values(), (record) => record.task))
    const cycle = this.resolver.findCycle()
    if (cycle) throw cycleError(cycle)
    for (const record of this.records.values()) this.tally(record.task, +1)
  }

  /** Records facts of a task's run (iterations, attempts, failure, spend, landing) in the journal and on its record. */
  note(record: TaskRecord, facts: { [K in keyof RecordedFacts]?: RecordedFacts[K] | null }): void {
    if (facts.landed !== undefined) {
      this.countLanding(record.landed, -1)
      this.countLanding(facts.landed ?? undefined, +1)
    }
    for (const [key, value] of Object.entries(facts)) {
      if (value === null) delete (record as unknown as Record<string, unknown>)[key]
      else if (value !== undefined) (record as unknown as Record<string, unknown>)[key] = value
    }
    this.store.append({ t: 'task', id: record.task.id, ...facts })
  }

  /**
   * Records why a task waits, keeping its status (a verify that cannot run where its role's
   * agents work); `undefined` clears it.
   */
  explain(record: TaskRecord, reason: string | undefined): void {
    if (record.reason === reason) return
    if (reason === undefined) delete record.reason
    else record.reason = reason
    this.store.append({ t: 'task', id: record.task.id, reason: reason ?? null })
    if (reason !== undefined) this.bus.emit('task:waiting', { taskId: record.task.id, reason })
  }

  /**
   * Writes a task's current status into its source again: the file disagreed with the journal,
   * saying `fileStatus` (people are told).
   */
  remirror(record: TaskRecord, fileStatus: TaskStatus, file?: string): void {
    this.mirror.set(record.task.id, record.source, patchFor(record, record.task.status, {}))
    const { id, status } = record.task
    this.mirror.restored({ taskId: id, ...(file === undefined ? {} : { file }), fileStatus, status })
  }

  /** Tells people now of the task files whose status the journal overruled as the tasks loaded. */
  tellRestored(): void {
    this.mirror.tell()
  }

  /**
   * A task's record, with what the journal recorded of it. The journal wins over the status in
   * the task's file, and such a file is written again; a task the journal does not know brings its
   * file's status (and iteration count) into it.
   */
  private restore(task: Task, source: TaskSource, saved: TaskRunState | undefined): TaskRecord {
    const record: TaskRecord = { task, source, iterations: 0, attempts: 0 }
    if (saved) {
      const fromFile = task.status
      task.status = saved.status
      if (saved.assignedTo === undefined) delete task.assignedTo
      else task.assignedTo = saved.assignedTo
      Object.assign(record, factsOf(saved))
      if (saved.reason !== undefined) record.reason = saved.reason
      if (saved.completedAt !== undefined) record.completedAt = saved.completedAt
      if (saved.ran) record.ran = saved.ran
      this.countLanding(record.landed, +1)
      if (fromFile !== saved.status) {
        this.mirror.set(task.id, source, patchFor(record, saved.status, {}))
        if (overruledStatus(fromFile, saved.status)) {
          const file = task.source === undefined ? {} : { file: task.source }
          this.mirror.restored({ taskId: task.id, ...file, fileStatus: fromFile, status: saved.status })
        }
      }
      return record
    }
    const iterations = task.extra.iterations
    if (typeof iterations === 'number' && Number.isInteger(iterations) && iterations >= 0)
      record.iterations = iterations
    if (task.status !== 'pending' || record.iterations > 0) {
      this.store.append({ t: 'task', id: task.id, status: task.status, iterations: record.iterations, attempts: 0 })
    }
    // A first start takes every file's status (a project from before the journal). Later, a new
    // file that says `complete` is as likely a copy of a finished task's file as a teammate's
    // finished work: taken as it is, and said, so a person who copied it can rerun it.
    if (this.journalKnewProject && SETTLED_IN_FILE.has(task.status)) record.takenFromFile = true
    return record
  }

  /** Adds a task that appeared while running; throws (and adds nothing) when it closes a cycle. */
  insert(task: Task, source: TaskSource): TaskRecord {
    // Running now, so the journal knows the project whatever it knew at the start.
    this.journalKnewProject = true
    this.resolver.add(task)
    const cycle = this.resolver.findCycle()
    if (cycle) {
      this.resolver.remove(task.id)
      throw cycleError(cycle)
    }
    const record = this.restore({ ...task }, source, this.forgotten.get(task.id))
    this.forgotten.delete(task.id)
    this.records.set(task.id, record)
    this.tally(record.task, +1)
    return record
  }

  /**
   * Gives a task a new definition, keeping its status. Throws (and keeps the old one) when its new
   * dependencies close a cycle.
   */
  redefine(record: TaskRecord, task: Task): void {
    const previous = record.task
    const depsChanged = previous.dependsOn.join('\0') !== task.dependsOn.join('\0')
    this.tally(previous, -1)
    record.task = { ...task, status: previous.status }
    this.tally(record.task, +1)
    if (!depsChanged) return
    this.resolver.add(record.task)
    const cycle = this.resolver.findCycle()
    if (cycle) {
      this.resolver.add(previous)
      this.tally(record.task, -1)
      record.task = previous
      this.tally(record.task, +1)
      throw cycleError(cycle)
    }
  }

  /**
   * Forgets a task (its file was deleted): what depended on it is blocked, unless it was complete
   * (`gone`).
   */
  delete(id: string): void {
    const record = this.records.get(id)
    if (!record) return
    this.queue.remove(id)
    this.tally(record.task, -1)
    this.records.delete(id)
    this.countLanding(record.landed, -1)
    this.forgotten.set(id, stateOf(record))
    if (record.task.status === 'complete') this.resolver.retire(id)
    else {
      this.resolver.remove(id)
      this.blockPendingDependents(id)
    }
  }

  /**
   * What the journal has of a task that completed and whose file is gone since (a person tidied
   * up done work): its dependents count it complete. `undefined` for a task that is loaded, or
   * never completed.
   */
  gone(id: string): TaskRunState | undefined {
    const saved = this.records.has(id) ? undefined : this.forgotten.get(id)
    return saved?.status === 'complete' ? saved : undefined
  }

  /**
   * Whether dependents build on the work of dependency `id`: it landed, or its task is gone after
   * it completed (what it did landed then; without its file, nothing more of it lands).
   */
  dependencyLanded(id: string): boolean {
    return this.records.get(id)?.landed !== undefined || this.gone(id) !== undefined
  }

  /** Counts a landing in (or out of) the landed, held-back or nothing-to-land tasks. */
  private countLanding(landing: Landing | undefined, delta: number): void {
    if (landing?.heldBack) this.heldBackCount += delta
    else if (landing?.empty) this.nothingToLandCount += delta
    else if (landing) this.landedCount += delta
  }

  private tally(task: Task, delta: number): void {
    this.statusCounts.set(task.status, (this.statusCounts.get(task.status) ?? 0) + delta)
    let counts = this.roleCounts.get(task.role)
    if (!counts) this.roleCounts.set(task.role, (counts = new Map()))
    counts.set(task.status, (counts.get(task.status) ?? 0) + delta)
  }

  /**
   * The one place a status changes: counts, graph, history, event and write-back. Returns the
   * tasks that became ready because of it.
   */
  setStatus(record: TaskRecord, to: TaskStatus, cause: StatusCause = {}): string[] {
    const task = record.task
    const from = task.status
    if (from === to) return []
    this.tally(task, -1)
    task.status = to
    this.tally(task, +1)
    if (to === 'pending') delete task.assignedTo
    else if (cause.agent !== undefined) task.assignedTo = cause.agent
    record.reason = cause.reason
    // The work it waited with for another branch is void (rerun, reset) or new (complete now, in
    // this run: for its target).
    const hadTarget = record.target !== undefined
    delete record.target
    // A person's acceptance is of the work that was complete: work done again is judged again.
    const wasAccepted = record.accepted !== undefined && to !== 'complete'
    if (wasAccepted) delete record.accepted
    const change = this.bus.emit('task:status', {
      taskId: task.id,
      from,
      to,
      ...(cause.agent ? { agent: cause.agent } : {}),
      ...(cause.reason ? { reason: cause.reason } : {}),
      // Back to waiting: the tries it keeps (a try a stop cut short is not one).
      ...(to === 'pending' ? { iterations: record.iterations } : {}),
      ...(record.untold ? { usage: record.untold } : {}),
      ...(to === 'complete' && record.accepted ? { accepted: true as const } : {}),
    })
    delete record.untold
    this.tracker.record(change)
    // The spec it completed with, so that an edit of its file since can be told from none.
    if (to === 'complete') record.ran = specHashes(task)
    this.store.append({
      t: 'task',
      id: task.id,
      status: to,
      assignedTo: to === 'pending' ? null : task.assignedTo,
      reason: cause.reason ?? null,
      ...(to === 'in_progress' ? { startedAt: change.at } : {}),
      ...(to === 'complete' ? { completedAt: change.at, ran: record.ran } : {}),
      ...(hadTarget ? { target: null } : {}),
      ...(wasAccepted ? { accepted: null } : {}),
    })
    if (to === 'complete') record.completedAt = change.at
    this.mirror.set(task.id, record.source, patchFor(record, to, cause, change.at), from)
    return this.resolver.setStatus(task.id, to)
  }

  /** Writes what the mirror holds, then makes the journal durable. */
  async settleWrites(): Promise<void> {
    await this.mirror.flush()
    await this.store.flush()
  }

  /** Counts by status and by role, and the percentage complete. */
  progress(): Progress {
    const byStatus: Record<string, number> = {}
    for (const status of TASK_STATUSES) byStatus[status] = this.count(status)
    const byRole: Progress['byRole'] = {}
    for (const [role, counts] of this.roleCounts) {
      let total = 0
      const entry: Record<string, number> = {}
      for (const [status, n] of counts) {
        if (n === 0) continue
        entry[status] = n
        total += n
      }
      if (total > 0) byRole[role] = { ...entry, total }
    }
    return progressFromCounts(
      this.records.size,
      byStatus,
      byRole,
      this.landedCount,
      this.heldBackCount,
      this.nothingToLandCount,
    )
  }

  view(record: TaskRecord): TaskView {
    const { task } = record
    const blockers = task.status === 'pending' || task.status === 'blocked' ? this.resolver.blockers(task.id) : []
    return taskView(task, { ...record, blockers })
  }

  // ---------------------------------------------------------------- what a status change blocks

  /** Dependencies that will never complete on their own: missing, failed or blocked ones. */
  hardBlockers(id: string): Blocker[] {
    return this.resolver.blockers(id).filter((blocker) => blocker.reason !== 'incomplete')
  }

  /** Marks a pending task blocked (and everything waiting on it) when a dependency failed or is missing. */
  blockIfStuck(record: TaskRecord): void {
    const blockers = this.hardBlockers(record.task.id)
    if (blockers.length === 0) return
    const reason = blockers
      .map((b) =>
        b.reason === 'missing' ? `depends on "${b.id}", which does not exist` : `dependency ${b.id} is ${b.status}`,
      )
      .join('; ')
    this.queue.remove(record.task.id)
    this.setStatus(record, 'blocked', { reason })
    this.bus.emit('task:blocked', { taskId: record.task.id, blockers })
    this.blockPendingDependents(record.task.id)
  }

  /** After a task failed, was blocked or disappeared: block the pending tasks waiting on it. */
  blockPendingDependents(id: string): void {
    for (const dependentId of this.resolver.dependents(id)) {
      const dependent = this.records.get(dependentId)
      if (dependent?.task.status === 'pending') this.blockIfStuck(dependent)
    }
  }

  /**
   * After a task left `failed`/`blocked` (or appeared), unblocks what no longer has a reason to
   * wait. Returns the tasks that became ready.
   */
  unblockDependents(id: string): string[] {
    const ready: string[] = []
    for (const dependentId of this.resolver.dependents(id)) {
      const dependent = this.records.get(dependentId)
      if (dependent?.task.status !== 'blocked' || this.hardBlockers(dependentId).length > 0) continue
      ready.push(...this.setStatus(dependent, 'pending', { reason: `${id} no longer blocks it` }))
      ready.push(...this.unblockDependents(dependentId))
    }
    return ready
  }

  /** Gives up on a task; what waits on it is blocked. */
  fail(record: TaskRecord, reason: string, agent?: string): void {
    this.queue.remove(record.task.id)
    this.setStatus(record, 'failed', { reason, ...(agent ? { agent } : {}) })
    this.bus.emit('task:failed', {
      taskId: record.task.id,
      ...(agent ? { agent } : {}),
      reason,
      iterations: record.iterations,
    })
    this.blockPendingDependents(record.task.id)
  }
}

/** A record's run state, as the journal holds it. */
function stateOf(record: TaskRecord): TaskRunState {
  return {
    status: record.task.status,
    iterations: record.iterations,
    ...(record.triesFrom === undefined ? {} : { triesFrom: record.triesFrom }),
    attempts: record.attempts,
    ...(record.reason === undefined ? {} : { reason: record.reason }),
    ...(record.lastError ? { lastError: record.lastError } : {}),
    ...(record.spend ? { spend: record.spend } : {}),
    ...(record.landed ? { landed: record.landed } : {}),
    ...(record.feedback ? { feedback: record.feedback } : {}),
    ...(record.lastTry ? { lastTry: record.lastTry } : {}),
    ...(record.target === undefined ? {} : { target: record.target }),
    ...(record.heldBy === undefined ? {} : { heldBy: record.heldBy }),
    ...(record.accepted ? { accepted: record.accepted } : {}),
    ...(record.completedAt === undefined ? {} : { completedAt: record.completedAt }),
    ...(record.ran ? { ran: record.ran } : {}),
  }
}

function factsOf(saved: TaskRunState): Partial<RecordedFacts> {
  const facts: Partial<RecordedFacts> = { iterations: saved.iterations ?? 0, attempts: saved.attempts ?? 0 }
  if (saved.triesFrom !== undefined) facts.triesFrom = saved.triesFrom
  if (saved.lastError) facts.lastError = journalError(saved.lastError)
  if (saved.spend) facts.spend = saved.spend
  if (saved.landed) facts.landed = saved.landed
  if (saved.feedback) facts.feedback = saved.feedback
  if (saved.lastTry) facts.lastTry = saved.lastTry
  if (saved.target !== undefined) facts.target = saved.target
  if (saved.heldBy !== undefined) facts.heldBy = saved.heldBy
  if (saved.accepted) facts.accepted = saved.accepted
  return facts
}

/**
 * The front-matter keys a status change writes back. Without `at` (a file rewritten because it
 * disagreed with the journal), the times are left as they are.
 */
function patchFor(record: TaskRecord, to: TaskStatus, cause: StatusCause, at?: number): TaskPatch {
  const time = at === undefined ? undefined : new Date(at).toISOString()
  switch (to) {
    case 'pending':
      // No try ever ran (its agent could not start): it did not start, whatever a write said.
      return { status: to, assigned_to: null, failure: null, ...(record.iterations === 0 ? { started_at: null } : {}) }
    case 'assigned':
      return { status: to, assigned_to: cause.agent ?? record.task.assignedTo ?? null }
    case 'in_progress':
      return { status: to, ...(time ? { started_at: time } : {}) }
    case 'complete':
      return { status: to, ...(time ? { completed_at: time } : {}), iterations: record.iterations, failure: null }
    default:
      return { status: to, failure: cause.reason ?? record.reason ?? null, iterations: record.iterations }
  }
}
