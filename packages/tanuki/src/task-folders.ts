import { existsSync, readdirSync } from 'node:fs'
import { join, relative, sep } from 'node:path'
import { markdownFiles, resolveTasksDir } from './lister.ts'

/** `1 task file`, `2 task files`. */
export const taskFileCount = (n: number): string => `${n} task file${n === 1 ? '' : 's'}`

/** Where a project's tasks are read from, and the task files in a default folder that is not. */
export interface TaskFolders {
  /** The folder the tasks are read from: `tasksDir`, else `.tanuki/tasks/`, else `tasks/`. */
  dir: string
  /** Its task files. */
  own: number
  /** Task files in the other default folders, which are not read. */
  unread: number
  /** One line for each such folder: how many files, why they are not read, what to do. */
  notes: string[]
}

/**
 * Where a project's tasks are read from, and the task files a person may think are read but are
 * not: those of `tasks/` when `.tanuki/tasks/` exists (even empty: it comes first), or of either
 * when `tasksDir` names another folder. Only folders that exist are listed. `known`: the task files
 * of the folder read, when the caller has them.
 */
export function taskFolders(
  root: string,
  config: { tasksDir?: string; file?: string } = {},
  known?: number,
): TaskFolders {
  const { tasksDir } = config
  const file = config.file ?? 'tanuki.config.ts'
  const dir = resolveTasksDir(root, tasksDir)
  const show = (path: string): string => `${relative(root, path) || '.'}/`
  const count = (path: string): number => markdownFiles({ existsSync, readdirSync }, sep, path).length
  // The folder read is counted only when the caller does not know: a start has just listed it,
  // and a second listing of 100,000 files would cost it a tenth of a second.
  const own = known ?? count(dir)
  const notes: string[] = []
  let unread = 0
  for (const other of [join(root, '.tanuki', 'tasks'), join(root, 'tasks')]) {
    const files = other === dir ? 0 : count(other)
    if (files === 0) continue
    unread += files
    const instead = tasksDir
      ? `\`tasksDir\` in ${file} names ${show(dir)}`
      : `${show(dir)} exists and comes first${own === 0 ? ' (it has no task files)' : ''}`
    const fix = tasksDir
      ? `move them into ${show(dir)}, or point \`tasksDir\` in ${file} at ${show(other)}`
      : `move them into ${show(dir)}${own === 0 ? `, remove ${show(dir)}` : ''}, or set \`tasksDir: '${relative(root, other)}'\` in ${file}`
    notes.push(`${show(other)} has ${taskFileCount(files)} that Tanuki does not read: ${instead}. To use them, ${fix}.`)
  }
  return { dir, own, unread, notes }
}

/**
 * `taskFolders`' notes for a project as its config file says (`tasksDir`, the file's name): the
 * task files a person may think are read but are not, with what to do. `known`: the task files
 * of the folder read.
 */
export function hiddenTaskNotes(
  root: string,
  config: { user: { tasksDir?: unknown }; file?: string },
  known: number,
): string[] {
  const { tasksDir } = config.user
  return taskFolders(
    root,
    {
      ...(typeof tasksDir === 'string' && tasksDir !== '' ? { tasksDir } : {}),
      ...(config.file ? { file: config.file } : {}),
    },
    known,
  ).notes
}
