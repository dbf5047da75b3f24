import { statSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { LARGE_BYTES, resolveTasksDir, startLister, type Lister } from './lister.ts'

/** The lister `prescan` started, until a task source takes it. */
let early: { dir: string; cacheFile: string; lister: Lister } | undefined

/**
 * Starts reading the task cache, listing and stat-ing a project's task files on a worker thread
 * (`startLister`) as the CLI starts, before it loads its modules and its config: the two overlap
 * on a second CPU, and the main thread finds the stats there when it reads the task cache. Only
 * for the commands that run a project (`project start`, `project resume`), and only when the
 * task cache is large (thousands of files) or missing: a first start reads every file, and the
 * worker reads them (`startLister`'s `read`). It guesses what the config has not said yet: the
 * project is `--cwd` (else the current folder), the tasks are in the default folder. A task
 * source whose folder is another (`tasksDir`) does not take it, and it is stopped. The bin
 * script calls it; it imports nothing else, so that the worker starts at once.
 */
export function prescan(argv: readonly string[], cwd = process.cwd()): void {
  if (process.env.TANUKI_LIST_THREAD === '0' || process.env.TANUKI_TASK_CACHE === '0') return
  const words: string[] = []
  let root = '.'
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    if (arg === '--') break
    if (arg === '--cwd') root = argv[++i] ?? root
    else if (arg.startsWith('--cwd=')) root = arg.slice('--cwd='.length)
    else if (!arg.startsWith('-')) words.push(arg)
  }
  if (words[0] !== 'project' || (words[1] !== 'start' && words[1] !== 'resume')) return
  const project = resolve(cwd, root)
  const cacheFile = join(project, '.tanuki', 'cache', 'tasks')
  let size: number | undefined
  try {
    size = statSync(cacheFile).size
  } catch {
    // No cache yet (a first start): every file is read, and the worker reads them.
  }
  if (size !== undefined && size < LARGE_BYTES) return
  const dir = resolveTasksDir(project)
  const lister = size === undefined ? startLister(dir, undefined, { read: true }) : startLister(dir, cacheFile)
  // Never taken (a refused command, another task folder): its failure is nobody's.
  lister.listing.catch(() => {})
  early = { dir, cacheFile, lister }
}

/** The lister `prescan` started for this task folder and cache, once; nothing for any other. */
export function takePrescan(dir: string, cacheFile: string): Lister | undefined {
  const taken = early
  early = undefined
  if (taken && taken.dir === dir && taken.cacheFile === cacheFile) return taken.lister
  taken?.lister.stop()
  return undefined
}
