import type { Emitter } from 'mitt'
import type { AgentBackend, ProjectInfo } from '../agent/types.ts'
import { Balancer, resolveStrategy } from '../balancer/index.ts'
import { systemClock, type Clock } from '../clock.ts'
import { TanukiError, combineErrors, errorMessage } from '../errors.ts'
import { resolveConfig, setupPlugins, type PluginRegistry, type ResolvedConfig } from '../plugin/index.ts'
import { checkRoles, roleSetup } from '../plugin/roles.ts'
import type { LandResult } from '../land/types.ts'
import { TaskQueue } from '../queue/index.ts'
import type { Reporter } from '../reporter/types.ts'
import { createMemoryStore } from '../state/memory.ts'
import type { RunStore } from '../state/types.ts'
import type { TaskSource } from '../source/types.ts'
import type { StatusTracker } from '../status/index.ts'
import type { Task, TaskStatus } from '../task/types.ts'
import { createAgentPool, type AgentPool } from './agent-pool.ts'
import { createBus, type Bus } from './bus.ts'
import { Commands } from './commands.ts'
import type { OrchestratorState, Progress, TanukiEventName, TanukiEvents } from './events.ts'
import { attachReporters, type EventLog, type ReporterFanOut } from './reporters.ts'
import { applyDeferredEdit, type ChangeContext, watchSources } from './source-changes.ts'
import { Budgets, budgetLimits } from './budgets.ts'
import { openLanding, type LandingQueue } from './landing.ts'
import { loadTasks } from './load-tasks.ts'
import { Parking } from './parking.ts'
import { Scheduler } from './scheduler.ts'
import { FinishingAbort } from './iteration-hooks.ts'
import { windDown } from './shutdown.ts'
import { TaskRuns } from './task-runs.ts'
import { VerifyHolds } from './verify-holds.ts'
import { StatusMirror } from './mirror.ts'
import { TaskTable, type TaskRecord } from './task-table.ts'
import type { OrchestratorOptions, OrchestratorStatus, RunContext, RunSummary, TaskView } from './types.ts'

export type {
  IterationOutcome,
  OrchestratorState,
  Progress,
  RedefinedField,
  TanukiEventName,
  TanukiEvents,
} from './events.ts'
export { overruledStatus } from './task-table.ts'
export { noTriesLeftAfterCrash, triesSpent } from './tries.ts'
export {
  taskView,
  type AgentInfo,
  type AgentStatus,
  type HeldBack,
  type OrchestratorOptions,
  type OrchestratorStatus,
  type RunSummary,
  type TaskFacts,
  type TaskView,
  type VerifyBlocked,
} from './types.ts'

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
  readonly config: ResolvedConfig
  readonly project: ProjectInfo

  private readonly options: OrchestratorOptions
  private readonly clock: Clock
  private readonly bus: Bus
  private readonly queue = new TaskQueue()
  private readonly store: RunStore
  private readonly mirror: StatusMirror
  private readonly table: TaskTable
  private stateValue: OrchestratorState = 'stopped'
  private started = false
  private starting: Promise<void> | undefined
  private startedAt: number | undefined
  private registry: PluginRegistry | undefined
  private sources: TaskSource[] = []
  private pool!: AgentPool
  /** Each task's run on an agent: how it starts, and what becomes of it. */
  private runs!: TaskRuns
  /** Moves tasks from ready to running: the queue, the hand-out to idle agents, each task's run. */
  private scheduler!: Scheduler
  /** The verify commands that cannot run where a role's agents work, and the tasks they hold. */
  private readonly holds: VerifyHolds
  private reporters: ReporterFanOut | undefined
  /** The merge queue, when a lander is registered and landing is on. */
  private landing: LandingQueue | undefined
  /** Accounts parked on a usage or rate limit. */
  private readonly parking: Parking
  /** The task, role and run budgets. */
  private readonly budgets: Budgets
  private cancelPoll: () => void = () => {}
  private unwatch: (() => void)[] = []
  /** How a change of a task's file applies to this run, once it runs. */
  private changes: ChangeContext | undefined
  private stopping: Promise<void> | undefined
  private settledEmitted = false
  /** Aborted once it stops after the tries under way (`stop({ finish: true })`). */
  private readonly finished = new AbortController()
  /** With `finish`, whether the stop then removes the agents (`stop({ finish: true, remove: true })`). */
  private finishRemoves = false
  private summary: RunSummary | undefined
  private readonly doneWaiters: { resolve: (summary: RunSummary) => void; reject: (error: unknown) => void }[] = []
  /** Why `start()` refused, so `done()` fails the same way instead of waiting forever. */
  private startError: unknown
  /** What the orchestrator's parts share of the run, and may ask of it. */
  private readonly run: RunContext
  /** A person's commands, and those waiting for a running task to unwind. */
  private readonly commands: Commands
  /** What went wrong with the run itself: a journal that could not be written ends it. */
  private readonly problems: string[] = []

  constructor(options: OrchestratorOptions = {}) {
    this.options = options
    this.config = resolveConfig(options.config)
    const root = options.project?.root ?? '.'
    this.project = { root, name: this.config.name, stateDir: `${root}/.tanuki`, ...options.project }
    this.clock = options.clock ?? systemClock
    this.bus = createBus(this.clock)
    this.store = options.store ?? createMemoryStore()
    this.mirror = new StatusMirror(this.bus, this.clock, this.config.mirrorStatus)
    this.table = new TaskTable(this.bus, this.queue, this.store, this.mirror)
    this.parking = new Parking({
      bus: this.bus,
      clock: this.clock,
      store: this.store,
      agents: () => this.pool?.records() ?? [],
      onResume: () => this.scheduler.dispatchAll(),
    })
    this.budgets = new Budgets(budgetLimits(this.config), (scope) =>
      scope === 'run' ? this.pool.agentCount() : (this.pool.role(scope)?.count ?? 1),
    )
    this.run = {
      config: this.config,
      table: this.table,
      queue: this.queue,
      bus: this.bus,
      clock: this.clock,
      store: this.store,
      budgets: this.budgets,
      parking: this.parking,
      problems: this.problems,
      state: () => this.stateValue,
      finished: this.finished.signal,
      landing: () => this.landing,
      enqueue: (id, quiet) => this.scheduler.enqueue(id, quiet),
      dispatch: (role) => this.scheduler.dispatch(role),
      dispatchAll: () => this.scheduler.dispatchAll(),
      checkSettled: () => this.checkSettled(),
      unsettle: () => {
        this.settledEmitted = false
      },
      durable: () => this.durable(),
    }
    this.holds = new VerifyHolds(this.run)
    this.commands = new Commands({
      ...this.run,
      retryVerify: (record) => this.holds.retry(record),
      settledByHand: (record) => this.holds.stepDown(record),
    })
  }

  /** Every event of the run. Subscribe before `start()` to see them all. */
  get events(): Emitter<TanukiEvents> {
    return this.bus.events
  }

  /** The history of every status change. */
  get tracker(): StatusTracker {
    return this.table.tracker
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
    const early: EventLog = []
    const keep = (name: TanukiEventName, event: unknown): void => void early.push([name, event])
    this.events.on('*', keep)
    this.setState('starting')
    try {
      this.registry = await setupPlugins(this.config, this.project)
      const backends = new Map<string, AgentBackend>([
        ...this.registry.backends,
        ...(this.options.backends ?? []).map((b) => [b.name, b] as const),
      ])
      // Roles the config lists are checked by their backends before anything is spawned.
      const problems = await checkRoles({
        config: this.config,
        backends,
        strategies: this.registry.strategies,
        project: this.project,
        roles: Object.keys(this.config.agents),
      })
      if (problems.length > 0) throw combineErrors(problems, 'in the config')
      const reporters: Reporter[] = [...this.registry.reporters, ...(this.options.reporters ?? [])]
      this.events.off('*', keep)
      this.reporters = attachReporters(this.bus, reporters, early, { clock: this.clock })
      const balancer = new Balancer(resolveStrategy(this.config.balancer, this.registry.strategies))
      this.pool = createAgentPool({
        config: this.config,
        ...(this.options.unlistedRole ? { unlistedRole: this.options.unlistedRole } : {}),
        project: this.project,
        backends,
        bus: this.bus,
        running: () => this.stateValue === 'running',
        onIdle: (role) => this.scheduler.dispatch(role),
        onSpawned: (record) => this.parking.joined(record),
        onRefused: (role, cause) => this.runs.pauseRole(role, cause),
        onCrash: (record, reason) => {
          if (record.taskId) this.table.get(record.taskId)?.controller?.abort(`agent crashed: ${reason}`)
        },
        onChange: () => this.checkSettled(),
        demand: (role) => this.queue.size(role),
      })
      const runs = new TaskRuns({ ...this.run, pool: this.pool, holds: this.holds })
      this.runs = runs
      this.scheduler = new Scheduler({
        ...this.run,
        pool: this.pool,
        runs,
        holds: this.holds,
        balancer,
        commands: this.commands,
        afterRun: (record) => {
          if (!this.changes || this.stateValue !== 'running') return
          applyDeferredEdit(this.changes, record)
          this.scheduler.dispatchAll()
          this.checkSettled()
        },
      })
      const loaded = await loadTasks({
        ...this.run,
        sources: [...this.registry.sources, ...(this.options.sources ?? [])],
        startedAt: this.startedAt ?? this.clock.now(),
      })
      this.sources = loaded.sources
      this.landing = await openLanding({
        ...this.run,
        lander: this.registry.lander,
        land: this.config.land,
        recordedTarget: loaded.recordedTarget,
        fresh: !this.options.resume,
        now: () => this.clock.now(),
        onChange: () => this.checkSettled(),
        sandbox: (role) => this.pool.sandbox(role),
        setup: (role) => roleSetup(this.config, role),
      })
      // Tasks queued as the tasks loaded, before landing said where this run lands.
      for (const record of this.table.values()) {
        const elsewhere = this.landing?.dependencyElsewhere(record)
        if (elsewhere === undefined || !this.queue.remove(record.task.id)) continue
        this.table.explain(record, `waits: ${elsewhere}`)
        // It was to try its held verify again: another task it holds does.
        this.holds.stepDown(record)
      }
    } catch (error) {
      this.events.off('*', keep)
      await this.registry?.teardown().catch(() => {})
      this.setState('stopped')
      await this.reporters?.close()
      this.startError = error
      for (const waiter of this.doneWaiters.splice(0)) waiter.reject(error)
      throw error
    }
    // Stopped while starting (Ctrl-C right away): nothing was spawned, and nothing will be.
    if (this.stopping) return
    this.setState('running')
    // A change may make tasks ready, or move one to another role or priority.
    const changes: ChangeContext & Pick<RunContext, 'state' | 'dispatchAll' | 'checkSettled'> = {
      ...this.run,
      enqueue: (ids: Iterable<string>) => {
        for (const id of ids) if (this.table.resolver.isReady(id)) this.scheduler.enqueue(id)
      },
      dequeue: (id: string) => void this.queue.remove(id),
      redefined: (record: TaskRecord, before: { role: string; verify: string | undefined }) =>
        this.holds.stepDown(record, before.role, before.verify),
    }
    this.changes = changes
    this.unwatch = watchSources(changes, this.sources)
    // Agents for the roles with work that can start: a role whose tasks all wait (for their
    // dependencies, a verify that cannot run, work on another branch) gets them once one can.
    for (const role of this.queue.roles()) this.pool.ensure(role)
    this.schedulePoll()
    this.scheduler.dispatchAll()
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
   *
   * With `finish`, nothing is aborted: no task starts and no new try begins, each try under way
   * ends (judged; a task it completes lands), and then the run stops (an `orchestrator:finishing`
   * event says which tasks it waits for). A plain `stop()` meanwhile stops at once.
   */
  stop(options: { remove?: boolean; finish?: boolean } = {}): Promise<void> {
    if (this.stopping) return this.stopping
    if (this.stateValue === 'stopped') return Promise.resolve()
    if (options.finish && this.stateValue === 'running') return this.finish(options.remove ?? false)
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
    return this.table.progress()
  }

  /** Everything a status view needs: lifecycle, progress, queue, agents and tasks. */
  status(): OrchestratorStatus {
    return {
      state: this.stateValue,
      ...(this.startedAt === undefined ? {} : { startedAt: this.startedAt }),
      uptimeMs: this.startedAt === undefined ? 0 : this.clock.now() - this.startedAt,
      progress: this.progress(),
      queue: { size: this.queue.size(), byRole: this.queue.sizes() },
      agents: (this.pool?.info() ?? []).map((info) => {
        const record = this.pool.record(info.name)
        const until = record && this.parking.until(record.agent.account ?? record.name)
        return until === undefined ? info : { ...info, parkedUntil: new Date(until).toISOString() }
      }),
      tasks: [...this.table.values()].map((record) => this.table.view(record)),
      ...(this.landing?.pushFailed ? { pushFailed: this.landing.pushFailed } : {}),
    }
  }

  /** One task's view, or undefined. */
  task(id: string): TaskView | undefined {
    const record = this.table.get(id)
    return record && this.table.view(record)
  }

  /**
   * One task as the run knows it, from whichever source it came (a copy: changing it changes
   * nothing), or undefined. Its status is the run's.
   */
  spec(id: string): Task | undefined {
    const task = this.table.get(id)?.task
    return task && structuredClone(task)
  }

  // ---------------------------------------------------------------- a person's commands

  /**
   * Runs a task again: back to `pending` (a running one is stopped first) with a fresh set of
   * `max_iterations` tries, as its source defines it now, keeping its history (iterations in all);
   * with `withDependents`, every task that depends on it, directly or not, too, so they build on
   * its new work. Its work lands again once complete. Resolves once the change is recorded.
   */
  rerun(id: string, options: { withDependents?: boolean } = {}): Promise<void> {
    return this.commands.rerun(id, options)
  }

  /** Starts a task over: back to `pending` with its iterations, attempts and last failure cleared. */
  reset(id: string): Promise<void> {
    return this.commands.reset(id)
  }

  /**
   * Settles a task by hand: `complete` (its dependents may start) or `failed` (they are blocked).
   * `landed`: its work is on the target already (a person landed it, or resolved its conflict,
   * by hand), so it is not landed: recorded as landed `by hand`.
   */
  mark(
    id: string,
    status: Extract<TaskStatus, 'complete' | 'failed'>,
    options: { landed?: boolean } = {},
  ): Promise<void> {
    return this.commands.mark(id, status, options)
  }

  /**
   * Lands, now, every complete task whose work has not landed, in dependency order (what
   * `tanuki land` asks of a running orchestrator, useful with `land.auto: false`), and asks the
   * lander again to move the target to landed work that waits for it. Resolves once nothing more
   * can land, with the work that still waits for the target (`held` empty when none does).
   */
  land(): Promise<LandResult> {
    return this.commands.land()
  }

  // ---------------------------------------------------------------- scheduling

  /** Stops once the tries under way end; resolves when the run has stopped. */
  private finish(remove: boolean): Promise<void> {
    this.finishRemoves ||= remove
    if (!this.finished.signal.aborted) {
      this.finished.abort('the run stops after the tries under way')
      const tasks: string[] = []
      for (const record of this.table.values()) {
        if (record.task.status !== 'assigned' && record.task.status !== 'in_progress') continue
        tasks.push(record.task.id)
        // Its try met a usage limit and waits for it to lift: none is under way. (Another agent of
        // its account may be parked while its own try goes on: that one ends, and is judged.)
        if (record.waitsOnPark) record.controller?.abort(new FinishingAbort())
      }
      this.bus.emit('orchestrator:finishing', { tasks })
      this.checkSettled()
    }
    return this.done().then(() => undefined)
  }

  /** Nothing runs, nothing waits that could run, nothing is being spawned: the project is settled. */
  private checkSettled(): void {
    if (this.stateValue !== 'running') return
    // Stopping once the tries under way end: they have.
    if (this.finished.signal.aborted) {
      if (this.scheduler.idle() && !this.stopping) this.stopping = this.shutdown(this.finishRemoves, 'stopped')
      return
    }
    if (!this.scheduler.settled()) return
    if (this.settledEmitted) return
    this.settledEmitted = true
    const progress = this.progress()
    this.bus.emit('project:settled', { allComplete: progress.complete === progress.total, progress })
    if (this.config.stopWhenSettled && !this.stopping) {
      this.stopping = this.shutdown(false, 'settled')
    }
  }

  private schedulePoll(): void {
    // Timers overflow past 2^31-1 ms and then fire at once: a huge interval means "almost never".
    this.cancelPoll = this.clock.setTimeout(
      () => {
        if (this.stateValue !== 'running') return
        this.scheduler.dispatchAll()
        this.checkSettled()
        // The target failed the gate by itself: a new commit to it may have fixed that.
        void this.landing?.recheck()
        this.schedulePoll()
      },
      Math.min(this.config.pollIntervalMs, MAX_TIMER_MS),
    )
  }

  // ---------------------------------------------------------------- lifecycle

  private setState(to: OrchestratorState): void {
    const from = this.stateValue
    this.stateValue = to
    this.bus.emit('orchestrator:state', { from, to })
  }

  /** Waits until the journal holds everything so far; false (and the run ends) when it cannot. */
  private async durable(): Promise<boolean> {
    try {
      await this.store.flush()
      return true
    } catch (error) {
      this.fatal(error)
      return false
    }
  }

  /** The run state cannot be recorded (a full disk, a folder gone): end the run, saying why. */
  private fatal(error: unknown): void {
    const problem = `the run's state could not be recorded: ${errorMessage(error)}`
    if (this.problems.includes(problem)) return
    this.problems.push(problem)
    this.bus.emit('orchestrator:error', { context: 'recording the run', message: problem })
    if (!this.stopping && this.stateValue === 'running') this.stopping = this.shutdown(false, 'failed')
  }

  private async shutdown(remove: boolean, reason: RunSummary['reason']): Promise<void> {
    this.setState('stopping')
    this.cancelPoll()
    for (const unsubscribe of this.unwatch.splice(0)) unsubscribe()
    this.summary = await windDown(
      {
        ...this.run,
        pool: this.pool,
        holds: this.holds,
        mirror: this.mirror,
        registry: this.registry,
        fatal: (e) => this.fatal(e),
      },
      remove,
      reason,
    )
    this.setState('stopped')
    // Last, so reporters see the final state before they close.
    await this.reporters?.close()
    for (const waiter of this.doneWaiters.splice(0)) waiter.resolve(this.summary)
  }
}

/** Creates an orchestrator; nothing runs until `start()`. */
export function createOrchestrator(options: OrchestratorOptions = {}): Orchestrator {
  return new Orchestrator(options)
}
