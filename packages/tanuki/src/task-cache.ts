import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync, type Stats } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { deserialize, serialize } from 'node:v8'
import type { Task } from '@tanuki/core'
import { version } from './version.ts'

/** Bumped when what the cache holds changes shape. */
const FORMAT = 2

/** A file modified this recently may change again within the same clock tick: its stat proves nothing. */
const RACY_MS = 2000

interface Entry {
  /** The file's size, times and inode when read, or '' when they cannot vouch for its text. */
  stat: string
  /** The text the task was parsed from: the task is reused only for the very same text. */
  text: string
  task: Task
}

interface Stored {
  key: string
  entries: Map<string, Entry>
}

/**
 * What the parser was when the cache was written: Tanuki's version and the build of core's parser
 * (its file's size and time), so a rebuilt or upgraded parser never reuses tasks of the old one.
 */
function parserKey(): string {
  let build = ''
  try {
    const core = statSync(fileURLToPath(import.meta.resolve('@tanuki/core')))
    build = `${core.size}:${core.mtimeMs}`
  } catch {
    // Resolved some other way (bundled, another runtime): the version alone says which parser.
  }
  return `${FORMAT}:${version}:${build}`
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
 * without a problem are kept; a file with a problem is parsed (and its problem reported) each time.
 *
 * The cache is only ever a shortcut: an unreadable, foreign or stale one is ignored and rewritten,
 * and it is written only where Tanuki has made its state folder (with its `.gitignore`), never
 * creating one or leaving a file git would show. Written with `node:v8`'s serializer, which keeps every value YAML can give
 * (`.inf`, `-0`, …) as it was.
 */
export class TaskCache {
  /** Entries read from the file and not yet handed out. */
  private stored: Map<string, Entry> | undefined
  private storedCount = 0
  private readonly key = parserKey()
  /** What the current scan saw: the next contents of the file. */
  private readonly next = new Map<string, Entry>()
  private changed = false
  /** A snapshot waiting for the state folder to exist. */
  private pending: Buffer | undefined

  constructor(readonly file: string) {}

  /** What a file's stat says about its text, as the cache compares it; '' when it says nothing. */
  static stat(stats: Stats, now = Date.now()): string {
    if (stats.mtimeMs > now - RACY_MS || stats.ctimeMs > now - RACY_MS) return ''
    return `${stats.size}:${stats.mtimeMs}:${stats.ctimeMs}:${stats.ino}`
  }

  private load(): Map<string, Entry> {
    if (this.stored) return this.stored
    this.stored = new Map()
    try {
      if (existsSync(this.file)) {
        const value = deserialize(readFileSync(this.file)) as Partial<Stored>
        if (value.key === this.key && value.entries instanceof Map) this.stored = value.entries
      }
    } catch {
      // Torn or foreign: start afresh; the next save replaces it.
    }
    this.storedCount = this.stored.size
    return this.stored
  }

  /** Starts a scan: what it reads decides what the file keeps. */
  begin(): void {
    this.load()
    this.next.clear()
    this.changed = false
  }

  /**
   * The text and task of `path` as cached, when its stat is the one recorded: the file need not
   * be read. Each task is handed out once (its holder may change it); a second scan in the same
   * process reads and parses again.
   */
  unchanged(path: string, stat: string): { text: string; task: Task } | undefined {
    const stored = this.load()
    const entry = stored.get(path)
    if (stat === '' || entry?.stat !== stat) return undefined
    stored.delete(path)
    this.next.set(path, entry)
    return entry
  }

  /** The task parsed earlier from exactly this text of `path`, if any (handed out once, as above). */
  get(path: string, stat: string, text: string): Task | undefined {
    const stored = this.load()
    const entry = stored.get(path)
    if (entry?.text !== text) return undefined
    stored.delete(path)
    this.next.set(path, { stat, text, task: entry.task })
    if (stat !== entry.stat) this.changed = true
    return entry.task
  }

  /** Remembers a task just parsed from a file's text. */
  set(path: string, stat: string, text: string, task: Task): void {
    this.next.set(path, { stat, text, task })
    this.changed = true
  }

  /**
   * Ends a scan: when anything changed (a file parsed, a file gone), takes a snapshot of what it
   * saw at once, before anyone changes those tasks, and writes it if the state folder exists.
   */
  commit(): void {
    if (this.changed || this.next.size !== this.storedCount) {
      this.pending = serialize({ key: this.key, entries: this.next } satisfies Stored)
      this.storedCount = this.next.size
    }
    this.next.clear()
    this.save()
  }

  /**
   * Writes the last snapshot not yet written, when the state folder exists. Never throws: a cache
   * that cannot be written is no error (the next start parses again).
   */
  save(): void {
    // The state folder's .gitignore says Tanuki made it: a cache elsewhere would show in `git status`.
    if (!this.pending || !existsSync(join(dirname(dirname(this.file)), '.gitignore'))) return
    try {
      mkdirSync(dirname(this.file), { recursive: true })
      const temp = `${this.file}.${process.pid}.tmp`
      writeFileSync(temp, this.pending)
      renameSync(temp, this.file)
      this.pending = undefined
    } catch {
      // A read-only or full state folder: nothing else is lost.
    }
  }
}
