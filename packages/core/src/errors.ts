import type { Usage } from './agent/types.ts'

/** The codes core itself throws. */
export type CoreErrorCode =
  | 'TANUKI_TASK_INVALID'
  | 'TANUKI_TASK_DUPLICATE'
  | 'TANUKI_TASK_NOT_FOUND'
  | 'TANUKI_TASK_STATUS'
  | 'TANUKI_DEPENDENCY_CYCLE'
  | 'TANUKI_NO_TASKS'
  | 'TANUKI_CONFIG_INVALID'
  | 'TANUKI_PLUGIN_FAILED'
  | 'TANUKI_BACKEND_UNKNOWN'
  | 'TANUKI_AGENT_SPAWN_FAILED'
  | 'TANUKI_AGENT_CRASHED'
  | 'TANUKI_AGENT_FAILED'
  | 'TANUKI_VERIFY_FAILED'
  | 'TANUKI_ORCHESTRATOR_STATE'
  | 'TANUKI_ABORTED'
  | 'TANUKI_NAME_INVALID'
  | 'TANUKI_TASK_UNWRITABLE'
  | 'TANUKI_PROJECT_INVALID'

/**
 * Stable error codes: core's own, and `TANUKI_…` codes that plugins and hosts define for
 * themselves (`TANUKI_DOCKER_UNAVAILABLE`, `TANUKI_LOCKED`). Part of the public API: match on
 * `code`, never on the message.
 */
export type TanukiErrorCode = CoreErrorCode | (`TANUKI_${string}` & {})

export interface TanukiErrorOptions {
  cause?: unknown
  /** Extra structured facts (file, field, value…) for reporters and `--json` output. */
  details?: Record<string, unknown>
}

/**
 * The one error type Tanuki throws on purpose. Its message says what went wrong, where, and what
 * to do; the CLI prints it without a stack and exits 1.
 *
 * @example
 * throw new TanukiError('TANUKI_TASK_INVALID', 'tasks/a.md: field "priority" is "urgent"; allowed: critical, high, medium, low')
 */
export class TanukiError extends Error {
  override readonly name = 'TanukiError'
  readonly code: TanukiErrorCode
  readonly details: Record<string, unknown>

  constructor(code: TanukiErrorCode, message: string, options: TanukiErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.code = code
    this.details = options.details ?? {}
  }
}

/** True for a `TanukiError`, optionally of one code. Works across package copies (no `instanceof`). */
export function isTanukiError(error: unknown, code?: TanukiErrorCode): error is TanukiError {
  return (
    typeof error === 'object' &&
    error !== null &&
    (error as { name?: unknown }).name === 'TanukiError' &&
    (code === undefined || (error as { code?: unknown }).code === code)
  )
}

/**
 * True for an error that blames a role's configuration (a `TanukiError` with `details.config`:
 * an image that cannot run, a user that cannot write the workspace). A backend's `spawn` throws
 * one so the role is paused, its tasks waiting unharmed for the fix and a resume, instead of
 * failing them.
 */
export function blamesConfig(error: unknown): boolean {
  return isTanukiError(error) && error.details.config === true
}

/**
 * The landing target a lander's `prepare` was settling when it failed (a `TanukiError` with
 * `details.target`), once it knew which: the work that waits for that branch waits for this
 * failure now, and work waiting for any other branch does not.
 */
export function targetOfError(error: unknown): string | undefined {
  if (!isTanukiError(error)) return undefined
  const { target } = error.details
  return typeof target === 'string' ? target : undefined
}

/**
 * What an agent spent in a run it did not finish (aborted, timed out, crashed): an agent that
 * rejects `run` after it spent puts its usage in the error's `details.usage`, so the budgets still
 * count it.
 */
export function usageOfError(error: unknown): Usage | undefined {
  if (!isTanukiError(error)) return undefined
  const usage = error.details.usage
  return typeof usage === 'object' && usage !== null && !Array.isArray(usage) ? (usage as Usage) : undefined
}

/** The message of anything thrown, for logs and status fields. */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message
  return String(error)
}

/** The single-line problems inside an error: its `details.problems`, else its message. */
export function problemsOf(error: TanukiError): string[] {
  const listed = error.details.problems
  return Array.isArray(listed) && listed.every((p) => typeof p === 'string') ? listed : [error.message]
}

/**
 * Several problems as one error, so a person sees them all at once: one stays as it is; more
 * become one `TanukiError` listing each (`details.problems`), with their common code, or
 * `TANUKI_PROJECT_INVALID` when they differ.
 *
 * @example
 * throw combineErrors([configError, ...taskErrors], 'in the project')
 */
export function combineErrors(errors: readonly TanukiError[], where: string): TanukiError {
  const first = errors[0]
  if (!first) throw new RangeError('combineErrors needs at least one error')
  const problems = errors.flatMap(problemsOf)
  if (errors.length === 1 && problems.length === 1) return first
  const codes = new Set(errors.map((error) => error.code))
  const code = codes.size === 1 ? first.code : 'TANUKI_PROJECT_INVALID'
  // A problem's further lines are indented under it; its blank ones (around a code frame) stay empty.
  return new TanukiError(
    code,
    `${problems.length} problems ${where}:\n${problems.map((p) => `  - ${p.replace(/\n(?=.)/g, '\n    ')}`).join('\n')}`,
    { cause: errors.length === 1 ? first : new AggregateError(errors), details: { problems, codes: [...codes] } },
  )
}
