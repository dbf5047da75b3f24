import { TanukiError, closestName, didYouMean } from '@tanuki/core'
import type { ArgDef, ArgsDef, CommandDef } from 'citty'

/** Options every command takes, wherever they stand on the command line. */
const GLOBAL_VALUE_FLAGS = ['cwd']
const HELP = ['--help', '-h']
const VERSION = ['--version', '-v']
/** Commands and options are typed by hand: `tsk` and `--jsn` are near misses too, `--verb` a beginning. */
const TYPED = { typed: true } as const

/** What a command line asks for, once the command it names is found. */
export interface Invocation {
  /** The command to run or show help for. */
  command: CommandDef
  /** Its names from the root: `['tanuki', 'project', 'start']`. */
  names: string[]
  /** The arguments for that command, global ones (`--cwd`) moved in among them. */
  args: string[]
  /** `--help` or `-h` was given. */
  help: boolean
  /** `--version` was given alone. */
  version: boolean
}

function usageError(names: string[], message: string): TanukiError {
  return new TanukiError('TANUKI_USAGE', `${names.join(' ')}: ${message}. See \`${names.join(' ')} --help\`.`, {
    details: { command: names.join(' ') },
  })
}

const camel = (name: string): string => name.replace(/-+([a-z0-9])/g, (_, c: string) => c.toUpperCase())
const kebab = (name: string): string => name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)

function resolvedArgs(def: ArgsDef): (ArgDef & { name: string; aliases: string[] })[] {
  return Object.entries(def).map(([name, arg]) => ({
    ...arg,
    name,
    aliases: arg.type === 'positional' ? [] : [(arg as { alias?: string | string[] }).alias ?? []].flat(),
  }))
}

function subCommands(command: CommandDef): Record<string, CommandDef> | undefined {
  const subs = command.subCommands as Record<string, CommandDef> | undefined
  return subs && Object.keys(subs).length > 0 ? subs : undefined
}

/**
 * Finds the command a command line names and moves global options to it: `tanuki --cwd X project
 * status` runs as `tanuki project status --cwd X`. Refuses, with `TANUKI_USAGE`, an unknown
 * command (naming the closest one), an option before the command that is not global, and a
 * global option given twice.
 */
export function resolveInvocation(root: CommandDef, argv: readonly string[], rootName = 'tanuki'): Invocation {
  let command = root
  const names = [rootName]
  const global: string[] = []
  let help = false
  let i = 0
  for (; i < argv.length; i++) {
    const token = argv[i]!
    const subs = subCommands(command)
    if (!subs) break
    if (token === '--') break
    if (HELP.includes(token)) {
      help = true
      continue
    }
    if (token.startsWith('-')) {
      const [flag, value] = token.split(/=(.*)/s) as [string, string | undefined]
      const name = flag.replace(/^-+/, '')
      if (GLOBAL_VALUE_FLAGS.includes(name) && flag.startsWith('--')) {
        const given = value ?? argv[++i]
        if (given === undefined) throw usageError(names, `option "--${name}" needs a value`)
        global.push(`--${name}`, given)
        continue
      }
      if (VERSION.includes(token) && argv.length === 1) return { command, names, args: [], help: false, version: true }
      throw usageError(names, misplacedOption(command, names, flag, argv.slice(i + 1)))
    }
    const next = subs[token]
    if (!next) {
      const known = Object.keys(subs)
      throw usageError(
        names,
        `unknown command "${token}"${didYouMean(token, known, TYPED)}; commands: ${known.join(', ')}`,
      )
    }
    command = next
    names.push(token)
  }
  const rest = argv.slice(i)
  const end = rest.indexOf('--')
  if ((end === -1 ? rest : rest.slice(0, end)).some((token) => HELP.includes(token))) help = true
  const args = end === -1 ? [...rest, ...global] : [...rest.slice(0, end), ...global, ...rest.slice(end)]
  return { command, names, args, help, version: false }
}

/** Each command below `command` (or itself, with no subcommands), with the options it declares as typed. */
function optionsBelow(command: CommandDef, names: string[]): { names: string[]; flags: string[] }[] {
  const subs = subCommands(command)
  if (subs) return Object.entries(subs).flatMap(([name, sub]) => optionsBelow(sub, [...names, name]))
  const flags = resolvedArgs((command.args ?? {}) as ArgsDef)
    .filter((arg) => arg.type !== 'positional')
    .flatMap((arg) => [
      `--${kebab(arg.name)}`,
      ...arg.aliases.map((alias) => (alias.length === 1 ? '-' : '--') + alias),
    ])
  return [{ names, flags }]
}

/**
 * What to say of an option given before the command (only `--cwd` goes anywhere): that it goes
 * after the command, with one that takes it; or the option it most likely meant; or that no
 * command takes it (`-q`: saying to move it would send a person to a second refusal).
 */
function misplacedOption(command: CommandDef, names: string[], flag: string, rest: readonly string[]): string {
  const below = optionsBelow(command, names)
  // The command the rest of the line names (its words that are commands: not the values of
  // options), where it takes the option; else the first that does.
  const path = [...names]
  for (let at: CommandDef | undefined = command, i = 0; at && i < rest.length; i++) {
    const next: CommandDef | undefined = subCommands(at)?.[rest[i]!]
    if (next) path.push(rest[i]!)
    at = next ?? at
  }
  const named = path.join(' ')
  const example = (option: string): string => {
    const takers = below.filter((sub) => sub.flags.includes(option))
    const taker = takers.find((sub) => named.startsWith(sub.names.join(' '))) ?? takers[0]!
    return `\`${taker.names.join(' ')} ${option}\``
  }
  if (below.some((sub) => sub.flags.includes(flag)))
    return `option "${flag}" goes after the command it is for, e.g. ${example(flag)}`
  const meant = flag.startsWith('--')
    ? closestName(flag, new Set(below.flatMap((sub) => sub.flags.filter((f) => f.startsWith('--')))), TYPED)
    : undefined
  return meant === undefined
    ? `unknown option "${flag}": no command takes it`
    : `unknown option "${flag}" (did you mean "${meant}"? It goes after the command it is for, e.g. ${example(meant)})`
}

/**
 * Checks a command's arguments against what it declares, before it runs: citty alone lets an
 * unknown option or an extra argument through (`project start --dry-run` started the agents).
 * Throws `TANUKI_USAGE` naming the option (with the closest declared one) or the argument.
 */
export function checkArgs(command: { args?: unknown }, names: string[], argv: readonly string[]): void {
  const declared = resolvedArgs((command.args ?? {}) as ArgsDef)
  const options = declared.filter((arg) => arg.type !== 'positional')
  const positionals = declared.filter((arg) => arg.type === 'positional')
  const byName = new Map<string, (typeof options)[number]>()
  for (const arg of options) {
    for (const name of [arg.name, camel(arg.name), kebab(arg.name), ...arg.aliases]) byName.set(name, arg)
  }
  const spelled = options.map((arg) => `--${kebab(arg.name)}`)
  const seen = new Set<string>()
  const given: string[] = []
  const once = (arg: (typeof options)[number], flag: string): void => {
    if (seen.has(arg.name)) throw usageError(names, `option "${flag}" is given twice`)
    seen.add(arg.name)
  }
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i]!
    if (token === '--') {
      given.push(...argv.slice(i + 1))
      break
    }
    if (!token.startsWith('-') || token === '-') {
      given.push(token)
      continue
    }
    const [flag, value] = token.split(/=(.*)/s) as [string, string | undefined]
    if (flag.startsWith('--')) {
      let name = flag.slice(2)
      let arg = byName.get(name)
      if (!arg && name.startsWith('no-') && byName.get(name.slice(3))?.type === 'boolean') {
        name = name.slice(3)
        arg = byName.get(name)
      }
      if (!arg) {
        const meant = closestName(`--${name}`, spelled, TYPED)
        throw usageError(
          names,
          `unknown option "${flag}"` +
            (meant ? ` (did you mean "${meant}"?)` : '') +
            (spelled.length > 0 ? `; its options: ${spelled.join(', ')}` : '; it takes no options'),
        )
      }
      once(arg, flag)
      if (arg.type === 'boolean') {
        if (value !== undefined && value !== 'true' && value !== 'false') {
          throw usageError(names, `option "${flag}" is on or off; it takes no value (got "${value}")`)
        }
      } else if (value === undefined) {
        const next = argv[i + 1]
        if (next === undefined || (next.startsWith('-') && next !== '-')) {
          throw usageError(names, `option "${flag}" needs a value`)
        }
        i++
      }
      continue
    }
    // Short options: `-f`, or several booleans at once (`-df`).
    const letters = flag.slice(1)
    for (const [at, letter] of [...letters].entries()) {
      const arg = byName.get(letter)
      if (!arg || !arg.aliases.includes(letter)) {
        throw usageError(
          names,
          `unknown option "-${letter}"` +
            (spelled.length > 0 ? `; its options: ${spelled.join(', ')}` : '; it takes no options'),
        )
      }
      once(arg, `-${letter}`)
      if (arg.type !== 'boolean' && at === letters.length - 1 && value === undefined) i++
    }
  }
  const missing = positionals.slice(given.length).filter((p) => p.required !== false && p.default === undefined)
  if (missing.length > 0) {
    throw usageError(
      names,
      `needs ${missing.map((p) => `${p.name.toUpperCase()}${p.description ? ` (${p.description.toLowerCase()})` : ''}`).join(' and ')}`,
    )
  }
  // A last positional whose value hint ends in "..." takes any number (`tanuki land [IDS]`).
  const many = positionals.at(-1)?.valueHint?.endsWith('...') === true
  if (given.length > positionals.length && !many) {
    const extra = given.slice(positionals.length)
    throw usageError(
      names,
      `unexpected argument${extra.length === 1 ? '' : 's'} ${extra.map((a) => JSON.stringify(a)).join(' ')}: ` +
        (positionals.length === 0
          ? 'it takes none'
          : `it takes ${positionals.map((p) => p.name.toUpperCase()).join(' ')}`),
    )
  }
}
