import { TanukiError, isTanukiError, type OutputChunk, type RunResult } from '@tanuki/core'
import type { IterationPlan, Step } from './kinds/types.ts'

/** How one step ended, as a backend's step runner reports it. */
export interface StepExit {
  /** `null` when the process was killed. */
  exitCode: number | null
  /** The signal that ended it, if any. */
  signal?: string | null
}

/**
 * Runs one step of a plan (a local process, a `docker exec`…), streaming its output to
 * `onChunk`, and resolves when it ended. It should reject with `TANUKI_ABORTED` when `signal`
 * stopped it and with `TANUKI_AGENT_CRASHED` when the agent died under it.
 */
export type ExecStep = (step: Step, onChunk: (chunk: OutputChunk) => void, signal: AbortSignal) => Promise<StepExit>

/** Options of {@link runPlan}. */
export interface RunPlanOptions {
  /** Stops the plan: no further step starts, and `execStep` is told. */
  signal: AbortSignal
  /** Every chunk of output, as it arrives. */
  onOutput?: (chunk: OutputChunk) => void
}

function aborted(signal: AbortSignal): TanukiError {
  return new TanukiError('TANUKI_ABORTED', `Aborted: ${String(signal.reason ?? 'stopped')}`, { cause: signal.reason })
}

/**
 * Runs an iteration's steps in order through a backend's `execStep`, feeding their output to the
 * plan's parser, and stops at the first step that does not exit 0. Shared by every backend that
 * runs agent kinds (local processes, Docker containers). A run that rejects (aborted, crashed)
 * carries what the parser counted of its spend in the error's `details.usage`.
 *
 * @returns the parser's result for the iteration
 * @example
 * const result = await runPlan(kind.plan({ prompt, task }), (step, onChunk, signal) => myExec(step, onChunk, signal), { signal })
 */
export async function runPlan(plan: IterationPlan, execStep: ExecStep, options: RunPlanOptions): Promise<RunResult> {
  // The parser may stop a step that cannot succeed: that ends the plan with its result, whereas
  // the caller's signal aborts it.
  const stop = new AbortController()
  const forward = (): void => stop.abort(options.signal.reason)
  options.signal.addEventListener('abort', forward, { once: true })
  const onChunk = (chunk: OutputChunk): void => {
    plan.parser.push(chunk)
    options.onOutput?.(chunk)
    if (!stop.signal.aborted && plan.parser.shouldStop?.()) stop.abort('the agent cannot succeed')
  }
  let started = false
  try {
    for (const step of plan.steps) {
      if (options.signal.aborted) throw aborted(options.signal)
      let exit: StepExit
      started = true
      try {
        exit = await execStep(step, onChunk, stop.signal)
      } catch (error) {
        if (options.signal.aborted || !stop.signal.aborted || !isTanukiError(error, 'TANUKI_ABORTED')) throw error
        exit = { exitCode: null }
      }
      // A step that ended because we stopped it says nothing about the work: the run was aborted.
      if (options.signal.aborted) throw aborted(options.signal)
      plan.parser.end(exit.exitCode)
      if (exit.exitCode !== 0 || stop.signal.aborted) break
    }
    return plan.parser.result()
  } catch (error) {
    // Aborted, timed out or crashed: what the agent spent until then is spent all the same, so it
    // goes with the error for the budgets to count.
    if (started && isTanukiError(error) && error.details.usage === undefined) {
      plan.parser.end(null)
      const usage = plan.parser.result().usage
      if (usage) error.details.usage = usage
    }
    throw error
  } finally {
    options.signal.removeEventListener('abort', forward)
  }
}
