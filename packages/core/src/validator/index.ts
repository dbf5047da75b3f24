import type { Agent, ExecResult, RunResult } from '../agent/types.ts'
import { errorMessage } from '../errors.ts'
import type { IterationOutcome } from '../orchestrator/events.ts'
import type { Task } from '../task/types.ts'

/** The Validator's verdict on one iteration. */
export interface Validation {
  outcome: IterationOutcome
  /** One line a person can read: why this outcome. */
  reason: string
  /** Whether the signal was found (undefined when the task has none). */
  signalFound?: boolean
  /** The verify command's result, when it ran. */
  verify?: ExecResult & { command: string }
}

export interface ValidatorOptions {
  /** Longest the verify command may run. Default 5 minutes. */
  verifyTimeoutMs?: number
}

export interface ValidateRequest {
  task: Task
  agent: Agent
  result: RunResult
  iteration: number
  signal?: AbortSignal
}

/**
 * Decides whether a task is done after an iteration: first the signal must be in the agent's
 * output, then the verify command must exit 0 when run through the agent's own `exec`, so it
 * checks the workspace (or container) the agent changed.
 *
 * Outcomes: `complete`; `retry` while tries remain; `review` when they ran out; `failed` when
 * verify could not run at all (it timed out, or there is no shell to run it). A task with neither
 * signal nor verify goes to `review` after the first run without an error.
 */
export class Validator {
  private readonly verifyTimeoutMs: number

  constructor(options: ValidatorOptions = {}) {
    this.verifyTimeoutMs = options.verifyTimeoutMs ?? 5 * 60_000
  }

  async validate({ task, agent, result, iteration, signal }: ValidateRequest): Promise<Validation> {
    const { signal: expected, verify: command, maxIterations } = task.completion
    const lastTry = iteration >= maxIterations
    const notYet = (reason: string, extra: Omit<Validation, 'outcome' | 'reason'> = {}): Validation => ({
      outcome: lastTry ? 'review' : 'retry',
      reason: lastTry ? `${reason}; no tries left (${maxIterations})` : reason,
      ...extra,
    })

    // No criteria: the agent's own account is all there is, and a person judges the work.
    if (expected === undefined && command === undefined) {
      if (result.error) return notYet(`agent reported: ${result.error}`)
      return {
        outcome: 'review',
        reason: 'the agent finished without an error; the task has no completion criteria, so a person reviews it',
      }
    }

    let signalFound: boolean | undefined
    if (expected !== undefined) {
      signalFound = result.output.includes(expected)
      if (!signalFound) {
        const why = result.error ? `agent reported: ${result.error}` : `signal "${expected}" not in the agent's output`
        return notYet(why, { signalFound })
      }
    }
    if (command === undefined) return { outcome: 'complete', reason: `signal "${expected}" found`, signalFound: true }

    let verify: ExecResult
    try {
      verify = await agent.exec(command, { timeoutMs: this.verifyTimeoutMs, ...(signal ? { signal } : {}) })
    } catch (error) {
      return {
        outcome: 'failed',
        reason: `verify could not run: ${errorMessage(error)}`,
        ...(signalFound === undefined ? {} : { signalFound }),
      }
    }
    const ran = { ...verify, command }
    const base = signalFound === undefined ? { verify: ran } : { verify: ran, signalFound }
    if (verify.timedOut) {
      return { outcome: 'failed', reason: `verify timed out after ${this.verifyTimeoutMs} ms: ${command}`, ...base }
    }
    if (verify.exitCode === 0) return { outcome: 'complete', reason: `verify passed: ${command}`, ...base }
    return notYet(`verify exited with code ${verify.exitCode}: ${command}`, base)
  }
}
