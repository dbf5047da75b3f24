import { TanukiError } from '@tanuki/core'

/** How the orchestrator and its workers reach Redis, and how quickly a lost worker is noticed. */
export interface RemoteOptions {
  /**
   * `redis://[user:password@]host:port[/db]`, or `rediss://…` for TLS. A password here is used
   * unless `password` is set; prefer `password` (or `TANUKI_REDIS_PASSWORD`) to keep it out of files.
   */
  redis: string
  /** The Redis password, if the URL has none. Default: `TANUKI_REDIS_PASSWORD` from the environment. */
  password?: string
  /** TLS (for `rediss://`): a CA certificate to trust (PEM text, or a path to a PEM file). */
  tls?: { ca?: string; rejectUnauthorized?: boolean }
  /**
   * The project key: workers take sessions only for the key they were started with
   * (`tanuki worker --project KEY`). Default: the project's name.
   */
  project?: string
  /** The git remote workers clone from and push to, in the project's repository. Default `origin`. */
  git?: string
  /** Namespace of every Redis key. Default `tanuki`. */
  prefix?: string
  /**
   * How often BullMQ's stalled check looks for sessions whose worker stopped renewing its lock.
   * A killed worker is noticed within its lock duration (`tanuki worker --lock-duration`, 10 s)
   * plus this. Default 5000 ms.
   */
  stalledIntervalMs?: number
  /**
   * How long the orchestrator's heartbeat lives in Redis: workers end the sessions of an
   * orchestrator whose heartbeat has expired (it was killed) within this plus a second. Default 10000 ms.
   */
  heartbeatTtlMs?: number
  /** How long `stop` and `remove` wait for a worker's answer before giving up on it. Default 15000 ms. */
  commandTimeoutMs?: number
}

/** `RemoteOptions` with defaults, checked. */
export interface ResolvedRemoteOptions {
  redis: string
  password?: string
  tls?: { ca?: string; rejectUnauthorized?: boolean }
  project: string
  git: string
  prefix: string
  stalledIntervalMs: number
  heartbeatTtlMs: number
  commandTimeoutMs: number
}

/** Project keys and prefixes become parts of Redis keys and git refs. */
const KEY = /^[A-Za-z0-9][A-Za-z0-9._-]*$/

function invalid(key: string, message: string, value: unknown): TanukiError {
  return new TanukiError('TANUKI_CONFIG_INVALID', `remote.${key} ${message}, got ${JSON.stringify(value)}`, {
    details: { key: `remote.${key}` },
  })
}

/** A Redis URL with its password masked, for messages and logs. */
export function redactUrl(url: string): string {
  return url.replace(
    /\/\/([^@/]*)@/,
    (_, auth: string) => `//${auth.includes(':') ? `${auth.split(':')[0]}:***` : '***'}@`,
  )
}

/** Checks `remote` and fills in defaults. `fallbackProject` is the project's name. */
export function resolveRemoteOptions(options: Partial<RemoteOptions>, fallbackProject: string): ResolvedRemoteOptions {
  const { redis } = options
  if (typeof redis !== 'string' || !/^rediss?:\/\/./.test(redis)) {
    throw invalid('redis', 'must be a redis:// or rediss:// URL', typeof redis === 'string' ? redactUrl(redis) : redis)
  }
  try {
    new URL(redis)
  } catch {
    throw invalid('redis', 'is not a valid URL', redactUrl(redis))
  }
  const project = options.project ?? fallbackProject
  if (typeof project !== 'string' || !KEY.test(project)) {
    throw invalid('project', 'must be letters, digits, ".", "_" or "-" (it names Redis keys and git refs)', project)
  }
  const prefix = options.prefix ?? 'tanuki'
  if (typeof prefix !== 'string' || !KEY.test(prefix)) {
    throw invalid('prefix', 'must be letters, digits, ".", "_" or "-"', prefix)
  }
  const git = options.git ?? 'origin'
  if (typeof git !== 'string' || git.trim() === '') throw invalid('git', 'must name a git remote', git)
  const ms = (key: 'stalledIntervalMs' | 'heartbeatTtlMs' | 'commandTimeoutMs', fallback: number, min: number) => {
    const value = options[key] ?? fallback
    if (typeof value !== 'number' || !Number.isFinite(value) || value < min) {
      throw invalid(key, `must be a number of milliseconds ≥ ${min}`, value)
    }
    return value
  }
  if (options.tls !== undefined && (typeof options.tls !== 'object' || options.tls === null)) {
    throw invalid('tls', 'must be an object like { ca }', options.tls)
  }
  if (options.password !== undefined && typeof options.password !== 'string') {
    throw invalid('password', 'must be a string', '***')
  }
  return {
    redis,
    ...(options.password === undefined ? {} : { password: options.password }),
    ...(options.tls ? { tls: options.tls } : {}),
    project,
    git,
    prefix,
    stalledIntervalMs: ms('stalledIntervalMs', 5000, 100),
    heartbeatTtlMs: ms('heartbeatTtlMs', 10_000, 1000),
    commandTimeoutMs: ms('commandTimeoutMs', 15_000, 100),
  }
}
