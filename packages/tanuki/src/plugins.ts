import { flattenPlugins, type PluginOption, type TanukiPlugin } from '@tanuki/core'
import { gitLanding, processAgents } from '@tanuki/plugin-agent-process'
import { consoleReporter, ndjsonReporter, summaryReporter } from '@tanuki/plugin-reporter'

export interface DefaultPluginsOptions {
  /** Add the reporters (console, NDJSON log, summary). Default true; `stop --remove` needs none. */
  reporters?: boolean
  /** Where the NDJSON reporter writes (the state folder's `events.ndjson`). */
  events?: string
  quiet?: boolean
  verbose?: boolean
  /** The config has `remote`: add the remote agents' plugin (`backend: 'remote'`). */
  remote?: boolean
  /**
   * Add the git lander. Default true; checking a project needs none, and its setup runs git (in
   * a big project's process, a fork that costs a tenth of a second or more).
   */
  lander?: boolean
}

/**
 * The plugins a command uses: Tanuki's defaults (the process backend, the git lander, the remote
 * agents' backend when the config has `remote`, and the console, NDJSON and summary reporters) first, each unless the config brings its own by the same name, then the
 * config's own plugins.
 *
 * @example
 * const plugins = defaultPlugins(config.plugins, { events: paths.events, quiet: true })
 */
export function defaultPlugins(own: readonly PluginOption[] = [], options: DefaultPluginsOptions = {}): TanukiPlugin[] {
  const plugins = flattenPlugins(own)
  const names = new Set(plugins.map((plugin) => plugin.name))
  const defaults: TanukiPlugin[] = []
  const add = (name: string, make: () => TanukiPlugin): void => {
    if (!names.has(name)) defaults.push(make())
  }
  add('tanuki:agent-process', () => processAgents())
  if (options.lander ?? true) add('tanuki:land-git', () => gitLanding())
  // Loaded only when the config has remote agents: BullMQ and ioredis cost every command time.
  if (options.remote) add('tanuki:agent-remote', () => lazyPlugin('tanuki:agent-remote', remotePlugin))
  if (options.reporters ?? true) {
    add('tanuki:reporter-console', () =>
      consoleReporter({ ...(options.quiet ? { quiet: true } : {}), ...(options.verbose ? { verbose: true } : {}) }),
    )
    if (options.events) add('tanuki:reporter-ndjson', () => ndjsonReporter({ path: options.events! }))
    // Quiet runs keep the summary in .tanuki/summary.md and print only the console's last line;
    // verbose ones print all of it, as the file has it; the others, what needs a person.
    add('tanuki:reporter-summary', () =>
      summaryReporter(options.quiet ? { stream: false } : options.verbose ? { full: true } : {}),
    )
  }
  return [...defaults, ...plugins]
}

async function remotePlugin(): Promise<TanukiPlugin> {
  return (await import('@tanuki/plugin-agent-remote')).remoteAgents()
}

/** A plugin whose module is imported at its setup, not when the CLI starts. */
function lazyPlugin(name: string, load: () => Promise<TanukiPlugin>): TanukiPlugin {
  let inner: TanukiPlugin | undefined
  return {
    name,
    async setup(ctx) {
      inner = await load()
      await inner.setup?.(ctx)
    },
    async teardown() {
      await inner?.teardown?.()
    },
  }
}
