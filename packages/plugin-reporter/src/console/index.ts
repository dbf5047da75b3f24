import { cursorHide, cursorShow, eraseLines } from 'ansi-escapes'
import { definePlugin, type Reporter, type TanukiEventName, type TanukiEvents, type TanukiPlugin } from '@tanuki/core'
import { colors, formatTime, useColor } from '../format.ts'
import { RunModel } from '../model/index.ts'
import { describeEvent, settledLine, type EventLine } from './lines.ts'
import { renderFrame } from './live.ts'

/** Where the console reporter writes: `process.stdout`, or anything with `write` (tests pass a fake terminal). */
export interface ConsoleStream {
  write(text: string): unknown
  /** True for a terminal: the live view is drawn only there (with `mode: 'auto'`). */
  isTTY?: boolean
  /** Terminal width; lines of the live view are cut to it. Default 80. */
  columns?: number
  /** Terminal height; the live view stays shorter. Default 24. */
  rows?: number
}

export interface ConsoleReporterOptions {
  /** Default `process.stdout`. */
  stream?: ConsoleStream
  /** `auto` (default): live view on a terminal, plain lines otherwise. `tty` and `plain` force one. */
  mode?: 'auto' | 'tty' | 'plain'
  /** Only failures, reviews, crashes and the final line. */
  quiet?: boolean
  /** Also every iteration and the agents' output, line by line. */
  verbose?: boolean
  /** Force colour on or off. Default: off when `NO_COLOR` is set, else on for a terminal (or with `FORCE_COLOR`). */
  color?: boolean
  /** Least time between two redraws of the live view, in ms. Default 250 (4 a second); lower values are raised to 250. */
  refreshMs?: number
  /** Shown at the left of the overall bar. Default `tanuki` (the plugin passes the project's name). */
  title?: string
  /** Environment read for `NO_COLOR`/`FORCE_COLOR`. Default `process.env`. */
  env?: Record<string, string | undefined>
}

/** Never redraw more often than this: a live view is for eyes, and redraws cost the terminal. */
const MIN_REFRESH_MS = 250

/**
 * The console reporter: a live view on a terminal, plain timestamped lines elsewhere.
 *
 * @example
 * const orchestrator = createOrchestrator({ config, reporters: [createConsoleReporter({ verbose: true })] })
 */
export function createConsoleReporter(options: ConsoleReporterOptions = {}): Reporter {
  const stream: ConsoleStream = options.stream ?? process.stdout
  const env = options.env ?? process.env
  const c = colors(useColor(options.color, stream, env))
  const live = !options.quiet && (options.mode === 'tty' || ((options.mode ?? 'auto') === 'auto' && stream.isTTY === true))
  const refreshMs = Math.max(MIN_REFRESH_MS, options.refreshMs ?? MIN_REFRESH_MS)
  const title = options.title ?? 'tanuki'
  const model = new RunModel()

  let timer: ReturnType<typeof setInterval> | undefined
  /** Lines the live area takes on screen now (0: nothing drawn). */
  let drawn = 0
  let dirty = false
  let lastDraw = 0
  let finished = false
  /** Wall time when the last event arrived: elapsed times tick from the event's own clock. */
  let receivedAt = Date.now()

  const now = (): number => (model.endedAt ?? receivedAt) + (Date.now() - receivedAt)
  const frame = (): string => {
    // A pseudo-terminal nobody sized reports 0 columns: treat it as the classic 80x24.
    const lines = renderFrame(model, { title, width: stream.columns || 80, height: stream.rows || 24, now: now(), colors: c })
    return `${lines.join('\n')}\n`
  }
  /** Replaces the live area with `above` (kept on screen) and a fresh frame. */
  const draw = (above = ''): void => {
    const next = frame()
    stream.write(`${drawn === 0 ? cursorHide : eraseLines(drawn)}${above}${next}`)
    // The frame ends with a newline, so the cursor sits on the line below it: one more to erase.
    drawn = next.split('\n').length
    dirty = false
    lastDraw = Date.now()
  }
  const tick = (): void => {
    // Redraw on news, and once a second anyway so elapsed times move.
    if (dirty || Date.now() - lastDraw >= 1000) draw()
  }
  const startTimer = (): void => {
    if (timer || finished) return
    timer = setInterval(tick, refreshMs)
    // The run, not the view, decides when the process may exit.
    timer.unref?.()
  }
  const stopTimer = (): void => {
    if (timer) clearInterval(timer)
    timer = undefined
  }

  const print = (lines: EventLine[], at: number | undefined): void => {
    const wanted = lines.filter((l) => l.level === 'failure' || (l.level === 'info' && !options.quiet && !live) || (l.level === 'detail' && options.verbose))
    if (wanted.length === 0) return
    const stamp = at === undefined ? '' : `${c.dim(formatTime(at))} `
    const text = wanted.map((l) => `${stamp}${l.text}\n`).join('')
    if (live && !finished) {
      draw(text)
    } else {
      stream.write(text)
    }
  }

  /** The run ended: draw the last frame, leave it on screen, say how it ended. */
  const finish = (stopped: boolean): void => {
    if (finished) return
    finished = true
    stopTimer()
    const last = `${settledLine(model, c, stopped)}\n`
    if (live && drawn > 0) {
      draw()
      stream.write(`${last}${cursorShow}`)
    } else if (live) {
      stream.write(`${frame()}${last}`)
    } else {
      const at = model.endedAt
      stream.write(`${at === undefined ? '' : `${c.dim(formatTime(at))} `}${last}`)
    }
  }

  return {
    name: 'console',
    onEvent<E extends TanukiEventName>(name: E, payload: TanukiEvents[E]) {
      receivedAt = Date.now()
      model.apply(name, payload)
      if (name === 'project:settled') {
        finish(false)
        return
      }
      // Blocked and requeued tasks, retries: on a terminal the live view shows them; keep them out of the way.
      const lines = describeEvent(name, payload, model, c)
      const at = 'at' in payload && typeof payload.at === 'number' ? payload.at : model.endedAt
      if (live && !finished) {
        const above = lines.filter((l) => l.level === 'failure' || l.level === 'detail' || name === 'task:blocked' || name === 'task:requeued')
        if (above.length > 0) print(above.map((l) => (l.level === 'info' ? { ...l, level: 'failure' } : l)), at)
        dirty = true
        startTimer()
      } else {
        print(lines, at)
      }
    },
    onClose() {
      // Stopped before it settled (Ctrl-C, `tanuki project stop`): say so.
      finish(model.settled === undefined)
    },
  }
}

/**
 * The console reporter as a plugin: the CLI's default.
 *
 * @example
 * export default defineConfig({ plugins: [consoleReporter({ verbose: true })] })
 */
export function consoleReporter(options: ConsoleReporterOptions = {}): TanukiPlugin {
  return definePlugin({
    name: 'tanuki:reporter-console',
    setup(ctx) {
      ctx.registerReporter(createConsoleReporter({ title: ctx.project.name, ...options }))
    },
  })
}
