import { statSync } from 'node:fs'
import { relative, resolve } from 'node:path'
import { TanukiError } from '@tanuki/core'
import { enclosingProject, projectMarker, projectsBelow } from '../find-project.ts'

/** Arguments every command takes. */
export const common = {
  cwd: { type: 'string', description: 'Project directory (default: the current directory)', valueHint: 'DIR' },
} as const

/**
 * The project folder: `--cwd`, else the current directory. Refuses (`TANUKI_CWD_INVALID`) a
 * folder that does not exist or is a file; no command creates it, `tanuki init` included.
 */
export function projectRoot(args: { cwd?: string | undefined }): string {
  if (args.cwd === undefined) return resolve(process.cwd())
  const root = resolve(args.cwd)
  const refuse = (what: string): TanukiError =>
    new TanukiError('TANUKI_CWD_INVALID', `--cwd ${JSON.stringify(args.cwd)}: ${what}`, {
      details: { cwd: args.cwd, path: root },
    })
  if (args.cwd.trim() === '') throw refuse('is empty; give the project folder')
  let isFolder: boolean
  try {
    isFolder = statSync(root).isDirectory()
  } catch {
    throw refuse(`there is no folder ${root}; create it first (mkdir), or fix the path`)
  }
  if (!isFolder) throw refuse(`${root} is a file, not a folder; give the project folder`)
  return root
}

/** A path as one word of a shell command line, quoted when it needs to be. */
export function shellWord(path: string): string {
  return /^[\w@%+=:,./-]+$/.test(path) ? path : `'${path.replace(/'/g, `'\\''`)}'`
}

/**
 * The folder of a command that works on a project (status, start, stop, tasks, logs, land, ui):
 * `projectRoot`, as for every command, but a folder that holds no project is refused
 * (`TANUKI_NO_PROJECT`), naming the one above it (up to the git repository's top) or below it (a
 * monorepo's `services/api`) when there is one. Run from the wrong folder, a command reported an
 * empty project, sent the person to `tanuki init` in the wrong place, or worked on a repository
 * that is no project: `tanuki land` made its branch and worktree there, and said it had nothing to land.
 */
export function checkedProjectRoot(args: { cwd?: string | undefined }): string {
  const root = projectRoot(args)
  const where = args.cwd === undefined ? `here (${root})` : `in ${root} (--cwd ${JSON.stringify(args.cwd)})`
  const none = `no Tanuki project ${where}: it has no tanuki.config.*, .tanuki/tasks/ or tasks/.`
  const above = enclosingProject(root)
  if (above) {
    const cwd = shellWord(above.dir)
    const fix =
      args.cwd === undefined ? `run the command there (cd ${cwd}), or pass --cwd ${cwd}` : `pass --cwd ${cwd} instead`
    throw new TanukiError('TANUKI_NO_PROJECT', `${none} ${above.dir} has one (${above.marker}): ${fix}.`, {
      details: { root, project: above.dir, marker: above.marker },
    })
  }
  if (projectMarker(root)) return root
  const below = projectsBelow(root)
  const first = below[0]
  if (first) {
    // From the folder the person is in, the way down is short: `cd services/api`.
    const cwd = shellWord(args.cwd === undefined ? relative(root, first.dir) : first.dir)
    const fix = args.cwd === undefined ? `cd ${cwd}, or pass --cwd ${cwd}` : `pass --cwd ${cwd} instead`
    const others =
      below.length > 1
        ? ` (and ${below.length - 1} more: ${below
            .slice(1, 4)
            .map((p) => relative(root, p.dir))
            .join(', ')}${below.length > 4 ? ', …' : ''})`
        : ''
    throw new TanukiError('TANUKI_NO_PROJECT', `${none} ${first.dir} has one (${first.marker})${others}: ${fix}.`, {
      details: { root, project: first.dir, marker: first.marker, below: below.map((p) => p.dir) },
    })
  }
  throw new TanukiError(
    'TANUKI_NO_PROJECT',
    `${none} Run the command in your project's folder (or pass --cwd DIR), or start one here with \`tanuki init\`.`,
    { details: { root } },
  )
}

/** Whether this process printed a command's `--json` document (see `printJson`). */
let printedJson = false

/**
 * Prints a command's `--json` document on stdout. A refusal after it (`tanuki land --json` whose
 * report carries its error) adds no second document; one before it prints `{ "error": … }` in its
 * place (cli.ts), so a script reading stdout always gets one JSON document.
 */
export function printJson(value: unknown): void {
  printedJson = true
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`)
}

/** Whether `printJson` has printed this process's document. */
export function jsonPrinted(): boolean {
  return printedJson
}

export function sleep(ms: number): Promise<void> {
  return new Promise((done) => setTimeout(done, ms))
}

/** Fewest characters the last column of a `table` is cut to: narrower, a title says nothing. */
const LAST_COLUMN_MIN = 12

/**
 * Left-aligned columns, as wide as their widest cell. With `width` (a terminal's columns), the
 * last column is cut with `…` so that a row fits in it, when the others leave it room to say something.
 */
export function table(rows: string[][], width?: number): string {
  const widths: number[] = []
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)))
  // One column short of the edge: a line that fills it wraps on some terminals.
  const room = width ? width - 1 - widths.slice(0, -1).reduce((sum, w) => sum + w + 2, 0) : Infinity
  const last = (cell: string): string =>
    cell.length <= room || room < LAST_COLUMN_MIN ? cell : `${cell.slice(0, room - 1)}…`
  return rows
    .map((row) => row.map((cell, i) => (i === row.length - 1 ? last(cell) : cell.padEnd(widths[i]!))).join('  '))
    .join('\n')
}

/** At most this many of a task's dependencies in a row of `task list`, and about this many characters of them. */
const DEPENDENCIES_SHOWN = 3
const DEPENDENCIES_WIDTH = 30

/**
 * A task's dependencies in a table cell, bounded: `A-1,A-2,A-3 +11` for a task that waits on 14
 * (`--json` has them all). The first is always named.
 */
export function dependenciesCell(ids: readonly string[]): string {
  if (ids.length === 0) return '-'
  let shown = 1
  while (
    shown < Math.min(ids.length, DEPENDENCIES_SHOWN) &&
    ids.slice(0, shown + 1).join(',').length <= DEPENDENCIES_WIDTH
  )
    shown++
  const head = ids.slice(0, shown).join(',')
  return shown === ids.length ? head : `${head} +${ids.length - shown}`
}
