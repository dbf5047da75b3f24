import { statSync } from 'node:fs'
import { resolve } from 'node:path'
import { TanukiError } from '@tanuki/core'
import { enclosingProject } from '../find-project.ts'

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
 * The folder of a command that works on a project (status, start, tasks, logs…): `projectRoot`,
 * as for every command, but a folder that holds no project below one that does (up to the git
 * repository's top) is refused (`TANUKI_NO_PROJECT`), naming that one. Run from a subfolder, the
 * command reported an empty project, or sent the person to `tanuki init` in the wrong place.
 */
export function checkedProjectRoot(args: { cwd?: string | undefined }): string {
  const root = projectRoot(args)
  const above = enclosingProject(root)
  if (!above) return root
  const where = args.cwd === undefined ? `here (${root})` : `in ${root} (--cwd ${JSON.stringify(args.cwd)})`
  const cwd = shellWord(above.dir)
  const fix =
    args.cwd === undefined ? `run the command there (cd ${cwd}), or pass --cwd ${cwd}` : `pass --cwd ${cwd} instead`
  throw new TanukiError(
    'TANUKI_NO_PROJECT',
    `no Tanuki project ${where}: it has no tanuki.config.*, .tanuki/tasks/ or tasks/. ${above.dir} has one (${above.marker}): ${fix}.`,
    { details: { root, project: above.dir, marker: above.marker } },
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

/** Left-aligned columns, as wide as their widest cell. */
export function table(rows: string[][]): string {
  const widths: number[] = []
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)))
  return rows
    .map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  '))
    .join('\n')
}
