import {
  TanukiError,
  errorMessage,
  isTanukiError,
  setupPlugins,
  type PluginRegistry,
  type ProjectInfo,
  type ResolvedConfig,
  type Task,
  type TanukiPlugin,
  type TaskSource,
} from '@tanuki/core'

/** Where a task of a plugin's task source comes from. */
export interface PluginOrigin {
  /** The plugin's name, as in the config's `plugins` (`acme:tracker`). */
  plugin: string
  /** The name of the task source the plugin registered. */
  source: string
}

/** The tasks of plugins' task sources, where each came from, and every source that failed. */
export interface PluginTasks {
  tasks: Task[]
  /** Each of `tasks` (the object itself) → its plugin and source. */
  origins: Map<Task, PluginOrigin>
  /** A source that could not load, or a plugin that could not set up, each naming its plugin. */
  errors: TanukiError[]
}

/** Plugins wrapped to note who registers which task source, and whose setup failed. */
export interface TracedPlugins {
  plugins: TanukiPlugin[]
  /** The plugin that registered a source. */
  ownerOf(source: TaskSource): string | undefined
  /** The plugin whose setup threw, and what it threw. */
  failed(): { plugin: string; error: unknown } | undefined
}

/**
 * Wraps plugins so that their sources can be named by plugin: the registry `setupPlugins` returns
 * lists sources without saying whose they are, and keeps a plugin's own `TanukiError` whole
 * without its name.
 */
export function tracePlugins(plugins: readonly TanukiPlugin[]): TracedPlugins {
  const owners = new Map<TaskSource, string>()
  let failure: { plugin: string; error: unknown } | undefined
  const traced = plugins.map(
    (plugin): TanukiPlugin => ({
      name: plugin.name,
      async setup(ctx) {
        try {
          await plugin.setup?.({
            ...ctx,
            registerTaskSource(source) {
              owners.set(source, plugin.name)
              ctx.registerTaskSource(source)
            },
          })
        } catch (error) {
          failure = { plugin: plugin.name, error }
          throw error
        }
      },
      teardown: () => plugin.teardown?.(),
    }),
  )
  return { plugins: traced, ownerOf: (source) => owners.get(source), failed: () => failure }
}

/**
 * Loads every source, all at once (a tracker's API answers in its own time). A source that
 * rejects is an error naming it and its plugin, followed by `hint`; the others' tasks still come back.
 */
export async function loadSources(
  sources: readonly TaskSource[],
  ownerOf: (source: TaskSource) => string | undefined,
  hint?: string,
): Promise<PluginTasks> {
  const loaded = await Promise.all(
    sources.map(async (source) => {
      const origin: PluginOrigin = { plugin: ownerOf(source) ?? 'unknown', source: source.name }
      try {
        return { origin, tasks: await source.load() }
      } catch (error) {
        return { origin, error }
      }
    }),
  )
  const result: PluginTasks = { tasks: [], origins: new Map(), errors: [] }
  for (const { origin, tasks, error } of loaded) {
    if (tasks) {
      for (const task of tasks) result.origins.set(task, origin)
      result.tasks.push(...tasks)
      continue
    }
    const message = `task source "${origin.source}" of plugin "${origin.plugin}": ${errorMessage(error)}`
    result.errors.push(
      new TanukiError(isTanukiError(error) ? error.code : 'TANUKI_TASK_INVALID', withHint(message, hint), {
        cause: error,
        details: { source: origin.source, plugin: origin.plugin },
      }),
    )
  }
  return result
}

function withHint(message: string, hint: string | undefined): string {
  return hint ? `${message.replace(/\.?$/, '.')} ${hint}` : message
}

/**
 * The tasks of the config's plugins' task sources, for the commands that show tasks (`task
 * list|show|graph`, `project status`): the plugins are set up, their sources loaded, and the
 * plugins torn down. Never throws: a plugin that cannot set up or a source that cannot load is an
 * error that names the plugin and says that its tasks are missing from what is shown.
 * Only the config's own plugins are set up: Tanuki's defaults (the process backend, the git
 * lander, remote agents) bring no tasks, and remote agents would connect to Redis.
 *
 * @param file the config file, for the hint in the errors
 */
export async function readPluginTasks(
  config: ResolvedConfig,
  project: ProjectInfo,
  file = 'tanuki.config.ts',
): Promise<PluginTasks> {
  const result: PluginTasks = { tasks: [], origins: new Map(), errors: [] }
  if (config.plugins.length === 0) return result
  const fix = `fix what it says, or take the plugin out of \`plugins\` in ${file}.`
  const traced = tracePlugins(config.plugins)
  let registry: PluginRegistry
  try {
    registry = await setupPlugins({ ...config, plugins: traced.plugins }, project)
  } catch (error) {
    const failed = traced.failed()
    const message = failed
      ? `plugin "${failed.plugin}" failed to set up: ${errorMessage(failed.error)}`
      : errorMessage(error)
    result.errors.push(
      new TanukiError(
        'TANUKI_PLUGIN_FAILED',
        withHint(message, `The tasks of plugins' task sources are left out until it does; ${fix}`),
        { cause: error, ...(failed ? { details: { plugin: failed.plugin } } : {}) },
      ),
    )
    return result
  }
  try {
    return await loadSources(registry.sources, traced.ownerOf, `Its tasks are left out until it loads; ${fix}`)
  } finally {
    await registry.teardown().catch(() => {})
  }
}

/** A plugin task's origin for people: the plugin, and its source when named otherwise. */
export function originLabel(origin: PluginOrigin): string {
  return origin.source === origin.plugin ? origin.plugin : `${origin.plugin} (${origin.source})`
}

/** The errors of plugins that could not set up and of sources that could not load, among others. */
export function sourceFailures(errors: readonly TanukiError[]): TanukiError[] {
  return errors.filter((error) => error.details.plugin !== undefined)
}
