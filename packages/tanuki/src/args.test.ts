import { defineCommand, type CommandDef } from 'citty'
import { describe, expect, it } from 'vitest'
import { isTanukiError } from '@tanuki/core'
import { checkArgs, resolveInvocation } from './args.ts'

const cwd = { type: 'string', valueHint: 'DIR' } as const
const start = defineCommand({
  meta: { name: 'start' },
  args: { cwd, watch: { type: 'boolean' }, detach: { type: 'boolean', alias: 'd' }, quiet: { type: 'boolean' } },
  run: () => 0,
})
const logs = defineCommand({
  meta: { name: 'logs' },
  args: {
    cwd,
    target: { type: 'positional', required: true, description: 'A task id' },
    follow: { type: 'boolean', alias: 'f' },
    json: { type: 'boolean' },
  },
  run: () => 0,
})
const status = defineCommand({ meta: { name: 'status' }, args: { cwd, json: { type: 'boolean' } }, run: () => 0 })
const root: CommandDef = defineCommand({
  meta: { name: 'tanuki' },
  subCommands: { project: defineCommand({ meta: { name: 'project' }, subCommands: { start, status } }), logs },
})

function usage(fn: () => unknown): string {
  try {
    fn()
  } catch (error) {
    if (isTanukiError(error, 'TANUKI_USAGE')) return error.message
    throw error
  }
  throw new Error('accepted')
}

describe('resolveInvocation', () => {
  it('finds the command and moves --cwd given before it to its arguments', () => {
    for (const argv of [
      ['--cwd', '/p', 'project', 'start', '--watch'],
      ['project', '--cwd', '/p', 'start', '--watch'],
      ['--cwd=/p', 'project', 'start', '--watch'],
    ]) {
      const found = resolveInvocation(root, argv)
      expect(found.command).toBe(start)
      expect(found.names).toEqual(['tanuki', 'project', 'start'])
      expect(found.args).toEqual(['--watch', '--cwd', '/p'])
    }
    expect(resolveInvocation(root, ['project', 'start', '--cwd', '/p']).args).toEqual(['--cwd', '/p'])
  })

  it('sees --help anywhere before --, and --version alone', () => {
    expect(resolveInvocation(root, ['project', 'start', '--help']).help).toBe(true)
    expect(resolveInvocation(root, ['-h', 'project']).help).toBe(true)
    expect(resolveInvocation(root, ['logs', '--', '--help']).help).toBe(false)
    expect(resolveInvocation(root, ['--version']).version).toBe(true)
    expect(resolveInvocation(root, ['-v']).version).toBe(true)
  })

  it('refuses an unknown command, naming the closest', () => {
    expect(usage(() => resolveInvocation(root, ['projct', 'start']))).toContain(
      'tanuki: unknown command "projct" (did you mean "project"?); commands: project, logs',
    )
    expect(usage(() => resolveInvocation(root, ['project', 'begin']))).toMatch(
      /^tanuki project: unknown command "begin"/,
    )
    // Short words and beginnings are near misses too, as people type commands.
    expect(usage(() => resolveInvocation(root, ['proj', 'start']))).toContain(
      'tanuki: unknown command "proj" (did you mean "project"?)',
    )
    expect(usage(() => resolveInvocation(root, ['lgs', 'T-1']))).toContain(
      'unknown command "lgs" (did you mean "logs"?)',
    )
  })

  it('refuses options before the command that are not global, saying where they go, and --cwd without a value', () => {
    expect(usage(() => resolveInvocation(root, ['--watch', 'project', 'start']))).toBe(
      'tanuki: option "--watch" goes after the command it is for, e.g. `tanuki project start --watch`. See `tanuki --help`.',
    )
    expect(usage(() => resolveInvocation(root, ['project', '-d', 'start']))).toContain(
      'tanuki project: option "-d" goes after the command it is for, e.g. `tanuki project start -d`.',
    )
    // A near miss is named with where it goes; what no command takes is not sent anywhere.
    expect(usage(() => resolveInvocation(root, ['--foll', 'logs', 'T-1']))).toContain(
      'tanuki: unknown option "--foll" (did you mean "--follow"? It goes after the command it is for, e.g. `tanuki logs --follow`).',
    )
    // The example is the command the line names, where it takes the option.
    expect(usage(() => resolveInvocation(root, ['--cwd', '/p', '--json', 'logs', 'T-1']))).toContain(
      'e.g. `tanuki logs --json`',
    )
    expect(usage(() => resolveInvocation(root, ['--json', 'project', 'status']))).toContain(
      'e.g. `tanuki project status --json`',
    )
    // A value of an option is no command (`tanuki --port 8080 ui`).
    expect(usage(() => resolveInvocation(root, ['--json', '--x', '8080', 'logs', 'T-1']))).toContain(
      'e.g. `tanuki logs --json`',
    )
    expect(usage(() => resolveInvocation(root, ['-q', 'project', 'start']))).toBe(
      'tanuki: unknown option "-q": no command takes it. See `tanuki --help`.',
    )
    expect(usage(() => resolveInvocation(root, ['--cwd']))).toContain('"--cwd" needs a value')
  })
})

describe('checkArgs', () => {
  const names = ['tanuki', 'project', 'start']
  it('accepts what the command declares, in every spelling', () => {
    for (const argv of [[], ['--watch'], ['--no-watch'], ['--watch=false'], ['-d'], ['--cwd', '/p'], ['--cwd=/p']]) {
      expect(() => checkArgs(start, names, argv)).not.toThrow()
    }
    expect(() => checkArgs(logs, ['tanuki', 'logs'], ['T-1', '-f'])).not.toThrow()
  })

  it.each([
    [['--dry-run'], 'tanuki project start: unknown option "--dry-run"; its options: --cwd, --watch, --detach, --quiet'],
    [['--wacth'], 'did you mean "--watch"?'],
    [['--cw', '/p'], 'unknown option "--cw" (did you mean "--cwd"?)'],
    [['--det'], 'unknown option "--det" (did you mean "--detach"?)'],
    [['-x'], 'unknown option "-x"'],
    [['extra'], 'tanuki project start: unexpected argument "extra": it takes none'],
    [['--watch', '--watch'], 'option "--watch" is given twice'],
    [['--watch=yes'], 'takes no value'],
    [['--cwd'], 'option "--cwd" needs a value'],
    [['--cwd', '--watch'], 'option "--cwd" needs a value'],
  ])('refuses %j', (argv, words) => {
    expect(usage(() => checkArgs(start, names, argv))).toContain(words)
  })

  it('counts positional arguments', () => {
    expect(usage(() => checkArgs(logs, ['tanuki', 'logs'], []))).toContain('tanuki logs: needs TARGET (a task id)')
    expect(usage(() => checkArgs(logs, ['tanuki', 'logs'], ['a', 'b']))).toContain(
      'tanuki logs: unexpected argument "b": it takes TARGET',
    )
    expect(() => checkArgs(logs, ['tanuki', 'logs'], ['--', '-odd-id'])).not.toThrow()
  })

  it('lets a last positional whose hint ends in "..." take any number', () => {
    const land = {
      args: { ids: { type: 'positional', required: false, valueHint: 'ID...' }, json: { type: 'boolean' } },
    }
    for (const argv of [[], ['A'], ['A', 'B', '--json'], ['--json', 'A', 'B', 'C']]) {
      expect(() => checkArgs(land, ['tanuki', 'land'], argv)).not.toThrow()
    }
  })
})
