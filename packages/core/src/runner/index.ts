import type { Agent, OutputChunk, RunResult } from '../agent/types.ts'
import { abortError, sleep, systemClock, type Clock } from '../clock.ts'
import { isTanukiError } from '../errors.ts'
import type { Task } from '../task/types.ts'
import type { Validation, Validator } from '../validator/index.ts'
import { buildPrompt, type PromptFeedback, type PromptNote } from './prompt.ts'

export { buildPrompt, type PromptFeedback, type PromptNote } from './prompt.ts'

export interface RunnerOptions {
  validator: Validator
  clock?: Clock
  /** Pause between tries, in ms. Default 1000. */
  cooldownMs?: number
  /** Longest one iteration may run; past it the agent is aborted and the try counts as failed. */
  iterationTimeoutMs?: number
}

/** Callbacks through which the loop reports each iteration. */
export interface RunnerHooks {
  onIterationStart?(iteration: number, prompt: string): void
  onOutput?(iteration: number, chunk: OutputChunk): void
  onIterationEnd?(iteration: number, result: RunResult, validation: Validation, durationMs: number): void
}

/** One run of the loop. */
export interface RunOptions {
  signal: AbortSignal
  hooks?: RunnerHooks
  /**
   * The number of the first iteration (default 1). A task that comes back after a failed landing
   * goes on counting, so `max_iterations` bounds all its tries.
   */
  firstIteration?: number
  /** What the first prompt must tell the agent to deal with first (a merge in progress, a failed landing). */
  notes?: readonly PromptNote[]
}

/** How the loop ended. */
export interface RunnerOutcome {
  status: 'complete' | 'review' | 'failed'
  /** Iterations run in this call. */
  iterations: number
  reason: string
  validation: Validation
}

/**
 * The loop that keeps an agent on a task until its completion criteria pass: build the prompt,
 * run the agent, validate, cool down, try again, until complete, `failed`, or `max_iterations`
 * tries (then `review`). Abortable; an agent crash propagates to the caller as the agent's error.
 *
 * @example
 * const runner = new Runner({ validator: new Validator(), cooldownMs: 0 })
 * const outcome = await runner.run(task, agent, { signal })
 */
export class Runner {
  private readonly validator: Validator
  private readonly clock: Clock
  private readonly cooldownMs: number
  private readonly iterationTimeoutMs: number | undefined

  constructor(options: RunnerOptions) {
    this.validator = options.validator
    this.clock = options.clock ?? systemClock
    this.cooldownMs = options.cooldownMs ?? 1000
    this.iterationTimeoutMs = options.iterationTimeoutMs
  }

  async run(task: Task, agent: Agent, options: RunOptions): Promise<RunnerOutcome> {
    const { signal, hooks = {} } = options
    const max = task.completion.maxIterations
    let feedback: PromptFeedback | undefined
    for (let iteration = options.firstIteration ?? 1; ; iteration++) {
      if (signal.aborted) throw abortError(signal)
      const prompt = buildPrompt(
        task,
        iteration,
        feedback,
        iteration === (options.firstIteration ?? 1) ? options.notes : [],
      )
      hooks.onIterationStart?.(iteration, prompt)
      const started = this.clock.monotonic()
      const { result, timedOut } = await this.runOnce(task, agent, prompt, iteration, signal, hooks)
      const validation: Validation = timedOut
        ? {
            outcome: iteration >= max ? 'review' : 'retry',
            reason: `iteration timed out after ${this.iterationTimeoutMs} ms`,
          }
        : await this.validator.validate({ task, agent, result, iteration, signal })
      hooks.onIterationEnd?.(iteration, result, validation, this.clock.monotonic() - started)
      if (validation.outcome === 'complete' || validation.outcome === 'review' || validation.outcome === 'failed') {
        return { status: validation.outcome, iterations: iteration, reason: validation.reason, validation }
      }
      feedback = { iteration, validation }
      await sleep(this.clock, this.cooldownMs, signal)
    }
  }

  private async runOnce(
    task: Task,
    agent: Agent,
    prompt: string,
    iteration: number,
    outer: AbortSignal,
    hooks: RunnerHooks,
  ): Promise<{ result: RunResult; timedOut: boolean }> {
    const controller = new AbortController()
    const forward = (): void => controller.abort(outer.reason)
    outer.addEventListener('abort', forward, { once: true })
    let timedOut = false
    const cancelTimer =
      this.iterationTimeoutMs === undefined
        ? () => {}
        : this.clock.setTimeout(() => {
            timedOut = true
            controller.abort('iteration timeout')
          }, this.iterationTimeoutMs)
    try {
      const result = await agent.run({
        prompt,
        task,
        iteration,
        signal: controller.signal,
        onOutput: (chunk) => hooks.onOutput?.(iteration, chunk),
      })
      return { result, timedOut }
    } catch (error) {
      // A timeout is this loop's own doing: count it as a failed try, not as the agent's crash.
      if (timedOut && !outer.aborted && isTanukiError(error, 'TANUKI_ABORTED')) {
        return { result: { output: '', error: 'timed out' }, timedOut }
      }
      throw error
    } finally {
      cancelTimer()
      outer.removeEventListener('abort', forward)
    }
  }
}
