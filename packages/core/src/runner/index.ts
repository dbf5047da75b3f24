import type { Agent, AgentFailure, Awaitable, OutputChunk, RunResult } from '../agent/types.ts'
import { abortError, sleep, systemClock, type Clock } from '../clock.ts'
import { isTanukiError, usageOfError } from '../errors.ts'
import type { Task } from '../task/types.ts'
import type { Validation, Validator } from '../validator/index.ts'
import { buildPrompt, type PromptFeedback, type PromptNote } from './prompt.ts'

export { buildPrompt, type CutOffNote, type PromptFeedback, type PromptNote } from './prompt.ts'

export interface RunnerOptions {
  validator: Validator
  clock?: Clock
  /** Pause after the first failed try, in ms; doubled after each one in a row. Default 1000. */
  cooldownMs?: number
  /** The longest pause between tries, in ms. Default 5 minutes. */
  maxCooldownMs?: number
  /** Longest one iteration may run; past it the agent is aborted and the try counts as `timeout`. */
  iterationTimeoutMs?: number
  /** An iteration with no output for this long is ended as `stalled`. Default: no stall check. */
  stallTimeoutMs?: number
  /** The same failure this many tries in a row sends the task to review. Default 3. */
  sameFailureLimit?: number
}

/** Callbacks through which the loop reports each iteration and asks what it may do. */
export interface RunnerHooks {
  onIterationStart?(iteration: number, prompt: string): void
  onOutput?(iteration: number, chunk: OutputChunk): void
  onIterationEnd?(iteration: number, result: RunResult, validation: Validation, durationMs: number): void
  /**
   * Before each iteration: what it may spend (reserved from the budgets), or why it may not run.
   * `halt`: the task is not to blame (the run's budget is spent): it waits, unjudged.
   */
  beforeIteration?(iteration: number): Awaitable<IterationGrant | { stop: AgentFailure; halt?: boolean }>
  /** The agent hit a rate or usage limit: resolves when work may go on (its account parked until then). */
  onRateLimited?(failure: AgentFailure): Promise<void>
}

/** What an iteration may spend. */
export interface IterationGrant {
  budget?: { usd?: number; tokens?: number }
}

/** How the loop ended. */
export interface RunnerOutcome {
  /**
   * `halted`: the loop stopped without judging the task (its role cannot start agents, its verify
   * cannot run where the agent works, or the run's budget is spent): it goes back to waiting.
   */
  status: 'complete' | 'review' | 'failed' | 'halted'
  /** Iterations run in this call. */
  iterations: number
  reason: string
  validation: Validation
  /** Why it did not complete, when it did not. */
  failure?: AgentFailure
}

/** One run of the loop. */
export interface RunOptions {
  signal: AbortSignal
  hooks?: RunnerHooks
  /**
   * The number of the first iteration (default 1). A task whose loop starts again (its work came
   * back from a failed landing, its agent was lost, the run stopped or crashed) goes on counting,
   * so `max_iterations` bounds all the tries of one run of it.
   */
  firstIteration?: number
  /** What the first prompt must tell the agent to deal with first (a merge in progress, a failed landing). */
  notes?: readonly PromptNote[]
  /**
   * Why the try before the first one did not pass, when the loop starts again after it (on a new
   * agent, after a crash): the first prompt says it, as the loop's own next prompt would have.
   */
  previous?: PromptFeedback
  /**
   * The task's definition as it stands now, read before each prompt and each judgement: an edit
   * made while the task runs (its title, body, verify, signal, max_iterations) applies from then
   * on. Default: the task passed to `run`, throughout.
   */
  definition?: () => Task
  /**
   * Aborted when the loop is to begin no new try (the run stops once the tries under way end): the
   * pause between tries ends at once, and `beforeIteration` says why the loop halts.
   */
  halt?: AbortSignal
}

/** Why an iteration ended early, when it did. */
type EndedEarly = 'timeout' | 'stalled' | undefined

/**
 * A text without what changes from run to run though nothing else did: dates and clock times,
 * durations (`1.23s`, `(120ms)`, `in 0.12s`) and what is named after them (npm's dated log file).
 * Test runners end their output with these, so without this no verify failure was ever the same
 * one twice, and `sameFailureLimit` never spared a try. Counts stay: fewer failing tests is
 * progress, not the same failure.
 */
function steadyText(text: string): string {
  return text
    .replace(/\d{4}-\d{2}-\d{2}[T_ ]\d{2}[:_]\d{2}[:_]\d{2}(?:[._]\d+)?Z?/g, '<time>')
    .replace(/\b\d{1,2}:\d{2}:\d{2}(?:\.\d+)?\b/g, '<time>')
    .replace(/\b\d+(?:\.\d+)?[ \t]?(?:ns|µs|us|ms|s|secs?|seconds?|m|mins?|minutes?|h)\b/g, '<duration>')
}

/**
 * The loop that keeps an agent on a task until its completion criteria pass: build the prompt,
 * run the agent, validate, cool down (longer after each failure in a row), try again, until
 * complete, `failed`, or `max_iterations` tries (then `review`). Failures are classified: one that
 * no try can fix (the agent never started, verify cannot run) ends the loop at once (`halted` when
 * the task is not to blame: the role's configuration, a verify program missing); a rate limit
 * waits for the limit and repeats the try without counting it; the same failure several tries in
 * a row goes to review. Abortable; an agent crash propagates to the caller as the agent's error.
 *
 * @example
 * const runner = new Runner({ validator: new Validator(), cooldownMs: 0 })
 * const outcome = await runner.run(task, agent, { signal })
 */
export class Runner {
  private readonly validator: Validator
  private readonly clock: Clock
  private readonly cooldownMs: number
  private readonly maxCooldownMs: number
  private readonly iterationTimeoutMs: number | undefined
  private readonly stallTimeoutMs: number | undefined
  private readonly sameFailureLimit: number

  constructor(options: RunnerOptions) {
    this.validator = options.validator
    this.clock = options.clock ?? systemClock
    this.cooldownMs = options.cooldownMs ?? 1000
    this.maxCooldownMs = options.maxCooldownMs ?? 5 * 60_000
    this.iterationTimeoutMs = options.iterationTimeoutMs
    this.stallTimeoutMs = options.stallTimeoutMs
    this.sameFailureLimit = options.sameFailureLimit ?? 3
  }

  async run(task: Task, agent: Agent, options: RunOptions): Promise<RunnerOutcome> {
    const { signal, hooks = {} } = options
    const now = (): Task => options.definition?.() ?? task
    const first = options.firstIteration ?? 1
    let feedback: PromptFeedback | undefined = options.previous
    let failedInARow = 0
    /** Outages in a row for this task (see `AgentFailure.outage`). */
    let outages = 0
    let same = { key: '', count: 0 }
    for (let iteration = first; ; ) {
      if (signal.aborted) throw abortError(signal)
      // Its max_iterations lowered (an edit) below this try: none left, and none numbered past it.
      const { maxIterations } = now().completion
      if (iteration > maxIterations) {
        const last = feedback?.validation
        const said = last ? `${last.reason.replace(/; no tries left \(\d+\)$/, '')}; ` : ''
        const reason = `${said}no tries left (${maxIterations}: max_iterations was lowered while it ran)`
        const validation: Validation = { ...(last ?? {}), outcome: 'review', reason }
        const failure = validation.failure
        return { status: 'review', iterations: iteration - first, reason, validation, ...(failure ? { failure } : {}) }
      }
      const grant = (await hooks.beforeIteration?.(iteration)) ?? {}
      if ('stop' in grant) {
        const status = grant.halt ? 'halted' : 'review'
        const validation: Validation = {
          outcome: grant.halt ? 'retry' : 'review',
          reason: grant.stop.cause,
          failure: grant.stop,
        }
        return { status, iterations: iteration - first, reason: grant.stop.cause, validation, failure: grant.stop }
      }
      // A stop or a person's command may have come while the grant was awaited.
      if (signal.aborted) throw abortError(signal)
      const current = now()
      const prompt = buildPrompt(current, iteration, feedback, iteration === first ? options.notes : [])
      hooks.onIterationStart?.(iteration, prompt)
      const started = this.clock.monotonic()
      const { result, ended } = await this.runOnce(current, agent, prompt, iteration, signal, hooks, grant.budget)
      // Judged by the definition as it stands once the agent is done: a verify a person corrected
      // while the agent worked judges this try, not only the next.
      const judged = now()
      const max = judged.completion.maxIterations
      let validation = ended
        ? this.endedEarly(ended, iteration >= max)
        : await this.validator.validate({ task: judged, agent, result, iteration, signal })
      // An outage waits uncounted, as a limit does; one that meets this task try after try (its
      // request alone fails) would be paid for forever: past the limit, the try counts.
      const outage = validation.failure?.class === 'rate-limited' && validation.failure.outage === true
      outages = outage ? outages + 1 : 0
      if (outage && outages > this.sameFailureLimit) {
        // The same words each time, so the same failure again goes to review as any would.
        const cause = `the API failed this task's request more than ${this.sameFailureLimit} tries in a row: ${validation.failure!.cause}`
        validation = {
          ...validation,
          outcome: iteration >= max ? 'review' : 'retry',
          reason: cause,
          failure: { class: 'agent-error', cause },
        }
      }
      hooks.onIterationEnd?.(iteration, result, validation, this.clock.monotonic() - started)
      const failure = validation.failure
      const done = { iterations: iteration - first + 1, reason: validation.reason, validation }
      if (failure?.class === 'rate-limited') {
        // Not the task's doing: wait for the limit, then the same try again, not counted.
        await (hooks.onRateLimited?.(failure) ?? sleep(this.clock, this.backoff(++failedInARow), signal))
        continue
      }
      if (failure?.class === 'could-not-start' && failure.config) return { ...done, status: 'halted', failure }
      // Verify cannot run where the agent works: the task is not to blame, and waits for the fix.
      if (failure?.class === 'verify-could-not-run' && failure.unrunnable) return { ...done, status: 'halted', failure }
      if (validation.outcome !== 'retry') {
        return { ...done, status: validation.outcome as RunnerOutcome['status'], ...(failure ? { failure } : {}) }
      }
      // The same failure again and again: more tries will not help, a person should look.
      const verifyTail = steadyText(validation.verify?.output.slice(-8000) ?? '').slice(-2000)
      const key = failure ? `${failure.class}\0${steadyText(failure.cause)}\0${verifyTail}` : ''
      same = key && key === same.key ? { key, count: same.count + 1 } : { key, count: 1 }
      if (failure && same.count >= this.sameFailureLimit) {
        const reason = `the same failure ${same.count} tries in a row (${failure.class}): ${failure.cause}`
        return { ...done, status: 'review', reason, failure }
      }
      feedback = { iteration, validation }
      await this.pause(this.backoff(++failedInARow), signal, options.halt)
      iteration++
    }
  }

  /** Waits `ms` between tries, unless `halt` says no try follows; a stop (`signal`) throws. */
  private async pause(ms: number, signal: AbortSignal, halt: AbortSignal | undefined): Promise<void> {
    if (!halt) return sleep(this.clock, ms, signal)
    if (halt.aborted) return
    const either = new AbortController()
    const end = (): void => either.abort()
    halt.addEventListener('abort', end, { once: true })
    signal.addEventListener('abort', end, { once: true })
    try {
      await sleep(this.clock, ms, either.signal)
    } catch (error) {
      if (signal.aborted) throw abortError(signal)
      if (!halt.aborted) throw error
    } finally {
      halt.removeEventListener('abort', end)
      signal.removeEventListener('abort', end)
    }
  }

  /** The pause after `n` failed tries in a row: cooldownMs · 2ⁿ⁻¹, at most maxCooldownMs. */
  private backoff(n: number): number {
    return Math.min(this.cooldownMs * 2 ** Math.max(0, n - 1), this.maxCooldownMs)
  }

  private endedEarly(ended: 'timeout' | 'stalled', lastTry: boolean): Validation {
    const cause =
      ended === 'timeout'
        ? `iteration timed out after ${this.iterationTimeoutMs} ms`
        : `the agent printed nothing for ${this.stallTimeoutMs} ms: ended as stalled`
    return { outcome: lastTry ? 'review' : 'retry', reason: cause, failure: { class: ended, cause } }
  }

  private async runOnce(
    task: Task,
    agent: Agent,
    prompt: string,
    iteration: number,
    outer: AbortSignal,
    hooks: RunnerHooks,
    budget: IterationGrant['budget'],
  ): Promise<{ result: RunResult; ended: EndedEarly }> {
    const controller = new AbortController()
    const forward = (): void => controller.abort(outer.reason)
    outer.addEventListener('abort', forward, { once: true })
    // Aborted already (no 'abort' event comes any more): the agent is asked to stop at once.
    if (outer.aborted) forward()
    let ended: EndedEarly
    const end = (why: 'timeout' | 'stalled'): void => {
      ended ??= why
      controller.abort(why === 'timeout' ? 'iteration timeout' : 'iteration stalled')
    }
    const cancelTimer =
      this.iterationTimeoutMs === undefined
        ? () => {}
        : this.clock.setTimeout(() => end('timeout'), this.iterationTimeoutMs)
    // The stall timer starts over with every piece of output.
    let cancelStall = (): void => {}
    const watch = (): void => {
      cancelStall()
      if (this.stallTimeoutMs !== undefined)
        cancelStall = this.clock.setTimeout(() => end('stalled'), this.stallTimeoutMs)
    }
    watch()
    try {
      const result = await agent.run({
        prompt,
        task,
        iteration,
        signal: controller.signal,
        onOutput: (chunk) => {
          watch()
          hooks.onOutput?.(iteration, chunk)
        },
        ...(budget ? { budget } : {}),
      })
      return { result, ended }
    } catch (error) {
      // A timeout or stall is this loop's own doing: a failed try, not the agent's crash.
      if (ended && !outer.aborted && isTanukiError(error, 'TANUKI_ABORTED')) {
        // What the agent spent before it was stopped is spent all the same: the budgets count it.
        const usage = usageOfError(error)
        const result: RunResult = { output: '', error: ended === 'timeout' ? 'timed out' : 'stalled' }
        if (usage) result.usage = usage
        return { result, ended }
      }
      throw error
    } finally {
      cancelTimer()
      cancelStall()
      outer.removeEventListener('abort', forward)
    }
  }
}
