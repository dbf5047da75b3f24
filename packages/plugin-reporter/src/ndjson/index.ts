import { closeSync, openSync, writeSync } from 'node:fs'
import { definePlugin, type Reporter, type TanukiEventName, type TanukiEvents, type TanukiPlugin } from '@tanuki/core'
import { ensureWritable, reporterPath } from '../files.ts'

export interface NdjsonReporterOptions {
  /**
   * The log file. Relative paths are taken from the project's root. Default
   * `<stateDir>/events.ndjson` (`.tanuki/events.ndjson`).
   */
  path?: string
  /** Start a new file instead of appending to the log of earlier runs. Default false. */
  truncate?: boolean
}

/** The most bytes of lines gathered before they are written; a longer line goes out alone. */
const BATCH_BYTES = 256 * 1024
/** Agents' output is written once this much gathered, without waiting for its 50 ms. */
const OUTPUT_FLUSH_BYTES = 64 * 1024
/**
 * A `project:loaded` of this many tasks is made into its line and written just after its turn
 * (`setImmediate`), not within it: with 100,000 tasks the line is 10 MB and took 0.2 s, which
 * held back the first agent's start. The lines after it wait for it; the exit writes it too.
 */
const LATE_TASKS = 1000

/**
 * Writes every event as one line of JSON: `{"event":"task:completed","taskId":"api",…,"at":…}` —
 * the event's name under `event`, then its payload's fields as they are. The lines of one turn of
 * the event loop are written together at its end (one write for all the events of a busy turn, not one
 * each), and before the process exits, so a crash loses nothing
 * already reported; agents' output (`iteration:output`) waits up to 50 ms longer for more of it,
 * and is always written before the next other event.
 *
 * @example
 * const reporter = createNdjsonReporter({ path: '/tmp/run.ndjson' })
 */
export function createNdjsonReporter(options: NdjsonReporterOptions & { path: string }): Reporter {
  let fd: number | undefined
  let closed = false
  // Lines not written yet, as bytes: each line is encoded straight into the batch, where text
  // joined by `+=` was copied twice more (into one string, then into UTF-8) at every write, and
  // held on the heap meanwhile: 10 MB/s of it when 50 agents talk (bench/stream.bench.ts).
  let batch: Buffer | undefined
  let used = 0
  let timer: ReturnType<typeof setTimeout> | undefined
  let queued = false
  /** A big `project:loaded`'s line, made when it is written (see `LATE_TASKS`). */
  let late: (() => string) | undefined
  let lateTimer: ReturnType<typeof setImmediate> | undefined
  /**
   * Why a write after an event's handling failed (at the end of its turn, on a timer): thrown at
   * the next event or at close, where the run reports it, instead of ending the process.
   */
  let failure: unknown
  const later = (): void => {
    try {
      flush()
    } catch (error) {
      failure ??= error
    }
  }
  const rethrow = (): void => {
    if (failure === undefined) return
    const error = failure
    failure = undefined
    throw error
  }
  const open = (): number => {
    if (fd !== undefined) return fd
    ensureWritable(options.path, 'ndjson')
    fd = openSync(options.path, options.truncate ? 'w' : 'a')
    return fd
  }
  const flush = (): void => {
    if (timer) clearTimeout(timer)
    timer = undefined
    if (late) {
      const line = Buffer.from(`${late()}\n`)
      late = undefined
      clearImmediate(lateTimer)
      lateTimer = undefined
      const file = open()
      for (let at = 0; at < line.length; ) at += writeSync(file, line, at, line.length - at)
    }
    if (used === 0) return
    const length = used
    used = 0
    const file = open()
    for (let at = 0; at < length; ) at += writeSync(file, batch!, at, length - at)
  }
  const add = (json: string): void => {
    // A UTF-16 unit takes at most 3 bytes: a line that might not fit waits for the batch to go.
    if (used + json.length * 3 + 1 > BATCH_BYTES) {
      flush()
      if (json.length * 3 + 1 > BATCH_BYTES) {
        writeSync(open(), `${json}\n`)
        return
      }
    }
    batch ??= Buffer.allocUnsafe(BATCH_BYTES)
    used += batch.write(json, used)
    batch[used++] = 0x0a
  }
  const endOfTurn = (): void => {
    queued = false
    if (timer === undefined && late === undefined) later()
  }
  // An uncaught error ends the process before the turn does: its lines still go to disk.
  process.on('exit', flush)
  return {
    name: 'ndjson',
    onEvent<E extends TanukiEventName>(name: E, payload: TanukiEvents[E]) {
      if (closed) return
      if (
        name === 'project:loaded' &&
        !late &&
        ((payload as TanukiEvents['project:loaded']).tasks?.length ?? 0) >= LATE_TASKS
      ) {
        // What came before it goes first; what comes after waits for it.
        flush()
        late = () => JSON.stringify({ event: name, ...payload })
        lateTimer = setImmediate(later)
        return
      }
      add(JSON.stringify({ event: name, ...payload }))
      if (name === 'iteration:output') {
        if (used >= OUTPUT_FLUSH_BYTES) flush()
        else timer ??= setTimeout(later, 50)
      } else {
        if (timer) clearTimeout(timer)
        timer = undefined
        if (!queued) {
          queued = true
          queueMicrotask(endOfTurn)
        }
      }
      rethrow()
    },
    onClose() {
      closed = true
      process.off('exit', flush)
      try {
        flush()
      } finally {
        if (fd !== undefined) closeSync(fd)
        fd = undefined
      }
      rethrow()
    },
  }
}

/**
 * The NDJSON event log as a plugin.
 *
 * @example
 * export default defineConfig({ plugins: [ndjsonReporter({ path: 'logs/events.ndjson' })] })
 */
export function ndjsonReporter(options: NdjsonReporterOptions = {}): TanukiPlugin {
  return definePlugin({
    name: 'tanuki:reporter-ndjson',
    setup(ctx) {
      const path = reporterPath(ctx.project, options.path, 'events.ndjson')
      // Check now: an unwritable path should refuse the start, not fail on every event.
      ensureWritable(path, 'ndjson')
      ctx.registerReporter(createNdjsonReporter({ ...options, path }))
    },
  })
}
