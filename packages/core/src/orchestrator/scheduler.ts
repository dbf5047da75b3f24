import type { Balancer } from '../balancer/index.ts'
import { abortError } from '../clock.ts'
import { usageOfError } from '../errors.ts'
import type { RunnerOutcome } from '../runner/index.ts'
import type { AgentPool, AgentRecord } from './agent-pool.ts'
import type { Commands } from './commands.ts'
import { FinishingAbort, iterationHooks } from './iteration-hooks.ts'
import type { TaskRecord } from './task-table.ts'
import { noTriesLeft } from './tries.ts'
import type { TaskRuns } from './task-runs.ts'
import type { RunContext } from './types.ts'
import type { VerifyHolds } from './verify-holds.ts'

/** What the scheduler needs of the run: its tables, its agents, and how a task's run goes. */
export type SchedulerContext = RunContext & {
  readonly pool: AgentPool
  readonly runs: TaskRuns
  readonly holds: VerifyHolds
  readonly balancer: Balancer
  /** A person's commands: one given while a task ran wins over the run's result. */
  readonly commands: Pick<Commands, 'takeOverride'>
  /**
   * A task's run is over: an edit of its file it could not take while it ran is taken now (also
   * when it is handed out again before its run's end is, see `handOut`).
   */
  readonly afterRun?: (record: TaskRecord) => void
}

/**
 * Moves tasks from ready to running: queues a task once nothing keeps it back (a dependency's
 * work on another branch, a verify that cannot run), hands queued tasks to idle agents through the
 * balancer, runs each on its agent and hands the end of its run to `TaskRuns`. Driven by events
 * (a completion, an idle agent, a lifted limit), not by a clock.
 */
export class Scheduler {
  constructor(private readonly ctx: SchedulerContext) {}

  /**
   * Queues a task if it is pending and nothing keeps it back, and asks for agents of its role
   * while the run is on; with a `task:queued` event unless `quiet`.
   */
  enqueue(id: string, quiet = false): void {
    const { table, queue, bus, holds } = this.ctx
    const record = table.get(id)
    if (!record || record.task.status !== 'pending') return
    // Its tries of this run of it are spent, the last with a verdict (or a crash cut off the one
    // more try a last try without one gets): no agent is paid for more. A rerun gives fresh ones.
    const spent = noTriesLeft(record)
    if (spent) {
      table.setStatus(record, 'review', { reason: spent })
      // It was to try its verify again for the tasks that wait with it: another does.
      holds.stepDown(record)
      // At load, `project:loaded` tells it with the rest.
      if (!quiet) bus.emit('task:review', { taskId: id, agent: '', reason: spent, iterations: record.iterations })
      return
    }
    const { role, priority } = record.task
    // A dependency's work waits for another branch: this one would start, and land, without it.
    const elsewhere = this.ctx.landing()?.dependencyElsewhere(record)
    if (elsewhere !== undefined) {
      table.explain(record, `waits: ${elsewhere}`)
      return
    }
    // Its verify cannot run where the role's agents work: an agent's run would be paid for nothing.
    // (One task of a verify tried again goes, to try it first: one that can start.)
    if (!holds.admits(record)) return
    if (!queue.enqueue({ id, role, priority })) return
    if (!quiet) bus.emit('task:queued', { taskId: id, role, priority, queueSize: queue.size() })
    // Ready now, but its role is paused: it waits for the fix the others of its role wait for.
    const paused = this.ctx.pool.role(role)?.paused
    if (paused !== undefined) table.explain(record, `waits: ${paused}`)
    if (this.ctx.state() === 'running' && !this.ctx.finished.aborted) this.ctx.pool.ensure(role)
  }

  dispatchAll(): void {
    for (const role of this.ctx.queue.roles()) this.dispatch(role)
  }

  /** Hands queued tasks of a role to its idle agents; then, under `maxAgents`, moves places to where work waits. */
  dispatch(role: string): void {
    this.handOut(role)
    if (this.ctx.state() === 'running' && !this.ctx.budgets.exhausted && !this.ctx.finished.aborted)
      this.ctx.pool.rebalance()
  }

  /**
   * Fails queued work whose role has no agent and none on the way (it could never run), then
   * says whether the project is settled: nothing runs, nothing waits that could run, nothing is
   * being spawned.
   */
  settled(): boolean {
    const { table, queue, pool, budgets } = this.ctx
    if (!this.idle()) return false
    for (const [role, state] of pool.roles()) if (state.spawning > 0 && queue.size(role) > 0) return false
    // A role configured with 0 agents is paused on purpose: its work waits in the queue.
    let paused = 0
    for (const role of [...queue.roles()]) {
      // A role whose agents are not asked for yet (start-up spawns them role by role) still may.
      const state = pool.role(role)
      if (!state) continue
      // Paused on purpose (0 agents), by its configuration (its agents cannot start), or the run's
      // budget is spent: its work waits in the queue, unharmed.
      if (state.count === 0 || state.paused || budgets.exhausted) {
        paused += queue.size(role)
        continue
      }
      if (state.live > 0 || state.spawning > 0 || state.waiting > 0) continue
      const why = state.lastSpawnError ?? 'no agent could be started'
      for (let item = queue.dequeue(role); item; item = queue.dequeue(role)) {
        table.fail(table.get(item.id)!, `no agent of role "${role}" is running: ${why}`)
      }
    }
    return queue.size() <= paused
  }

  /** No task holds an agent, no task's run is ending, nothing lands. */
  idle(): boolean {
    return this.ctx.table.inFlight() === 0 && !this.ctx.runs.busy() && !this.ctx.landing()?.busy()
  }

  /** Hands queued tasks of a role to its idle agents, as long as both last. */
  private handOut(role: string): void {
    const { table, queue, pool, parking, balancer } = this.ctx
    if (this.ctx.state() !== 'running' || this.ctx.budgets.exhausted || this.ctx.finished.aborted) return
    const state = pool.role(role)
    if (!state || state.paused) return
    const idle = state.idle
    while (idle.size > 0) {
      const item = queue.peek(role)
      if (!item) return
      // A dependency went back to pending (a rerun, a failed landing) after this was queued: it
      // waits again, and is queued anew once the dependency completes.
      if (!table.resolver.isReady(item.id)) {
        queue.dequeue(role)
        continue
      }
      const record = table.get(item.id)!
      // Its file was edited while it last ran (its role, priority, dependencies): taken before it
      // starts again, which can come before that run's end is (a rerun, a lost agent hand it out
      // at once). It may belong to another queue now, or wait.
      if (record.edited) {
        this.ctx.afterRun?.(record)
        if (!record.edited) continue
      }
      // Parked agents (their account hit a limit) take no work until it lifts.
      const free = [...idle].filter((candidate) => !parking.isParked(candidate))
      const chosen = balancer.pick(record.task, free) as AgentRecord | undefined
      if (!chosen) return
      queue.dequeue(role)
      this.assign(record, chosen)
    }
  }

  private assign(record: TaskRecord, agent: AgentRecord): void {
    this.ctx.pool.take(agent, record.task.id)
    this.ctx.table.setStatus(record, 'assigned', { agent: agent.name })
    this.ctx.bus.emit('task:assigned', { taskId: record.task.id, agent: agent.name, role: agent.role })
    record.running = this.execute(record, agent).finally(() => this.ctx.afterRun?.(record))
  }

  private async execute(record: TaskRecord, agent: AgentRecord): Promise<void> {
    const { runs } = this.ctx
    const controller = new AbortController()
    record.controller = controller
    this.ctx.table.setStatus(record, 'in_progress', { agent: agent.name })
    const started = this.ctx.clock.monotonic()
    let outcome: RunnerOutcome | undefined
    let failure: unknown
    const iteration = iterationHooks({ ...this.ctx, record, agent, signal: controller.signal })
    try {
      outcome = await runs.loop(record, agent, controller.signal, iteration.hooks)
    } catch (error) {
      failure = error
    } finally {
      record.controller = undefined
    }
    // A try cut short (by a command, a stop, a crash) still holds its share of the budgets, and
    // what it spent before is spent: the status change that ends it tells reporters.
    const spent = usageOfError(failure)
    if (spent) record.untold = spent
    let cutShort = iteration.release(spent)
    // A person asked for something else while it ran (rerun, reset, mark): that wins over its result.
    if (this.overridden(record, agent)) return
    // A stop or crash that landed while verify ran can make the loop end with a verdict on a
    // half-finished try (a killed verify reads as a timeout or the last failed try): not a result.
    if (failure === undefined && controller.signal.aborted) {
      failure = abortError(controller.signal)
      // Its verdict is not one: the try was cut short all the same.
      cutShort = true
    }
    if (failure !== undefined) {
      // Ended by a run that stops after the tries under way (it waited for a limit): not a lost agent.
      const finished = controller.signal.reason instanceof FinishingAbort
      runs.lost(record, agent, failure, controller.signal.aborted, cutShort, finished)
    } else await runs.finished(record, agent, outcome!, started, () => this.overridden(record, agent))
  }

  /**
   * Applies, instead of the run's result, a command a person gave while the task was in flight
   * (its loop ran, or its work was being published): true when there was one.
   */
  private overridden(record: TaskRecord, agent: AgentRecord): boolean {
    const override = this.ctx.commands.takeOverride(record.task.id)
    if (!override) return false
    agent.taskId = undefined
    if (agent.status === 'busy') this.ctx.pool.release(agent)
    override()
    this.dispatchAll()
    this.ctx.checkSettled()
    return true
  }
}
