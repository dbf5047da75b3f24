import { existsSync, readFileSync, readdirSync, statSync, watch, type FSWatcher } from 'node:fs'
import { dirname, join, relative, resolve, sep } from 'node:path'
import {
  TanukiError,
  isTanukiError,
  parseTask,
  updateTask,
  type Task,
  type TaskChange,
  type TaskPatch,
  type TaskSource,
} from '@tanuki/core'
import { markdownFiles, resolveTasksDir, startLister, type Listing } from './lister.ts'
import { Replacer, type SwapStep } from './swap.ts'
import { parseThreads, readTaskFiles } from './parse-pool.ts'
import { takePrescan } from './prescan.ts'
import { TaskCache } from './task-cache.ts'
import {
  decodeTaskText,
  readTaskFile,
  readTaskFileText,
  readTaskFileTextAndStats,
  readTaskText,
  textHash,
  type TaskFile,
  type TaskFileToRead,
} from './task-file.ts'

export { resolveTasksDir }

/** A folder's modification time (ms); −1 when it cannot be read. */
function mtimeOf(path: string): number {
  return statSync(path, { throwIfNoEntry: false })?.mtimeMs ?? -1
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory()
  } catch {
    return false
  }
}

/** `name` in folder `dir` (as readdir gives them): path.join's normalizing costs ~1 µs a file. */
function inside(dir: string, name: string): string {
  return dir.endsWith(sep) ? dir + name : dir + sep + name
}

/** What a scan of the task folder found: the good tasks and every problem, each naming its file. */
export interface ScanResult {
  tasks: Task[]
  errors: TanukiError[]
  /** How many files were parsed; the others' tasks came from the cache of parsed tasks. */
  parsed: number
  /** Whether a worker thread listed the files and stat-ed them (`startLister`), to the end. */
  listedOnWorker: boolean
}

/**
 * Tasks as Markdown files in a folder (recursively). Status is mirrored back atomically (a temp
 * file renamed over the original), in the background, and only Tanuki's own front-matter keys
 * change; a person's save that comes while a status is written is kept (see `swapIfUnchanged`).
 * Edits people make while a project runs are reported through `watch`; Tanuki's own writes are
 * not echoed.
 *
 * @example
 * const source = new FileTaskSource({ root: process.cwd() })
 * const tasks = await source.load()
 */
export class FileTaskSource implements TaskSource {
  readonly name = 'tanuki:files'
  readonly root: string
  readonly dir: string
  private readonly paths = new Map<string, string>()
  /** The hash (`textHash`) of each file's text as Tanuki last read or wrote it, to tell people's edits from echoes. */
  private readonly hashes = new Map<string, string>()
  private readonly ids = new Map<string, string>()
  /** Writes under way, by file: one file's writes happen one after the other. */
  private readonly writing = new Map<string, Promise<void>>()

  /** The folders the last scan went through, for `watch` (which would list them again otherwise). */
  private folders: string[] | undefined

  /** Worker threads that help read the files; by default as `parseThreads` decides. */
  private readonly parseThreads: number | undefined
  /** Tasks parsed by earlier scans, reused for files whose text is unchanged. */
  private readonly cache: TaskCache | undefined
  /** Writes a task file's new text: a temp file renamed over it, unless a person saved it meanwhile. */
  private readonly replacer: Replacer
  /** What the config judges of a task added or edited during a run (`judgeChanges`). */
  private judge: ((task: Task) => TanukiError | undefined) | undefined

  constructor(options: {
    root: string
    tasksDir?: string
    parseThreads?: number
    /**
     * A file (in the state folder) that keeps parsed tasks between runs; see `TaskCache`. The
     * environment variable `TANUKI_TASK_CACHE=0` turns it off.
     */
    cacheFile?: string
    /**
     * A folder in the state folder where a task file's new text is written before it is renamed
     * into place: a process killed between the two leaves its temp file there, not among the
     * person's tasks, where git would see it. Used once the state folder holds its .gitignore
     * (Tanuki made it); beside the file before that, when unset, or when the folder is on another
     * file system. The renamed file takes the temp folder's group (a setgid tasks folder's
     * group is not kept).
     */
    tempDir?: string
    /**
     * For tests: called as a status write is about to replace a file, once it has read the file
     * and written the new text to a temp file (`written`), and again right before the rename, once
     * it has found the file still as it read it (`checked`), and once the rename is done, before
     * the text it replaced is read again (`renamed`). A person's edit made there is one a write
     * must not undo.
     */
    beforeRename?: (path: string, step: SwapStep) => void
  }) {
    this.root = resolve(options.root)
    this.dir = resolveTasksDir(this.root, options.tasksDir)
    this.parseThreads = options.parseThreads
    this.replacer = new Replacer(options.tempDir, options.beforeRename)
    if (options.cacheFile && process.env.TANUKI_TASK_CACHE !== '0') this.cache = new TaskCache(options.cacheFile)
  }

  /**
   * Checks each task a person adds or edits while the project runs with what a start checks
   * against the config (a role that is a near miss of one in `agents`). A task it refuses is
   * reported as invalid, naming its file and field, instead of running: the file's next save is
   * read again.
   */
  judgeChanges(judge: (task: Task) => TanukiError | undefined): void {
    this.judge = judge
  }

  /** A file's path as people see it in messages: relative to the project. */
  display(path: string): string {
    // The common case, a file under the project, without path.relative's work (10,000 files: ~40 ms).
    if (path.startsWith(this.root) && path[this.root.length] === sep && !path.includes(`${sep}..`)) {
      return path.slice(this.root.length + 1)
    }
    return relative(this.root, path) || path
  }

  /** Every task file, with its path as people see it, in order; `listed`, as a lister found them. */
  private files(listed?: Listing): [path: string, shown: string][] {
    const folders: string[] = []
    const files = listed ? listed.files : markdownFiles({ existsSync, readdirSync }, sep, this.dir, folders)
    this.folders = listed ? listed.folders : folders
    this.cache?.begin(files)
    return files.map((path) => [path, this.display(path)])
  }

  /** Reads every task file; collects all problems instead of stopping at the first. */
  scan(): ScanResult {
    const files = this.files()
    const found = this.fromCache(files)
    for (const [index, [path]] of files.entries()) found.visit(index, this.statFor(index, path))
    const { read, toParse, stats } = found
    const parsed = toParse.map(([path, shown, text, hash]) => readTaskFile(path, shown, text, hash))
    const collected = this.collect(files, this.toCache(files, read, parsed, stats))
    return { ...collected, parsed: parsed.length, listedOnWorker: false }
  }

  /**
   * Reads every task file as `scan` does, with the same result. With a large cache, a worker
   * thread lists the files and stats them (`startLister`; the CLI starts it before anything
   * else, see `prescan`) while this one reads the cache and takes the stats as they come. The
   * parse of what changed is shared with worker threads when there are many files
   * (`parseThreads`: by default from 2,000 files and 4 CPUs on, one per CPU beyond the first;
   * `TANUKI_PARSE_THREADS` or the `parseThreads` option say otherwise).
   */
  async scanAsync(): Promise<ScanResult> {
    const cache = this.cache
    // `TANUKI_LIST_THREAD`: 1 always lists on a worker (with a cache), 0 never.
    const setting = process.env.TANUKI_LIST_THREAD
    let lister = cache ? takePrescan(this.dir, cache.file) : undefined
    if (cache && !lister && (setting === '1' || (setting !== '0' && cache.large()))) {
      // The worker reads the cache file: an earlier scan's lines go into it first.
      cache.save()
      lister = startLister(this.dir, cache.file)
    }
    // The cache is indexed while the worker lists (from the bytes it read, when it could).
    if (lister) cache!.prepare((await lister.cache) ?? undefined)
    let listed = lister ? await lister.listing.catch(() => undefined) : undefined
    // Listed before the config ran (`prescan`): a folder changed since (a config that writes task
    // files, a person's save) is listed again here.
    if (listed?.folders.some((folder, i) => mtimeOf(folder) !== listed!.times[i])) {
      lister!.stop()
      listed = undefined
    }
    const files = this.files(listed)
    const found = this.fromCache(files)
    const { read, toParse, stats } = found
    // Parsed here, as the files come, unless worker threads share the parse: the lister of a
    // first start reads the files while this thread parses those it has handed over.
    let parsed: TaskFile[] = []
    const parseHere = (this.parseThreads ?? parseThreads(files.length)) <= 0
    const parseSoFar = (): void => {
      while (parsed.length < toParse.length) {
        const [path, shown, text, hash] = toParse[parsed.length]!
        parsed.push(readTaskFile(path, shown, text, hash))
      }
    }
    let index = 0
    let listedOnWorker = listed !== undefined
    if (listed) {
      try {
        for await (const chunk of listed.stats()) {
          for (const stat of chunk) {
            found.visit(index, stat, listed.text(index))
            index++
          }
          if (parseHere) parseSoFar()
        }
      } catch {
        // The worker failed: this thread stats what is left.
        listedOnWorker = false
      }
    }
    for (; index < files.length; index++) found.visit(index, this.statFor(index, files[index]![0]))
    if (parseHere) parseSoFar()
    else parsed = await readTaskFiles(toParse, this.parseThreads ?? parseThreads(toParse.length))
    const collected = this.collect(files, this.toCache(files, read, parsed, stats))
    return { ...collected, parsed: parsed.length, listedOnWorker }
  }

  /**
   * A file's stat as the cache compares it (`statKey`), for `visit`: none for a file the cache
   * has no line for (it is read with its stat, from one open), nor without a cache.
   */
  private statFor(index: number, path: string): string | undefined {
    return this.cache?.known(index) ? TaskCache.stat(statSync(path, { throwIfNoEntry: false })) : undefined
  }

  /**
   * Takes the files one by one, in order, each with its stat (`visit`), once the cache has begun
   * the scan. With a cache: takes the task (and text's hash) of each file whose stat is as
   * recorded, reads the others and takes the task of each unchanged text; what is left to parse
   * comes with its text. A file given no stat (one the cache has no line for, see `statFor`) is
   * read with its stat; one given its text (the lister read it) is not read again. Without a
   * cache, every file is left to read and parse.
   */
  private fromCache(files: [path: string, shown: string][]): {
    visit(index: number, stat: string | undefined, text?: string): void
    read: (TaskFile | undefined)[]
    toParse: TaskFileToRead[]
    stats: string[]
  } {
    const cache = this.cache
    const read: (TaskFile | undefined)[] = new Array(files.length)
    const toParse: TaskFileToRead[] = []
    const stats: string[] = new Array(files.length)
    const visit = (index: number, stat: string | undefined, given?: string): void => {
      const [path, shown] = files[index]!
      if (!cache) {
        toParse.push(files[index]!)
        return
      }
      if (stat === undefined) {
        const file = readTaskFileTextAndStats(path, shown)
        if ('error' in file) read[index] = file
        else {
          stats[index] = TaskCache.stat(file.stats)
          toParse.push([path, shown, file.text])
        }
        return
      }
      const same = cache.unchanged(index, stat)
      if (same) {
        read[index] = same
        return
      }
      const text = given ?? readTaskFileText(path, shown)
      if (typeof text !== 'string') {
        read[index] = text
        return
      }
      // A file the cache has no line for (a first start's, a new one) has no task to find by hash.
      const hash = cache.known(index) ? textHash(text) : undefined
      const task = hash === undefined ? undefined : cache.get(index, path, stat, hash)
      if (task) read[index] = { task, hash: hash! }
      else {
        stats[index] = stat
        toParse.push([path, shown, text, hash])
      }
    }
    return { visit, read, toParse, stats }
  }

  /** Fills the gaps `fromCache` left with what was parsed (in order), and keeps the new tasks for next time. */
  private toCache(
    files: [path: string, shown: string][],
    read: (TaskFile | undefined)[],
    parsed: TaskFile[],
    stats: string[],
  ): TaskFile[] {
    let next = 0
    for (let index = 0; index < files.length; index++) {
      if (read[index]) continue
      const file = parsed[next++]!
      read[index] = file
      const stat = stats[index]
      if (this.cache && stat !== undefined && 'task' in file)
        this.cache.set(index, files[index]![0], stat, file.hash, file.task)
    }
    this.cache?.commit()
    return read as TaskFile[]
  }

  /**
   * Writes the cache of parsed tasks now, if the last scan's is not written yet (it is, a moment
   * after the scan or as the process exits, once the state folder exists). Never throws.
   */
  saveCache(): void {
    this.cache?.save()
  }

  /** Takes the files as read (`read[i]` is `files[i]`): registers each good task, finds duplicate ids. */
  private collect(
    files: [path: string, shown: string][],
    read: TaskFile[],
  ): Omit<ScanResult, 'parsed' | 'listedOnWorker'> {
    const tasks: Task[] = []
    const errors: TanukiError[] = []
    const seen = new Map<string, string>()
    for (const [index, [path, shown]] of files.entries()) {
      const file = read[index]!
      if ('error' in file) {
        errors.push(file.error)
        continue
      }
      const { task, hash } = file
      const other = seen.get(task.id)
      if (other) {
        errors.push(
          new TanukiError(
            'TANUKI_TASK_DUPLICATE',
            `Task id "${task.id}" is used by two files: ${other} and ${shown}. Give one of them another id.`,
            {
              details: { id: task.id, files: [other, shown] },
            },
          ),
        )
        continue
      }
      seen.set(task.id, shown)
      this.paths.set(task.id, path)
      this.ids.set(path, task.id)
      this.hashes.set(path, hash)
      tasks.push(task)
    }
    return { tasks, errors }
  }

  async load(): Promise<Task[]> {
    const { tasks, errors } = await this.scanAsync()
    if (errors.length === 1) throw errors[0]
    if (errors.length > 1) {
      throw new TanukiError(
        'TANUKI_TASK_INVALID',
        `${errors.length} task files have problems:\n${errors.map((e) => `  - ${e.message}`).join('\n')}`,
        {
          cause: new AggregateError(errors),
          details: { errors: errors.map((e) => e.message) },
        },
      )
    }
    return tasks
  }

  /** The file of a task, once loaded. */
  pathOf(id: string): string | undefined {
    return this.paths.get(id)
  }

  /**
   * Writes status values into a task's file, asynchronously (the orchestrator's mirror calls it in
   * the background; the journal is the authority). Only the patched keys change.
   */
  update(id: string, patch: TaskPatch): Promise<void> {
    const path = this.paths.get(id)
    if (!path) {
      return Promise.reject(
        new TanukiError('TANUKI_TASK_NOT_FOUND', `No file for task "${id}" under ${this.display(this.dir)}`),
      )
    }
    const previous = this.writing.get(path) ?? Promise.resolve()
    const next = previous.then(() => this.write(path, patch))
    const tracked = next.catch(() => {})
    this.writing.set(path, tracked)
    void tracked.then(() => {
      if (this.writing.get(path) === tracked) this.writing.delete(path)
    })
    return next
  }

  /** Resolves once every write under way has ended. */
  async settled(): Promise<void> {
    await Promise.all([...this.writing.values()])
  }

  private async write(path: string, patch: TaskPatch): Promise<void> {
    const shown = this.display(path)
    // Read afresh every time: a person may have edited the file since, and those edits stay.
    // Read without waiting: a task file is small, and each step of `fs/promises`' read is a trip
    // through the thread pool (open, stat, read, close) that costs this thread more than the
    // system call. The temp file is written through the pool (see `replace`).
    let read: Buffer = readFileSync(path)
    for (let tries = 1; ; tries++) {
      const before = decodeTaskText(read, shown)
      const { text: after, task } = updateTask(before, patch, shown)
      if (after === before) return
      const hash = textHash(after)
      const replaced = await this.replacer.replace(path, after, read, () => {
        // Only a file as Tanuki last saw it becomes "seen": if a person edited it meanwhile, the
        // watcher must still report that edit (now carried in this write) instead of taking it
        // for an echo. Asked right before the rename, as the watcher may have read it meanwhile.
        if (textHash(before) === this.hashes.get(path)) this.hashes.set(path, hash)
      })
      if (replaced === true) {
        // What a file holds when the run ends is what the next start reads: a task in flight gets
        // another write before then (settled, or back to pending), so its line would only be replaced.
        if (task && task.status !== 'assigned' && task.status !== 'in_progress') this.cache?.rewrote(path, hash, task)
        return
      }
      // A person saved the file while this write was under way: start over from their text. One
      // who saves again and again within a write's few milliseconds wins; the journal keeps the status.
      read = replaced
      if (tries === WRITE_TRIES) {
        throw new TanukiError(
          'TANUKI_TASK_UNWRITABLE',
          `${shown}: Tanuki did not write its status into this file: it changed ${tries} times while ` +
            'being written. The file is as it was last saved; the next status change writes it again.',
          { details: { source: shown } },
        )
      }
    }
  }

  watch(listener: (change: TaskChange) => void): () => void {
    if (!existsSync(this.dir)) return () => {}
    const pending = new Map<string, NodeJS.Timeout>()
    const watchers = new Map<string, FSWatcher>()
    let closed = false
    const settle = (path: string): void => {
      clearTimeout(pending.get(path))
      // Editors write in several steps (truncate, write, rename): wait for the file to settle.
      pending.set(
        path,
        setTimeout(() => {
          pending.delete(path)
          if (closed) return
          if (path.endsWith('.md')) for (const change of this.reread(path)) listener(change)
          else if (!watchers.has(path) && isDirectory(path)) watchDir(path, true)
        }, 50),
      )
    }
    // One non-recursive watch per folder: Node 20's recursive watch on Linux follows each file's
    // inode, so it goes deaf to a file once it is replaced by a rename (Tanuki's own atomic write,
    // \`sed -i\`, most editors). A folder's watch reports every name that changes in it.
    // Tanuki's own temp files (see `write`) come and go with every status it mirrors.
    const ownTemp = `.tanuki-${process.pid}.tmp`
    const watchDir = (dir: string, isNew: boolean, listed = false): void => {
      if (
        watchers.has(dir) ||
        relative(this.dir, dir)
          .split(sep)
          .some((part) => part.startsWith('.'))
      )
        return
      try {
        const watcher = watch(dir, (_event, filename) => {
          if (filename && !filename.toString().endsWith(ownTemp)) settle(join(dir, filename.toString()))
        })
        watcher.on('error', () => {
          watcher.close()
          watchers.delete(dir)
        })
        watchers.set(dir, watcher)
      } catch {
        return
      }
      // The folders inside are known when the last scan listed them (`listed`).
      if (listed) return
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        if (entry.isDirectory()) watchDir(inside(dir, entry.name), isNew)
        // A folder made (or moved in) while running may already hold task files.
        else if (isNew && entry.name.endsWith('.md')) settle(inside(dir, entry.name))
      }
    }
    // Listing 100,000 files again only to find the folders among them would delay the first agent.
    if (this.folders) for (const folder of this.folders) watchDir(folder, false, true)
    else watchDir(this.dir, false)
    return () => {
      closed = true
      for (const watcher of watchers.values()) watcher.close()
      for (const timer of pending.values()) clearTimeout(timer)
    }
  }

  /** What changed in one file since Tanuki last saw it. */
  private reread(path: string): TaskChange[] {
    const previousId = this.ids.get(path)
    let text: string | undefined
    try {
      if (statSync(path).isFile()) text = readTaskText(path, this.display(path))
    } catch (error) {
      if (isTanukiError(error)) return [{ type: 'invalid', source: this.display(path), error }]
      text = undefined
    }
    if (text === undefined) {
      if (previousId === undefined) return []
      this.forget(path, previousId)
      return [{ type: 'removed', id: previousId }]
    }
    const hash = textHash(text)
    if (hash === this.hashes.get(path)) return []
    const shown = this.display(path)
    let task: Task
    try {
      task = parseTask(text, shown)
    } catch (error) {
      return [{ type: 'invalid', source: shown, error: error instanceof Error ? error : new Error(String(error)) }]
    }
    const owner = this.paths.get(task.id)
    if (owner && owner !== path) {
      return [
        {
          type: 'invalid',
          source: shown,
          error: new TanukiError(
            'TANUKI_TASK_DUPLICATE',
            `${shown}: id "${task.id}" is already used by ${this.display(owner)}; ignored`,
          ),
        },
      ]
    }
    const refused = this.judge?.(task)
    if (refused) return [{ type: 'invalid', source: shown, error: refused }]
    const changes: TaskChange[] = []
    if (previousId !== undefined && previousId !== task.id) {
      this.forget(path, previousId)
      changes.push({ type: 'removed', id: previousId })
    }
    const known = this.paths.has(task.id)
    this.paths.set(task.id, path)
    this.ids.set(path, task.id)
    this.hashes.set(path, hash)
    changes.push({ type: known ? 'changed' : 'added', task })
    return changes
  }

  private forget(path: string, id: string): void {
    this.paths.delete(id)
    this.ids.delete(path)
    this.hashes.delete(path)
  }
}

/** How many times a status write starts over from a person's newer text before it gives up. */
const WRITE_TRIES = 5
