import { existsSync, readFileSync, realpathSync } from 'node:fs'
import { dirname, isAbsolute, join, relative } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { loadConfig as loadC12 } from 'c12'
import {
  TanukiError,
  checkConfig,
  errorMessage,
  problemsOf,
  type ConfigProblem,
  type ResolvedConfig,
  type UserConfig,
} from '@tanuki/core'
import { createJiti } from './lazy-jiti.ts'
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

/** Where a config could not be loaded: a file (the config, or one it imports) and a place in it. */
interface Place {
  /** The file, absolute. */
  path: string
  /** 1-based, as editors count. */
  line: number
  /** 1-based; known for a syntax error (a runtime error's column is one of the transpiled code). */
  column?: number
  /** What the loader said, without the place. */
  said: string
  syntax: boolean
}

/**
 * Where a load error points: a syntax error's place as jiti reports it (its message ends with
 * `<file>:<line>:<column>`, Babel's column, from 0), or as a parser's `loc` gives it; else a
 * runtime error's line, from the first frame of its stack in the config (jiti keeps the source's
 * lines, not its columns). Undefined when the error says no place.
 */
function placeOf(error: unknown, config: string): Place | undefined {
  if (!(error instanceof Error)) return undefined
  const jiti = /^(?:\w+: )?([^]*?)\s*\n\s*((?:[A-Za-z]:)?[\\/].*):(\d+):(\d+)\s*$/.exec(error.message)
  if (jiti) {
    return { path: jiti[2]!, line: Number(jiti[3]), column: Number(jiti[4]) + 1, said: jiti[1]!, syntax: true }
  }
  const loc = (error as { loc?: { line?: unknown; column?: unknown } }).loc
  const file = (error as { filename?: unknown }).filename
  if (typeof loc?.line === 'number' && typeof loc.column === 'number') {
    // Babel and acorn end their message with " (line:column)".
    const said = error.message.split('\n')[0]!.replace(/\s*\(\d+:\d+\)\s*$/, '')
    const path = typeof file === 'string' && file !== '' ? file : config
    return { path, line: loc.line, column: loc.column + 1, said, syntax: true }
  }
  const names = new Set([config, pathToFileURL(config).href])
  try {
    names.add(realpathSync(config))
  } catch {
    // Gone since it was loaded: its own name is enough.
  }
  for (const frame of (error.stack ?? '').split('\n')) {
    const at = /^\s+at (?:.* \()?(.+?):(\d+):\d+\)?$/.exec(frame)
    if (at && names.has(at[1]!)) {
      const said = error.message.split('\n')[0]!
      return {
        path: config,
        line: Number(at[2]),
        said: error.name === 'Error' ? said : `${error.name}: ${said}`,
        syntax: false,
      }
    }
  }
  return undefined
}

/**
 * The lines around a place, numbered, its line marked (and its column, when known), as
 * TypeScript and esbuild show them; Vite writes its own `generateCodeFrame` for the same.
 */
function codeFrame(text: string, place: Place): string {
  const lines = text.split(/\r?\n/)
  // The empty "line" after the file's last newline is shown only when the place is there.
  if (lines.at(-1) === '' && place.line < lines.length) lines.pop()
  const first = Math.max(1, place.line - 2)
  const last = Math.min(lines.length, place.line + 1)
  const width = String(last).length
  const frame: string[] = []
  for (let n = first; n <= last; n++) {
    const line = lines[n - 1]!
    frame.push(`${n === place.line ? '>' : ' '} ${String(n).padStart(width)} | ${line.replace(/\t/g, '  ')}`.trimEnd())
    if (n === place.line && place.column !== undefined) {
      // The tabs before the column were widened: the caret moves with them.
      const before = line.slice(0, place.column - 1).replace(/\t/g, '  ')
      frame.push(`  ${' '.repeat(width)} | ${' '.repeat(before.length)}^`)
    }
  }
  return frame.join('\n')
}

/** True when a place is past the last thing in the text: what was opened is never closed. */
function atEnd(text: string, place: Place): boolean {
  const lines = text.split('\n')
  if (place.line > lines.length) return true
  const offset = lines.slice(0, place.line - 1).reduce((sum, line) => sum + line.length + 1, 0)
  return offset + (place.column ?? 1) - 1 >= text.trimEnd().length
}

/**
 * A config that could not be loaded, as one error: where (file, line, column), what the loader
 * said, the lines there, and what to do. The loader's error stays as `cause`.
 */
function loadError(root: string, found: string, error: unknown): TanukiError {
  const place = placeOf(error, join(root, found))
  if (!place) {
    return configError(
      found,
      `could not be loaded: ${errorMessage(error).split('\n')[0]}. Fix the file: it must \`export default defineConfig({ ... })\`.`,
      {},
      error,
    )
  }
  const inside = relative(root, place.path)
  const file = inside.startsWith('..') || isAbsolute(inside) ? place.path : inside
  let text = ''
  try {
    text = readFileSync(place.path, 'utf8')
  } catch {
    // Not readable as a file: the place alone still helps.
  }
  const at = `${file}:${place.line}${place.column === undefined ? '' : `:${place.column}`}`
  const where = `line ${place.line}${place.column === undefined ? '' : `, column ${place.column}`}`
  const frame = text ? `\n\n${codeFrame(text, place)}\n` : ''
  const message = !place.syntax
    ? `${at}: could not be loaded: ${place.said} (at ${where}). Fix the code there: the config must \`export default defineConfig({ ... })\`.`
    : text && atEnd(text, place)
      ? `${at}: syntax error at the end of the file (line ${place.line}): ${place.said}. Something opened is never closed: add the missing \`}\`, \`]\`, \`)\` or quote.`
      : `${at}: syntax error at ${where}: ${place.said}. Fix it there or just before (often a missing or extra comma, bracket or quote).`
  return new TanukiError('TANUKI_CONFIG_INVALID', `${message}${frame}`, {
    cause: error,
    details: {
      file,
      line: place.line,
      ...(place.column === undefined ? {} : { column: place.column }),
      ...(file === found ? {} : { config: found }),
    },
  })
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
  const present = CONFIG_NAMES.filter((name) => existsSync(join(root, name)))
  const found = present[0]
  if (present.length > 1) {
    // Only the first is read: a second one (made by following advice that named the wrong file)
    // would be ignored without a word, its settings and agents with it.
    const others = present.slice(1)
    throw new TanukiError(
      'TANUKI_CONFIG_INVALID',
      `${present.join(' and ')} are both in ${root}, and Tanuki reads only one: ${found} (the first of ` +
        `${CONFIG_NAMES.join(', ')}), so ${others.join(' and ')} ${others.length === 1 ? 'is' : 'are'} ignored. ` +
        'Keep one config file: move what you need into it and delete the other.',
      { details: { files: present } },
    )
  }
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
      throw loadError(root, found, error)
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

/** A config file checked against the schema, without stopping at its problems. */
export interface ConfigFileCheck {
  /** The problems the schema found, each with its path (empty: none). */
  problems: ConfigProblem[]
  /** Every problem, each named with the file; undefined when there is none. */
  error?: TanukiError
  /**
   * The config resolved from what passed (a value with a problem gets its default), for the
   * checks that come after the schema's; undefined when nothing could be resolved.
   */
  config?: LoadedConfig
}

/**
 * Checks a config file's keys and fills in defaults, as `resolveConfigFile`, but returns its
 * problems with the config resolved from the rest, so the checks after it run in the same pass.
 */
export function checkConfigFile({ user, file: found }: ConfigFile, root: string): ConfigFileCheck {
  const { problems, error, resolved } = checkConfig(user, projectName(root))
  const config = resolved ? { user, resolved, ...(found ? { file: found } : {}) } : undefined
  if (!error) return { problems, ...(config ? { config } : {}) }
  const file = found ?? 'config'
  const named = new TanukiError('TANUKI_CONFIG_INVALID', `${file}: ${error.message}`, {
    cause: error,
    details: { file: found, ...error.details, problems: problemsOf(error).map((p) => `${file}: ${p}`) },
  })
  return { problems, error: named, ...(config ? { config } : {}) }
}

/** Checks a config file's keys and fills in defaults; every problem is named with the file. */
export function resolveConfigFile(file: ConfigFile, root: string): LoadedConfig {
  const { error, config } = checkConfigFile(file, root)
  if (error) throw error
  return config!
}
