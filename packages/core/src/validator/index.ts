import type { Agent, AgentFailure, ExecResult, RunResult } from '../agent/types.ts'
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
  /** Why the iteration did not succeed, when it did not. */
  failure?: AgentFailure
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
 * Outcomes: `complete`; `retry` while tries remain; `review` when they ran out; `failed` when the
 * agent never started, or verify could not run at all (it timed out, exited 126/127, or there is no
 * shell to run it; for 126/127 the failure's `unrunnable` says what, and the runner halts the task
 * instead). Every outcome but `complete` carries a classified failure. A task with neither
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
    const notYet = (
      reason: string,
      failure: AgentFailure,
      extra: Omit<Validation, 'outcome' | 'reason'> = {},
    ): Validation => ({
      outcome: lastTry ? 'review' : 'retry',
      reason: lastTry ? `${reason}; no tries left (${maxIterations})` : reason,
      failure,
      ...extra,
    })
    // What the agent itself reported: it never started (fail fast, before any check), it hit a
    // limit (the try does not count), or it failed on its own (that, not a check, is the cause).
    const own = result.failure ?? (result.error ? { class: 'agent-error' as const, cause: result.error } : undefined)
    if (own?.class === 'could-not-start') return { outcome: 'failed', reason: own.cause, failure: own }
    if (own?.class === 'rate-limited') return { outcome: 'retry', reason: own.cause, failure: own }
    // Not done, whatever a check would say (a weak verify passes a file with conflict markers).
    if (own?.unfinished) return notYet(own.cause, own)

    // No criteria: the agent's own account is all there is, and a person judges the work.
    if (expected === undefined && command === undefined) {
      if (own) return notYet(`agent reported: ${own.cause}`, own)
      return {
        outcome: 'review',
        reason: 'the agent finished without an error; the task has no completion criteria, so a person reviews it',
      }
    }

    let signalFound: boolean | undefined
    if (expected !== undefined) {
      signalFound = result.output.includes(expected)
      if (!signalFound) {
        if (own) return notYet(`agent reported: ${own.cause}`, own, { signalFound })
        const why = `signal "${expected}" not in the agent's output`
        return notYet(why, { class: 'verify-failed', cause: why }, { signalFound })
      }
    }
    if (command === undefined) return { outcome: 'complete', reason: `signal "${expected}" found`, signalFound: true }

    let verify: ExecResult
    try {
      verify = await agent.exec(command, { timeoutMs: this.verifyTimeoutMs, ...(signal ? { signal } : {}) })
    } catch (error) {
      const reason = `verify could not run: ${errorMessage(error)}`
      return {
        outcome: 'failed',
        reason,
        failure: { class: 'verify-could-not-run', cause: reason },
        ...(signalFound === undefined ? {} : { signalFound }),
      }
    }
    const ran = { ...verify, command }
    const base = signalFound === undefined ? { verify: ran } : { verify: ran, signalFound }
    if (verify.timedOut) {
      const reason = `verify timed out after ${this.verifyTimeoutMs} ms: ${command}`
      return { outcome: 'failed', reason, failure: { class: 'verify-could-not-run', cause: reason }, ...base }
    }
    if (verify.exitCode === 0) return { outcome: 'complete', reason: `verify passed: ${command}`, ...base }
    // 126/127: the shell could not run the command (not found, not executable): no try can fix
    // that, nor the try of any task with the same verify where this one ran.
    if (verify.exitCode === 126 || verify.exitCode === 127) {
      const said = verify.output.trim().split('\n').at(-1)?.slice(0, 300)
      const where = agent.runsIn ? ` in ${agent.runsIn}` : ''
      const reason = `verify could not run${where} (exit ${verify.exitCode}${said ? `: ${said}` : ''}): ${command}`
      const program = said ? programNotRun(said) : undefined
      const unrunnable = {
        command,
        exitCode: verify.exitCode,
        ...(program ? { program } : {}),
        ...(agent.runsIn ? { runsIn: agent.runsIn } : {}),
        ...(said ? { said } : {}),
      }
      return {
        outcome: 'failed',
        reason,
        failure: { class: 'verify-could-not-run', cause: reason, unrunnable },
        ...base,
      }
    }
    const reason = `verify exited with code ${verify.exitCode}: ${command}`
    if (own) return notYet(`agent reported: ${own.cause}`, own, base)
    return notYet(reason, { class: 'verify-failed', cause: reason }, base)
  }
}

/**
 * The program a shell says it could not find or run, from its last line: `sh: 1: pytest: not
 * found` (dash), `bash: line 1: pytest: command not found`, `sh: pytest: not found` (BusyBox),
 * `zsh:1: command not found: pytest`, `sh: 1: ./check.sh: Permission denied`,
 * `/usr/bin/env: 'python': No such file or directory`.
 */
export function programNotRun(line: string): string | undefined {
  const text = line.trim()
  const zsh = /command not found: (\S+)$/.exec(text)
  if (zsh) return zsh[1]
  const said =
    /(?:^|:\s)['‘"]?([^\s:'‘’"]+)['’"]?:\s(?:command not found|not found|No such file or directory|Permission denied)$/.exec(
      text,
    )
  return said?.[1]
}
