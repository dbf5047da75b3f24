import mitt, { type Emitter } from 'mitt'
import type { Agent, AgentBackend, ProjectInfo } from '../agent/types.ts'
import { Balancer, builtinStrategies, type AgentCandidate, type BalancerStrategy } from '../balancer/index.ts'
import { abortError, sleep, systemClock, type Clock } from '../clock.ts'
import { TanukiError, errorMessage, isTanukiError } from '../errors.ts'
import {
  resolveConfig,
  setupPlugins,
  type PluginRegistry,
  type ResolvedConfig,
  type RoleConfig,
  type UserConfig,
} from '../plugin/index.ts'
import { TaskQueue } from '../queue/index.ts'
import { hookName, type Reporter } from '../reporter/types.ts'
import { Resolver, cycleError, type Blocker } from '../resolver/index.ts'
import { Runner, type RunnerOutcome } from '../runner/index.ts'
import { createMemorySource } from '../source/memory.ts'
import type { TaskChange, TaskSource } from '../source/types.ts'
import { StatusTracker } from '../status/index.ts'
import { progressFromCounts } from '../status/progress.ts'
import { defineTask } from '../task/parse.ts'
import { TASK_STATUSES, type Task, type TaskPatch, type TaskStatus } from '../task/types.ts'
import { Validator } from '../validator/index.ts'
import type { OrchestratorState, Progress, TanukiEventName, TanukiEvents } from './events.ts'

export type { OrchestratorState, Progress, TanukiEventName, TanukiEvents, IterationOutcome } from './events.ts'

export interface OrchestratorOptions {
  /** The user config (defaults are filled in) or an already resolved one. */
  config?: UserConfig
  /** The project agents work on. Default: `{ root: '.', name: config.name }`. */
  project?: Partial<ProjectInfo>
  /** Task sources besides those plugins register (the CLI passes its file source here). */
  sources?: TaskSource[]
  /** Backends besides those plugins register. */
  backends?: AgentBackend[]
  /** Reporters besides those plugins register. */
  reporters?: Reporter[]
  clock?: Clock
}

/** What an agent is doing. */
export type AgentStatus = 'idle' | 'busy' | 'crashed' | 'stopped'

/** An agent as `status()` shows it. */
export interface AgentInfo {
  name: string
  role: string
  backend: string
  status: AgentStatus
  /** The task it runs, if busy. */
  task?: string
  workspace?: string
  /** Tasks it has been given. */
  assigned: number
}

/** A task as `status()` shows it. */
export interface TaskView {
  id: string
  title: string
  role: string
  priority: Task['priority']
  status: TaskStatus
  assignedTo?: string
  dependsOn: string[]
  /** Iterations run, across every attempt. */
  iterations: number
  /** Times it lost its agent (crash or failure). */
  attempts: number
  /** Why it is failed, in review, blocked or was requeued. */
  reason?: string
  /** What stops it from starting, if anything. */
  blockers?: Blocker[]
  source?: string
}

export interface OrchestratorStatus {
  state: OrchestratorState
  startedAt?: number
  uptimeMs: number
  progress: Progress
  queue: { size: number; byRole: Record<string, number> }
  agents: AgentInfo[]
  tasks: TaskView[]
}

/** How a run ended. */
export interface RunSummary {
  /** True when every task is complete. */
  allComplete: boolean
  /** `settled`: nothing was left to run; `stopped`: `stop()` was called first. */
  reason: 'settled' | 'stopped'
  progress: Progress
}

interface TaskRecord {
  task: Task
  source: TaskSource
  iterations: number
  attempts: number
  reason?: string
  controller?: AbortController
  running?: Promise<void>
  /** The task's status writes still in flight, chained so they land in order; undefined when none is. */
  write?: Promise<void>
}

interface AgentRecord extends AgentCandidate {
  backend: string
  agent: Agent
  status: AgentStatus
  taskId?: string
  unsubscribe: () => void
}

interface RoleState {
  config: RoleConfig
  /** Agents wanted for this role. */
  count: number
  idle: Set<AgentRecord>
  live: number
  spawning: number
  lastSpawnError?: string
}

/** Statuses that hold an agent. */
const IN_FLIGHT: ReadonlySet<TaskStatus> = new Set(['assigned', 'in_progress'])
/** How long a stop waits for aborted work to wind down before stopping agents under it. */
const STOP_GRACE_MS = 5000
/** The longest delay timers take on every runtime. */
const MAX_TIMER_MS = 2 ** 31 - 1

/**
 * Runs a project: resolves the task graph, queues ready tasks by role and priority, spawns agents
 * through the configured backends, hands each idle agent its next task and loops it until the
 * task's completion criteria pass. Event-driven: a completion assigns the dependents it made
 * ready at once; a slow poll only guards against a lost event.
 *
 * @example
 * const orchestrator = createOrchestrator({ config, backends: [myBackend] })
 * orchestrator.events.on('task:completed', (e) => console.log(`${e.taskId} done`))
 * await orchestrator.start()
 * const summary = await orchestrator.done()
 */
export class Orchestrator {
  /** Every event of the run. Subscribe before `start()` to see them all. */
  readonly events: Emitter<TanukiEvents> = mitt<TanukiEvents>()
  readonly config: ResolvedConfig
  readonly project: ProjectInfo
  readonly tracker = new StatusTracker()

  private stateValue: OrchestratorState = 'stopped'
  private started = false
  private starting: Promise<void> | undefined
  private startedAt: number | undefined
  private readonly clock: Clock
  private readonly options: OrchestratorOptions
  private registry: PluginRegistry | undefined
  private backends = new Map<string, AgentBackend>()
  private reporters: Reporter[] = []
  private sources: TaskSource[] = []
  private readonly tasksById = new Map<string, TaskRecord>()
  private readonly resolver = new Resolver()
  private readonly queue = new TaskQueue()
  private balancer = new Balancer()
  private runner!: Runner
  private readonly roles = new Map<string, RoleState>()
  private readonly agents = new Map<string, AgentRecord>()
  /** Crashes per agent name since its last completed task. */
  private readonly respawns = new Map<string, number>()
  private readonly statusCounts = new Map<TaskStatus, number>()
  private readonly roleCounts = new Map<string, Map<TaskStatus, number>>()
  private cancelPoll: () => void = () => {}
  private unwatch: (() => void)[] = []
  private stopping: Promise<void> | undefined
  private settledEmitted = false
  private summary: RunSummary | undefined
  private readonly doneWaiters: { resolve: (summary: RunSummary) => void; reject: (error: unknown) => void }[] = []
  /** Why `start()` refused, so `done()` fails the same way instead of waiting forever. */
  private startError: unknown
  /** Spawns under way; a stop waits for them so no agent outlives the run. */
  private readonly spawnsInFlight = new Set<Promise<void>>()
  /** Completions whose dependents wait for the completion's write: the run is not settled yet. */
  private releasing = 0
  private detachReporters: () => void = () => {}
  private removeOnStop = false

  constructor(options: OrchestratorOptions = {}) {
    this.options = options
    this.config = resolveConfig(options.config)
    this.project = { root: '.', name: this.config.name, ...options.project }
    this.clock = options.clock ?? systemClock
  }

  get state(): OrchestratorState {
    return this.stateValue
  }

  /**
   * Loads and checks the tasks, spawns agents and starts handing out work. Resolves once the run
   * is under way (use `done()` to wait for the end). Refuses, with a `TanukiError`, a second
   * start, a project without tasks, invalid tasks and dependency cycles; nothing is spawned then.
   */
  start(): Promise<void> {
    if (this.started) {
      return Promise.reject(
        new TanukiError(
          'TANUKI_ORCHESTRATOR_STATE',
          `This orchestrator was already started (state: ${this.stateValue}); create a new one to run again.`,
        ),
      )
    }
    this.started = true
    this.starting = this.begin()
    return this.starting
  }

  private async begin(): Promise<void> {
    this.startedAt = this.clock.now()
    // Reporters come from plugins, which set up after `starting`: keep what they missed for them.
    const early: [TanukiEventName, unknown][] = []
    const keep = (name: TanukiEventName, event: unknown): void => void early.push([name, event])
    this.events.on('*', keep)
    this.setState('starting')
    try {
      this.registry = await setupPlugins(this.config, this.project)
      this.backends = new Map([
        ...this.registry.backends,
        ...(this.options.backends ?? []).map((b) => [b.name, b] as const),
      ])
      this.reporters = [...this.registry.reporters, ...(this.options.reporters ?? [])]
      this.events.off('*', keep)
      this.attachReporters(early)
      this.balancer = new Balancer(this.resolveStrategy())
      this.runner = new Runner({
        validator: new Validator({ verifyTimeoutMs: this.config.verifyTimeoutMs }),
        clock: this.clock,
        cooldownMs: this.config.cooldownMs,
        iterationTimeoutMs: this.config.iterationTimeoutMs,
      })
      await this.loadTasks()
    } catch (error) {
      this.events.off('*', keep)
      await this.registry?.teardown().catch(() => {})
      this.setState('stopped')
      await this.closeReporters()
      this.startError = error
      for (const waiter of this.doneWaiters.splice(0)) waiter.reject(error)
      throw error
    }
    // Stopped while starting (Ctrl-C right away): nothing was spawned, and nothing will be.
    if (this.stopping) return
    this.setState('running')
    for (const source of this.sources) {
      const unsubscribe = source.watch?.((change) => this.onSourceChange(source, change))
      if (unsubscribe) this.unwatch.push(unsubscribe)
    }
    for (const role of this.rolesWithWork()) this.ensureAgents(role)
    this.schedulePoll()
    this.dispatchAll()
    this.checkSettled()
  }

  /**
   * Resolves when the run ends: settled (with `stopWhenSettled`) or stopped. Rejects with the
   * start error when `start()` refused.
   */
  done(): Promise<RunSummary> {
    if (this.summary) return Promise.resolve(this.summary)
    if (this.startError !== undefined) return Promise.reject(this.startError)
    return new Promise((resolve, reject) => this.doneWaiters.push({ resolve, reject }))
  }

  /**
   * Stops gracefully: running work is aborted and those tasks go back to `pending`, agents are
   * stopped (or removed, with `remove`), pending status writes land, plugins tear down.
   */
  stop(options: { remove?: boolean } = {}): Promise<void> {
    if (this.stopping) return this.stopping
    if (this.stateValue === 'stopped') return Promise.resolve()
    if (this.stateValue === 'starting' && this.starting) {
      // Let start finish setting up (or refuse), then stop before any agent is spawned.
      this.stopping = this.starting.then(
        () => this.shutdown(options.remove ?? false, 'stopped'),
        () => undefined,
      )
      return this.stopping
    }
    this.stopping = this.shutdown(options.remove ?? false, 'stopped')
    return this.stopping
  }

  /** Counts by status and by role, and the percentage complete. */
  progress(): Progress {
    const byStatus: Record<string, number> = {}
    for (const status of TASK_STATUSES) byStatus[status] = this.statusCounts.get(status) ?? 0
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
    return progressFromCounts(this.tasksById.size, byStatus, byRole)
  }

  /** Everything a status view needs: lifecycle, progress, queue, agents and tasks. */
  status(): OrchestratorStatus {
    return {
      state: this.stateValue,
      ...(this.startedAt === undefined ? {} : { startedAt: this.startedAt }),
      uptimeMs: this.startedAt === undefined ? 0 : this.clock.now() - this.startedAt,
      progress: this.progress(),
      queue: { size: this.queue.size(), byRole: this.queue.sizes() },
      agents: [...this.agents.values()].map((record) => ({
        name: record.name,
        role: record.role,
        backend: record.backend,
        status: record.status,
        ...(record.taskId === undefined ? {} : { task: record.taskId }),
        ...(record.agent.workspace === undefined ? {} : { workspace: record.agent.workspace }),
        assigned: record.assigned,
      })),
      tasks: [...this.tasksById.values()].map((record) => this.view(record)),
    }
  }

  /** One task's view, or undefined. */
  task(id: string): TaskView | undefined {
    const record = this.tasksById.get(id)
    return record && this.view(record)
  }

  // ---------------------------------------------------------------- loading

  private async loadTasks(): Promise<void> {
    this.sources = [...this.registry!.sources, ...(this.options.sources ?? [])]
    if (this.config.tasks.length > 0) {
      this.sources.push(
        createMemorySource(this.config.tasks.map((input) => defineTask({ source: 'tanuki.config (tasks)', ...input }))),
      )
    }
    for (const source of this.sources) {
      for (const task of await source.load()) {
        const existing = this.tasksById.get(task.id)
        if (existing) {
          const where = (t: Task, s: TaskSource): string => (t.source ? `${t.source} (from ${s.name})` : s.name)
          throw new TanukiError(
            'TANUKI_TASK_DUPLICATE',
            `Task id "${task.id}" is used twice: ${where(existing.task, existing.source)} and ${where(task, source)}. Give one of them another id.`,
            { details: { id: task.id, sources: [where(existing.task, existing.source), where(task, source)] } },
          )
        }
        this.tasksById.set(task.id, { task, source, iterations: 0, attempts: 0 })
      }
    }
    if (this.tasksById.size === 0) {
      const where = this.config.tasksDir ? ` in ${this.config.tasksDir}` : ''
      throw new TanukiError(
        'TANUKI_NO_TASKS',
        `No tasks found${where}. Add a task file (tanuki init writes a sample) or tasks in the config.`,
      )
    }
    for (const record of this.tasksById.values()) this.resolver.add(record.task)
    const cycle = this.resolver.findCycle()
    if (cycle) throw cycleError(cycle)

    for (const record of this.tasksById.values()) this.count(record.task, +1)
    const recovered: string[] = []
    for (const record of this.tasksById.values()) {
      // Work in flight when an earlier run died: its agent is gone, so it starts over.
      if (IN_FLIGHT.has(record.task.status)) {
        recovered.push(record.task.id)
        this.setStatus(record, 'pending', { reason: 'was in flight when the previous run ended' })
      }
    }
    // Re-derive `blocked` from the graph: a person may have fixed what blocked a task.
    for (const record of this.tasksById.values()) {
      if (record.task.status === 'blocked' && this.hardBlockers(record.task.id).length === 0) {
        this.setStatus(record, 'pending', { reason: 'no longer blocked' })
      }
    }
    for (const record of this.tasksById.values()) {
      if (record.task.status === 'pending') this.blockIfStuck(record)
    }
    const ready = this.resolver.ready()
    for (const id of ready) this.enqueue(id)
    const tasks = [...this.tasksById.values()].map(({ task }) => ({
      id: task.id,
      title: task.title,
      role: task.role,
      priority: task.priority,
      status: task.status,
      dependsOn: [...task.dependsOn],
    }))
    this.emit('project:loaded', {
      total: this.tasksById.size,
      ready: ready.length,
      recovered,
      tasks,
      at: this.clock.now(),
    })
  }

  private resolveStrategy(): BalancerStrategy {
    const wanted = this.config.balancer
    if (typeof wanted !== 'string') return wanted
    const strategies = new Map(builtinStrategies().map((s) => [s.name, s]))
    for (const [name, strategy] of this.registry!.strategies) strategies.set(name, strategy)
    const strategy = strategies.get(wanted)
    if (!strategy) {
      throw new TanukiError(
        'TANUKI_CONFIG_INVALID',
        `config key "balancer" is "${wanted}"; known strategies: ${[...strategies.keys()].join(', ')}`,
        {
          details: { key: 'balancer', value: wanted },
        },
      )
    }
    return strategy
  }

  // ---------------------------------------------------------------- status bookkeeping

  private count(task: Task, delta: number): void {
    this.statusCounts.set(task.status, (this.statusCounts.get(task.status) ?? 0) + delta)
    let counts = this.roleCounts.get(task.role)
    if (!counts) this.roleCounts.set(task.role, (counts = new Map()))
    counts.set(task.status, (counts.get(task.status) ?? 0) + delta)
  }

  /**
   * The one place a status changes: counts, graph, history, event and write-back. Returns the
   * tasks that became ready because of it.
   */
  private setStatus(record: TaskRecord, to: TaskStatus, change: { agent?: string; reason?: string } = {}): string[] {
    const task = record.task
    const from = task.status
    if (from === to) return []
    this.count(task, -1)
    task.status = to
    this.count(task, +1)
    if (to === 'pending') delete task.assignedTo
    else if (change.agent !== undefined) task.assignedTo = change.agent
    record.reason = change.reason
    const at = this.clock.now()
    const entry = {
      taskId: task.id,
      from,
      to,
      at,
      ...(change.agent ? { agent: change.agent } : {}),
      ...(change.reason ? { reason: change.reason } : {}),
    }
    this.tracker.record(entry)
    this.emit('task:status', entry)
    this.persist(record, this.patchFor(record, to, change, at))
    return this.resolver.setStatus(task.id, to)
  }

  private patchFor(
    record: TaskRecord,
    to: TaskStatus,
    change: { agent?: string; reason?: string },
    at: number,
  ): TaskPatch {
    const time = new Date(at).toISOString()
    switch (to) {
      case 'pending':
        return { status: to, assigned_to: null, failure: null }
      case 'assigned':
        return { status: to, assigned_to: change.agent ?? null }
      case 'in_progress':
        return { status: to, started_at: time }
      case 'complete':
        return { status: to, completed_at: time, iterations: record.iterations, failure: null }
      default:
        return { status: to, failure: change.reason ?? null, iterations: record.iterations }
    }
  }

  /**
   * Writes a status change back. A source that writes synchronously (both built-in ones do)
   * returns nothing, and nothing waits; an asynchronous write is chained after the task's earlier
   * ones so they land in order.
   */
  private persist(record: TaskRecord, patch: TaskPatch): void {
    const write = (): Promise<void> | undefined => {
      try {
        return record.source.update(record.task.id, patch)?.catch((error: unknown) => this.writeFailed(record, error))
      } catch (error) {
        this.writeFailed(record, error)
        return undefined
      }
    }
    const pending = record.write ? record.write.then(write) : write()
    if (!pending) return
    const tracked: Promise<void> = pending.then(() => {
      if (record.write === tracked) delete record.write
    })
    record.write = tracked
  }

  private writeFailed(record: TaskRecord, error: unknown): void {
    this.emit('orchestrator:error', {
      context: `writing status of ${record.task.id}`,
      message: errorMessage(error),
      at: this.clock.now(),
    })
  }

  private view(record: TaskRecord): TaskView {
    const { task } = record
    const blockers = task.status === 'pending' || task.status === 'blocked' ? this.resolver.blockers(task.id) : []
    return taskView(task, { iterations: record.iterations, attempts: record.attempts, reason: record.reason, blockers })
  }

  // ---------------------------------------------------------------- graph consequences

  /** Dependencies that will never complete on their own: missing, failed or blocked ones. */
  private hardBlockers(id: string): Blocker[] {
    return this.resolver.blockers(id).filter((blocker) => blocker.reason !== 'incomplete')
  }

  /** Marks a pending task blocked (and everything waiting on it) when a dependency failed or is missing. */
  private blockIfStuck(record: TaskRecord): void {
    const blockers = this.hardBlockers(record.task.id)
    if (blockers.length === 0) return
    this.block(record, blockers)
  }

  private block(record: TaskRecord, blockers: Blocker[]): void {
    const reason = blockers
      .map((b) =>
        b.reason === 'missing' ? `depends on "${b.id}", which does not exist` : `dependency ${b.id} is ${b.status}`,
      )
      .join('; ')
    this.queue.remove(record.task.id)
    this.setStatus(record, 'blocked', { reason })
    this.emit('task:blocked', { taskId: record.task.id, blockers, at: this.clock.now() })
    for (const dependentId of this.resolver.dependents(record.task.id)) {
      const dependent = this.tasksById.get(dependentId)
      if (dependent?.task.status === 'pending') this.blockIfStuck(dependent)
    }
  }

  /** After a task left `failed`/`blocked` (or appeared), unblock what no longer has a reason to wait. */
  private unblockDependents(id: string): void {
    for (const dependentId of this.resolver.dependents(id)) {
      const dependent = this.tasksById.get(dependentId)
      if (dependent?.task.status !== 'blocked' || this.hardBlockers(dependentId).length > 0) continue
      const ready = this.setStatus(dependent, 'pending', { reason: `${id} no longer blocks it` })
      for (const readyId of ready) this.enqueue(readyId)
      this.unblockDependents(dependentId)
    }
  }

  // ---------------------------------------------------------------- scheduling

  private enqueue(id: string): void {
    const record = this.tasksById.get(id)
    if (!record || record.task.status !== 'pending') return
    const { role, priority } = record.task
    if (!this.queue.enqueue({ id, role, priority })) return
    this.emit('task:queued', { taskId: id, role, priority, queueSize: this.queue.size(), at: this.clock.now() })
    if (this.stateValue === 'running') this.ensureAgents(role)
  }

  private dispatchAll(): void {
    for (const role of this.queue.roles()) this.dispatch(role)
  }

  /** Hands queued tasks of a role to its idle agents, as long as both last. */
  private dispatch(role: string): void {
    if (this.stateValue !== 'running') return
    const idle = this.roles.get(role)?.idle
    while (idle && idle.size > 0) {
      const item = this.queue.peek(role)
      if (!item) return
      const record = this.tasksById.get(item.id)!
      const chosen = this.balancer.pick(record.task, [...idle]) as AgentRecord | undefined
      if (!chosen) return
      this.queue.dequeue(role)
      this.assign(record, chosen)
    }
  }

  private assign(record: TaskRecord, agent: AgentRecord): void {
    this.roles.get(agent.role)!.idle.delete(agent)
    agent.status = 'busy'
    agent.taskId = record.task.id
    agent.assigned++
    this.setStatus(record, 'assigned', { agent: agent.name })
    this.emit('task:assigned', { taskId: record.task.id, agent: agent.name, role: agent.role, at: this.clock.now() })
    record.running = this.execute(record, agent)
  }

  private async execute(record: TaskRecord, agent: AgentRecord): Promise<void> {
    const task = record.task
    const controller = new AbortController()
    record.controller = controller
    this.setStatus(record, 'in_progress', { agent: agent.name })
    const started = this.clock.monotonic()
    let outcome: RunnerOutcome | undefined
    let failure: unknown
    try {
      if (agent.agent.beginTask) await agent.agent.beginTask(task)
      outcome = await this.runner.run(task, agent.agent, {
        signal: controller.signal,
        hooks: {
          onIterationStart: (iteration, prompt) => {
            record.iterations++
            this.emit('iteration:started', {
              taskId: task.id,
              agent: agent.name,
              iteration,
              maxIterations: task.completion.maxIterations,
              prompt,
              at: this.clock.now(),
            })
          },
          onOutput: (iteration, chunk) => {
            this.emit('iteration:output', {
              taskId: task.id,
              agent: agent.name,
              iteration,
              stream: chunk.stream,
              text: chunk.text,
            })
          },
          onIterationEnd: (iteration, result, validation, durationMs) => {
            this.emit('iteration:finished', {
              taskId: task.id,
              agent: agent.name,
              iteration,
              maxIterations: task.completion.maxIterations,
              outcome: validation.outcome,
              reason: validation.reason,
              output: result.output,
              ...(result.exitCode === undefined ? {} : { exitCode: result.exitCode }),
              ...(validation.verify ? { verify: validation.verify } : {}),
              ...(result.usage ? { usage: result.usage } : {}),
              ...(result.sessionId ? { sessionId: result.sessionId } : {}),
              ...(result.toolErrors?.length ? { toolErrors: result.toolErrors } : {}),
              durationMs,
              at: this.clock.now(),
            })
          },
        },
      })
    } catch (error) {
      failure = error
    } finally {
      record.controller = undefined
    }
    // A stop or crash that landed while verify ran can make the loop end with a verdict on a
    // half-finished try (a killed verify reads as a timeout or the last failed try): not a result.
    if (failure === undefined && controller.signal.aborted) failure = abortError(controller.signal)

    if (failure !== undefined) {
      this.afterAgentLost(record, agent, failure, controller.signal.aborted)
      return
    }
    let result = outcome!
    if (agent.agent.endTask) {
      try {
        await agent.agent.endTask(task, { status: result.status })
      } catch (error) {
        // The work passed its checks but could not be published (e.g. a merge conflict): a person decides.
        if (result.status === 'complete') {
          result = {
            ...result,
            status: 'review',
            reason: `passed, but its work could not be published: ${errorMessage(error)}`,
          }
        } else {
          this.emit('orchestrator:error', {
            context: `ending ${task.id} on ${agent.name}`,
            message: errorMessage(error),
            at: this.clock.now(),
          })
        }
      }
    }
    agent.taskId = undefined
    agent.lastFinishedAt = this.clock.now()
    if (result.status === 'complete') {
      this.respawns.delete(agent.name)
      const ready = this.setStatus(record, 'complete', { agent: agent.name, reason: result.reason })
      this.emit('task:completed', {
        taskId: task.id,
        agent: agent.name,
        iterations: record.iterations,
        durationMs: this.clock.monotonic() - started,
        at: this.clock.now(),
      })
      this.release(agent)
      // Dependents start only once the completion is on disk, so a crash can never run them
      // against a dependency that a restart would consider unfinished.
      if (ready.length > 0) {
        if (record.write) {
          this.releasing++
          await record.write
          this.releasing--
        }
        for (const id of ready) this.enqueue(id)
        for (const id of ready) this.dispatch(this.tasksById.get(id)!.task.role)
      }
    } else if (result.status === 'review') {
      this.setStatus(record, 'review', { agent: agent.name, reason: result.reason })
      this.emit('task:review', {
        taskId: task.id,
        agent: agent.name,
        reason: result.reason,
        iterations: record.iterations,
        at: this.clock.now(),
      })
      this.release(agent)
    } else {
      this.fail(record, result.reason, agent.name)
      this.release(agent)
    }
    this.checkSettled()
  }

  /** The agent's run ended in an error: it crashed, failed, or the run is stopping. */
  private afterAgentLost(record: TaskRecord, agent: AgentRecord, error: unknown, aborted: boolean): void {
    const task = record.task
    agent.taskId = undefined
    if (this.stateValue === 'stopping' && aborted) {
      this.setStatus(record, 'pending', { reason: 'run stopped; it will start over' })
      return
    }
    const crashed = agent.status === 'crashed' || isTanukiError(error, 'TANUKI_AGENT_CRASHED')
    if (crashed) this.onAgentCrash(agent, errorMessage(error))
    record.attempts++
    const what = crashed ? `agent ${agent.name} crashed` : `agent ${agent.name} failed`
    const reason = `${what}: ${errorMessage(error)}`
    if (record.attempts > this.config.retryLimit) {
      this.fail(record, `${reason} (gave up after ${record.attempts} lost attempts)`, agent.name)
    } else {
      const ready = this.setStatus(record, 'pending', { reason })
      this.emit('task:requeued', {
        taskId: task.id,
        agent: agent.name,
        reason,
        attempt: record.attempts,
        at: this.clock.now(),
      })
      for (const id of ready) this.enqueue(id)
    }
    if (!crashed) this.release(agent)
    this.dispatchAll()
    this.checkSettled()
  }

  private fail(record: TaskRecord, reason: string, agent?: string): void {
    this.queue.remove(record.task.id)
    this.setStatus(record, 'failed', { reason, ...(agent ? { agent } : {}) })
    this.emit('task:failed', {
      taskId: record.task.id,
      ...(agent ? { agent } : {}),
      reason,
      iterations: record.iterations,
      at: this.clock.now(),
    })
    for (const dependentId of this.resolver.dependents(record.task.id)) {
      const dependent = this.tasksById.get(dependentId)
      if (dependent?.task.status === 'pending') this.blockIfStuck(dependent)
    }
  }

  private release(agent: AgentRecord): void {
    if (agent.status !== 'busy') return
    agent.status = 'idle'
    this.roles.get(agent.role)!.idle.add(agent)
    this.dispatch(agent.role)
  }

  /** Nothing runs, nothing waits that could run, nothing is being spawned: the project is settled. */
  private checkSettled(): void {
    if (this.stateValue !== 'running') return
    const inFlight = (this.statusCounts.get('assigned') ?? 0) + (this.statusCounts.get('in_progress') ?? 0)
    if (inFlight > 0 || this.releasing > 0) return
    for (const [role, state] of this.roles) if (state.spawning > 0 && this.queue.size(role) > 0) return
    // A role configured with 0 agents is paused on purpose: its work waits in the queue.
    let paused = 0
    // Queued work whose role has no agent and none on the way can never run: fail it so the run ends.
    for (const role of [...this.queue.roles()]) {
      // A role whose agents are not asked for yet (start-up spawns them role by role) still may.
      const state = this.roles.get(role)
      if (!state) continue
      if (state.count === 0) {
        paused += this.queue.size(role)
        continue
      }
      if (state.live > 0 || state.spawning > 0) continue
      const why = state.lastSpawnError ?? 'no agent could be started'
      for (let item = this.queue.dequeue(role); item; item = this.queue.dequeue(role)) {
        this.fail(this.tasksById.get(item.id)!, `no agent of role "${role}" is running: ${why}`)
      }
    }
    if (this.queue.size() > paused) return
    if (this.settledEmitted) return
    this.settledEmitted = true
    const progress = this.progress()
    this.emit('project:settled', { allComplete: progress.complete === progress.total, progress, at: this.clock.now() })
    if (this.config.stopWhenSettled && !this.stopping) {
      this.stopping = this.shutdown(false, 'settled')
    }
  }

  private schedulePoll(): void {
    // Timers overflow past 2^31-1 ms and then fire at once: a huge interval means "almost never".
    this.cancelPoll = this.clock.setTimeout(
      () => {
        if (this.stateValue !== 'running') return
        this.dispatchAll()
        this.checkSettled()
        this.schedulePoll()
      },
      Math.min(this.config.pollIntervalMs, MAX_TIMER_MS),
    )
  }

  // ---------------------------------------------------------------- agents

  private rolesWithWork(): Set<string> {
    const roles = new Set<string>()
    for (const record of this.tasksById.values()) {
      if (record.task.status === 'pending') roles.add(record.task.role)
    }
    return roles
  }

  private roleState(role: string): RoleState {
    let state = this.roles.get(role)
    if (!state) {
      const config: RoleConfig = { ...this.config.defaults, ...this.config.agents[role] }
      const count = typeof config.count === 'number' ? config.count : 1
      state = { config, count, idle: new Set(), live: 0, spawning: 0 }
      this.roles.set(role, state)
    }
    return state
  }

  /** Spawns a role's agents the first time the role has work. */
  private ensureAgents(role: string): void {
    if (this.roles.has(role)) return
    const state = this.roleState(role)
    for (let i = 1; i <= state.count; i++) this.startSpawn(`${role}-${i}`, role)
  }

  private startSpawn(name: string, role: string): void {
    const spawning = this.spawn(name, role).finally(() => this.spawnsInFlight.delete(spawning))
    this.spawnsInFlight.add(spawning)
  }

  private backendName(role: string): string {
    return this.roleState(role).config.backend ?? (this.backends.size === 1 ? [...this.backends.keys()][0]! : 'process')
  }

  private backendFor(role: string): AgentBackend {
    const name = this.backendName(role)
    const backend = this.backends.get(name)
    if (!backend) {
      const known = [...this.backends.keys()]
      throw new TanukiError(
        'TANUKI_BACKEND_UNKNOWN',
        `Role "${role}" uses backend "${name}", but no plugin registered it` +
          (known.length > 0 ? ` (registered: ${known.join(', ')})` : ' (none is registered)') +
          ". Add the backend's plugin to tanuki.config.ts or set agents." +
          role +
          '.backend.',
      )
    }
    return backend
  }

  private async spawn(name: string, role: string): Promise<void> {
    const state = this.roleState(role)
    state.spawning++
    let agent: Agent
    try {
      agent = await this.backendFor(role).spawn({ name, role, options: state.config, project: this.project })
    } catch (error) {
      state.spawning--
      state.lastSpawnError = errorMessage(error)
      this.emit('agent:spawn-failed', {
        agent: name,
        role,
        backend: this.backendName(role),
        message: errorMessage(error),
        at: this.clock.now(),
      })
      this.checkSettled()
      return
    }
    state.spawning--
    if (this.stateValue !== 'running') {
      await (this.removeOnStop ? agent.remove() : agent.stop()).catch(() => {})
      return
    }
    const record: AgentRecord = {
      name,
      role,
      backend: agent.backend,
      agent,
      status: 'idle',
      assigned: 0,
      lastFinishedAt: 0,
      unsubscribe: () => {},
    }
    record.unsubscribe = agent.onExit((exit) => {
      if (!exit.expected) this.onAgentCrash(record, exit.reason)
    })
    this.agents.set(name, record)
    state.live++
    state.idle.add(record)
    this.emit('agent:spawned', {
      agent: name,
      role,
      backend: agent.backend,
      ...(agent.workspace ? { workspace: agent.workspace } : {}),
      at: this.clock.now(),
    })
    this.dispatch(role)
    this.checkSettled()
  }

  /** An agent died: take it out, abort what it ran (that task is requeued), spawn a replacement. */
  private onAgentCrash(record: AgentRecord, reason: string): void {
    if (record.status === 'crashed' || record.status === 'stopped' || this.agents.get(record.name) !== record) {
      return
    }
    const state = this.roleState(record.role)
    const wasBusy = record.status === 'busy'
    record.status = 'crashed'
    record.unsubscribe()
    state.idle.delete(record)
    state.live--
    this.emit('agent:crashed', {
      agent: record.name,
      role: record.role,
      ...(record.taskId ? { taskId: record.taskId } : {}),
      reason,
      at: this.clock.now(),
    })
    if (wasBusy && record.taskId) this.tasksById.get(record.taskId)?.controller?.abort(`agent crashed: ${reason}`)
    void record.agent.stop().catch(() => {})
    if (this.stateValue !== 'running') return
    const crashes = (this.respawns.get(record.name) ?? 0) + 1
    this.respawns.set(record.name, crashes)
    if (crashes > this.config.maxRespawns) {
      state.lastSpawnError = `agent ${record.name} crashed ${crashes} times in a row (${reason})`
      this.checkSettled()
      return
    }
    this.startSpawn(record.name, record.role)
  }

  // ---------------------------------------------------------------- changes from the source

  private onSourceChange(source: TaskSource, change: TaskChange): void {
    if (this.stateValue !== 'running') return
    try {
      if (change.type === 'invalid') {
        this.emit('orchestrator:error', {
          context: `reading ${change.source}`,
          message: change.error.message,
          at: this.clock.now(),
        })
      } else if (change.type === 'removed') {
        this.onTaskRemoved(change.id)
      } else {
        this.onTaskEdited(source, change.task)
      }
    } catch (error) {
      this.emit('orchestrator:error', {
        context: 'applying a task change',
        message: errorMessage(error),
        at: this.clock.now(),
      })
    }
    this.dispatchAll()
    this.checkSettled()
  }

  private onTaskEdited(source: TaskSource, task: Task): void {
    const record = this.tasksById.get(task.id)
    if (!record) {
      this.resolver.add(task)
      const cycle = this.resolver.findCycle()
      if (cycle) {
        this.resolver.remove(task.id)
        throw cycleError(cycle)
      }
      const added: TaskRecord = { task: { ...task }, source, iterations: 0, attempts: 0 }
      this.tasksById.set(task.id, added)
      this.count(added.task, +1)
      this.settledEmitted = false
      this.emit('task:added', { taskId: task.id, at: this.clock.now() })
      if (IN_FLIGHT.has(added.task.status)) this.setStatus(added, 'pending', { reason: 'new task' })
      if (added.task.status === 'pending') this.blockIfStuck(added)
      if (this.resolver.isReady(task.id)) this.enqueue(task.id)
      this.unblockDependents(task.id)
      return
    }
    // Work in flight keeps its definition until it ends; the write-back keeps the person's edits.
    if (IN_FLIGHT.has(record.task.status)) return
    const previous = record.task
    const depsChanged = previous.dependsOn.join('\0') !== task.dependsOn.join('\0')
    this.count(previous, -1)
    record.task = { ...task, status: previous.status }
    this.count(record.task, +1)
    if (depsChanged) {
      this.resolver.add(record.task)
      const cycle = this.resolver.findCycle()
      if (cycle) {
        this.resolver.add(previous)
        this.count(record.task, -1)
        record.task = previous
        this.count(record.task, +1)
        throw cycleError(cycle)
      }
    }
    // Role, priority or dependencies may have changed: queue it again only if it is (still) ready.
    this.queue.remove(task.id)
    if (task.status === previous.status) {
      this.settledEmitted = false
      if (record.task.status === 'pending') this.blockIfStuck(record)
      else if (record.task.status === 'blocked' && this.hardBlockers(task.id).length === 0) {
        this.setStatus(record, 'pending', { reason: 'no longer blocked' })
      }
      if (this.resolver.isReady(task.id)) this.enqueue(task.id)
      return
    }
    this.settledEmitted = false
    if (task.status === 'pending') {
      record.attempts = 0
      const ready = this.setStatus(record, 'pending', { reason: 'set to pending by a person' })
      this.blockIfStuck(record)
      for (const id of ready) this.enqueue(id)
      this.unblockDependents(task.id)
    } else if (task.status === 'complete') {
      const ready = this.setStatus(record, 'complete', { reason: 'marked complete by a person' })
      for (const id of ready) this.enqueue(id)
      this.unblockDependents(task.id)
    } else if (task.status === 'failed') {
      this.fail(record, 'marked failed by a person')
    } else if (task.status === 'review') {
      this.setStatus(record, 'review', { reason: 'set to review by a person' })
    } else {
      // assigned, in_progress and blocked follow from what Tanuki does; set by hand they would
      // leave a task "running" with no agent (and the run never settling). Keep it as it was.
      if (this.resolver.isReady(task.id)) this.enqueue(task.id)
      this.emit('orchestrator:error', {
        context: `reading ${task.source ?? task.id}`,
        message: `status "${task.status}" is Tanuki's to set; ${task.id} stays ${previous.status}. Use pending, complete, failed or review.`,
        at: this.clock.now(),
      })
    }
  }

  private onTaskRemoved(id: string): void {
    const record = this.tasksById.get(id)
    if (!record || IN_FLIGHT.has(record.task.status)) return
    this.queue.remove(id)
    this.count(record.task, -1)
    this.tasksById.delete(id)
    this.resolver.remove(id)
    for (const dependentId of this.resolver.dependents(id)) {
      const dependent = this.tasksById.get(dependentId)
      if (dependent?.task.status === 'pending') this.blockIfStuck(dependent)
    }
  }

  // ---------------------------------------------------------------- events and shutdown

  private emit<E extends TanukiEventName>(name: E, event: TanukiEvents[E]): void {
    this.events.emit(name, event)
  }

  private setState(to: OrchestratorState): void {
    const from = this.stateValue
    this.stateValue = to
    this.emit('orchestrator:state', { from, to, at: this.clock.now() })
  }

  /** Feeds every event to every reporter, starting with those emitted before they existed. */
  private attachReporters(early: [TanukiEventName, unknown][]): void {
    if (this.reporters.length === 0) return
    const deliver = (name: TanukiEventName, event: unknown): void => {
      // Report failures once every reporter has this event, so all of them see events in bus order.
      const failures: [Reporter, unknown][] = []
      for (const reporter of this.reporters) {
        const hook = reporter[hookName(name)] as ((event: unknown) => unknown) | undefined
        for (const call of [
          () => reporter.onEvent?.(name, event as never),
          hook && (() => hook.call(reporter, event)),
        ]) {
          if (!call) continue
          try {
            const result = call()
            if (result instanceof Promise) result.catch((error: unknown) => this.reporterFailed(reporter, name, error))
          } catch (error) {
            failures.push([reporter, error])
          }
        }
      }
      for (const [reporter, error] of failures) this.reporterFailed(reporter, name, error)
    }
    for (const [name, event] of early) deliver(name, event)
    this.events.on('*', deliver)
    this.detachReporters = () => this.events.off('*', deliver)
  }

  private reporterFailed(reporter: Reporter, name: TanukiEventName, error: unknown): void {
    // A reporter that fails on errors must not feed itself.
    if (name === 'orchestrator:error') return
    this.emit('orchestrator:error', {
      context: `reporter ${reporter.name} on ${name}`,
      message: errorMessage(error),
      at: this.clock.now(),
    })
  }

  /** Reporters hear nothing after their `onClose`. */
  private async closeReporters(): Promise<void> {
    this.detachReporters()
    for (const reporter of this.reporters) {
      try {
        await reporter.onClose?.()
      } catch (error) {
        this.emit('orchestrator:error', {
          context: `closing reporter ${reporter.name}`,
          message: errorMessage(error),
          at: this.clock.now(),
        })
      }
    }
  }

  private async shutdown(remove: boolean, reason: RunSummary['reason']): Promise<void> {
    this.removeOnStop = remove
    this.setState('stopping')
    this.cancelPoll()
    for (const unsubscribe of this.unwatch.splice(0)) unsubscribe()
    const running = [...this.tasksById.values()].flatMap((record) => (record.running ? [record.running] : []))
    for (const record of this.tasksById.values()) record.controller?.abort('orchestrator stopping')
    const grace = new AbortController()
    await Promise.race([Promise.allSettled(running), sleep(this.clock, STOP_GRACE_MS, grace.signal).catch(() => {})])
    grace.abort()
    await Promise.allSettled(
      [...this.agents.values()].map(async (record) => {
        if (record.status === 'crashed' || record.status === 'stopped') return
        record.status = 'stopped'
        record.unsubscribe()
        try {
          await (remove ? record.agent.remove() : record.agent.stop())
        } catch (error) {
          this.emit('orchestrator:error', {
            context: `stopping agent ${record.name}`,
            message: errorMessage(error),
            at: this.clock.now(),
          })
        }
        this.emit('agent:stopped', { agent: record.name, role: record.role, removed: remove, at: this.clock.now() })
      }),
    )
    await Promise.allSettled(running)
    // Agents still being spawned stop (or are removed) as soon as they exist.
    await Promise.allSettled([...this.spawnsInFlight])
    if (remove) {
      for (const backend of this.backends.values()) {
        await backend.cleanup?.(this.project).catch((error: unknown) => {
          this.emit('orchestrator:error', {
            context: `cleaning up backend ${backend.name}`,
            message: errorMessage(error),
            at: this.clock.now(),
          })
        })
      }
    }
    await Promise.allSettled([...this.tasksById.values()].map((record) => record.write))
    await this.registry?.teardown().catch((error: unknown) => {
      this.emit('orchestrator:error', {
        context: 'tearing down plugins',
        message: errorMessage(error),
        at: this.clock.now(),
      })
    })
    const progress = this.progress()
    this.summary = { allComplete: progress.total > 0 && progress.complete === progress.total, reason, progress }
    this.setState('stopped')
    // Last, so reporters see the final state before they close.
    await this.closeReporters()
    for (const waiter of this.doneWaiters.splice(0)) waiter.resolve(this.summary)
  }
}

/** A task as status views show it, from the task and what is known of its run. */
export function taskView(
  task: Task,
  facts: { iterations: number; attempts: number; reason?: string | undefined; blockers?: Blocker[] },
): TaskView {
  return {
    id: task.id,
    title: task.title,
    role: task.role,
    priority: task.priority,
    status: task.status,
    ...(task.assignedTo === undefined ? {} : { assignedTo: task.assignedTo }),
    dependsOn: task.dependsOn,
    iterations: facts.iterations,
    attempts: facts.attempts,
    ...(facts.reason === undefined ? {} : { reason: facts.reason }),
    ...(facts.blockers && facts.blockers.length > 0 ? { blockers: facts.blockers } : {}),
    ...(task.source === undefined ? {} : { source: task.source }),
  }
}

/** Creates an orchestrator; nothing runs until `start()`. */
export function createOrchestrator(options: OrchestratorOptions = {}): Orchestrator {
  return new Orchestrator(options)
}
