import {
  appendFileSync,
  closeSync,
  existsSync,
  fstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
  writevSync,
  type Stats,
} from 'node:fs'
import { basename, dirname, join } from 'node:path'
import type { Task } from '@tanuki/core'
import { HASH, LARGE_BYTES, parserKey, statKey } from './lister.ts'
import { isAlive } from './lock.ts'

/** `line` with every character beyond ASCII as a JSON escape (they only occur inside JSON strings). */
function ascii(line: string): string {
  const beyond = /[^\x00-\x7f]/g
  return beyond.test(line)
    ? line.replace(beyond, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`)
    : line
}

/** The size of the chunks `FreshLines` writes lines into. */
const CHUNK = 1 << 20

/**
 * The new lines of a cache file, written into chunks of a megabyte as they are made: lines one
 * after the other in a chunk go to the file as one piece, and 100,000 lines are a few dozen
 * buffers, not 100,000.
 */
class FreshLines {
  private chunk: Buffer = Buffer.alloc(0)
  private used = 0

  /** Adds a line (ASCII, without its newline); returns its chunk, and from where to where it is (newline included). */
  add(line: string): { bytes: Buffer; start: number; stop: number } {
    const size = line.length + 1
    if (this.used + size > this.chunk.length) {
      // A line longer than a chunk gets one of its own.
      this.chunk = Buffer.allocUnsafe(Math.max(CHUNK, size))
      this.used = 0
    }
    const start = this.used
    this.chunk.write(line, start, 'latin1')
    this.chunk[start + line.length] = 10
    this.used += size
    return { bytes: this.chunk, start, stop: this.used }
  }
}

/**
 * The lines a scan leaves the cache file, in the scan's order, as pieces to write: runs of lines
 * kept as they were in the bytes read (most of them, most days) go as one piece each, and the
 * tasks it parsed as new lines.
 */
function linesToWrite(
  next: readonly (number | undefined)[],
  read: Buffer | undefined,
  end: Int32Array,
  parsed: readonly [path: string, stat: string, hash: string, task: Task][],
): Buffer[] {
  const fresh = new FreshLines()
  const pieces: Buffer[] = []
  let run: Buffer | undefined
  let from = 0
  let to = 0
  for (let index = 0; index < next.length; index++) {
    const at = next[index]
    if (at === undefined) continue
    let bytes: Buffer
    let start: number
    let stop: number
    if (at >= 0) {
      bytes = read!
      start = at
      stop = end[index]! + 1
    } else {
      const [path, stat, hash, task] = parsed[-1 - at]!
      ;({ bytes, start, stop } = fresh.add(ascii(`${JSON.stringify(path)}\t${stat}\t${hash}\t${JSON.stringify(task)}`)))
    }
    if (bytes !== run || start !== to) {
      if (run) pieces.push(run.subarray(from, to))
      run = bytes
      from = start
    }
    to = stop
  }
  if (run) pieces.push(run.subarray(from, to))
  return pieces
}

/** Writes every byte of `pieces`, in order, past a short write. */
function writeAll(fd: number, pieces: Buffer[]): void {
  let left = pieces
  while (left.length > 0) {
    let written = writevSync(fd, left)
    let i = 0
    while (i < left.length && written >= left[i]!.length) written -= left[i++]!.length
    left = i < left.length ? [left[i]!.subarray(written), ...left.slice(i + 1)] : []
  }
}

/** True when JSON gives the value back as it is: YAML can give `.inf`, `-0`… that it would not. */
function jsonSafe(value: unknown): boolean {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return true
    case 'number':
      return Number.isFinite(value) && !Object.is(value, -0)
    case 'object': {
      if (value === null) return true
      if (Array.isArray(value)) return value.every(jsonSafe)
      if (Object.getPrototypeOf(value) !== Object.prototype) return false
      return Object.values(value).every((item) => item !== undefined && jsonSafe(item))
    }
    default:
      return false
  }
}

/** A cache file's lines: each file's (by path) is the `k`th, which begins at `starts[k]` and ends (its newline) at `ends[k]`. */
interface CacheLines {
  bytes: Buffer
  lines: Map<string, number>
  starts: number[]
  ends: number[]
}

/**
 * Finds the lines of a cache file's bytes (see `HASH` for a line's shape), or nothing when it was
 * written by another parser (its first line is not `key`). A later line of a file replaces an
 * earlier one. A line without its newline is the torn end of a file cut short, and is left out,
 * as is any line not of that shape. Throws on a path that is not JSON (the cache is then ignored).
 */
function cacheLines(bytes: Buffer, key: string): CacheLines | undefined {
  const first = bytes.indexOf(10)
  if (first === -1 || bytes.toString('latin1', 0, first) !== key) return undefined
  const found: CacheLines = { bytes, lines: new Map(), starts: [], ends: [] }
  for (let at = first + 1, end = bytes.indexOf(10, at); end !== -1; at = end + 1, end = bytes.indexOf(10, at)) {
    const tab = bytes.indexOf(9, at)
    const second = tab === -1 || tab > end ? -1 : bytes.indexOf(9, tab + 1)
    if (second === -1 || second + HASH + 1 >= end || bytes[second + HASH + 1] !== 9) continue
    // A path without a backslash (no escape) is the text between its quotes: JSON.parse for each
    // of 100,000 lines cost ~0.1 s. Looked for in the string: a loop over the path's bytes, run
    // once a start, was a quarter slower.
    let path = bytes.toString('latin1', at + 1, tab - 1)
    if (path.includes('\\')) path = JSON.parse(bytes.toString('latin1', at, tab)) as string
    found.lines.set(path, found.starts.length)
    found.starts.push(at)
    found.ends.push(end)
  }
  return found
}

/**
 * The parsed tasks of the task files, by path, kept in the state folder between runs: a file
 * whose text is unchanged gives back the task parsed last time instead of being parsed again, and
 * a file whose size, modification and change times and inode are those recorded is not even read
 * (git's index trusts the same). Parsing front matter is most of the cost of starting a project
 * with thousands of task files (50–130 µs a file with yaml's Document API), reading one is the
 * next (open, stat, read, close), and most files are unchanged from one start to the next. A file
 * modified less than two seconds before it was read is compared by its text next time, since its
 * times could stay the same through a second edit in the same clock tick. Only tasks that parsed
 * without a problem, and that JSON keeps as they are, are cached; a file with a problem is parsed
 * (and its problem reported) each time.
 *
 * One line per file, so a start that finds a few files changed rewrites only those lines, and a
 * task is only parsed from the cache when it is used. A run appends lines for the files its
 * status mirror rewrote (`rewrote`); the next scan writes one line a file again. The cache is only
 * ever a shortcut: an unreadable, foreign or stale one is ignored and rewritten, and it is written
 * only where Tanuki has made its state folder (with its `.gitignore`), never creating one or
 * leaving a file git would show.
 */
export class TaskCache {
  /** The cache file as read, while a scan hands out its lines. */
  private bytes: Buffer | undefined
  /** Where the line of each file of the scan begins in `bytes` (−1: none), by the file's place in the scan. */
  private line: Int32Array = new Int32Array(0)
  /** Where each of those lines ends (its newline). */
  private end: Int32Array = new Int32Array(0)
  /** How many files the cache file held when the scan began. */
  private stored = 0
  private readonly key = parserKey()
  /**
   * Where each file's next line is, by its place in the scan: as read (its place in `bytes`) or
   * made by the scan (−1 − its place in `parsed`); a file the scan did not keep has none.
   */
  private next: (number | undefined)[] = []
  /** The tasks the scan parsed, by their place here (see `set`): their lines are made when written. */
  private parsed: [path: string, stat: string, hash: string, task: Task][] = []
  private changed = false
  /**
   * The file's next lines, not written yet: made when they are, as pieces of the bytes read (runs
   * of lines kept as they were, each one piece) and the lines of the tasks the scan parsed.
   */
  private pending: (() => Buffer[]) | undefined
  /** How many lines the last scan wrote (or will write). */
  private written = 0
  private timer: ReturnType<typeof setTimeout> | undefined

  constructor(readonly file: string) {}

  /** What a file's stat says about its text, as the cache compares it (`statKey`); '' when it says nothing. */
  static stat(stats: Stats | undefined, now = Date.now()): string {
    return stats ? statKey(stats.size, stats.mtimeMs, stats.ctimeMs, stats.ino, now) : ''
  }

  /** The first line of a cache file of this parser (see `parserKey`). */
  get parser(): string {
    return this.key
  }

  /** Whether the cache file is big enough (many files) that a scan pays on a worker thread (`startLister`). */
  large(): boolean {
    try {
      return statSync(this.file).size >= LARGE_BYTES
    } catch {
      return false
    }
  }

  /**
   * The cache file as read and indexed ahead of a scan (`prepare`), until the scan begins; `null`
   * when there is none of this parser (not read again then).
   */
  private prepared: CacheLines | null | undefined

  /**
   * Reads the cache file (or takes its bytes as a worker read them) and finds its lines, ahead of
   * a scan: while a worker lists the files (`startLister`). `begin` does it when nobody did.
   */
  prepare(read?: Buffer): void {
    // A scan before the last one's lines are written: they are what it should find.
    if (this.pending) this.save()
    try {
      const bytes = read ?? (existsSync(this.file) ? readFileSync(this.file) : undefined)
      this.prepared = (bytes && cacheLines(bytes, this.key)) ?? null
    } catch {
      this.prepared = null // Unreadable or foreign: start afresh; the next save replaces it.
    }
  }

  /** Starts a scan of `files` (in order; each is then named by its place): what it reads decides what the file keeps. */
  begin(files: readonly string[]): void {
    if (this.prepared === undefined) this.prepare()
    const found = this.prepared
    this.prepared = undefined
    this.line = new Int32Array(files.length).fill(-1)
    this.end = new Int32Array(files.length)
    if (found) {
      for (let index = 0; index < files.length; index++) {
        const k = found.lines.get(files[index]!)
        if (k === undefined) continue
        this.line[index] = found.starts[k]!
        this.end[index] = found.ends[k]!
      }
    }
    this.bytes = found?.bytes
    this.stored = found?.lines.size ?? 0
    this.next = new Array(files.length)
    this.parsed = []
    this.changed = false
  }

  /**
   * The task and text's hash of the line at `at`, whose hash begins at `hash`, or nothing when
   * it does not parse (then the file is read). Parsed when handed out, so its holder may change
   * it freely.
   */
  private take(at: number, hash: number): { task: Task; hash: string } | undefined {
    const bytes = this.bytes!
    try {
      return {
        task: JSON.parse(bytes.toString('latin1', hash + HASH + 1, bytes.indexOf(10, at))) as Task,
        hash: bytes.toString('latin1', hash, hash + HASH),
      }
    } catch {
      return undefined
    }
  }

  /** Where the hash of the line at `at` begins: after the second tab. */
  private hashAt(at: number): number {
    const bytes = this.bytes!
    return bytes.indexOf(9, bytes.indexOf(9, at) + 1) + 1
  }

  /** Whether the cache has a line for the scan's file `index`: else there is nothing to compare, stat or hash. */
  known(index: number): boolean {
    return this.line[index]! >= 0
  }

  /**
   * The task and text's hash of the scan's file `index` as cached, when its stat is the one
   * recorded: the file need not be read.
   */
  unchanged(index: number, stat: string): { task: Task; hash: string } | undefined {
    const at = this.line[index]!
    if (stat === '' || at < 0) return undefined
    const bytes = this.bytes!
    // The stat recorded is the one between the first two tabs.
    const from = bytes.indexOf(9, at) + 1
    const to = from + stat.length
    if (bytes[to] !== 9 || bytes.toString('latin1', from, to) !== stat) return undefined
    const cached = this.take(at, to + 1)
    if (cached) this.next[index] = at
    return cached
  }

  /** The task parsed earlier from the text of the scan's file `index` whose hash (`textHash`) is `hash`, if any. */
  get(index: number, path: string, stat: string, hash: string): Task | undefined {
    const at = this.line[index]!
    if (at < 0) return undefined
    const cached = this.take(at, this.hashAt(at))
    if (cached?.hash !== hash) return undefined
    this.set(index, path, stat, hash, cached.task)
    return cached.task
  }

  /**
   * Remembers a task just parsed from the text of the scan's file `index`, by the text's hash
   * (`textHash`). Its line is made when the cache is written, off the start's way (a first start
   * of 10,000 files spent 45 ms making them), from a copy: the run sets a task's status and agent
   * in place, and nothing else of it.
   */
  set(index: number, path: string, stat: string, hash: string, task: Task): void {
    if (!jsonSafe(task) || hash.length !== HASH) return
    this.next[index] = -1 - (this.parsed.push([path, stat, hash, { ...task }]) - 1)
    this.changed = true
  }

  /**
   * Ends a scan: when anything changed (a file parsed, a file gone), what it saw is written a
   * moment later (or when the process exits, if sooner), off the start's way: joining and writing
   * the lines of 10,000 files costs more than the rest of a start that reuses them.
   */
  commit(): void {
    let lines = 0
    for (const at of this.next) if (at !== undefined) lines++
    if (this.changed || lines !== this.stored) {
      const { next, bytes, end, parsed } = this
      this.pending = () => linesToWrite(next, bytes, end, parsed)
      this.written = lines
      if (!this.timer) {
        this.timer = setTimeout(() => this.save(), 1000)
        this.timer.unref?.()
        process.once('exit', this.atExit)
      }
    } else this.written = lines
    // The next scan reads the file afresh, once these lines are in it (see `begin`).
    this.next = []
    this.parsed = []
    this.line = new Int32Array(0)
    this.end = new Int32Array(0)
    this.bytes = undefined
  }

  private readonly atExit = (): void => this.save()

  /** Lines of files Tanuki rewrote itself, by path (the latest only), waiting to be appended. */
  private rewritten = new Map<string, string>()
  private rewrittenTimer: ReturnType<typeof setTimeout> | undefined
  /** Lines appended since the last scan: at most one a file the scan found, so the file at most doubles. */
  private appended = 0

  /**
   * Remembers the task a text Tanuki just wrote into a file reads as (the status mirror's): the
   * next start finds it without parsing the file. A run changes the file of every task it runs,
   * so without this a start after a big run (a resume after a crash) parsed nearly every file
   * again. The line is appended to the cache file a moment later (or as the process exits), after
   * the lines a scan has pending; a later line of a file wins over an earlier one, and the next
   * scan's write keeps one line a file. Until then the file grows by at most one line for each
   * file the last scan found (a task rewritten twice in a batch gets one): beyond that, rewritten
   * files are parsed again, as before. A line carries no stat (the file was just modified): the
   * next start reads the file and takes the task when the text's hash is this one.
   */
  rewrote(path: string, hash: string, task: Task): void {
    if (!jsonSafe(task) || hash.length !== HASH) return
    this.rewritten.set(path, ascii(`${JSON.stringify(path)}\t\t${hash}\t${JSON.stringify(task)}`))
    if (!this.rewrittenTimer) {
      this.rewrittenTimer = setTimeout(this.appendRewritten, 1000)
      this.rewrittenTimer.unref?.()
      process.once('exit', this.appendRewritten)
    }
  }

  /** Appends the lines `rewrote` gathered, to a cache file of this parser only. Never throws. */
  private readonly appendRewritten = (): void => {
    clearTimeout(this.rewrittenTimer)
    this.rewrittenTimer = undefined
    process.off('exit', this.appendRewritten)
    const lines = [...this.rewritten.values()].slice(0, Math.max(0, this.written - this.appended))
    this.rewritten.clear()
    // The scan's lines first: its write replaces the file.
    if (this.pending) this.save()
    if (lines.length === 0) return
    try {
      const head = Buffer.alloc(this.key.length + 1)
      const last = Buffer.alloc(1)
      const fd = openSync(this.file, 'r')
      try {
        readSync(fd, head, 0, head.length, 0)
        readSync(fd, last, 0, 1, Math.max(0, fstatSync(fd).size - 1))
      } finally {
        closeSync(fd)
      }
      if (head.toString('latin1') !== `${this.key}\n`) return
      // After a line cut short (a crash mid-append), a new line: the torn one stays alone, left out.
      appendFileSync(this.file, `${last[0] === 10 ? '' : '\n'}${lines.join('\n')}\n`)
      this.appended += lines.length
    } catch {
      // No cache file (yet), or an unwritable one: those files are parsed next time.
    }
  }

  /**
   * Writes the last scan's lines now, if they are not written yet and the state folder exists
   * (a run calls it again once it has made the folder). Never throws: a cache that cannot be
   * written is no error (the next start parses again).
   */
  save(): void {
    clearTimeout(this.timer)
    this.timer = undefined
    process.off('exit', this.atExit)
    // The state folder's .gitignore says Tanuki made it: a cache elsewhere would show in `git status`.
    if (this.pending === undefined || !existsSync(join(dirname(dirname(this.file)), '.gitignore'))) return
    try {
      mkdirSync(dirname(this.file), { recursive: true })
      const temp = `${this.file}.${process.pid}.tmp`
      const pieces = this.pending()
      // The pieces as they are, a thousand per call (the most one writev takes): joining them
      // would copy 34 MB for 100,000 files.
      const fd = openSync(temp, 'w')
      try {
        writeSync(fd, `${this.key}\n`)
        for (let from = 0; from < pieces.length; from += 1024) writeAll(fd, pieces.slice(from, from + 1024))
      } finally {
        closeSync(fd)
      }
      renameSync(temp, this.file)
      this.pending = undefined
      this.appended = 0
    } catch {
      // A read-only or full state folder: nothing else is lost.
    }
    this.sweep()
  }

  /**
   * Removes the temp files of processes that are gone: one killed while it wrote the cache (a
   * start stopped with kill -9, a crash) left a copy of it, and the bench's projects had gathered
   * 150 MB of them. Never throws.
   */
  private sweep(): void {
    const dir = dirname(this.file)
    const own = basename(this.file)
    let names: string[]
    try {
      names = readdirSync(dir)
    } catch {
      return // No folder (nothing was written), or one that cannot be listed: nothing to sweep.
    }
    for (const name of names) {
      if (!name.startsWith(`${own}.`) || !name.endsWith('.tmp')) continue
      const pid = name.slice(own.length + 1, -'.tmp'.length)
      if (!/^\d+$/.test(pid) || Number(pid) === process.pid || isAlive(Number(pid))) continue
      try {
        rmSync(join(dir, name), { force: true })
      } catch {
        // One that cannot be removed does not keep the others.
      }
    }
  }
}
