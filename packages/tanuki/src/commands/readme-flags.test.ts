import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { ArgsDef, CommandDef } from 'citty'
import { describe, expect, it } from 'vitest'
import { initCommand } from './init.ts'
import { landCommand } from './land.ts'
import { logsCommand } from './logs.ts'
import { projectCommand } from './project.ts'
import { taskCommand } from './task.ts'
import { uiCommand } from './ui.ts'
import { workerCommand } from './worker.ts'

const README = readFileSync(join(import.meta.dirname, '..', '..', '..', '..', 'README.md'), 'utf8')

/** Every command's short flags (`-d`), by its full name (`tanuki project start`). */
function shortFlags(name: string, command: CommandDef): [string, string, string][] {
  const found: [string, string, string][] = []
  for (const [arg, def] of Object.entries((command.args ?? {}) as ArgsDef)) {
    const aliases = 'alias' in def && def.alias ? [def.alias].flat() : []
    for (const alias of aliases) if (alias.length === 1) found.push([name, arg, alias])
  }
  for (const [sub, def] of Object.entries((command.subCommands ?? {}) as Record<string, CommandDef>))
    found.push(...shortFlags(`${name} ${sub}`, def))
  return found
}

describe("the README's command table", () => {
  it('names every short flag of the CLI with its long one, in the rows of its command', () => {
    const commands = [initCommand, projectCommand, taskCommand, landCommand, logsCommand, uiCommand, workerCommand]
    const all = commands.flatMap((command) => {
      const def = command as CommandDef
      return shortFlags(`tanuki ${(def.meta as { name: string }).name}`, def)
    })
    expect(all.length).toBeGreaterThan(0)
    for (const [name, arg, alias] of all) {
      const rows = README.split('\n').filter(
        (line) => line.startsWith(`| \`${name} `) || line.startsWith(`| \`${name}\``),
      )
      expect(rows.length, name).toBeGreaterThan(0)
      const heads = rows.map((row) => row.split('` |')[0]!)
      expect(
        heads.some((head) => head.includes(`-${alias}\\|--${arg}`)),
        `${name}: -${alias} (--${arg}) in ${heads.join(' ; ')}`,
      ).toBe(true)
    }
  })
})
