import { existsSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { loadConfig as loadC12 } from 'c12'
import { createJiti } from 'jiti'
import {
  TanukiError,
  errorMessage,
  isTanukiError,
  problemsOf,
  resolveConfig,
  type ResolvedConfig,
  type UserConfig,
} from '@tanuki/core'
import { projectName } from './paths.ts'

export const CONFIG_NAMES = ['tanuki.config.ts', 'tanuki.config.mts', 'tanuki.config.js', 'tanuki.config.mjs']

/** The config as loaded: what the user wrote, with defaults, and which file it came from. */
export interface LoadedConfig {
  user: UserConfig
  resolved: ResolvedConfig
  /** The config file, relative to the project, or undefined when there is none. */
  file?: string
}

/**
 * Packages a config may import, resolved from this CLI's own install: a project needs no
 * node_modules of its own to write `import { dockerAgents } from '@tanuki/plugin-agent-docker'`.
 */
function packageAliases(): Record<string, string> {
  const here = fileURLToPath(import.meta.url)
  const aliases: Record<string, string> = {}
  aliases.tanuki = join(dirname(here), existsSync(join(dirname(here), 'index.js')) ? 'index.js' : 'index.ts')
  for (const name of [
    '@tanuki/core',
    '@tanuki/plugin-agent-process',
    '@tanuki/plugin-reporter',
    '@tanuki/plugin-agent-docker',
    '@tanuki/plugin-agent-remote',
  ]) {
    try {
      aliases[name] = fileURLToPath(import.meta.resolve(name))
    } catch {
      // Not installed beside the CLI: the project must provide it itself.
    }
  }
  return aliases
}

function configError(file: string, message: string, details: Record<string, unknown> = {}, cause?: unknown) {
  return new TanukiError('TANUKI_CONFIG_INVALID', `${file}: ${message}`, {
    ...(cause === undefined ? {} : { cause }),
    details: { file, ...details },
  })
}

function describe(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'a list'
  if (typeof value === 'function') return 'a function'
  return `${typeof value === 'object' ? 'an' : 'a'} ${typeof value} (${JSON.stringify(value)})`
}

/** A config file as written: what it exports, and which file it is (none: `{}`). */
export interface ConfigFile {
  user: UserConfig
  /** The config file, relative to the project, or undefined when there is none. */
  file?: string
}

/**
 * Finds and loads `tanuki.config.{ts,mts,js,mjs}`; no file means defaults. Refuses, naming the
 * file, a config that cannot be loaded, one that exports nothing or something else than an
 * object, and every key its schema refuses (`resolveConfig`).
 */
export async function loadConfig(root: string): Promise<LoadedConfig> {
  return resolveConfigFile(await readConfigFile(root), root)
}

/**
 * Loads the config file without checking its keys: refuses, naming the file, one that cannot be
 * loaded or does not export a config object.
 */
export async function readConfigFile(root: string): Promise<ConfigFile> {
  const found = CONFIG_NAMES.find((name) => existsSync(join(root, name)))
  let user: UserConfig = {}
  if (found) {
    // c12 reads `export default` and named exports alike and turns "nothing" into {}: to tell a
    // file that exports nothing from one that exports {}, see the module as jiti loads it.
    const loader = createJiti(join(root, found), {
      interopDefault: false,
      alias: packageAliases(),
      // The transpiled config is cached by its text (jiti's default: node_modules/.cache/jiti or
      // the temp folder): the transform and loading Babel for it cost ~0.3 s of every command.
      moduleCache: false,
    })
    let exported:
      | { kind: 'nothing'; named: string[]; value?: undefined }
      | { kind: 'value'; value: unknown }
      | undefined
    const jiti = {
      async import(id: string, options?: { default?: boolean }): Promise<unknown> {
        const module = (await loader.import(id)) as Record<string, unknown>
        exported =
          'default' in module
            ? { kind: 'value', value: module.default }
            : { kind: 'nothing', named: Object.keys(module) }
        if (!options?.default) return module
        // c12 only merges objects (and calls functions): anything else is refused below.
        const value = exported.value
        return (typeof value === 'object' && value !== null) || typeof value === 'function' ? value : {}
      },
    }
    try {
      const loaded = await loadC12<UserConfig & Record<string, unknown>>({
        cwd: root,
        configFile: join(root, found),
        rcFile: false,
        globalRc: false,
        dotenv: false,
        packageJson: false,
        envName: false,
        jiti: jiti as unknown as Parameters<typeof loadC12>[0]['jiti'],
      })
      user = loaded.config ?? {}
    } catch (error) {
      throw configError(
        found,
        `could not be loaded: ${errorMessage(error).split('\n')[0]}. Fix the file (it must \`export default defineConfig({...})\`).`,
        {},
        error,
      )
    }
    if (exported?.kind === 'nothing' && exported.named.length > 0) {
      throw configError(
        found,
        `has no default export (it exports ${exported.named.join(', ')}); write \`export default defineConfig({ ... })\``,
      )
    }
    if (exported?.kind === 'nothing' || exported?.value === undefined) {
      throw configError(found, 'exports nothing; add `export default defineConfig({ ... })` (see `tanuki init`)')
    }
    const value = exported?.value
    if (typeof value !== 'function' && (typeof value !== 'object' || value === null || Array.isArray(value))) {
      throw configError(
        found,
        `exports ${describe(value)}, not a config; write \`export default defineConfig({ ... })\``,
        { value },
      )
    }
  }
  return { user, ...(found ? { file: relative(root, join(root, found)) } : {}) }
}

/** Checks a config file's keys and fills in defaults; every problem is named with the file. */
export function resolveConfigFile({ user, file: found }: ConfigFile, root: string): LoadedConfig {
  try {
    return {
      user,
      resolved: resolveConfig(user, projectName(root)),
      ...(found ? { file: found } : {}),
    }
  } catch (error) {
    if (isTanukiError(error, 'TANUKI_CONFIG_INVALID')) {
      const file = found ?? 'config'
      const problems = problemsOf(error).map((problem) => `${file}: ${problem}`)
      throw new TanukiError('TANUKI_CONFIG_INVALID', `${file}: ${error.message}`, {
        cause: error,
        details: { file: found, ...error.details, problems },
      })
    }
    throw error
  }
}
