import { closeSync, fsyncSync, openSync, readFileSync, renameSync, statSync, truncateSync, writeSync } from 'node:fs'
import { open, type FileHandle } from 'node:fs/promises'
import { dirname } from 'node:path'
import {
  TanukiError,
  applyRecord,
  emptyRunState,
  errorMessage,
  type RunRecord,
  type RunState,
  type RunStore,
} from '@tanuki/core'

/** Records after the last snapshot before the journal is compacted. */
export const COMPACT_AFTER = 20_000

/** What a read of the journal found. */
export interface JournalRead {
  state: RunState
  /** Records after the last snapshot (what compaction would fold away). */
  tail: number
  /** Bytes of a torn last line (a write cut short by a crash), dropped. */
  torn: number
  /** Lines in the middle that did not parse, skipped. */
  skipped: number
}

/** Reads a journal file: every whole line, in order; a torn last line is ignored. */
export function readJournal(path: string): JournalRead {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT')
      return { state: emptyRunState(), tail: 0, torn: 0, skipped: 0 }
    throw new TanukiError('TANUKI_STATE_UNREADABLE', `${path} cannot be read: ${errorMessage(error)}`, { cause: error })
  }
  const state = emptyRunState()
  const end = text.lastIndexOf('\n') + 1
  let tail = 0
  let skipped = 0
  for (const line of text.slice(0, end).split('\n')) {
    if (line === '') continue
    let record: RunRecord
    try {
      record = JSON.parse(line) as RunRecord
    } catch {
      skipped++
      continue
    }
    applyRecord(state, record)
    tail = record.t === 'snapshot' ? 0 : tail + 1
  }
  return { state, tail, torn: Buffer.byteLength(text.slice(end)), skipped }
}

/** Writes a file whole and durably: a temp file, fsynced, renamed over the old one, the folder fsynced. */
function replaceDurably(path: string, text: string): void {
  const temp = `${path}.${process.pid}.tmp`
  const fd = openSync(temp, 'w')
  try {
    writeSync(fd, text)
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
  renameSync(temp, path)
  syncFolder(dirname(path))
}

function syncFolder(dir: string): void {
  try {
    const fd = openSync(dir, 'r')
    try {
      fsyncSync(fd)
    } finally {
      closeSync(fd)
    }
  } catch {
    // Not every platform lets a folder be fsynced; the rename is still atomic.
  }
}

export interface JournalOptions {
  /** Records after the last snapshot before the journal is compacted. Default 20,000. */
  compactAfter?: number
}

/**
 * The run's journal: an append-only file of JSON lines in the state folder (which git does not
 * track), the one authority for statuses, iterations, spend, landings and parks.
 *
 * Appends are group committed: every record appended in one turn of the event loop goes out in one
 * write and one fdatasync, off the main thread. A torn last line after a crash is dropped when the
 * journal opens. Past `COMPACT_AFTER` records it is compacted: a snapshot of the state, written to
 * a new file that replaces the old one atomically, and the tail after it.
 *
 * @example
 * const journal = openJournal('.tanuki/journal.ndjson')
 * const orchestrator = createOrchestrator({ config, store: journal })
 */
export class FileJournal implements RunStore {
  readonly path: string
  private readonly state: RunState
  private tail: number
  private handle: Promise<FileHandle> | undefined
  private buffer: string[] = []
  private committing: Promise<void> = Promise.resolve()
  /** The next write, while it waits for the one before it to be durable; it takes the buffer when it starts. */
  private queued: Promise<void> | undefined
  private scheduled: NodeJS.Immediate | undefined
  private failure: unknown
  private readonly compactAfter: number
  /** Writes made (each with its fdatasync), for people checking the group commit. */
  writes = 0

  constructor(path: string, read: JournalRead, options: JournalOptions = {}) {
    this.path = path
    this.state = read.state
    this.tail = read.tail
    this.compactAfter = options.compactAfter ?? COMPACT_AFTER
  }

  load(): RunState {
    return structuredClone(this.state)
  }

  append(record: RunRecord): void {
    applyRecord(this.state, record)
    this.buffer.push(`${JSON.stringify(record)}\n`)
    this.scheduled ??= setImmediate(() => {
      this.scheduled = undefined
      void this.commit().catch(() => {})
    })
  }

  flush(): Promise<void> {
    return this.commit()
  }

  async close(): Promise<void> {
    clearImmediate(this.scheduled)
    this.scheduled = undefined
    await this.commit()
    const handle = this.handle
    this.handle = undefined
    if (handle) await (await handle).close()
  }

  /**
   * Sends what is buffered in one write and one fdatasync; resolves when that (and all before it)
   * is durable. While a write is under way, records appended meanwhile, over as many turns as it
   * takes, wait for it and go out together in the next: a run whose agents finish one per turn
   * made an fdatasync for nearly every status change, one after the other.
   */
  private commit(): Promise<void> {
    if (this.buffer.length > 0) {
      const next = (): Promise<void> => {
        const batch = this.buffer.join('')
        const count = this.buffer.length
        this.buffer = []
        this.queued = undefined
        return this.write(batch, count)
      }
      // After a failed write too: `write` then fails the same way, and the buffer does not grow.
      this.queued ??= this.committing.then(next, next)
      this.committing = this.queued
    }
    return this.committing
  }

  private async write(batch: string, count: number): Promise<void> {
    // Once a write failed (a full disk), nothing after it may claim to be durable.
    if (this.failure !== undefined) throw this.failure
    try {
      this.handle ??= open(this.path, 'a')
      const handle = await this.handle
      await handle.write(batch)
      await handle.datasync()
      this.writes++
      this.tail += count
      if (this.tail >= this.compactAfter) await this.compact()
    } catch (error) {
      this.failure = new TanukiError('TANUKI_STATE_WRITE', `${this.path}: ${errorMessage(error)}`, { cause: error })
      throw this.failure
    }
  }

  /** Replaces the journal with a snapshot of the state: done between writes, so nothing is lost. */
  private async compact(): Promise<void> {
    const handle = this.handle
    this.handle = undefined
    if (handle) await (await handle).close()
    replaceDurably(this.path, `${JSON.stringify({ t: 'snapshot', state: this.state } satisfies RunRecord)}\n`)
    this.tail = 0
  }
}

/**
 * Opens a project's journal: reads it (dropping a torn last line from the file, so appends start
 * on a line of their own) and compacts it first when its tail has grown long.
 */
export function openJournal(path: string, options: JournalOptions = {}): FileJournal {
  const read = readJournal(path)
  if (read.torn > 0) truncateSync(path, statSync(path).size - read.torn)
  if (read.tail >= (options.compactAfter ?? COMPACT_AFTER) || read.skipped > 0) {
    replaceDurably(path, `${JSON.stringify({ t: 'snapshot', state: read.state } satisfies RunRecord)}\n`)
    return new FileJournal(path, { ...read, tail: 0 }, options)
  }
  return new FileJournal(path, read, options)
}

/**
 * Appends records durably, now, for a command run while no orchestrator runs (the caller holds
 * the project's lock). `records` may be made from the state recorded so far (a rerun counts its
 * fresh tries from the iterations the journal has).
 */
export function appendDurably(
  path: string,
  records: readonly RunRecord[] | ((state: RunState) => readonly RunRecord[]),
): void {
  const read = readJournal(path)
  if (read.torn > 0) truncateSync(path, statSync(path).size - read.torn)
  if (typeof records === 'function') records = records(read.state)
  const fd = openSync(path, 'a')
  try {
    writeSync(fd, records.map((record) => `${JSON.stringify(record)}\n`).join(''))
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
}
