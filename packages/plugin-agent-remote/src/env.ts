/** Role keys that are the orchestrator's, or that would carry its environment to a worker. */
const NOT_SENT = new Set(['backend', 'count', 'env', 'passEnv', 'inheritEnv', 'onProcess', 'log'])

/** Names that hold secrets, however they are spelled (`apiKey`, `GITHUB_TOKEN`, `dbPassword`). */
const SECRET = /secret|token|passw(or)?d|credential|api[-_]?key|private[-_]?key|^auth|auth$/i

/**
 * What of a role's options travels to a worker: plain data only, without the environment
 * (`env`, `passEnv`, `inheritEnv`) and without any key that looks like a secret. Workers give
 * their agents their own environment, limited to an allow-list (`tanuki worker --pass-env`).
 * Resolves with the options sent and the keys left out, for a note to people.
 */
export function sessionOptions(options: Readonly<Record<string, unknown>>): {
  options: Record<string, unknown>
  withheld: string[]
} {
  const sent: Record<string, unknown> = {}
  const withheld: string[] = []
  for (const [key, value] of Object.entries(options)) {
    if (NOT_SENT.has(key) || SECRET.test(key)) {
      if (!['backend', 'count'].includes(key)) withheld.push(key)
      continue
    }
    if (typeof value === 'function' || typeof value === 'symbol' || value === undefined) continue
    // Plain data only: a class instance or a cycle cannot cross the wire.
    try {
      sent[key] = JSON.parse(JSON.stringify(value))
    } catch {
      withheld.push(key)
    }
  }
  return { options: sent, withheld }
}

/** What every agent gets from its worker's environment, so that programs and git work at all. */
export const BASE_ENV = [
  'PATH',
  'HOME',
  'USER',
  'LOGNAME',
  'SHELL',
  'LANG',
  'LC_ALL',
  'LC_CTYPE',
  'TZ',
  'TMPDIR',
  'TERM',
]

/**
 * The environment a worker's agents run with: the worker's own variables named by the base list
 * and `passEnv` (those that are set), nothing else.
 */
export function allowedEnv(
  passEnv: readonly string[],
  from: Record<string, string | undefined> = process.env,
): Record<string, string> {
  const env: Record<string, string> = {}
  for (const name of [...BASE_ENV, ...passEnv]) {
    const value = from[name]
    if (value !== undefined) env[name] = value
  }
  return env
}
