import { defineCommand, runMain, type CommandDef } from 'citty'
import { isTanukiError } from '@tanuki/core'
import { initCommand } from './commands/init.ts'
import { landCommand } from './commands/land.ts'
import { logsCommand } from './commands/logs.ts'
import { projectCommand } from './commands/project.ts'
import { taskCommand } from './commands/task.ts'
import { uiCommand } from './commands/ui.ts'
import { workerCommand } from './commands/worker.ts'
import { version } from './version.ts'

/**
 * Every command returns its exit code; a `TanukiError` becomes one clear line and exit 1,
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
              process.stderr.write(`tanuki: ${error.message}\n`)
              process.exitCode = 1
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

await runMain(main)
// Watchers and sockets of plugins must not keep a finished command alive.
process.exit(process.exitCode ?? 0)
