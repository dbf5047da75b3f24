import { defineCommand, runCommand, type CommandDef } from 'citty'
import { isTanukiError } from '@tanuki/core'
import { checkArgs, resolveInvocation } from './args.ts'
import { initCommand } from './commands/init.ts'
import { landCommand } from './commands/land.ts'
import { logsCommand } from './commands/logs.ts'
import { projectCommand } from './commands/project.ts'
import { taskCommand } from './commands/task.ts'
import { uiCommand } from './commands/ui.ts'
import { jsonPrinted, printJson } from './commands/shared.ts'
import { renderHelp, useColor } from './usage.ts'
import { outputFailed } from './output.ts'
import { workerCommand } from './commands/worker.ts'
import { version } from './version.ts'

/**
 * A refusal: one message, its stable code, no stack. A usage error names its command already
 * (`tanuki project start: unknown option …`), and gets no second "tanuki: " in front. Asked for
 * `--json`, stdout gets it too, as `{ "error": { "code", "message" } }` (the shape of `tanuki land
 * --json`'s report when landing fails), unless the command printed its document already.
 */
function refuse(error: { message: string; code: string }, json: boolean): void {
  const message = /^tanuki[ :]/.test(error.message) ? error.message : `tanuki: ${error.message}`
  process.stderr.write(`${message}\n  (error code: ${error.code})\n`)
  if (json && !jsonPrinted()) printJson({ error: { code: error.code, message: error.message } })
  process.exitCode = 1
}

/** `--json` (or `--json=true`) among a command line's options (before any `--`), as the last word on it. */
function asksJson(argv: readonly string[]): boolean {
  const end = argv.indexOf('--')
  let json = false
  for (const arg of end === -1 ? argv : argv.slice(0, end)) {
    if (arg === '--json' || arg === '--json=true') json = true
    else if (arg === '--no-json' || arg === '--json=false') json = false
  }
  return json
}

/**
 * Every command returns its exit code; a `TanukiError` becomes one clear message and exit 1,
 * anything else is a bug and keeps its stack.
 */
function guarded(command: CommandDef): CommandDef {
  const subCommands = command.subCommands as Record<string, CommandDef> | undefined
  return {
    ...command,
    ...(subCommands
      ? { subCommands: Object.fromEntries(Object.entries(subCommands).map(([name, sub]) => [name, guarded(sub)])) }
      : {}),
    ...(command.run
      ? {
          async run(context) {
            try {
              const code = await command.run!(context)
              process.exitCode = typeof code === 'number' ? code : 0
            } catch (error) {
              if (!isTanukiError(error)) throw error
              refuse(error, context.args.json === true)
            }
          },
        }
      : {}),
  }
}

export const main = guarded(
  defineCommand({
    meta: { name: 'tanuki', version, description: "Orchestrate coding agents over a project's Markdown tasks" },
    subCommands: {
      init: initCommand,
      project: projectCommand,
      task: taskCommand,
      land: landCommand,
      logs: logsCommand,
      ui: uiCommand,
      worker: workerCommand,
    },
  }),
)

/**
 * Runs a command line: finds the command (global options such as `--cwd` may come before it),
 * shows help or the version when asked, refuses options and arguments the command does not
 * declare, then runs it. Returns the exit code.
 */
async function run(argv: string[]): Promise<number> {
  try {
    const invocation = resolveInvocation(main, argv)
    if (invocation.version) {
      process.stdout.write(`${version}\n`)
      return 0
    }
    const { command, names } = invocation
    if (invocation.help || !command.run) {
      process.stdout.write(`${await renderHelp(invocation, version, useColor(process.stdout))}\n`)
      if (invocation.help) return 0
      process.stderr.write(`tanuki: \`${names.join(' ')}\` needs a command (see above)\n`)
      return 1
    }
    checkArgs(command, names, invocation.args)
    await runCommand(command, { rawArgs: invocation.args })
    return typeof process.exitCode === 'number' ? process.exitCode : 0
  } catch (error) {
    if (isTanukiError(error)) {
      refuse(error, asksJson(argv))
      return 1
    }
    // citty's own refusals (a missing positional argument) are usage errors, not bugs.
    if (error instanceof Error && error.name === 'CLIError') {
      refuse({ message: `${error.message}. See \`tanuki --help\`.`, code: 'TANUKI_USAGE' }, asksJson(argv))
      return 1
    }
    throw error
  }
}

/** Resolves once everything written to the stream so far has been handed to the system. */
function flushed(stream: NodeJS.WriteStream): Promise<void> {
  if (stream.destroyed || stream.writableLength === 0) return Promise.resolve()
  return new Promise((resolve) => stream.write('', () => resolve()))
}

// A reader that stops early (`tanuki logs X | head`) is no error of ours; a run stops gracefully.
process.stdout.on('error', (error: NodeJS.ErrnoException) => outputFailed('stdout', error))
process.stderr.on('error', (error: NodeJS.ErrnoException) => outputFailed('stderr', error))

const code = await run(process.argv.slice(2))
// Output to a pipe is written in the background: exiting at once cut it at the pipe's 64 KiB.
await Promise.all([flushed(process.stdout), flushed(process.stderr)])
// Watchers and sockets of plugins must not keep a finished command alive.
process.exit(code)
