import type { AgentFailure, ExecResult } from '../agent/types.ts'
import { abortError } from '../clock.ts'
import { errorMessage, isTanukiError } from '../errors.ts'
import { lastLines } from '../output.ts'
import { roleSetup, type RoleSetup } from '../plugin/roles.ts'
import { Runner, type RunnerHooks, type RunnerOutcome } from '../runner/index.ts'
import type { CutOffNote, PromptFeedback, PromptNote } from '../runner/prompt.ts'
import type { Task } from '../task/types.ts'
import { Validator, verifyUnrunnable } from '../validator/index.ts'
import type { AgentPool, AgentRecord } from './agent-pool.ts'
import type { TaskRecord } from './task-table.ts'
import { graceTry, triesSpent, verdictless } from './tries.ts'
import type { RunContext } from './types.ts'
import type { VerifyHolds } from './verify-holds.ts'
import { VerifyPreflight } from './verify-preflight.ts'

/** What a task's run may touch of the run, and ask of it; and the agents. */
export type TaskRunContext = Pick<
  RunContext,
  | 'config'
  | 'table'
  | 'queue'
  | 'bus'
  | 'clock'
  | 'problems'
  | 'state'
  | 'landing'
  | 'enqueue'
  | 'dispatch'
  | 'dispatchAll'
  | 'checkSettled'
  | 'durable'
  | 'finished'
> & {
  readonly pool: AgentPool
  /** The verify commands that cannot run where a role's agents work, and the tasks they hold. */
  readonly holds: VerifyHolds
}

/**
 * A task's run on an agent: how it starts (from the landed work, with what the agent must know)
 * and what becomes of it once the loop is over: complete (recorded before its dependents start),
 * review, failed, waiting (the loop halted without judging it), or back in the queue after its
 * agent was lost.
 */
export class TaskRuns {
  /** Completions whose dependents wait for the completion's write: the run is not settled yet. */
  private releasing = 0
  /** The loop of iterations, each checked against the task's completion criteria. */
  private readonly runner: Runner
  /** Looks for a verify's program where the agent works, before the agent is paid to work. */
  private readonly preflight: VerifyPreflight

  constructor(private readonly ctx: TaskRunContext) {
    const { config } = ctx
    this.preflight = new VerifyPreflight(config.verifyTimeoutMs)
    this.runner = new Runner({
      validator: new Validator({ verifyTimeoutMs: config.verifyTimeoutMs }),
      clock: ctx.clock,
      cooldownMs: config.cooldownMs,
      maxCooldownMs: config.maxCooldownMs,
      iterationTimeoutMs: config.iterationTimeoutMs,
      stallTimeoutMs: config.stallTimeoutMs,
      sameFailureLimit: config.sameFailureLimit,
    })
  }

  /** Begins the task on the agent, then loops it until the runner has a verdict (or halts). */
  async loop(record: TaskRecord, agent: AgentRecord, signal: AbortSignal, hooks: RunnerHooks): Promise<RunnerOutcome> {
    const { table, bus } = this.ctx
    const task = record.task
    let notes: PromptNote[] = record.feedback ? [record.feedback] : []
    const base = this.ctx.landing()?.base
    const start = await agent.agent.beginTask?.(task, {
      ...(base ? { base } : {}),
      // A dependency whose task is gone after it completed has nothing more to bring.
      unlanded: unlandedDependencies(task, (id) => table.get(id)).filter((id) => !table.gone(id)),
      carry: record.feedback !== undefined,
    })
    if (start?.conflict?.own && record.feedback?.kind === 'conflict') {
      // The landing's conflict met again, now where the agent resolves it: one conflict, said once
      // (at landing), and one section of the prompt, with the files and diff of the merge in progress.
      const { own: _own, ...conflict } = start.conflict
      notes = [{ ...conflict, kind: 'conflict' }]
    } else if (start?.conflict) {
      bus.emit('task:conflict', { taskId: task.id, files: start.conflict.files, what: start.conflict.what })
      const { own: _own, ...conflict } = start.conflict
      notes.push({ ...conflict, kind: 'merge' })
    }
    // The workspace as the task starts it (landed work, dependencies) gets what it needs to run
    // (node_modules, a venv) before an agent is paid to work in it.
    const setup = roleSetup(this.ctx.config, task.role)
    if (setup) {
      // Only a workspace of landed work alone blames the setup on the configuration: one that holds
      // a merge to resolve, this task's own earlier work or unlanded dependencies' may be why it failed.
      const ownWork =
        start?.conflict !== undefined ||
        record.feedback !== undefined ||
        record.iterations > 0 ||
        task.dependsOn.some((dep) => !table.dependencyLanded(dep))
      const failure = await this.setUp(record, agent, setup, signal, ownWork)
      if (failure) {
        const validation = { outcome: 'retry' as const, reason: failure.cause, failure }
        return { status: 'halted', iterations: 0, reason: failure.cause, validation, failure }
      }
    }
    // Its verify held it (it could not run here): tried again, free, before the agent is paid.
    // Else its program is looked for there, free: one missing would fail every try (a typo).
    // A hold that came after its last try: a verify that passes now completes it, no agent paid.
    // One that fails is no verdict: the work it saw may not be that try's (a resume's agent
    // works elsewhere), so the last try runs again, judged as any.
    const judge = verdictless(record) === 'held' && graceTry(record)
    const held = this.ctx.holds.of(record) ? await this.tryVerify(record, agent, signal) : undefined
    const failure = held ? held.failure : await this.preflight.check(task, agent.agent, signal)
    if (failure) {
      const validation = { outcome: 'retry' as const, reason: failure.cause, failure }
      return { status: 'halted', iterations: 0, reason: failure.cause, validation, failure }
    }
    if (judge && held?.ran?.exitCode === 0 && !held.ran.timedOut) return passed(record, held.ran)
    // A task whose loop starts again goes on counting the tries of this run of it (since a
    // person's rerun): after a failed landing, a lost agent, a halt, a stop or a crash (a resume).
    // With none left it gets here only when its last had no verdict (`noTriesLeft`): it runs as
    // its last try again, once (a lost agent's, up to retryLimit).
    const spent = triesSpent(record)
    const max = task.completion.maxIterations
    // Tries already spent on another agent, or before a crash: the first prompt says why the last
    // judged one did not pass (and that a try was cut off, if one was), as the next one would have.
    const told = spent > 0 ? toldOfEarlierTries(record, graceTry(record)) : {}
    if (told.cutOff) notes = [{ ...told.cutOff, ...(start?.carried ? { carried: true } : {}) }, ...notes]
    return this.runner.run(task, agent.agent, {
      ...(spent > 0 ? { firstIteration: Math.min(spent + 1, max) } : {}),
      ...(told.previous ? { previous: told.previous } : {}),
      // An edit of its file while it runs (title, body, completion) applies from then on.
      definition: () => record.task,
      // The run stops once the tries under way end: a try that failed does not wait out its pause.
      halt: this.ctx.finished,
      notes,
      signal,
      hooks,
    })
  }

  /**
   * Runs the role's `setup` where verify runs (the agent's `exec`: its worktree, its container),
   * its output for the task's log (`task:setup`). One that fails is the role's configuration, not
   * the task's, and would fail again at every task start: returns a `could-not-start` that blames
   * the configuration, so the role pauses, unless a merge the agent is to resolve is left in the
   * workspace (its conflict markers may well be why: the agent works on, and may run it itself).
   */
  private async setUp(
    record: TaskRecord,
    agent: AgentRecord,
    setup: RoleSetup,
    signal: AbortSignal,
    ownWork: boolean,
  ): Promise<AgentFailure | undefined> {
    const { bus, config, clock } = this.ctx
    const { task } = record
    const started = clock.monotonic()
    let ran: ExecResult
    let error: string | undefined
    try {
      ran = await agent.agent.exec(setup.command, { timeoutMs: config.verifyTimeoutMs, signal, setup: true })
    } catch (thrown) {
      if (signal.aborted) throw abortError(signal)
      // The agent could not run a command at all (its container died): the agent is lost, as in
      // an iteration, and the task goes to another; not the setup's fault.
      if (!isTanukiError(thrown, 'TANUKI_CONFIG_INVALID')) throw thrown
      error = errorMessage(thrown)
      ran = { exitCode: null, output: error, timedOut: false, durationMs: clock.monotonic() - started }
    }
    // A stop or a person's command while it ran: no verdict on the setup, nor on the role.
    if (signal.aborted) throw abortError(signal)
    bus.emit('task:setup', {
      taskId: task.id,
      agent: agent.name,
      role: task.role,
      command: setup.command,
      exitCode: ran.exitCode,
      output: ran.output,
      timedOut: ran.timedOut,
      durationMs: ran.durationMs,
      ...(ran.leftOut?.length ? { leftOut: ran.leftOut } : {}),
    })
    if ((ran.exitCode === 0 && !ran.timedOut) || ownWork) return undefined
    const what = error
      ? `could not run (${error})`
      : ran.timedOut
        ? `timed out after ${config.verifyTimeoutMs} ms (verifyTimeoutMs)`
        : `exited ${ran.exitCode ?? 'without a code'}`
    const where =
      agent.agent.runsIn ??
      `the workspace of agent ${agent.name}${agent.agent.workspace ? ` (${agent.agent.workspace})` : ''}`
    const tail = error ? '' : lastLines(ran.output)
    const cause =
      `setup \`${setup.command}\` ${what} in ${where}, before task ${task.id}` +
      `${tail ? `: ${tail}` : ''}. No agent ran; every task of role "${task.role}" would meet it. ` +
      `Correct \`${setup.key}\` (or what it needs); \`tanuki logs ${task.id}\` has its output`
    return { class: 'could-not-start', config: true, cause }
  }

  /**
   * Runs the verify of a task it held where the agent works (its worktree, readied by the setup;
   * its container), before the agent's first paid run: when it still cannot run, returns that
   * failure (the task is held again, no agent ran); else its hold is over, and the tasks it held
   * are queued again (`verify:unblocked`). What it found of the work is the agent's to see: it
   * runs again after the agent's try.
   */
  private async tryVerify(
    record: TaskRecord,
    agent: AgentRecord,
    signal: AbortSignal,
  ): Promise<{ failure?: AgentFailure; ran?: ExecResult }> {
    const command = record.task.completion.verify!
    const ran = await agent.agent.exec(command, { timeoutMs: this.ctx.config.verifyTimeoutMs, signal })
    if (signal.aborted) throw abortError(signal)
    const wall = ran.timedOut ? undefined : verifyUnrunnable(command, ran, agent.agent.runsIn)
    if (wall) return { failure: wall }
    for (const id of this.ctx.holds.release(record)) this.ctx.enqueue(id)
    this.ctx.dispatchAll()
    return { ran }
  }

  /** Whether a completion waits for the journal: the run is not settled while one does. */
  busy(): boolean {
    return this.releasing > 0
  }

  /**
   * The loop ended with a verdict (or halted); `started` is when the run began (monotonic ms).
   * `overridden` applies a person's command given since, if any, instead of the verdict: true then.
   */
  async finished(
    record: TaskRecord,
    agent: AgentRecord,
    outcome: RunnerOutcome,
    started: number,
    overridden: () => boolean,
  ): Promise<void> {
    const { table, pool, bus, clock } = this.ctx
    const task = record.task
    let result = outcome
    // Stopped before an iteration (a budget): that is its last failure too.
    const last = result.failure
    if (last && last.cause !== record.lastError?.cause) {
      table.note(record, { lastError: { class: last.class, cause: last.cause, at: clock.now() } })
    }
    if (result.status === 'halted') {
      this.halted(record, agent, result)
      return
    }
    if (agent.agent.endTask) {
      try {
        await agent.agent.endTask(task, { status: result.status as 'complete' | 'review' | 'failed' })
      } catch (error) {
        // The work passed its checks but could not be published (e.g. a merge conflict): a person decides.
        if (result.status === 'complete') {
          result = {
            ...result,
            status: 'review',
            reason: `passed, but its work could not be published: ${errorMessage(error)}`,
          }
        } else {
          bus.emit('orchestrator:error', {
            context: `ending ${task.id} on ${agent.name}`,
            message: errorMessage(error),
          })
        }
      }
    }
    // The task is still in flight while its work is published, so a command (rerun, reset, mark)
    // given meanwhile waited for it, as it would have during the loop: it wins over the verdict.
    if (overridden()) return
    agent.taskId = undefined
    agent.lastFinishedAt = clock.now()
    if (result.status === 'complete') {
      pool.succeeded(agent)
      const ready = table.setStatus(record, 'complete', { agent: agent.name, reason: result.reason })
      pool.release(agent)
      // Complete means recorded: the event, and any dependent, waits for the journal to hold it,
      // so a crash can never rerun a task people saw complete, or run a dependent against
      // work a restart would consider unfinished.
      this.releasing++
      const durable = await this.ctx.durable()
      this.releasing--
      if (!durable) return
      // Complete, it took a person's command at once (rerun, reset, marked failed) while the
      // journal was written: theirs stands, and this completion releases nothing, not even its news.
      if (record.task.status !== 'complete') {
        this.ctx.checkSettled()
        return
      }
      bus.emit('task:completed', {
        taskId: task.id,
        agent: agent.name,
        iterations: record.iterations,
        durationMs: clock.monotonic() - started,
      })
      if (record.feedback) table.note(record, { feedback: null })
      if (this.ctx.config.land.auto) this.ctx.landing()?.add(task.id)
      for (const id of ready) this.ctx.enqueue(id)
      for (const id of ready) this.ctx.dispatch(table.get(id)!.task.role)
    } else if (result.status === 'review') {
      table.setStatus(record, 'review', { agent: agent.name, reason: result.reason })
      bus.emit('task:review', {
        taskId: task.id,
        agent: agent.name,
        reason: result.reason,
        iterations: record.iterations,
      })
      pool.release(agent)
    } else {
      table.fail(record, result.reason, agent.name)
      pool.release(agent)
    }
    this.ctx.checkSettled()
  }

  /**
   * The agent's run ended in an error: it crashed, failed, or the run is stopping. `cutShort`: an
   * iteration was under way. `finished`: the run, stopping after the tries under way, ended it
   * (it waited for a usage limit to lift): no agent was lost.
   */
  lost(
    record: TaskRecord,
    agent: AgentRecord,
    error: unknown,
    aborted: boolean,
    cutShort = false,
    finished = false,
  ): void {
    const { table, pool, bus, clock } = this.ctx
    const task = record.task
    agent.taskId = undefined
    if ((this.ctx.state() === 'stopping' || finished) && aborted) {
      // A try a stop cut short had no verdict: not a try, as one a rate limit cuts short is not.
      if (cutShort) table.note(record, { iterations: record.iterations - 1 })
      table.setStatus(record, 'pending', { reason: 'run stopped; it will start over' })
      if (finished) {
        pool.release(agent)
        this.ctx.checkSettled()
      }
      return
    }
    const crashed = agent.status === 'crashed' || isTanukiError(error, 'TANUKI_AGENT_CRASHED')
    if (crashed) pool.crashed(agent, errorMessage(error))
    const what = crashed ? `agent ${agent.name} crashed` : `agent ${agent.name} failed`
    // The agent's error often says who already (`agent dev-1 crashed: …`): said once.
    const message = errorMessage(error)
    const reason = message.startsWith(what) ? message : `${what}: ${message}`
    table.note(record, {
      attempts: record.attempts + 1,
      lastError: {
        class: crashed ? 'crashed' : 'agent-error',
        cause: reason,
        iteration: record.iterations,
        at: clock.now(),
      },
    })
    if (record.attempts > this.ctx.config.retryLimit) {
      table.fail(record, `${reason} (gave up after ${record.attempts} lost attempts)`, agent.name)
    } else {
      const ready = table.setStatus(record, 'pending', { reason })
      bus.emit('task:requeued', { taskId: task.id, agent: agent.name, reason, attempt: record.attempts })
      for (const id of ready) this.ctx.enqueue(id)
    }
    if (!crashed) pool.release(agent)
    this.ctx.dispatchAll()
    this.ctx.checkSettled()
  }

  /**
   * The loop stopped without judging the task: its role cannot start agents (a binary, a flag,
   * credentials: the role is paused until that is fixed), its verify cannot run where the agent
   * works (the tasks with the same verify wait with it), or the run's budget is spent. The task
   * waits, unharmed; a try that ran (the agent worked, then verify could not run) stays counted.
   */
  private halted(record: TaskRecord, agent: AgentRecord, outcome: RunnerOutcome): void {
    agent.taskId = undefined
    const failure = outcome.failure
    let cause = failure?.cause ?? outcome.reason
    if (failure?.class === 'could-not-start') this.pauseRole(record.task.role, cause)
    if (failure?.unrunnable) cause = this.ctx.holds.hold(record, failure.unrunnable)
    const ready = this.ctx.table.setStatus(record, 'pending', { reason: `waits: ${cause}` })
    // Queued again, unless its verify is what cannot run (then it waits outside the queue).
    for (const id of [record.task.id, ...ready]) this.ctx.enqueue(id)
    this.ctx.pool.release(agent)
    this.ctx.checkSettled()
  }

  /** A role whose configuration keeps its agents from starting takes no more work; said once. */
  pauseRole(role: string, cause: string): void {
    const state = this.ctx.pool.role(role)
    if (!state || state.paused) return
    state.paused = cause
    this.ctx.problems.push(`role "${role}" is paused: ${cause}`)
    this.ctx.bus.emit('role:paused', { role, cause })
    // Its queued tasks wait for the same fix: each says so (status, the run's end), not only the
    // one that tried, so what needs a person is said once per cause with every task under it.
    const { table, queue } = this.ctx
    for (const record of table.values()) {
      if (record.task.role === role && record.task.status === 'pending' && queue.contains(record.task.id))
        table.explain(record, `waits: ${cause}`)
    }
  }
}

/**
 * The verdict on the work of a task's last try, whose verify could not run then and passed now
 * (its signal, if any, was found then: the verify runs only after it): complete, no agent paid.
 */
function passed(record: TaskRecord, ran: ExecResult): RunnerOutcome {
  const command = record.task.completion.verify!
  const reason = `verify passed: ${command} (on the work of its last try, which it could not judge then)`
  return {
    status: 'complete',
    iterations: 0,
    reason,
    validation: { outcome: 'complete', reason, verify: { ...ran, command } },
  }
}

/**
 * What a loop that starts again on a task with tries spent in this run of it tells the agent of
 * them (the runner's own feedback starts empty on a new agent): why the last judged try did not
 * pass (from the journal's `lastTry`), and that the latest try was cut off without a verdict (a
 * crash, a lost agent), when it was. `again`: that cut-off try runs once more (`graceTry`).
 */
export function toldOfEarlierTries(
  record: Pick<TaskRecord, 'iterations' | 'triesFrom' | 'lastError' | 'heldBy' | 'lastTry'>,
  again: boolean,
): { previous?: PromptFeedback; cutOff?: CutOffNote } {
  const told: { previous?: PromptFeedback; cutOff?: CutOffNote } = {}
  const last = record.lastTry
  // A try of an earlier run of it (before a person's rerun) is its history, not this run's.
  if (last && last.iteration > (record.triesFrom ?? 0)) {
    const verify = last.verify && { ...last.verify, durationMs: 0 }
    told.previous = {
      iteration: last.iteration,
      validation: { outcome: 'retry', reason: last.reason, ...(verify ? { verify } : {}) },
    }
  }
  const how = verdictless(record)
  const error = record.lastError
  // Lost after its try was judged (in the pause before the next): that try had its verdict.
  const judged = last !== undefined && last.iteration === error?.iteration
  const latest = error?.iteration !== undefined && error.iteration > 0 && error.iteration === record.iterations
  if ((how === 'crash' || how === 'lost') && error?.iteration !== undefined && latest && !judged) {
    told.cutOff = {
      kind: 'cut-off',
      iteration: error.iteration,
      how,
      ...(how === 'lost' ? { cause: error.cause } : {}),
      ...(again ? { again: true } : {}),
    }
  }
  return told
}

/**
 * The dependencies of a task whose work has not landed, theirs too (a task's work holds only its
 * own change, not its dependencies'), each after the ones it builds on. A landed dependency ends
 * the walk: landing goes in dependency order, so what it builds on has landed before it.
 */
export function unlandedDependencies(
  task: Pick<Task, 'dependsOn'>,
  recordOf: (id: string) => Pick<TaskRecord, 'landed' | 'task'> | undefined,
): string[] {
  const order: string[] = []
  const seen = new Set<string>()
  // Depth first, without recursion (a long chain of tasks not landed, `land.auto: false`).
  const stack: { id: string; expanded: boolean }[] = [...task.dependsOn]
    .reverse()
    .map((id) => ({ id, expanded: false }))
  while (stack.length > 0) {
    const top = stack.pop()!
    if (top.expanded) {
      order.push(top.id)
      continue
    }
    if (seen.has(top.id)) continue
    seen.add(top.id)
    const record = recordOf(top.id)
    if (record?.landed) continue
    stack.push({ id: top.id, expanded: true })
    for (const dep of [...(record?.task.dependsOn ?? [])].reverse())
      if (!seen.has(dep)) stack.push({ id: dep, expanded: false })
  }
  return order
}
