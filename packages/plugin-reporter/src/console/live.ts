import type { TaskStatus } from '@tanuki/core'
import { bar, fit, formatElapsed, type Colors } from '../format.ts'
import type { RunModel } from '../model/index.ts'

/** A run of text with its colour; lines are built from these so they can be cut to the terminal's width. */
type Segment = [text: string, paint?: (text: string) => string]

function line(segments: Segment[], width: number): string {
  let room = width
  let out = ''
  for (const [text, paint] of segments) {
    if (room <= 0) break
    const cut = text.length > room ? fit(text, room) : text
    room -= cut.length
    out += paint ? paint(cut) : cut
  }
  return out
}

const STATUS_LABELS: [TaskStatus[], string, keyof Colors][] = [
  [['in_progress', 'assigned'], 'running', 'cyan'],
  [['pending'], 'pending', 'dim'],
  [['review'], 'review', 'yellow'],
  [['failed'], 'failed', 'red'],
  [['blocked'], 'blocked', 'magenta'],
]

export interface FrameOptions {
  /** Shown left of the overall bar. */
  title: string
  /** Terminal columns and rows. */
  width: number
  height: number
  /** Clock time (ms) for elapsed times. */
  now: number
  /** Colour functions (pass-throughs when colour is off). */
  colors: Colors
}

/**
 * The live view: an overall bar with counts by status, a bar per role, the landing gate running
 * now, a line per agent with its task, iteration and time on the task. Pure: the same model and options give the same frame.
 */
export function renderFrame(model: RunModel, options: FrameOptions): string[] {
  const { colors: c, width } = options
  const cut = width - 1
  const counts = model.counts()
  const progress = model.progress()
  const total = progress.total
  const barWidth = Math.max(10, Math.min(40, width - 30))
  const lines: string[] = []

  const overall = bar(total === 0 ? 0 : progress.complete / total, barWidth)
  const summary: Segment[] = [[`  ${progress.complete}/${total} complete`, c.green]]
  for (const [statuses, label, color] of STATUS_LABELS) {
    const n = statuses.reduce((sum, status) => sum + counts[status], 0)
    if (n > 0) summary.push([' · '], [`${n} ${label}`, c[color] as (text: string) => string])
  }
  const end = model.settled?.at ?? (model.state === 'stopped' ? model.endedAt : undefined) ?? options.now
  const elapsed = model.startedAt === undefined ? 0 : end - model.startedAt
  lines.push(
    line(
      [
        [options.title, c.bold],
        [' '],
        [overall.done, c.green],
        [overall.rest, c.dim],
        [` ${String(progress.percentage).padStart(3)}%`, c.bold],
        [`  ${formatElapsed(elapsed)}`, c.dim],
      ],
      cut,
    ),
  )
  lines.push(line(summary, cut))

  const roles = model.roles()
  const roleWidth = Math.min(16, Math.max(4, ...roles.map(([role]) => role.length)))
  const roleBar = Math.max(10, barWidth - 4)
  for (const [role, entry] of roles) {
    const b = bar(entry.total === 0 ? 0 : entry.complete / entry.total, roleBar)
    const pct = entry.total === 0 ? 0 : Math.floor((entry.complete * 100) / entry.total)
    const trouble = entry.failed + entry.review + entry.blocked
    lines.push(
      line(
        [
          [`  ${fit(role, roleWidth)} `],
          [b.done, c.green],
          [b.rest, c.dim],
          [` ${String(pct).padStart(3)}%`],
          [`  ${entry.complete}/${entry.total}`],
          ...(trouble > 0 ? ([[`  ${trouble} need attention`, c.yellow]] as Segment[]) : []),
        ],
        cut,
      ),
    )
  }

  // A landing's gate can run for minutes between a task's completion and its landing: shown while it runs.
  const gate = model.gate
  if (gate) {
    const since = `  ${formatElapsed(Math.max(0, options.now - gate.at))}`
    lines.push(
      line(
        [
          ['  '],
          ['⇢ ', c.cyan],
          ['landing '],
          [gate.taskId, c.bold],
          [`: ${gate.setup ? 'setup' : 'gate'} \`${gate.command}\``],
          [since, c.dim],
        ],
        cut,
      ),
    )
  }

  const agents = [...model.agents.values()].sort((a, b) => a.name.localeCompare(b.name))
  // Keep the frame shorter than the screen: a frame taller than the terminal cannot be erased.
  const room = Math.max(1, options.height - lines.length - 2)
  const shown = agents.length > room ? agents.slice(0, room - 1) : agents
  const nameWidth = Math.min(24, Math.max(5, ...agents.map((agent) => agent.name.length)))
  for (const agent of shown) {
    const name: Segment = [`  ${fit(agent.name, nameWidth)} `]
    if (agent.status === 'busy' && agent.task) {
      const task = model.tasks.get(agent.task)
      const iteration =
        task?.iteration === undefined ? 'starting' : `iteration ${task.iteration}/${task.maxIterations ?? '?'}`
      const since = agent.since === undefined ? '' : `  ${formatElapsed(options.now - agent.since)}`
      lines.push(line([name, ['● ', c.cyan], [agent.task, c.bold], [`  ${iteration}`], [since, c.dim]], cut))
    } else if (agent.status === 'crashed' || agent.status === 'spawn-failed') {
      lines.push(line([name, [`✗ ${agent.status}`, c.red], [agent.message ? `: ${agent.message}` : '', c.dim]], cut))
    } else {
      lines.push(line([name, [`○ ${agent.status}`, c.dim]], cut))
    }
  }
  if (shown.length < agents.length)
    lines.push(line([[`  … and ${agents.length - shown.length} more agents`, c.dim]], cut))
  return lines
}
