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
 * A task cache this big (some 3,000 files) makes a scan happen on a worker thread
 * (`scanOnWorker`): below, starting the worker costs more than it saves.
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
 * gets the folder and every folder inside it that is not hidden (what the watcher watches). No
 * outside name either: the lister's worker runs it too. A folder that does not exist has no files.
 */
export function markdownFiles(
  fs: Pick<typeof import('node:fs'), 'existsSync' | 'readdirSync'>,
  sep: string,
  dir: string,
  folders?: string[],
): string[] {
  if (!fs.existsSync(dir)) return []
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
  for (const entry of fs.readdirSync(dir, { recursive: true, withFileTypes: true })) {
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

/** Where the lines of a task cache's files are in its bytes (`indexCache`). */
export interface CacheIndex {
  /** Where the line of each file (in the order given) begins, −1 when the cache has none. */
  line: Int32Array
  /** Where that line ends (its newline). */
  end: Int32Array
  /** How many files the cache holds (a later line of a file replaces an earlier one). */
  count: number
}

/**
 * Finds the line of each of `files` in a task cache's bytes (see `HASH` for a line's shape), or
 * nothing when the cache was written by another parser (its first line is not `key`). A line
 * without its newline is the torn end of a file cut short, and is left out, as is any line not
 * of that shape. Throws on a path that is not JSON: the caller then ignores the cache. No
 * outside name: the scan's worker runs it from its source (see `scanOnWorker`).
 */
export function indexCache(bytes: Buffer, key: string, files: readonly string[], hash: number): CacheIndex | undefined {
  const first = bytes.indexOf(10)
  if (first === -1 || bytes.toString('latin1', 0, first) !== key) return undefined
  const lines = new Map<string, number>()
  for (let at = first + 1, end = bytes.indexOf(10, at); end !== -1; at = end + 1, end = bytes.indexOf(10, at)) {
    const tab = bytes.indexOf(9, at)
    const second = tab === -1 || tab > end ? -1 : bytes.indexOf(9, tab + 1)
    if (second === -1 || second + hash + 1 >= end || bytes[second + hash + 1] !== 9) continue
    // A path without a backslash (no escape) is the text between its quotes: JSON.parse for each
    // of 100,000 lines cost ~0.1 s.
    let plain = true
    for (let i = at + 1; i < tab - 1 && plain; i++) plain = bytes[i] !== 92
    const path = plain
      ? bytes.toString('latin1', at + 1, tab - 1)
      : (JSON.parse(bytes.toString('latin1', at, tab)) as string)
    lines.set(path, at)
  }
  const line = new Int32Array(files.length).fill(-1)
  const end = new Int32Array(files.length)
  for (let i = 0; i < files.length; i++) {
    const at = lines.get(files[i]!)
    if (at === undefined) continue
    line[i] = at
    end[i] = bytes.indexOf(10, at)
  }
  return { line, end, count: lines.size }
}

/** The most bytes of JSON the main thread parses at once: strings this size are cheap to make. */
const PIECE = 1 << 16

/** What a scan on a worker thread found (`scanOnWorker`). */
export interface WorkerScan {
  /** Every task file, sorted (`markdownFiles`). */
  files: string[]
  /** The folders it went through, for the watcher. */
  folders: string[]
  /** The files whose stat is not the one the cache recorded (all of them without a cache), in order. */
  changed: Int32Array
  /** The stat (`statKey`) of each of `changed`. */
  stats: string[]
  /** The cache as read, when it was one of this parser. */
  cache?: CacheIndex & {
    bytes: Buffer
    /**
     * The other files, whose stat is the one recorded, as JSON arrays (ASCII) one after the
     * other, in order: the hash of each file's text, then its task. A `JSON.parse` of some
     * hundreds of files on the main thread instead of one a file.
     */
    tasks: Buffer
    /** Where each array of `tasks` ends. */
    ends: Int32Array
  }
}

/**
 * What the scan's worker thread runs: lists the files, reads the cache, stats each file and
 * compares its stat with the one recorded; posts the result once, handing over its buffers. It
 * gets everything it uses as arguments, since it runs from its source text (see `scanOnWorker`).
 */
function scanMain(
  fs: typeof import('node:fs'),
  sep: string,
  { parentPort, workerData }: typeof import('node:worker_threads'),
  key: typeof statKey,
  list: typeof markdownFiles,
  index: typeof indexCache,
): void {
  const { dir, cacheFile, parser, hash, piece } = workerData as {
    dir: string
    cacheFile: string
    parser: string
    hash: number
    piece: number
  }
  try {
    const folders: string[] = []
    const files = list(fs, sep, dir, folders)
    let bytes: Buffer | undefined
    let found: CacheIndex | undefined
    try {
      bytes = fs.readFileSync(cacheFile)
      found = index(bytes, parser, files, hash)
    } catch {
      found = undefined // No cache, or an unreadable or foreign one: every file is read.
    }
    const changed: number[] = []
    const stats: string[] = []
    const tasks: Buffer[] = []
    let size = 2
    const now = Date.now()
    for (let i = 0; i < files.length; i++) {
      const s = fs.statSync(files[i]!, { throwIfNoEntry: false })
      const stat = s ? key(s.size, s.mtimeMs, s.ctimeMs, s.ino, now) : ''
      const at = found ? found.line[i]! : -1
      if (bytes && at >= 0 && stat !== '') {
        // The stat recorded is the one between the first two tabs; the task follows the hash.
        const from = bytes.indexOf(9, at) + 1
        const to = from + stat.length
        if (bytes[to] === 9 && bytes.toString('latin1', from, to) === stat) {
          // The hash as a JSON string (it is base64: nothing to escape), then the task.
          const line = bytes.subarray(to + 1, found!.end[i])
          tasks.push(line)
          size += line.length + 4
          continue
        }
      }
      changed.push(i)
      stats.push(stat)
    }
    const message: WorkerScan = { files, folders, changed: Int32Array.from(changed), stats }
    const transfer: ArrayBuffer[] = [message.changed.buffer as ArrayBuffer]
    if (bytes && found) {
      // Arrays of at most `piece` bytes, one after the other: parsing one string of 30 MB on the
      // main thread cost more than the parse itself (a fresh allocation that size, page by page).
      const json = Buffer.allocUnsafeSlow(size + 2 * Math.ceil(size / piece) + 2)
      const ends: number[] = []
      let at = 0
      let start = 0
      for (let i = 0; i < tasks.length; i++) {
        const line = tasks[i]!
        if (at > start && at - start + line.length + 4 > piece) {
          json[at++] = 93
          ends.push(at)
          start = at
        }
        // `[` opens a piece, `,` goes between its entries.
        json[at] = at === start ? 91 : 44
        at++
        json[at++] = 34
        at += line.copy(json, at, 0, hash)
        json[at++] = 34
        json[at++] = 44
        at += line.copy(json, at, hash + 1)
      }
      if (at > start) {
        json[at++] = 93
        ends.push(at)
      }
      message.cache = { ...found, bytes, tasks: json.subarray(0, at), ends: Int32Array.from(ends) }
      transfer.push(
        found.line.buffer as ArrayBuffer,
        json.buffer as ArrayBuffer,
        message.cache.ends.buffer as ArrayBuffer,
      )
      // A buffer of its own (a big file's is) moves to the main thread instead of being copied.
      if (bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength)
        transfer.push(bytes.buffer as ArrayBuffer)
    }
    parentPort!.postMessage(message, transfer)
  } catch (error) {
    parentPort!.postMessage({ error: String(error) })
  }
}

/**
 * Scans a task folder on a worker thread: lists its task files, reads the task cache, stats every
 * file and compares it with the cache, so that the main thread only parses the cached tasks of
 * unchanged files (in one go) and reads the others. The CLI starts it before it loads its
 * modules and config (`prescan`), so the two overlap. With 100,000 files the listing, stats and
 * the cache's index took ~1.2 s of the main thread's start-up (a stat is ~5–9 µs here, most of it
 * the system call). Rejects when the worker cannot start or fails: the caller then does the work
 * itself (and meets any error there, with its usual message). The worker does not keep the
 * process alive.
 */
export function scanOnWorker(dir: string, cacheFile: string, parser = parserKey()): Promise<WorkerScan> {
  return new Promise((resolveScan, rejectScan) => {
    let worker: Worker
    try {
      // The worker runs these functions from their source text, modules given as arguments: a
      // bundler rewrites a `require` in them, and may rename what they would refer to by name. A
      // compiler that keeps names (tsx, esbuild's keepNames) wraps functions in `__name(…)`: the
      // worker gets one that does nothing. It needs none of this process's flags (`--import tsx`).
      const source =
        'const __name = (target) => target;\n' +
        `(${scanMain})(require('node:fs'), require('node:path').sep, require('node:worker_threads'), ${statKey}, ${markdownFiles}, ${indexCache})`
      worker = new Worker(source, {
        eval: true,
        execArgv: [],
        workerData: { dir, cacheFile, parser, hash: HASH, piece: PIECE },
      })
    } catch (error) {
      rejectScan(error)
      return
    }
    worker.unref()
    let settled = false
    worker.on('message', (message: WorkerScan | { error: string }) => {
      settled = true
      if ('error' in message) rejectScan(new Error(message.error))
      else {
        const cache = message.cache
        // Buffers arrive as plain bytes.
        if (cache) {
          cache.bytes = Buffer.from(cache.bytes.buffer, cache.bytes.byteOffset, cache.bytes.byteLength)
          cache.tasks = Buffer.from(cache.tasks.buffer, cache.tasks.byteOffset, cache.tasks.byteLength)
        }
        resolveScan(message)
      }
      void worker.terminate()
    })
    worker.on('error', (error) => {
      settled = true
      rejectScan(error)
    })
    worker.on('exit', () => {
      if (!settled) rejectScan(new Error('the scan stopped before it was done'))
    })
  })
}
