import { stripVTControlCharacters } from 'node:util'
import { renderUsage, type CommandDef } from 'citty'
import type { Invocation } from './args.ts'

/** Colour only for a terminal, and never with `NO_COLOR` (any non-empty value, see no-color.org). */
export function useColor(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  return stream.isTTY === true && !env.NO_COLOR
}

const HELP = { type: 'boolean', alias: 'h', description: 'Show this help' } as const
/** What the root's help lists besides its commands: options that work with every command. */
const ROOT_OPTIONS = {
  cwd: {
    type: 'string',
    valueHint: 'DIR',
    description: 'Project directory, before or after any command (default: the current directory)',
  },
  version: { type: 'boolean', alias: 'v', description: 'Show the version' },
  help: { ...HELP, description: 'Show this help; `tanuki <command> --help` shows a command’s own' },
} as const

/**
 * The help of the command an invocation names, with its full name (`tanuki project start`, not
 * `project start` or `cli.js`), `--help` (and on the root `--cwd` and `--version`) among its
 * options, and colour only when asked.
 */
export async function renderHelp(invocation: Invocation, version: string, color: boolean): Promise<string> {
  const { command, names } = invocation
  const parent: CommandDef | undefined =
    names.length > 1 ? { meta: { name: names.slice(0, -1).join(' '), version } } : undefined
  const own: CommandDef = {
    ...command,
    meta: { ...(command.meta as object), name: names.at(-1)!, version },
    args: { ...(command.args as object), ...(names.length === 1 ? ROOT_OPTIONS : { help: HELP }) },
  }
  const text = await renderUsage(own, parent)
  return color ? text : stripVTControlCharacters(text)
}
