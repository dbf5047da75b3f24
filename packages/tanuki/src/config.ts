import { existsSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { loadConfig as loadC12 } from 'c12'
import {
  TanukiError,
  errorMessage,
  isTanukiError,
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

/** Finds and loads `tanuki.config.{ts,mts,js,mjs}`; no file means defaults. */
export async function loadConfig(root: string): Promise<LoadedConfig> {
  const found = CONFIG_NAMES.find((name) => existsSync(join(root, name)))
  let user: UserConfig = {}
  if (found) {
    try {
      const loaded = await loadC12<UserConfig & Record<string, unknown>>({
        cwd: root,
        configFile: join(root, found),
        rcFile: false,
        globalRc: false,
        dotenv: false,
        packageJson: false,
        envName: false,
        jitiOptions: { alias: packageAliases(), fsCache: false, moduleCache: false },
      })
      user = loaded.config ?? {}
    } catch (error) {
      throw new TanukiError(
        'TANUKI_CONFIG_INVALID',
        `${found}: could not be loaded: ${errorMessage(error).split('\n')[0]}. Fix the file (it must \`export default defineConfig({...})\`).`,
        {
          cause: error,
          details: { file: found },
        },
      )
    }
  }
  try {
    return {
      user,
      resolved: resolveConfig(user, projectName(root)),
      ...(found ? { file: relative(root, join(root, found)) } : {}),
    }
  } catch (error) {
    if (isTanukiError(error, 'TANUKI_CONFIG_INVALID')) {
      throw new TanukiError('TANUKI_CONFIG_INVALID', `${found ?? 'config'}: ${error.message}`, {
        cause: error,
        details: { file: found, ...error.details },
      })
    }
    throw error
  }
}
