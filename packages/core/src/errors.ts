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

/** The message of anything thrown, for logs and status fields. */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message
  return String(error)
}
