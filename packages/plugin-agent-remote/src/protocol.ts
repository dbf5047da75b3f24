import { TanukiError, errorMessage, isTanukiError, type AgentExit, type OutputChunk, type Task } from '@tanuki/core'

/**
 * The wire between an orchestrator and its workers. Sessions are BullMQ jobs; everything else
 * travels as JSON in Redis streams: commands in each worker's inbox, replies in the run's stream.
 *
 * Keys, under `<prefix>:<project>` (`P`):
 * - BullMQ queues `P:role-<role>` (one per role): a session job per agent spawn.
 * - `P:run` → the current run id; `P:run:<id>:alive` (expires) → the run's heartbeat and owner.
 * - `P:run:<id>:replies` (stream) → what workers say: ready, output, results, exits.
 * - `P:worker:<id>:inbox` (stream) → commands for one worker's sessions.
 * - `P:workers` (hash) → each worker's registration, refreshed as it runs.
 * - `P:roles` (set) → roles that use remote agents (for workers started without `--roles`).
 * - `P:fence` → the counter that numbers attempts (the fencing token of each session).
 */
export const PROTOCOL_VERSION = 1

/** The Redis keys of one project. */
export function keys(prefix: string, project: string) {
  const base = `${prefix}:${project}`
  return {
    /** BullMQ's prefix: queues live under it. */
    bullPrefix: base,
    run: `${base}:run`,
    alive: (run: string) => `${base}:run:${run}:alive`,
    replies: (run: string) => `${base}:run:${run}:replies`,
    inbox: (worker: string) => `${base}:worker:${worker}:inbox`,
    workers: `${base}:workers`,
    roles: `${base}:roles`,
    fence: `${base}:fence`,
  }
}
export type Keys = ReturnType<typeof keys>

/** A role's queue name: BullMQ names may not hold `:`, and roles are free text. */
export function roleQueue(role: string): string {
  return /^[A-Za-z0-9_-]+$/.test(role) ? `role-${role}` : `role-x${Buffer.from(role).toString('hex')}`
}

/** What a session job carries: everything a worker needs to start the agent, and nothing of the orchestrator's environment. */
export interface SessionData {
  v: number
  /** The session id: also the BullMQ job id. */
  session: string
  /** The fencing token of this attempt: a number no earlier session of the project had. */
  token: number
  /** The run that asked for it. */
  run: string
  /** The project key the worker must have been started with. */
  project: string
  /** The project's name, which names its git refs. */
  projectName: string
  agent: string
  role: string
  /** The role's options, without secrets or environment (see `sessionOptions`). */
  options: Record<string, unknown>
  /** Where the worker replies. */
  replies: string
}

/** Orchestrator → worker. `n` numbers a session's commands, so one sent twice (a resend after a reconnect) runs once. */
export type Command =
  | { k: 'run'; prompt: string; task: Task; iteration: number; budget?: { usd?: number; tokens?: number } }
  | { k: 'exec'; command: string; timeoutMs?: number; setup?: boolean }
  | { k: 'begin'; task: Task; base?: string; baseCommit?: string; unlanded: string[]; carry: boolean }
  | { k: 'end'; task: Task; status: 'complete' | 'review' | 'failed' }
  | { k: 'abort'; target: number; reason: string }
  | { k: 'stop' }
  | { k: 'remove' }

export type CommandEnvelope = Command & { s: string; t: number; n: number }

/** A result's error, as data. */
export interface WireError {
  code: string
  message: string
  details?: Record<string, unknown>
}

/** Worker → orchestrator. `n` numbers a session's replies the same way. */
export type Reply =
  | { k: 'ready'; worker: string; host: string; inbox: string; workspace?: string; account?: string }
  | { k: 'refused'; error: WireError }
  | { k: 'out'; id: number; chunks: OutputChunk[] }
  | { k: 'done'; id: number; value?: unknown }
  | { k: 'fail'; id: number; error: WireError }
  | { k: 'exit'; exit: AgentExit }

export type ReplyEnvelope = Reply & { s: string; t: number; n: number }

export function toWire(error: unknown): WireError {
  if (isTanukiError(error)) {
    return {
      code: error.code,
      message: error.message,
      ...(Object.keys(error.details).length ? { details: error.details } : {}),
    }
  }
  return { code: 'TANUKI_AGENT_FAILED', message: errorMessage(error) }
}

export function fromWire(error: WireError): TanukiError {
  return new TanukiError(
    error.code as `TANUKI_${string}`,
    error.message,
    error.details ? { details: error.details } : {},
  )
}

/** Stream entries hold one field, `m`, with the message as JSON. */
export function encode(message: object): string {
  return JSON.stringify(message)
}

export function decode<T>(fields: string[]): T | undefined {
  const index = fields.indexOf('m')
  if (index < 0) return undefined
  try {
    return JSON.parse(fields[index + 1]!) as T
  } catch {
    return undefined
  }
}
