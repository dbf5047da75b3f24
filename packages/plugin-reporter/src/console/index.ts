import { cursorHide, cursorShow, eraseLines } from 'ansi-escapes'
import { definePlugin, type Reporter, type TanukiEventName, type TanukiEvents, type TanukiPlugin } from '@tanuki/core'
import { colors, formatTime, useColor } from '../format.ts'
import { ModelFeed, sharedFeed } from '../model/index.ts'
import { describeEvent, landGateText, ParksSaid, settledLine, type EventLine } from './lines.ts'
import { renderFrame } from './live.ts'
import { AgentOrder } from './order.ts'

/** Where the console reporter writes: `process.stdout`, or anything with `write` (tests pass a fake terminal). */
export interface ConsoleStream {
  /** Writes text as is. */
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
/** A landing's gate running this long is said without `verbose` too: the run looks stuck otherwise. */
const LONG_GATE_MS = 3000
/**
 * What the live area itself shows, so a terminal prints no line for it: an agent starting and
 * taking a task (the agent's line), a try that ends in a retry (its try n/max).
 */
const SHOWN_LIVE: ReadonlySet<TanukiEventName> = new Set(['agent:spawned', 'task:assigned', 'iteration:finished'])

/**
 * The console reporter: a live view on a terminal, plain timestamped lines elsewhere.
 *
 * @example
 * const orchestrator = createOrchestrator({ config, reporters: [createConsoleReporter({ verbose: true })] })
 */
export function createConsoleReporter(options: ConsoleReporterOptions = {}, feed = new ModelFeed()): Reporter {
  const stream: ConsoleStream = options.stream ?? process.stdout
  const env = options.env ?? process.env
  const c = colors(useColor(options.color, stream, env))
  const live =
    !options.quiet && (options.mode === 'tty' || ((options.mode ?? 'auto') === 'auto' && stream.isTTY === true))
  const refreshMs = Math.max(MIN_REFRESH_MS, options.refreshMs ?? MIN_REFRESH_MS)
  const title = options.title ?? 'tanuki'
  const model = feed.model

  let timer: ReturnType<typeof setInterval> | undefined
  /** Lines the live area takes on screen now (0: nothing drawn). */
  let drawn = 0
  let dirty = false
  let lastDraw = 0
  let finished = false
  /** Lines waiting to be printed above the live area at the next redraw. */
  let above = ''
  /** Agents' output not yet ended by a newline, per task, iteration and stream. */
  const partial = new Map<string, string>()
  /** Plain lines: an agent's next task is printed after its last one's outcome. */
  const order = new AgentOrder()

  /** Plain lines without `verbose`: the gate command running now, said once it runs long. */
  let longGate: ReturnType<typeof setTimeout> | undefined
  const gateEnded = (): void => {
    if (longGate) clearTimeout(longGate)
    longGate = undefined
  }
  const watchGate = (e: TanukiEvents['task:land-gate']): void => {
    gateEnded()
    longGate = setTimeout(() => {
      longGate = undefined
      // Stamped when it is said, as the lines around it are: the gate began LONG_GATE_MS before.
      const at = e.at === undefined ? undefined : e.at + LONG_GATE_MS
      if (!finished && model.gate === e) print('task:land-gate', [{ level: 'info', text: landGateText(e, c) }], at)
    }, LONG_GATE_MS)
    // The run, not a line, decides when the process may exit.
    longGate.unref?.()
  }

  /** What setups created and the console named already: said once a run, not once an agent. */
  const saidLeftOut = new Set<string>()
  const newlyLeftOut = (e: TanukiEvents['task:setup']): TanukiEvents['task:setup'] => {
    if (!e.leftOut?.length) return e
    const fresh = e.leftOut.filter((file) => !saidLeftOut.has(file))
    for (const file of fresh) saidLeftOut.add(file)
    return { ...e, leftOut: fresh }
  }

  /** What the lines said of parks: one line a park, not one an agent. */
  const parks = new ParksSaid()

  /** Wall time when the last event arrived: elapsed times tick from the event's own clock. */
  let receivedAt = Date.now()

  const now = (): number => (model.endedAt ?? receivedAt) + (Date.now() - receivedAt)
  const frame = (): string => {
    // A pseudo-terminal nobody sized reports 0 columns: treat it as the classic 80x24.
    const lines = renderFrame(model, {
      title,
      width: stream.columns || 80,
      height: stream.rows || 24,
      now: now(),
      colors: c,
    })
    return `${lines.join('\n')}\n`
  }
  /** Replaces the live area with the lines for above it (kept on screen) and a fresh frame. */
  const draw = (now = ''): void => {
    const next = frame()
    stream.write(`${drawn === 0 ? cursorHide : eraseLines(drawn)}${above}${now}${next}`)
    above = ''
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

  /** Whether the live area is on screen: once the run settled it is not redrawn, and lines are plain ones. */
  const drawing = (): boolean => live && !finished

  /** Whether a line is printed, and on a terminal whether it waits for the next redraw. */
  const route = (line: EventLine, name: TanukiEventName): 'now' | 'later' | 'drop' => {
    if (line.level === 'failure') return 'now'
    // Verbose shows every iteration, the retries (normally `info`) among them.
    if (line.level === 'detail' || (options.verbose && name.startsWith('iteration:')))
      return options.verbose ? (drawing() ? 'later' : 'now') : 'drop'
    if (options.quiet) return 'drop'
    if (!drawing()) return 'now'
    // The live area says these itself (an agent's line, its try n/max); the rest stays in the
    // scrollback as on a pipe. Printed at the next redraw: 300 completions a second redraw 4 times.
    return SHOWN_LIVE.has(name) ? 'drop' : 'later'
  }

  const print = (name: TanukiEventName, lines: EventLine[], at: number | undefined): void => {
    // Most events print nothing (a big project's start queues 100,000 tasks): no time to format.
    if (lines.length === 0) return
    const stamp = at === undefined ? '' : `${c.dim(formatTime(at))} `
    let now = ''
    for (const line of lines) {
      const where = route(line, name)
      if (where === 'now') now += `${stamp}${line.text}\n`
      // Agents' output can come in many pieces a second: it waits for the throttled redraw.
      if (where === 'later') above += `${stamp}${line.text}\n`
    }
    if (drawing()) {
      if (now) draw(now)
    } else if (now) {
      stream.write(now)
    }
  }

  /** Cuts agents' output at line ends, keeping what follows the last newline for the next piece. */
  const whole = (event: TanukiEvents['iteration:output']): TanukiEvents['iteration:output'] | undefined => {
    const key = `${event.taskId}#${event.iteration}:${event.stream}`
    const text = (partial.get(key) ?? '') + event.text
    const cut = text.lastIndexOf('\n')
    partial.set(key, cut === -1 ? text : text.slice(cut + 1))
    return cut === -1 ? undefined : { ...event, text: text.slice(0, cut + 1) }
  }
  /** The ends of a task's output that never got their newline (its iteration ended, or its agent died). */
  const rest = (taskId: string): TanukiEvents['iteration:output'][] => {
    const pieces: TanukiEvents['iteration:output'][] = []
    for (const [key, text] of partial) {
      const match = /^(.*)#(\d+):(stdout|stderr)$/.exec(key)
      if (!match || match[1] !== taskId) continue
      partial.delete(key)
      if (text)
        pieces.push({
          taskId,
          agent: model.tasks.get(taskId)?.agent ?? '?',
          iteration: Number(match[2]),
          stream: match[3] as 'stdout' | 'stderr',
          text,
        })
    }
    return pieces
  }

  /** The run ended: draw the last frame, leave it on screen, say how it ended. */
  const finish = (stopped: boolean): void => {
    // Lines held for an agent's order since the run settled (`--watch`) are said when it closes.
    order.flush()
    if (finished) return
    finished = true
    stopTimer()
    gateEnded()
    const last = `${settledLine(model, c, stopped)}\n`
    if (live && drawn > 0) {
      draw()
      stream.write(`${last}${cursorShow}`)
    } else if (live) {
      // Lines for above the area that no redraw came to print yet (a run that settled at once).
      stream.write(`${above}${frame()}${last}`)
      above = ''
    } else {
      const at = model.endedAt
      stream.write(`${at === undefined ? '' : `${c.dim(formatTime(at))} `}${last}`)
    }
  }

  return {
    name: 'console',
    onEvent<E extends TanukiEventName>(name: E, payload: TanukiEvents[E]) {
      receivedAt = Date.now()
      feed.apply(name, payload)
      if (name === 'project:settled') {
        finish(false)
        return
      }
      const at = 'at' in payload && typeof payload.at === 'number' ? payload.at : model.endedAt
      // Described now, against the model as this event left it; written now, or in its agent's order.
      const write = (lines: EventLine[], as: TanukiEventName = name): void => {
        if (lines.length === 0) return
        if (drawing()) print(as, lines, at)
        else order.route(name, payload as { taskId?: string; agent?: string }, () => print(as, lines, at))
      }
      if (name === 'iteration:output') {
        // Agents' output is printed only when verbose: otherwise it is not even cut into lines,
        // which cost more than anything else the reporter does while 50 agents talk.
        const lines = options.verbose ? whole(payload as TanukiEvents['iteration:output']) : undefined
        if (lines) write(describeEvent('iteration:output', lines, model, c), 'iteration:output')
      } else {
        if (name === 'iteration:finished' || name === 'task:requeued' || name === 'task:failed') {
          for (const piece of rest((payload as { taskId: string }).taskId))
            write(describeEvent('iteration:output', piece, model, c), 'iteration:output')
        }
        const described =
          name === 'task:setup' ? (newlyLeftOut(payload as TanukiEvents['task:setup']) as TanukiEvents[E]) : payload
        write(describeEvent(name, described, model, c, parks))
        // Verbose said it as it started; the live view shows it as it runs.
        if (name === 'task:land-gate' && !options.verbose && !options.quiet && !drawing())
          watchGate(payload as TanukiEvents['task:land-gate'])
        else if (model.gate === undefined) gateEnded()
      }
      if (drawing()) {
        dirty = true
        startTimer()
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
      ctx.registerReporter(createConsoleReporter({ title: ctx.project.name, ...options }, sharedFeed(ctx.config)))
    },
  })
}
