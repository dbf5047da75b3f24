import type { AgentBackend, Awaitable, ProjectInfo } from '../agent/types.ts'
import type { BalancerStrategy } from '../balancer/index.ts'
import { TanukiError, errorMessage, isTanukiError } from '../errors.ts'
import type { Lander } from '../land/types.ts'
import type { Reporter } from '../reporter/types.ts'
import type { TaskSource } from '../source/types.ts'
import type { TaskInput } from '../task/types.ts'

/**
 * How one role's agents are made. Keys other than `backend` and `count` are the backend's own
 * options (for the process backend: `kind`, `model`, `systemPrompt`…).
 */
export interface RoleConfig {
  /** The backend's name (`process`, `docker`, or one a plugin registers). */
  backend?: string
  /** Agents of this role running at once. Default 1. */
  count?: number
  [option: string]: unknown
}

/** An entry of `plugins`: a plugin, a list of them (nested as deep as you like), or a falsy value to skip. */
export type PluginOption = TanukiPlugin | false | null | undefined | PluginOption[]

/** What people write in `tanuki.config.ts`. Every key is optional. */
export interface UserConfig {
  /** Project name, used to label agents' resources. Default: the directory's name. */
  name?: string
  /** Folder of task files, relative to the project. Default `.tanuki/tasks`, else `tasks`. */
  tasksDir?: string
  /** Tasks defined in code, in addition to (or instead of) task files. */
  tasks?: TaskInput[]
  /** Per role: backend, number of agents, backend options. */
  agents?: Record<string, RoleConfig>
  /** Applies to every role, under what `agents.<role>` says. */
  defaults?: RoleConfig
  /** `least-loaded` (default), `round-robin`, a strategy a plugin registered, or a strategy object. */
  balancer?: string | BalancerStrategy
  /**
   * Plugins, set up in order and torn down in reverse. Nested lists are flattened and falsy
   * entries skipped (as Vite's are), so `plugins: [reporters(), useDocker && dockerAgents()]` works.
   */
  plugins?: PluginOption[]
  /** Pause between two tries of a task, in ms. Default 1000. */
  cooldownMs?: number
  /** Times a task may lose its agent (crash or failure) before it is marked failed. Default 3. */
  retryLimit?: number
  /** Longest one iteration may run, in ms. Default 30 minutes. */
  iterationTimeoutMs?: number
  /** Longest a verify command may run, in ms. Default 5 minutes. */
  verifyTimeoutMs?: number
  /** Safety-net rescan interval, in ms; events do the real work. Default 5000. */
  pollIntervalMs?: number
  /** Stop once every task is settled. Default true (`--watch` sets false). */
  stopWhenSettled?: boolean
  /** Times a role's agent is replaced after crashes with no task completed in between. Default 5. */
  maxRespawns?: number
  /**
   * Write each task's status into its file's front matter, in the background (the journal in the
   * state folder is the authority either way). Default true; false keeps task files pure specs.
   */
  mirrorStatus?: boolean
  /**
   * Landing: how completed work reaches your branch (one commit per task, in dependency order,
   * gated by verify on the combined work). `false` turns it off: work stays on the agents' branches.
   */
  land?: LandConfig | false
  /**
   * Where agents' git worktrees go. Default: a per-project folder in your state directory
   * (`$XDG_STATE_HOME/tanuki/projects/…`, else `~/.local/state/tanuki/projects/…`), outside the
   * project, so its own test runner, `tsc` and linters never see the agents' copies.
   */
  worktreesDir?: string
  /**
   * Agents on other machines: the Redis their workers take sessions from (`tanuki worker`), for
   * roles with `backend: 'remote'`. Read by `@tanuki/plugin-agent-remote`, which documents every key.
   */
  remote?: RemoteConfig
}

/** `remote` in the config: `redis` is required; the remote agents' plugin reads the other keys. */
export interface RemoteConfig {
  /** `redis://[user:password@]host:port[/db]`, or `rediss://…` for TLS. */
  redis: string
  [option: string]: unknown
}

/** `land` in the config. */
export interface LandConfig {
  /** Land each task as soon as it is complete. Default true; false leaves it to `tanuki land`. */
  auto?: boolean
  /** The branch to land on. Default: the branch checked out when the run starts. */
  into?: string
  /** One commit per task: `squash` (default) its work, `merge` its branch, or `rebase` its commits. */
  strategy?: 'squash' | 'merge' | 'rebase'
  /** A command run on the combined work after the task's own verify, e.g. `npm test`. */
  verify?: string
  /** A git remote the target is pushed to after each landing. */
  push?: string
}

/** The config after defaults: what the orchestrator reads. */
export interface ResolvedConfig {
  name: string
  tasksDir?: string
  tasks: TaskInput[]
  agents: Record<string, RoleConfig>
  defaults: RoleConfig & { count: number }
  balancer: string | BalancerStrategy
  plugins: TanukiPlugin[]
  cooldownMs: number
  retryLimit: number
  iterationTimeoutMs: number
  verifyTimeoutMs: number
  pollIntervalMs: number
  stopWhenSettled: boolean
  maxRespawns: number
  mirrorStatus: boolean
  land: {
    enabled: boolean
    auto: boolean
    strategy: 'squash' | 'merge' | 'rebase'
    into?: string
    verify?: string
    push?: string
  }
  worktreesDir?: string
  /** `remote` as written, checked: present when the project has remote agents. */
  remote?: RemoteConfig
}

/** What a plugin's `setup` may do. */
export interface PluginContext {
  readonly config: ResolvedConfig
  readonly project: ProjectInfo
  /** Makes a backend available to roles by its name. */
  registerBackend(backend: AgentBackend): void
  /** Adds a source of tasks (several may be registered; ids must stay unique across them). */
  registerTaskSource(source: TaskSource): void
  registerReporter(reporter: Reporter): void
  registerBalancer(strategy: BalancerStrategy): void
  /** Sets how completed work lands (one lander per run: the last registered wins). */
  registerLander(lander: Lander): void
}

/**
 * A plugin: a plain object with a namespaced name. Published plugins are options factories.
 *
 * @example
 * export function myBackend(options: MyOptions = {}): TanukiPlugin {
 *   return definePlugin({
 *     name: 'acme:agent-remote',
 *     setup(ctx) { ctx.registerBackend(createRemoteBackend(options)) },
 *   })
 * }
 */
export interface TanukiPlugin {
  readonly name: string
  /** Registers what the plugin provides. Runs in plugin order. */
  setup?(ctx: PluginContext): Awaitable<void>
  /** Releases what setup took. Runs in reverse order, even when another teardown fails. */
  teardown?(): Awaitable<void>
}

/** Returns its input: for type inference in plugin modules. */
export function definePlugin<T extends TanukiPlugin>(plugin: T): T {
  return plugin
}

/** Returns its input: for type inference in `tanuki.config.ts`. */
export function defineConfig(config: UserConfig): UserConfig {
  return config
}

function check(ok: boolean, key: string, message: string, value: unknown): void {
  if (!ok) {
    throw new TanukiError('TANUKI_CONFIG_INVALID', `config key "${key}" ${message}, got ${JSON.stringify(value)}`, {
      details: { key, value },
    })
  }
}

function checkCount(value: unknown, key: string): void {
  check(
    value === undefined || (Number.isInteger(value) && (value as number) >= 0),
    key,
    'must be a whole number ≥ 0',
    value,
  )
}

function checkDuration(config: UserConfig, key: keyof UserConfig): void {
  const value = config[key]
  check(
    value === undefined || (typeof value === 'number' && value >= 0 && Number.isFinite(value)),
    key,
    'must be a number of milliseconds ≥ 0',
    value,
  )
}

/**
 * Checks a user config and fills in defaults. Throws `TANUKI_CONFIG_INVALID` naming the key.
 *
 * @param fallbackName the project name when the config gives none (the CLI passes the folder name)
 */
export function resolveConfig(config: UserConfig = {}, fallbackName = 'tanuki'): ResolvedConfig {
  check(
    typeof config === 'object' && config !== null && !Array.isArray(config),
    '(root)',
    'must be an object (export default defineConfig({...}))',
    config,
  )
  check(
    config.name === undefined || (typeof config.name === 'string' && config.name.length > 0),
    'name',
    'must be a non-empty string',
    config.name,
  )
  check(
    config.tasksDir === undefined || typeof config.tasksDir === 'string',
    'tasksDir',
    'must be a path string',
    config.tasksDir,
  )
  check(
    config.worktreesDir === undefined || (typeof config.worktreesDir === 'string' && config.worktreesDir !== ''),
    'worktreesDir',
    'must be a path string',
    config.worktreesDir,
  )
  check(config.tasks === undefined || Array.isArray(config.tasks), 'tasks', 'must be a list of tasks', config.tasks)
  check(
    config.agents === undefined ||
      (typeof config.agents === 'object' && config.agents !== null && !Array.isArray(config.agents)),
    'agents',
    'must map role names to { backend, count, … }',
    config.agents,
  )
  for (const [role, roleConfig] of Object.entries(config.agents ?? {})) {
    check(typeof roleConfig === 'object' && roleConfig !== null, `agents.${role}`, 'must be an object', roleConfig)
    check(
      roleConfig.backend === undefined || typeof roleConfig.backend === 'string',
      `agents.${role}.backend`,
      'must be a backend name',
      roleConfig.backend,
    )
    checkCount(roleConfig.count, `agents.${role}.count`)
  }
  check(
    config.defaults === undefined ||
      (typeof config.defaults === 'object' && config.defaults !== null && !Array.isArray(config.defaults)),
    'defaults',
    'must be an object like { backend, count, … }',
    config.defaults,
  )
  check(
    config.defaults?.backend === undefined || typeof config.defaults.backend === 'string',
    'defaults.backend',
    'must be a backend name',
    config.defaults?.backend,
  )
  checkCount(config.defaults?.count, 'defaults.count')
  check(
    config.plugins === undefined || Array.isArray(config.plugins),
    'plugins',
    'must be a list of plugins',
    config.plugins,
  )
  const plugins = flattenPlugins(config.plugins ?? [])
  plugins.forEach((plugin, i) =>
    check(
      typeof plugin === 'object' && typeof plugin.name === 'string',
      `plugins[${i}]`,
      'must be a plugin object with a name',
      plugin,
    ),
  )
  check(
    config.balancer === undefined ||
      typeof config.balancer === 'string' ||
      typeof config.balancer?.select === 'function',
    'balancer',
    'must be a strategy name or { name, select }',
    config.balancer,
  )
  for (const key of ['cooldownMs', 'iterationTimeoutMs', 'verifyTimeoutMs', 'pollIntervalMs'] as const)
    checkDuration(config, key)
  check(
    config.mirrorStatus === undefined || typeof config.mirrorStatus === 'boolean',
    'mirrorStatus',
    'must be true or false',
    config.mirrorStatus,
  )
  check(
    config.stopWhenSettled === undefined || typeof config.stopWhenSettled === 'boolean',
    'stopWhenSettled',
    'must be true or false',
    config.stopWhenSettled,
  )
  checkCount(config.retryLimit, 'retryLimit')
  checkCount(config.maxRespawns, 'maxRespawns')
  return {
    name: config.name ?? fallbackName,
    ...(config.tasksDir === undefined ? {} : { tasksDir: config.tasksDir }),
    tasks: config.tasks ?? [],
    agents: config.agents ?? {},
    defaults: { ...config.defaults, count: config.defaults?.count ?? 1 },
    balancer: config.balancer ?? 'least-loaded',
    plugins,
    cooldownMs: config.cooldownMs ?? 1000,
    retryLimit: config.retryLimit ?? 3,
    iterationTimeoutMs: config.iterationTimeoutMs ?? 30 * 60_000,
    verifyTimeoutMs: config.verifyTimeoutMs ?? 5 * 60_000,
    pollIntervalMs: config.pollIntervalMs ?? 5000,
    stopWhenSettled: config.stopWhenSettled ?? true,
    maxRespawns: config.maxRespawns ?? 5,
    mirrorStatus: config.mirrorStatus ?? true,
    land: resolveLand(config.land),
    ...(config.worktreesDir === undefined ? {} : { worktreesDir: config.worktreesDir }),
    ...(config.remote === undefined ? {} : { remote: resolveRemote(config.remote) }),
  }
}

/** `remote`: only its shape is core's to check; `@tanuki/plugin-agent-remote` checks the rest. */
function resolveRemote(remote: unknown): RemoteConfig {
  check(
    typeof remote === 'object' && remote !== null && !Array.isArray(remote),
    'remote',
    "must be an object like { redis: 'redis://host:6379' }",
    remote,
  )
  const redis = (remote as { redis?: unknown }).redis
  check(
    typeof redis === 'string' && /^rediss?:\/\/./.test(redis),
    'remote.redis',
    'must be a redis:// or rediss:// URL',
    // A URL may hold a password: never echo it back.
    typeof redis === 'string' ? redis.replace(/\/\/[^@/]*@/, '//***@') : redis,
  )
  return remote as RemoteConfig
}

/** `plugins` as a flat list: nested lists flattened, falsy entries skipped. */
export function flattenPlugins(options: readonly PluginOption[]): TanukiPlugin[] {
  const flat: TanukiPlugin[] = []
  const walk = (list: readonly PluginOption[]): void => {
    for (const option of list) {
      if (Array.isArray(option)) walk(option)
      else if (option) flat.push(option)
    }
  }
  walk(options)
  return flat
}

function resolveLand(land: UserConfig['land']): ResolvedConfig['land'] {
  check(
    land === undefined || land === false || (typeof land === 'object' && land !== null && !Array.isArray(land)),
    'land',
    'must be false or { auto, into, strategy, verify, push }',
    land,
  )
  if (land === false) return { enabled: false, auto: false, strategy: 'squash' }
  const given = land ?? {}
  check(given.auto === undefined || typeof given.auto === 'boolean', 'land.auto', 'must be true or false', given.auto)
  check(
    given.strategy === undefined || ['squash', 'merge', 'rebase'].includes(given.strategy),
    'land.strategy',
    'must be "squash", "merge" or "rebase"',
    given.strategy,
  )
  for (const key of ['into', 'verify', 'push'] as const) {
    const value = given[key]
    check(
      value === undefined || (typeof value === 'string' && value.trim() !== ''),
      `land.${key}`,
      'must be a non-empty string',
      value,
    )
  }
  return {
    enabled: true,
    auto: given.auto ?? true,
    strategy: given.strategy ?? 'squash',
    ...(given.into ? { into: given.into } : {}),
    ...(given.verify ? { verify: given.verify } : {}),
    ...(given.push ? { push: given.push } : {}),
  }
}

/** What the plugins of a config registered. */
export interface PluginRegistry {
  backends: Map<string, AgentBackend>
  sources: TaskSource[]
  reporters: Reporter[]
  strategies: Map<string, BalancerStrategy>
  /** The lander, if a plugin registered one. */
  lander?: Lander
  /** Tears the plugins down in reverse order; rejects with every teardown error collected. */
  teardown(): Promise<void>
}

/**
 * Sets plugins up in order. If one fails, those already set up are torn down and the error names
 * the plugin.
 */
export async function setupPlugins(config: ResolvedConfig, project: ProjectInfo): Promise<PluginRegistry> {
  const registry: Omit<PluginRegistry, 'teardown'> = {
    backends: new Map(),
    sources: [],
    reporters: [],
    strategies: new Map(),
  }
  const ready: TanukiPlugin[] = []
  const teardown = async (): Promise<void> => {
    const errors: unknown[] = []
    for (const plugin of [...ready].reverse()) {
      try {
        await plugin.teardown?.()
      } catch (error) {
        errors.push(
          new TanukiError(
            'TANUKI_PLUGIN_FAILED',
            `plugin "${plugin.name}" failed to tear down: ${errorMessage(error)}`,
            { cause: error },
          ),
        )
      }
    }
    ready.length = 0
    if (errors.length === 1) throw errors[0]
    if (errors.length > 1) throw new AggregateError(errors, `${errors.length} plugins failed to tear down`)
  }
  for (const plugin of config.plugins) {
    const ctx: PluginContext = {
      config,
      project,
      registerBackend: (backend) => {
        registry.backends.set(backend.name, backend)
      },
      registerTaskSource: (source) => {
        registry.sources.push(source)
      },
      registerReporter: (reporter) => {
        registry.reporters.push(reporter)
      },
      registerBalancer: (strategy) => {
        registry.strategies.set(strategy.name, strategy)
      },
      registerLander: (lander) => {
        registry.lander = lander
      },
    }
    try {
      await plugin.setup?.(ctx)
      ready.push(plugin)
    } catch (error) {
      await teardown().catch(() => {})
      // Our own errors already say what and where (e.g. "no Docker engine at …"); keep them whole.
      if (isTanukiError(error)) throw error
      throw new TanukiError(
        'TANUKI_PLUGIN_FAILED',
        `plugin "${plugin.name}" failed to set up: ${errorMessage(error)}`,
        { cause: error },
      )
    }
  }
  return { ...registry, teardown }
}
