/**
 * Why an iteration did not succeed, in one of a few classes that decide what happens next. Public
 * API: the console, summary, JUnit, `status --json` (`lastError`) and the logs show them.
 *
 * - `could-not-start`: the agent never ran (binary missing, exit 126/127, a flag refused,
 *   credentials refused). Trying again cannot help: the task fails fast, and when the cause is the
 *   role's configuration the role is paused until it is fixed.
 * - `rate-limited`: the agent's account hit a rate or usage limit. Not the task's fault: the agents
 *   sharing the account park until the reset, and the try is not counted.
 * - `budget`: the task, role or run has no budget left for another iteration.
 * - `timeout`: the iteration ran past `iterationTimeoutMs`.
 * - `stalled`: the agent printed nothing for `stallTimeoutMs`.
 * - `crashed`: the agent died under the iteration.
 * - `agent-error`: the agent ran and reported a failure of its own (a non-zero exit, an API error).
 * - `verify-failed`: verify ran and exited non-zero (or the signal was missing).
 * - `verify-could-not-run`: verify could not run at all (exit 126/127, timeout, no shell): fails
 *   fast. Exit 126/127 of a program the verify names itself is where the agent works, not the
 *   task's fault: the task waits, and so do the role's tasks with the same verify, until a person
 *   fixes it. A program a script inside the verify runs (`vitest` under `npm test`) is
 *   `verify-failed` instead: the agent may install it.
 */
export type FailureClass =
  | 'could-not-start'
  | 'rate-limited'
  | 'budget'
  | 'timeout'
  | 'stalled'
  | 'crashed'
  | 'agent-error'
  | 'verify-failed'
  | 'verify-could-not-run'

export const FAILURE_CLASSES: readonly FailureClass[] = [
  'could-not-start',
  'rate-limited',
  'budget',
  'timeout',
  'stalled',
  'crashed',
  'agent-error',
  'verify-failed',
  'verify-could-not-run',
]

/** A classified failure: its class and a short cause a person can act on. */
export interface Failure {
  class: FailureClass
  /** One line: what went wrong ("claude: command not found", "verify exited 1: npm test"). */
  cause: string
}
