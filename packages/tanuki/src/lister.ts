import { existsSync, statSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Worker } from 'node:worker_threads'
import { version } from './version.ts'

/** `.tanuki/tasks` if it exists, else `tasks/` if it exists, else `.tanuki/tasks`; `tasksDir` wins. */
export function resolveTasksDir(root: string, tasksDir?: string): string {
  if (tasksDir) return resolve(root, tasksDir)
  const hidden = join(root, '.tanuki', 'tasks')
  const plain = join(root, 'tasks')
  if (!existsSync(hidden) && existsSync(plain)) return plain
  return hidden
}

/** Bumped when what the task cache holds changes shape. */
const FORMAT = 5

/**
 * The length of `textHash`'s hashes (base64). One file as cached is a line of the cache:
 * `"<path as JSON>"\t<stat>\t<hash of the text>\t<task as JSON>`. A JSON string holds no raw
 * tab, so the first tab ends the path; the stat and the hash hold none either. Lines are ASCII
 * (JSON escapes what is not), so the file is read as bytes and a line decoded (latin1, exact for
 * ASCII) only when its file asks for it: a line of an unchanged file goes back into the next file
 * as those bytes. With 100,000 files, decoding the whole cache (34 MB) took longer than reading
 * it, and the string doubled its memory.
 */
export const HASH = 27

/**
 * A task cache this big (some 3,000 files) makes a scan list and stat the files on a worker
 * thread (`startLister`): below, starting the worker costs more than it saves.
 */
export const LARGE_BYTES = 1 << 20

/**
 * What the parser was when the task cache was written, as its first line: the cache's format,
 * Tanuki's version and the build of core's parser (its file's size and time), so a rebuilt or
 * upgraded parser never reuses tasks of the old one.
 */
export function parserKey(): string {
  let build = ''
  try {
    const core = statSync(fileURLToPath(import.meta.resolve('@tanuki/core')))
    build = `${core.size}:${core.mtimeMs}`
  } catch {
    // Resolved some other way (bundled, another runtime): the version alone says which parser.
  }
  return JSON.stringify(`tanuki task cache ${FORMAT} ${version} ${build}`)
}

/**
 * What a file's stat says about its text, as the task cache compares it (size, modification and
 * change times, inode); '' when it says nothing: a file modified less than 2 s ago may change
 * again within the same clock tick, keeping its times. Plain arguments, not a `Stats`, and no
 * outside name, so that the lister's worker thread runs this very function (it gets its source).
 */
export function statKey(size: number, mtimeMs: number, ctimeMs: number, ino: number, now: number): string {
  if (mtimeMs > now - 2000 || ctimeMs > now - 2000) return ''
  return `${size}:${mtimeMs}:${ctimeMs}:${ino}`
}

/**
 * Every `.md` file under a folder, sorted, skipping hidden files and folders inside it; `folders`
 * gets the folder and every folder inside it that is not hidden (what the watcher watches). A
 * folder that does not exist has no files.
 */
export function markdownFiles(
  fs: Pick<typeof import('node:fs'), 'existsSync' | 'readdirSync'>,
  sep: string,
  dir: string,
  folders?: string[],
): string[] {
  if (!fs.existsSync(dir)) return []
  return markdownOf(fs.readdirSync(dir, { recursive: true, withFileTypes: true }), sep, dir, folders)
}

/**
 * `markdownFiles` of a folder's entries as a recursive `readdir` gives them. No outside name: the
 * lister's worker runs this very function (it gets its source), after a `readdir` of its own.
 */
export function markdownOf(
  entries: import('node:fs').Dirent[],
  sep: string,
  dir: string,
  folders?: string[],
): string[] {
  // `name` in folder `parent` (as readdir gives them): path.join's normalizing costs ~1 µs a file.
  const inside = (parent: string, name: string): string => (parent.endsWith(sep) ? parent + name : parent + sep + name)
  const files: string[] = []
  const hidden = new Map<string, boolean>()
  const isHidden = (parent: string): boolean => {
    let skip = hidden.get(parent)
    if (skip === undefined) {
      const below = parent.length > dir.length ? parent.slice(dir.length + (dir.endsWith(sep) ? 0 : 1)) : ''
      skip = below.split(sep).some((part) => part.startsWith('.'))
      hidden.set(parent, skip)
    }
    return skip
  }
  folders?.push(dir)
  for (const entry of entries) {
    const parent = entry.parentPath ?? (entry as unknown as { path: string }).path
    if (entry.isDirectory()) {
      if (folders && !entry.name.startsWith('.') && !isHidden(parent)) folders.push(inside(parent, entry.name))
      continue
    }
    if (!entry.isFile() || !entry.name.endsWith('.md') || entry.name.startsWith('.')) continue
    if (!isHidden(parent)) files.push(inside(parent, entry.name))
  }
  return files.sort()
}

/**
 * A file's bytes and its stat, from one open: `readFileSync` stats the open file anyway, and a
 * `statSync` beside it looks the path up a second time (100,000 files: ~0.3 s). No outside name:
 * the lister's worker runs this very function (it gets its source), with `fs` as an argument.
 */
export function readWithStats(
  fs: Pick<typeof import('node:fs'), 'openSync' | 'fstatSync' | 'readSync' | 'closeSync'>,
  path: string,
): { bytes: Buffer; stats: import('node:fs').Stats } {
  const fd = fs.openSync(path, 'r')
  try {
    const stats = fs.fstatSync(fd)
    // As `readFileSync`: up to the size the stat gave, or to the end when it gave none (procfs).
    let bytes = Buffer.allocUnsafe(stats.size > 0 ? stats.size : 8192)
    let length = 0
    for (;;) {
      if (length === bytes.length) {
        if (stats.size > 0) break
        const bigger = Buffer.allocUnsafe(bytes.length * 2)
        bytes.copy(bigger)
        bytes = bigger
      }
      const read = fs.readSync(fd, bytes, length, bytes.length - length, null)
      if (read === 0) break
      length += read
    }
    return { bytes: bytes.subarray(0, length), stats }
  } finally {
    fs.closeSync(fd)
  }
}

/** Files per message of the lister: a few dozen messages for 100,000 files. */
const STAT_CHUNK = 4096
/** Files per message of a lister that reads them: the main thread parses each as the next is read. */
const READ_CHUNK = 500

/**
 * Up to how many files a lister started without a task cache (a first start) reads them as well
 * as stat-ing them: beyond, the texts held until the main thread takes them, and the worker's
 * copies, would take a start of 100,000 files past its memory target (bench/cli.bench.ts).
 */
export const READ_MAX_FILES = 20_000

/**
 * How many bytes of task files such a lister reads at most: past them (files of long task
 * descriptions), it only stats the rest, which the main thread reads as it parses.
 */
const READ_MAX_BYTES = 32 << 20

/**
 * What the lister's worker thread runs: lists (while the task cache, when given one, is read),
 * hands the cache's bytes over, then stats in chunks, posting each. It gets everything it uses as arguments,
 * since it runs from its source text (see `startLister`).
 */
async function listerMain(
  fs: typeof import('node:fs'),
  sep: string,
  { parentPort, workerData }: typeof import('node:worker_threads'),
  key: typeof statKey,
  list: typeof markdownOf,
  readFile: typeof readWithStats,
): Promise<void> {
  const { dir, chunk, cacheFile, readFiles, readChunk, readBytes } = workerData as {
    dir: string
    chunk: number
    cacheFile?: string
    readFiles?: number
    readChunk?: number
    readBytes?: number
  }
  try {
    // The cache is read by one of libuv's threads (one read of the whole file, started now) while
    // this one lists: reading 34 MB into fresh memory takes 0.2 s, which the stats would wait for.
    let reading: Promise<Buffer | null> | undefined
    if (cacheFile !== undefined) {
      reading = new Promise((resolve) => {
        let fd: number | undefined
        try {
          fd = fs.openSync(cacheFile, 'r')
          const opened = fd
          const size = fs.fstatSync(opened).size
          const bytes = Buffer.allocUnsafeSlow(size)
          const done = (read: Buffer | null): void => {
            fs.close(opened, () => {})
            resolve(read)
          }
          const from = (at: number): void => {
            if (at >= size) return done(bytes)
            fs.read(opened, bytes, at, size - at, at, (error, count) => {
              if (error) done(null)
              // Cut short meanwhile: what was read (its torn last line is left out).
              else if (count === 0) done(bytes.subarray(0, at))
              else from(at + count)
            })
          }
          from(0)
        } catch {
          // None yet, or unreadable: the main thread finds out for itself.
          if (fd !== undefined) fs.closeSync(fd)
          resolve(null)
        }
      })
    }
    // Handed over as soon as it is read, while the folder is still listed: the main thread indexes
    // it meanwhile (0.3 s with 100,000 files) instead of after the listing.
    const handed = reading?.then((bytes) => {
      // A buffer of its own moves to the main thread instead of being copied.
      const own = bytes !== null && bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength
      parentPort!.postMessage({ cache: bytes }, own ? [bytes!.buffer as ArrayBuffer] : [])
    })
    const folders: string[] = []
    // A folder that does not exist has no files (and no folders to watch).
    const entries = await fs.promises.readdir(dir, { recursive: true, withFileTypes: true }).catch((error) => {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
      throw error
    })
    const files = entries ? list(entries, sep, dir, folders) : []
    // Each folder's modification time as listed: a file added, removed or renamed since changes it.
    const times = folders.map((folder) => fs.statSync(folder, { throwIfNoEntry: false })?.mtimeMs ?? -1)
    parentPort!.postMessage({ files, folders, times })
    await handed
    // Asked to (a first start, no cache to compare with) and few enough: each file is read, its
    // stat taken from the open file, and its text decoded as the main thread would; one that
    // cannot be read or decoded is left to the main thread, which says why.
    const decoder =
      readFiles !== undefined && files.length <= readFiles
        ? new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })
        : undefined
    const step = decoder && readChunk !== undefined ? readChunk : chunk
    let budget = readBytes ?? Number.POSITIVE_INFINITY
    for (let from = 0; from < files.length; from += step) {
      const now = Date.now()
      const stats: string[] = []
      const texts: (string | null)[] | undefined = decoder && []
      for (const path of files.slice(from, from + step)) {
        if (texts && budget > 0) {
          // One text and one stat a file, whatever happens, or every later file is off by one.
          let text: string | null = null
          let stat = ''
          try {
            const { bytes, stats: s } = readFile(fs, path)
            budget -= bytes.length
            text = decoder!.decode(bytes)
            stat = key(s.size, s.mtimeMs, s.ctimeMs, s.ino, now)
          } catch {
            // Unreadable, or not UTF-8: the main thread reads it, and says why.
          }
          texts.push(text)
          stats.push(stat)
          continue
        }
        texts?.push(null)
        const s = fs.statSync(path, { throwIfNoEntry: false })
        stats.push(s ? key(s.size, s.mtimeMs, s.ctimeMs, s.ino, now) : '')
      }
      parentPort!.postMessage({ stats, texts })
    }
  } catch (error) {
    parentPort!.postMessage({ error: String(error) })
  }
}

/** The files a lister found, and their stats as they come. */
export interface Listing {
  files: string[]
  folders: string[]
  /** Each folder's modification time (ms) when it was listed; −1 when it could not be read. */
  times: number[]
  /** The stat key (`statKey`) of each file, in order, a chunk at a time; ends after the last file. */
  stats(): AsyncGenerator<string[]>
  /**
   * The text of file `index` as the worker read it (`startLister`'s `read`), once `stats` has
   * given its chunk, and only once; `undefined` when it was not read (then read it yourself).
   */
  text(index: number): string | undefined
}

/** A lister under way (`startLister`). */
export interface Lister {
  /** The task cache's bytes as the worker read them; `null` when it could not (then read it yourself). */
  cache: Promise<Buffer | null>
  /** The files, once listed; their stats come after (`Listing.stats`). */
  listing: Promise<Listing>
  /** Stops the worker, for a lister nobody will take (`takePrescan`'s guess was wrong). */
  stop(): void
}

/**
 * Lists a folder's task files and stats each (`statKey`) on a worker thread, so that the main
 * thread reads the task cache meanwhile and takes the stats a chunk at a time as they come. With
 * 100,000 files the listing and the stats took ~1.2 s of the main thread's start-up (a stat is
 * ~5–9 µs here, most of it the system call). The CLI starts it before it loads its modules and
 * the config (`prescan`), so that by the time the main thread reads the cache the stats are in.
 * Given the cache file, the worker reads it while it lists and hands the bytes over: reading
 * 34 MB (100,000 files) into fresh memory took the main thread 0.2 s. The listing resolves once the
 * files are known; it rejects when the worker cannot start or fails, and then the caller does the
 * work itself (and meets any error there, with its usual message).
 *
 * With `read` (a first start: no cache, so every file is read), the worker reads the files too,
 * up to `READ_MAX_FILES` of them and `READ_MAX_BYTES` in all, while the CLI loads: a start's main
 * thread spent ~90 ms of 0.6 s opening and reading 10,000 files (bench/cli.bench.ts).
 */
export function startLister(
  dir: string,
  cacheFile?: string,
  options: {
    read?: boolean
    /** For tests: how many bytes it reads at most (default `READ_MAX_BYTES`). */
    readBytes?: number
  } = {},
): Lister {
  let resolveCache!: (bytes: Buffer | null) => void
  const cache = new Promise<Buffer | null>((resolve) => (resolveCache = resolve))
  if (cacheFile === undefined) resolveCache(null)
  let stop = (): void => {}
  const listing = new Promise<Listing>((resolveListing, rejectListing) => {
    let worker: Worker
    try {
      // The worker runs these functions from their source text, modules given as arguments: a
      // bundler rewrites a `require` in them, and may rename what they would refer to by name. A
      // compiler that keeps names (tsx, esbuild's keepNames) wraps functions in `__name(…)`: the
      // worker gets one that does nothing. It needs none of this process's flags (`--import tsx`).
      const source =
        'const __name = (target) => target;\n' +
        `(${listerMain})(require('node:fs'), require('node:path').sep, require('node:worker_threads'), ${statKey}, ${markdownOf}, ${readWithStats})`
      const workerData = {
        dir,
        chunk: STAT_CHUNK,
        cacheFile,
        ...(options.read
          ? { readFiles: READ_MAX_FILES, readChunk: READ_CHUNK, readBytes: options.readBytes ?? READ_MAX_BYTES }
          : {}),
      }
      worker = new Worker(source, { eval: true, execArgv: [], workerData })
    } catch (error) {
      resolveCache(null)
      rejectListing(error)
      return
    }
    stop = () => void worker.terminate()
    const chunks: string[][] = []
    /** The texts the worker read, by file; each given once (`text`), then dropped. */
    const texts: (string | null)[] = []
    let total: number | undefined
    let received = 0
    let failed: Error | undefined
    let wake: (() => void) | undefined
    const fail = (error: Error): void => {
      resolveCache(null)
      failed ??= error
      if (total === undefined) rejectListing(error)
      wake?.()
      void worker.terminate()
    }
    async function* stats(): AsyncGenerator<string[]> {
      let given = 0
      while (given < total!) {
        const next = chunks.shift()
        if (next) {
          given += next.length
          yield next
          continue
        }
        if (failed) throw failed
        await new Promise<void>((resolve) => (wake = resolve))
        wake = undefined
      }
    }
    worker.on(
      'message',
      (message: {
        cache?: Uint8Array | null
        files?: string[]
        folders?: string[]
        times?: number[]
        stats?: string[]
        texts?: (string | null)[]
        error?: string
      }) => {
        if (message.cache !== undefined) {
          const bytes = message.cache
          // Bytes arrive as a plain Uint8Array.
          resolveCache(bytes && Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength))
        } else if (message.error !== undefined) fail(new Error(message.error))
        else if (message.files) {
          total = message.files.length
          resolveListing({
            files: message.files,
            folders: message.folders ?? [],
            times: message.times ?? [],
            stats,
            text: (index) => {
              const text = texts[index]
              texts[index] = null
              return text ?? undefined
            },
          })
        } else if (message.stats) {
          if (message.texts) for (const text of message.texts) texts.push(text)
          chunks.push(message.stats)
          received += message.stats.length
          wake?.()
        }
        if (total !== undefined && received >= total) void worker.terminate()
      },
    )
    worker.on('error', fail)
    worker.on('exit', () => {
      if (total === undefined || received < total) fail(new Error('the lister stopped before it was done'))
    })
  })
  return { cache, listing, stop: () => stop() }
}
