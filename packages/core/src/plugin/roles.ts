import type { AgentBackend, ProjectInfo } from '../agent/types.ts'
import { builtinStrategies, type BalancerStrategy } from '../balancer/index.ts'
import { TanukiError, errorMessage, isTanukiError } from '../errors.ts'
import { didYouMean } from '../names/suggest.ts'
import { lastLines } from '../output.ts'
import type { ResolvedConfig, RoleConfig } from './index.ts'

/** A role's configuration: `defaults`, then what `agents.<role>` says over it. */
export function roleConfig(config: Pick<ResolvedConfig, 'defaults' | 'agents'>, role: string): RoleConfig {
  return { ...config.defaults, ...config.agents[role] }
}

/** A role's `setup` command, with the config key it comes from (for messages), when it has one. */
export interface RoleSetup {
  command: string
  /** `agents.<role>.setup` or `defaults.setup`: where a person corrects it. */
  key: string
}

/** The `setup` a role's workspaces get: its own, else `defaults.setup`; none when `false`. */
export function roleSetup(config: Pick<ResolvedConfig, 'defaults' | 'agents'>, role: string): RoleSetup | undefined {
  const own = config.agents[role]?.setup
  const command = own ?? config.defaults.setup
  if (typeof command !== 'string' || command.trim() === '') return undefined
  return { command, key: own === undefined ? 'defaults.setup' : `agents.${role}.setup` }
}

/**
 * A failed setup, with the last lines it printed, for a message that goes on to say where it ran
 * and what to do: setup `npm ci` of role "web" exited 1 (npm ERR! …).
 */
export function setupFailure(command: string, role: string, exitCode: number | null, output: string): string {
  const said = lastLines(output)
  return `setup \`${command}\` of role "${role}" exited ${exitCode ?? 'without a code'}${said ? ` (${said})` : ''}`
}

/** The backend a role uses: its `backend`, else the only one registered, else `process`. */
export function roleBackendName(options: RoleConfig, backends: ReadonlyMap<string, unknown>): string {
  return options.backend ?? (backends.size === 1 ? [...backends.keys()][0]! : 'process')
}

/**
 * The options of every role the config gives a backend (`defaults` too, which a task of a role the
 * config does not list runs with): what a backend that reaches its agents in more than one place
 * (Docker hosts) needs to find all of them.
 */
export function backendRoles(
  config: Pick<ResolvedConfig, 'defaults' | 'agents'>,
  backend: string,
  backends: ReadonlyMap<string, unknown>,
): Record<string, unknown>[] {
  const roles = [...new Set(['default', ...Object.keys(config.agents)])]
  const options = [
    ...roles.map((role) => roleConfig(config, role)),
    // A role no `agents` entry names runs with `defaults` alone.
    { ...config.defaults },
  ]
  return options.filter((each) => roleBackendName(each, backends) === backend) as Record<string, unknown>[]
}

/**
 * A backend names a role's option `agents.<role>.<key>`; when the key is not in that role's own
 * options but in `defaults`, that is where the person typed it: the error says `defaults.<key>`.
 */
function fromDefaults(error: TanukiError, role: string, config: ResolvedConfig): TanukiError {
  const key = error.details?.key
  const prefix = `agents.${role}.`
  if (typeof key !== 'string' || !key.startsWith(prefix)) return error
  const option = key.slice(prefix.length).split('.')[0]!
  const own = (config.agents[role] ?? {}) as Record<string, unknown>
  if (option in own || !(option in ((config.defaults ?? {}) as Record<string, unknown>))) return error
  const moved = `defaults.${key.slice(prefix.length)}`
  return new TanukiError(error.code, error.message.split(key).join(moved), {
    cause: error,
    details: { ...error.details, key: moved, role },
  })
}

/**
 * Asks each role's backend whether the programs its agents would start are on this machine
 * (`AgentBackend.checkPrograms`), for `tanuki task validate`. A problem or note that several roles
 * share (a program set in `defaults`) is said once; a note names the roles it concerns. Roles
 * whose backend is not registered, or that has no such check, are left out (`checkRoles` names
 * the former).
 */
export async function checkRolePrograms(input: RoleCheckInput): Promise<{ problems: TanukiError[]; notes: string[] }> {
  const { config, backends, project } = input
  const problems: TanukiError[] = []
  const notes = new Map<string, string[]>()
  for (const role of new Set(input.roles)) {
    const options = roleConfig(config, role)
    const backend = backends.get(roleBackendName(options, backends))
    const found = await backend?.checkPrograms?.({ role, options, project })
    for (const error of found?.problems ?? []) {
      const problem = fromDefaults(error, role, config)
      if (!problems.some((known) => known.message === problem.message)) problems.push(problem)
    }
    for (const note of found?.notes ?? []) notes.set(note, [...(notes.get(note) ?? []), role])
  }
  return {
    problems,
    notes: [...notes].map(
      ([note, roles]) => `${roles.length === 1 ? 'role' : 'roles'} ${roles.map((r) => `"${r}"`).join(', ')}: ${note}`,
    ),
  }
}

/** What `checkRoles` checks. */
export interface RoleCheckInput {
  config: ResolvedConfig
  backends: ReadonlyMap<string, AgentBackend>
  /** Strategies plugins registered, besides the built-in ones. */
  strategies?: ReadonlyMap<string, BalancerStrategy>
  project: ProjectInfo
  /** The roles to check: those the config lists and those the tasks use. */
  roles: Iterable<string>
}

/**
 * Checks what only the plugins can judge, before anything runs: every role's backend exists and
 * accepts the role's options (`AgentBackend.validateRole`), and the balancer strategy exists.
 * Returns every problem found, each a `TanukiError` naming the key; an empty list means all is well.
 */
export async function checkRoles(input: RoleCheckInput): Promise<TanukiError[]> {
  const { config, backends, project } = input
  const problems: TanukiError[] = []
  for (const role of new Set(input.roles)) {
    const options = roleConfig(config, role)
    const name = roleBackendName(options, backends)
    const backend = backends.get(name)
    const where = config.agents[role] ? `agents.${role}` : `role "${role}" (from defaults)`
    if (!backend) {
      const known = [...backends.keys()]
      problems.push(
        new TanukiError(
          'TANUKI_BACKEND_UNKNOWN',
          `config key "${where}.backend" is "${name}", but no plugin registered that backend${didYouMean(name, known)}; ` +
            (known.length > 0 ? `registered: ${known.join(', ')}. ` : '') +
            "Add the backend's plugin to `plugins` or pick a registered backend.",
          { details: { key: `${where}.backend`, value: name, role } },
        ),
      )
      continue
    }
    try {
      await backend.validateRole?.({ role, options, project })
    } catch (error) {
      const problem = isTanukiError(error)
        ? fromDefaults(error, role, config)
        : new TanukiError(
            'TANUKI_CONFIG_INVALID',
            `${where}: backend "${name}" refused the role's options: ${errorMessage(error)}`,
            { cause: error, details: { key: where, role } },
          )
      // A typo in `defaults` is every role's: said once.
      if (!problems.some((known) => known.message === problem.message)) problems.push(problem)
    }
  }
  const wanted = config.balancer
  if (typeof wanted === 'string') {
    const known = [...builtinStrategies().map((s) => s.name), ...(input.strategies?.keys() ?? [])]
    if (!known.includes(wanted)) {
      problems.push(
        new TanukiError(
          'TANUKI_CONFIG_INVALID',
          `config key "balancer" is "${wanted}"${didYouMean(wanted, known)}; known strategies: ${known.join(', ')}`,
          { details: { key: 'balancer', value: wanted } },
        ),
      )
    }
  }
  return problems
}
