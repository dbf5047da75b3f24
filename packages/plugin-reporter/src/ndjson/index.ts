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

/**
 * Writes every event as one line of JSON: `{"event":"task:completed","taskId":"api",…,"at":…}` —
 * the event's name under `event`, then its payload's fields as they are. Lines are written
 * synchronously as events happen, so a crash loses nothing already reported; agents' output
 * (`iteration:output`) is written in batches, at most 50 ms late, always before the next other event.
 *
 * @example
 * const reporter = createNdjsonReporter({ path: '/tmp/run.ndjson' })
 */
export function createNdjsonReporter(options: NdjsonReporterOptions & { path: string }): Reporter {
  let fd: number | undefined
  let closed = false
  /** Agents' output lines not written yet: they go in batches, every other event at once. */
  let pending = ''
  let timer: ReturnType<typeof setTimeout> | undefined
  const open = (): number => {
    if (fd !== undefined) return fd
    ensureWritable(options.path, 'ndjson')
    fd = openSync(options.path, options.truncate ? 'w' : 'a')
    return fd
  }
  const flush = (): void => {
    if (timer) clearTimeout(timer)
    timer = undefined
    if (pending === '') return
    const text = pending
    pending = ''
    writeSync(open(), text)
  }
  return {
    name: 'ndjson',
    onEvent<E extends TanukiEventName>(name: E, payload: TanukiEvents[E]) {
      if (closed) return
      const line = `${JSON.stringify({ event: name, ...payload })}\n`
      // Output comes in thousands of chunks a second from busy agents: written every 50 ms (or
      // 64 KiB) in one go. Whole lines only, so a reader tailing the file never sees half an event.
      if (name === 'iteration:output') {
        pending += line
        if (pending.length >= 64 * 1024) flush()
        else timer ??= setTimeout(flush, 50)
        return
      }
      // Every other event at once, after the output before it: a crash loses nothing reported.
      pending += line
      flush()
    },
    onClose() {
      closed = true
      flush()
      if (fd !== undefined) closeSync(fd)
      fd = undefined
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
