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
 * synchronously as events happen, so a crash loses nothing already reported.
 *
 * @example
 * const reporter = createNdjsonReporter({ path: '/tmp/run.ndjson' })
 */
export function createNdjsonReporter(options: NdjsonReporterOptions & { path: string }): Reporter {
  let fd: number | undefined
  let closed = false
  const open = (): number => {
    if (fd !== undefined) return fd
    ensureWritable(options.path, 'ndjson')
    fd = openSync(options.path, options.truncate ? 'w' : 'a')
    return fd
  }
  return {
    name: 'ndjson',
    onEvent<E extends TanukiEventName>(name: E, payload: TanukiEvents[E]) {
      if (closed) return
      // One write per line: a reader tailing the file never sees half an event.
      writeSync(open(), `${JSON.stringify({ event: name, ...payload })}\n`)
    },
    onClose() {
      closed = true
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
