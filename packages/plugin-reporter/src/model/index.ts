import {
  hookName,
  type Progress,
  type Reporter,
  type ReporterHooks,
  type TanukiEventName,
  type TanukiEvents,
  type TaskStatus,
  type Usage,
} from '@tanuki/core'
import { Holds } from './holds.ts'
import { Landings, earlierLanding } from './landing.ts'
import { STATUS_ORDER, type AgentState, type TaskState } from './types.ts'

export { STATUS_ORDER, type AgentState, type TaskState, type VerifyRecord } from './types.ts'

function addUsage(total: Usage | undefined, more: Usage): Usage {
  const sum = { ...total }
  for (const key of ['inputTokens', 'outputTokens', 'cacheReadTokens', 'costUsd', 'turns'] as const) {
    const value = more[key]
    if (typeof value === 'number') sum[key] = (sum[key] ?? 0) + value
  }
  // A sum with an estimate in it is an estimate.
  if (more.estimated) sum.estimated = true
  return sum
}

/** Each event's hook name, worked out once: every event of a run comes through `apply`. */
const hookNames = new Map<TanukiEventName, keyof ReporterHooks>()

/**
 * A run as reporters see it, rebuilt from events alone: reporters never get the orchestrator, so
 * they work the same live, from a recorded log, or in another process reading the NDJSON file.
 * Each event is folded in by the reporter hook of its name (`task:status` → `onTaskStatus`).
 */
export class RunModel implements ReporterHooks {
  /** Every task seen, by id. */
  readonly tasks = new Map<string, TaskState>()
  /** Every agent seen, by name. */
  readonly agents = new Map<string, AgentState>()
  /** Tasks the project has; more than `tasks.size` only before `project:loaded`. */
  total = 0
  /** Clock time of the first event. */
  startedAt: number | undefined
  /** Clock time of the latest event. */
  endedAt: number | undefined
  /** The `project:settled` event, once it came. */
  settled: TanukiEvents['project:settled'] | undefined
  /** The orchestrator's lifecycle state. */
  state: TanukiEvents['orchestrator:state']['to'] = 'stopped'
  /** Every `orchestrator:error`. */
  readonly errors: TanukiEvents['orchestrator:error'][] = []
  /**
   * The last push of the target to `land.push`'s remote failed (`project:push` with an error), and
   * none went through since: the landed work is not on the remote.
   */
  pushFailed: { remote: string; branch: string; error: string } | undefined
  /** The command of a landing's gate running now (one landing at a time), until that landing ends. */
  gate: TanukiEvents['task:land-gate'] | undefined
  /** Where work landed, and what waits for the target. */
  private readonly landings = new Landings(this.tasks)
  /** What holds pending tasks back until a person acts. */
  private readonly holds = new Holds(this.tasks)
  /** Roles paused by their configuration, with what to fix. */
  readonly pausedRoles = this.holds.pausedRoles
  /** Verify commands that cannot run where a role's agents work, with what to fix: their tasks wait. */
  readonly blockedVerifies = this.holds.blockedVerifies

  /** The branch work lands on, once a landing named it. */
  get target(): string | undefined {
    return this.landings.target
  }

  set target(target: string | undefined) {
    this.landings.target = target
  }

  /**
   * Complete work an earlier run did for another branch than this run's target, which waits for
   * it (`project:target`): each target with its tasks.
   */
  get elsewhere(): TanukiEvents['project:target']['elsewhere'] {
    return this.holds.elsewhere
  }

  set elsewhere(elsewhere: TanukiEvents['project:target']['elsewhere']) {
    this.holds.elsewhere = elsewhere
  }

  private task(id: string): TaskState {
    let task = this.tasks.get(id)
    if (!task) {
      this.tasks.set(id, (task = { id, status: 'pending', dependsOn: [], iterations: 0, requeues: 0 }))
      this.total = Math.max(this.total, this.tasks.size)
    }
    return task
  }

  private agent(name: string, role = '?', backend = '?'): AgentState {
    let agent = this.agents.get(name)
    if (!agent) this.agents.set(name, (agent = { name, role, backend, status: 'idle' }))
    return agent
  }

  /** Folds one event into the model: its hook below. Unknown events are ignored, so newer cores still work. */
  apply<E extends TanukiEventName>(name: E, payload: TanukiEvents[E]): void {
    const event = payload as { at?: number }
    if (typeof event.at === 'number') {
      this.startedAt ??= event.at
      this.endedAt = event.at
    }
    let key = hookNames.get(name)
    if (key === undefined) hookNames.set(name, (key = hookName(name)))
    const hook = (this as ReporterHooks)[key] as ((event: TanukiEvents[E]) => void) | undefined
    hook?.call(this, payload)
  }

  onOrchestratorState(e: TanukiEvents['orchestrator:state']): void {
    this.state = e.to
  }

  onOrchestratorError(e: TanukiEvents['orchestrator:error']): void {
    this.errors.push(e)
  }

  onProjectLoaded(e: TanukiEvents['project:loaded']): void {
    // Older cores sent no task list; then tasks appear as their events do.
    for (const { id, title, role, priority, status, dependsOn, landed: before, iterations = 0, reason } of e.tasks ??
      []) {
      const task = this.tasks.get(id)
      const landed = earlierLanding(before)
      // A new task is made whole at once: 100,000 of them, each made then filled in, took a
      // quarter of a second of a big project's start.
      if (task)
        Object.assign(
          task,
          { title, role, priority, status, dependsOn, iterations },
          landed ? { landed } : {},
          reason === undefined ? {} : { reason },
        )
      else
        this.tasks.set(id, {
          id,
          title,
          role,
          priority,
          status,
          dependsOn,
          iterations,
          requeues: 0,
          ...(landed ? { landed } : {}),
          ...(reason === undefined ? {} : { reason }),
        })
    }
    this.total = Math.max(e.total, this.tasks.size)
  }

  onProjectTarget(e: TanukiEvents['project:target']): void {
    this.target = e.target
    this.elsewhere = e.elsewhere
  }

  onProjectPush(e: TanukiEvents['project:push']): void {
    this.pushFailed = e.error === undefined ? undefined : { remote: e.remote, branch: e.branch, error: e.error }
  }

  onProjectSettled(e: TanukiEvents['project:settled']): void {
    this.settled = e
    this.gate = undefined
  }

  onTaskAdded(e: TanukiEvents['task:added']): void {
    const task = this.task(e.taskId)
    // Its only event with a title: without it, a task added mid-run showed none (older cores sent
    // the id alone, so each field is taken only when there).
    const { title, role, priority, status, dependsOn } = e as Partial<TanukiEvents['task:added']>
    if (title !== undefined) task.title = title
    if (role !== undefined) task.role = role
    if (priority !== undefined) task.priority = priority
    if (status !== undefined) task.status = status
    if (dependsOn !== undefined) task.dependsOn = [...dependsOn]
  }

  onTaskRedefined(e: TanukiEvents['task:redefined']): void {
    const task = this.task(e.taskId)
    task.title = e.title
    task.role = e.role
    task.priority = e.priority
    task.dependsOn = [...e.dependsOn]
  }

  onTaskStatus(e: TanukiEvents['task:status']): void {
    const task = this.task(e.taskId)
    task.status = e.to
    if (e.iterations !== undefined) task.iterations = e.iterations
    // Rerun or reset: its landing is not its work any more (it lands again once complete).
    if (e.from === 'complete' && e.to === 'pending') {
      this.landings.undo(task)
      this.holds.redone(e.taskId)
    }
    if (e.reason !== undefined && e.to !== 'complete') task.reason = e.reason
    // A try a stop, a crash or a person cut short: what it spent, which no `iteration:finished` told.
    if (e.usage) task.usage = addUsage(task.usage, e.usage)
    if (e.to === 'pending' || e.to === 'complete') {
      task.iteration = undefined
      task.maxIterations = undefined
    }
    if (e.to === 'pending') task.attemptIteration = undefined
    if (e.to !== 'blocked' && e.to !== 'pending') task.blockers = undefined
  }

  onTaskQueued(e: TanukiEvents['task:queued']): void {
    const task = this.task(e.taskId)
    task.role = e.role
    task.priority = e.priority
  }

  onTaskAssigned(e: TanukiEvents['task:assigned']): void {
    const task = this.task(e.taskId)
    task.role = e.role
    task.agent = e.agent
    task.assignedAt = e.at
    task.firstAssignedAt ??= e.at
    const agent = this.agent(e.agent, e.role)
    agent.status = 'busy'
    agent.task = e.taskId
    agent.since = e.at
  }

  onTaskCompleted(e: TanukiEvents['task:completed']): void {
    const task = this.task(e.taskId)
    task.iterations = e.iterations
    task.durationMs = e.durationMs
    task.reason = undefined
    this.release(e.agent, e.taskId)
  }

  onTaskFailed(e: TanukiEvents['task:failed'] | TanukiEvents['task:review']): void {
    const task = this.task(e.taskId)
    task.iterations = e.iterations
    task.reason = e.reason
    if (task.firstAssignedAt !== undefined) task.durationMs = e.at - task.firstAssignedAt
    if (e.agent) this.release(e.agent, e.taskId)
  }

  onTaskReview(e: TanukiEvents['task:review']): void {
    this.onTaskFailed(e)
  }

  onTaskBlocked(e: TanukiEvents['task:blocked']): void {
    this.task(e.taskId).blockers = e.blockers
  }

  onTaskRequeued(e: TanukiEvents['task:requeued']): void {
    const task = this.task(e.taskId)
    task.requeues = e.attempt
    task.reason = e.reason
    if (e.agent) this.release(e.agent, e.taskId)
  }

  onIterationStarted(e: TanukiEvents['iteration:started']): void {
    const task = this.task(e.taskId)
    task.iterations++
    task.iteration = e.iteration
    task.attemptIteration = e.iteration
    task.againTries = e.again ? (task.againTries ?? 0) + 1 : undefined
    task.maxIterations = e.maxIterations
    task.agent = e.agent
  }

  onIterationFinished(e: TanukiEvents['iteration:finished']): void {
    const task = this.task(e.taskId)
    task.lastOutput = e.output
    if (e.verify) {
      const { command, exitCode, output, timedOut } = e.verify
      task.lastVerify = { command, exitCode, output, timedOut }
    }
    if (e.usage) task.usage = addUsage(task.usage, e.usage)
    if (e.failure) task.lastFailure = e.failure
    // An agent that could not start ran nothing: not an iteration (its start counted it).
    if (e.failure?.class === 'could-not-start' && task.iterations > 0) task.iterations--
  }

  onRolePaused(e: TanukiEvents['role:paused']): void {
    this.pausedRoles.set(e.role, e.cause)
  }

  onTaskWaiting(e: TanukiEvents['task:waiting']): void {
    this.holds.waiting(this.task(e.taskId), e)
  }

  onVerifyBlocked(e: TanukiEvents['verify:blocked']): void {
    this.holds.verifyBlocked(e)
  }

  onVerifyUnblocked(e: TanukiEvents['verify:unblocked']): void {
    this.holds.verifyUnblocked(e)
  }

  onTaskLandGate(e: TanukiEvents['task:land-gate']): void {
    this.gate = e
  }

  onTaskLanded(e: TanukiEvents['task:landed']): void {
    this.landings.landed(this.task(e.taskId), e)
    this.gateEnded(e.taskId)
  }

  /** A landing ended (landed, conflicted, its gate failed): its gate runs no more. */
  private gateEnded(taskId: string): void {
    if (this.gate?.taskId === taskId) this.gate = undefined
  }

  onTaskConflict(e: TanukiEvents['task:conflict']): void {
    if (e.landing) this.gateEnded(e.taskId)
    const task = this.task(e.taskId)
    task.conflicts = [
      ...(task.conflicts ?? []),
      { files: e.files, what: e.what, ...(e.landing ? { landing: true } : {}) },
    ]
  }

  onTaskLandFailed(e: TanukiEvents['task:land-failed']): void {
    this.gateEnded(e.taskId)
    this.task(e.taskId).landFailed = { command: e.command, exitCode: e.exitCode, output: e.output }
  }

  onAgentSpawned(e: TanukiEvents['agent:spawned']): void {
    const agent = this.agent(e.agent, e.role, e.backend)
    Object.assign(agent, {
      role: e.role,
      backend: e.backend,
      status: 'idle',
      task: undefined,
      since: undefined,
      message: undefined,
    })
  }

  onAgentSpawnFailed(e: TanukiEvents['agent:spawn-failed']): void {
    const agent = this.agent(e.agent, e.role, e.backend)
    Object.assign(agent, { role: e.role, backend: e.backend, status: 'spawn-failed', message: e.message })
  }

  onAgentParked(e: TanukiEvents['agent:parked']): void {
    this.agent(e.agent, e.role).parkedUntil = e.until
  }

  onAgentResumed(e: TanukiEvents['agent:resumed']): void {
    this.agent(e.agent, e.role).parkedUntil = undefined
  }

  onAgentCrashed(e: TanukiEvents['agent:crashed']): void {
    const agent = this.agent(e.agent, e.role)
    Object.assign(agent, { status: 'crashed', task: undefined, since: undefined, message: e.reason })
  }

  onAgentStopped(e: TanukiEvents['agent:stopped']): void {
    const agent = this.agent(e.agent, e.role)
    Object.assign(agent, { status: 'stopped', task: undefined, since: undefined })
  }

  private release(name: string, taskId: string): void {
    const agent = this.agents.get(name)
    if (agent?.task !== taskId) return
    agent.status = agent.status === 'busy' ? 'idle' : agent.status
    agent.task = undefined
    agent.since = undefined
  }

  /** Counts by status; tasks not seen yet count as pending. */
  counts(): Record<TaskStatus, number> {
    const counts = Object.fromEntries(STATUS_ORDER.map((status) => [status, 0])) as Record<TaskStatus, number>
    for (const task of this.tasks.values()) counts[task.status]++
    counts.pending += Math.max(0, this.total - this.tasks.size)
    return counts
  }

  /** Per role: total and counts by status, roles sorted by name. Tasks of unknown role are left out. */
  roles(): [role: string, counts: Record<TaskStatus, number> & { total: number }][] {
    const byRole = new Map<string, Record<TaskStatus, number> & { total: number }>()
    for (const task of this.tasks.values()) {
      if (task.role === undefined) continue
      let entry = byRole.get(task.role)
      if (!entry) {
        entry = {
          ...(Object.fromEntries(STATUS_ORDER.map((status) => [status, 0])) as Record<TaskStatus, number>),
          total: 0,
        }
        byRole.set(task.role, entry)
      }
      entry[task.status]++
      entry.total++
    }
    return [...byRole.entries()].sort(([a], [b]) => a.localeCompare(b))
  }

  /** Where the project stands; once settled, the orchestrator's own count. */
  progress(): Pick<Progress, 'total' | 'complete' | 'percentage'> {
    if (this.settled) return this.settled.progress
    const complete = this.counts().complete
    return { total: this.total, complete, percentage: this.total === 0 ? 0 : Math.floor((complete * 100) / this.total) }
  }

  /**
   * Tasks whose work reached the target in this run (by hand too); not those that wait on the
   * integration branch, those that had nothing to land (`nothingToLandCount`), nor those that
   * landed in an earlier run (`landedEarlierCount`).
   */
  landedCount(): number {
    return this.landings.landedCount()
  }

  /**
   * Tasks settled in this run with nothing to land (no work was recorded, or their work added
   * nothing): counted as landed for their dependents, and never in `landedCount`.
   */
  nothingToLandCount(): number {
    return this.landings.nothingToLandCount()
  }

  /** Tasks whose work landed in an earlier run and has not landed again in this one. */
  landedEarlierCount(): number {
    return this.landings.landedEarlierCount()
  }

  /**
   * Landed work that waits on the integration branch because the target could not move forward:
   * the tasks in the order they landed, the target (when the events named it) and the lander's
   * note on why and what to do. Undefined when every landing is on the target.
   */
  heldBack(): { target?: string; tasks: string[]; note?: string } | undefined {
    return this.landings.heldBack()
  }

  /** Usage summed over every task. */
  usage(): Usage | undefined {
    let total: Usage | undefined
    for (const task of this.tasks.values()) if (task.usage) total = addUsage(total, task.usage)
    return total
  }
}

/**
 * A `RunModel` with what folds events into it, which the reporters of one run can share: each
 * event is folded once, by the first of them to get it. The core hands every reporter an event,
 * the same object, before the next event, so the others find it is the last one folded. With
 * 100,000 tasks, the console's and the summary's models of `project:loaded` took a tenth of a
 * second each of the start.
 */
export class ModelFeed {
  readonly model = new RunModel()
  private last: unknown

  apply<E extends TanukiEventName>(name: E, payload: TanukiEvents[E]): void {
    if (payload === this.last) return
    this.last = payload
    this.model.apply(name, payload)
  }
}

const shared = new WeakMap<object, ModelFeed>()

/**
 * The feed the reporters of one run share, found by something of that run only: the reporter
 * plugins pass their context's config (one object per run's plugins).
 */
export function sharedFeed(run: object): ModelFeed {
  let feed = shared.get(run)
  if (!feed) shared.set(run, (feed = new ModelFeed()))
  return feed
}

/**
 * A reporter that rebuilds the run from its events and writes one report when the run ends:
 * when it settles, or when it is stopped first. A run whose start was refused writes none.
 * `feed`: a model shared with the run's other reporters (`sharedFeed`); by default its own.
 */
export function reportAtEnd(name: string, write: (model: RunModel) => void, feed = new ModelFeed()): Reporter {
  const model = feed.model
  let written = false
  // A start that was refused (invalid tasks, bad config) ran nothing: no empty "0 of 0" report,
  // and the last run's report stays where it is.
  let ran = false
  const once = (): void => {
    if (written || !ran) return
    written = true
    write(model)
  }
  return {
    name,
    onEvent<E extends TanukiEventName>(event: E, payload: TanukiEvents[E]) {
      feed.apply(event, payload)
    },
    onOrchestratorState(e) {
      if (e.to === 'running') ran = true
    },
    onProjectSettled: once,
    onClose: once,
  }
}
