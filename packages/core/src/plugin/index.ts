import type { AgentBackend, Awaitable, ProjectInfo } from '../agent/types.ts'
import type { BalancerStrategy } from '../balancer/index.ts'
import { TanukiError, errorMessage, isTanukiError } from '../errors.ts'
import type { LandingMessage } from '../land/message.ts'
import type { Lander } from '../land/types.ts'
import type { Reporter } from '../reporter/types.ts'
import type { TaskSource } from '../source/types.ts'
import type { TaskInput } from '../task/types.ts'
import { configProblems, formatConfigProblem, type ConfigProblem } from './schema.ts'

/**
 * How one role's agents are made. Keys other than `backend` and `count` are the backend's own
 * options (for the process backend: `kind`, `model`, `systemPrompt`…).
 */
export interface RoleConfig {
  /** The backend's name (`process`, `docker`, or one a plugin registers). */
  backend?: string
  /** Agents of this role running at once. Default 1. */
  count?: number
  /**
   * A shell command that readies a workspace for the role's work, as a CI job's install step does
   * (`npm ci`, `uv sync`): it runs where verify runs (the agent's `exec`), before each task's first
   * iteration on an agent, and in the landing worktree (in a sandbox of the role) before the gate.
   * It runs at every task start, so it should be cheap when nothing changed
   * (`[ -d node_modules ] || npm ci`). One that fails pauses the role. `false`: none (over
   * `defaults.setup`).
   */
  setup?: string | false
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
  /** Pause after a failed try of a task, in ms; doubled after each failed try in a row. Default 1000. */
  cooldownMs?: number
  /** The longest pause between two tries, in ms. Default 5 minutes. */
  maxCooldownMs?: number
  /** An iteration with no output for this long is ended as `stalled`, in ms. Default 10 minutes. */
  stallTimeoutMs?: number
  /** The same failure this many tries in a row sends a task to review. Default 3. */
  sameFailureLimit?: number
  /** What the whole run may spend (`{ usd, tokens }`); roles have `agents.<role>.budget`, tasks `budget` in their front matter. */
  budget?: { usd?: number; tokens?: number }
  /**
   * Agents running at once, over every role: a number, or `{ total, <backend>: n }` to cap a
   * backend too. Default: no cap beyond each role's count.
   */
  maxAgents?: number | Record<string, number>
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
  /**
   * The landing commit's message above Tanuki's trailers: a template (`feat: {title}`; `{id}`,
   * `{title}`, `{role}`, `{priority}`, `{tags}`, `{summary}`) or a function of the task. Default
   * `{title}`, a blank line, `{summary}`.
   */
  message?: LandingMessage
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
  maxCooldownMs: number
  stallTimeoutMs: number
  sameFailureLimit: number
  budget?: { usd?: number; tokens?: number }
  /** Caps on agents running at once: `total` over every backend, and per backend by name. */
  maxAgents: Record<string, number>
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
    message?: LandingMessage
  }
  worktreesDir?: string
  /** `remote` as written, checked: present when the project has remote agents. */
  remote?: RemoteConfig
}

/** What a plugin's `setup` may do. */
export interface PluginContext {
  /**
   * The run's config. One object for every plugin of one setup, and another for the next setup
   * (a restart): plugins may key by it what they share within one run.
   */
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

/**
 * Checks a user config against its schema and fills in defaults. Throws one
 * `TANUKI_CONFIG_INVALID` listing every problem, each naming its key, what is allowed and the
 * value found (`details.problems`; `details.key` is the first problem's key).
 *
 * @param fallbackName the project name when the config gives none (the CLI passes the folder name)
 */
export function resolveConfig(config: UserConfig = {}, fallbackName = 'tanuki'): ResolvedConfig {
  const problems = configProblems(config)
  if (problems.length > 0) throw problemsError(problems)
  return withDefaults(config, fallbackName)
}

/** A config checked against its schema: every problem, and what the checks after it can still use. */
export interface ConfigCheck {
  /** Every problem, in `configProblems`' order; empty when the config is fine. */
  problems: ConfigProblem[]
  /** The error `resolveConfig` throws for these problems; undefined when there are none. */
  error?: TanukiError
  /**
   * The config resolved from what passed: a value with a problem is left out, so it gets its
   * default (a list or a key that stays wrong without it is left out whole). Undefined when the
   * config is not an object.
   */
  resolved?: ResolvedConfig
}

/**
 * `resolveConfig` that does not stop at the schema's problems: it returns them with the config
 * resolved from the rest, so that the checks only plugins can make (each role's backend, the
 * balancer) run in the same pass and a person sees every problem at once. The caller decides
 * which of those checks still make sense (none about roles when `agents` is not an object).
 *
 * @example
 * const { problems, error, resolved } = checkConfig(user, 'my-folder')
 */
export function checkConfig(config: unknown, fallbackName = 'tanuki'): ConfigCheck {
  const problems = configProblems(config)
  if (problems.length === 0) return { problems, resolved: withDefaults(config as UserConfig, fallbackName) }
  const error = problemsError(problems)
  if (!isObject(config)) return { problems, error }
  let kept = config
  let left = problems
  // First each value with a problem, then, for what is still wrong (a `remote` without its
  // `redis`), the whole top-level key.
  for (const depth of [Number.POSITIVE_INFINITY, 1]) {
    for (const problem of left) kept = without(kept, problem.path.slice(0, depth))
    left = configProblems(kept)
    if (left.length === 0) return { problems, error, resolved: withDefaults(kept as UserConfig, fallbackName) }
  }
  return { problems, error }
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value)

/** A copy of `value` without what is at `path`; a list is left out whole, not one entry of it. */
function without(value: Record<string, unknown>, path: readonly (string | number)[]): Record<string, unknown> {
  const [head, next] = path
  if (head === undefined) return value
  const copy = { ...value }
  const child = copy[head]
  if (next === undefined || typeof next === 'number' || !isObject(child)) delete copy[head]
  else copy[head] = without(child, path.slice(1))
  return copy
}

function problemsError(problems: readonly ConfigProblem[]): TanukiError {
  const lines = problems.map(formatConfigProblem)
  return new TanukiError(
    'TANUKI_CONFIG_INVALID',
    lines.length === 1
      ? lines[0]!
      : `${lines.length} problems in the config:\n${lines.map((l) => `  - ${l}`).join('\n')}`,
    { details: { key: problems[0]!.key, value: problems[0]!.value, problems: lines } },
  )
}

/** The config with its defaults; the schema has passed it. */
function withDefaults(config: UserConfig, fallbackName: string): ResolvedConfig {
  const plugins = flattenPlugins(config.plugins ?? [])
  return {
    name: config.name ?? fallbackName,
    ...(config.tasksDir === undefined ? {} : { tasksDir: config.tasksDir }),
    tasks: config.tasks ?? [],
    agents: config.agents ?? {},
    defaults: { ...config.defaults, count: config.defaults?.count ?? 1 },
    balancer: config.balancer ?? 'least-loaded',
    plugins,
    cooldownMs: config.cooldownMs ?? 1000,
    maxCooldownMs: config.maxCooldownMs ?? 5 * 60_000,
    stallTimeoutMs: config.stallTimeoutMs ?? 10 * 60_000,
    sameFailureLimit: config.sameFailureLimit ?? 3,
    ...(config.budget === undefined ? {} : { budget: config.budget }),
    maxAgents: typeof config.maxAgents === 'number' ? { total: config.maxAgents } : { ...config.maxAgents },
    retryLimit: config.retryLimit ?? 3,
    iterationTimeoutMs: config.iterationTimeoutMs ?? 30 * 60_000,
    verifyTimeoutMs: config.verifyTimeoutMs ?? 5 * 60_000,
    pollIntervalMs: config.pollIntervalMs ?? 5000,
    stopWhenSettled: config.stopWhenSettled ?? true,
    maxRespawns: config.maxRespawns ?? 5,
    mirrorStatus: config.mirrorStatus ?? true,
    land: resolveLand(config.land),
    ...(config.worktreesDir === undefined ? {} : { worktreesDir: config.worktreesDir }),
    ...(config.remote === undefined ? {} : { remote: config.remote }),
  }
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

/** `land` with its defaults; the schema has checked its shape. */
function resolveLand(land: UserConfig['land']): ResolvedConfig['land'] {
  if (land === false) return { enabled: false, auto: false, strategy: 'squash' }
  const given = land ?? {}
  return {
    enabled: true,
    auto: given.auto ?? true,
    strategy: given.strategy ?? 'squash',
    ...(given.into ? { into: given.into } : {}),
    ...(given.verify ? { verify: given.verify } : {}),
    ...(given.push ? { push: given.push } : {}),
    ...(given.message ? { message: given.message } : {}),
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
  // This setup's own: what plugins share by it does not outlive the run (see `PluginContext.config`).
  const shared: ResolvedConfig = { ...config }
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
      config: shared,
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
