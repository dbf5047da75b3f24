import { needsYou, notPushedNote, type AgentInfo, type Progress, type TaskView } from '@tanuki/core'
import {
  colors as makeColors,
  fit,
  formatTime,
  notLandedGroups,
  settledAdvice,
  someOf,
  waitsForLine,
  type Colors,
} from '../format.ts'

/**
 * What `formatStatus` reads: `orchestrator.status()` or the JSON of `tanuki project status --json`
 * (`{ status, tasks, progress, agents }`). Only task ids and statuses are required.
 */
export interface StatusInput {
  /** The orchestrator's lifecycle state (`running`, `stopped`…), as `status()` names it. */
  state?: string
  /** The same, as `tanuki project status --json` names it. */
  status?: string
  /** Counts; worked out from `tasks` when missing. */
  progress?: Partial<Progress>
  /** Every task, as `TaskView`s. */
  tasks: (Partial<Omit<TaskView, 'id' | 'status'>> & { id: string; status: string })[]
  /** Every agent, as `AgentInfo`s. */
  agents?: (Partial<Omit<AgentInfo, 'name'>> & { name: string; leftRunning?: { pid: number } })[]
  /**
   * The branch complete work lands on, when no run is under way: complete tasks with nothing
   * landed (nor waiting for another branch) are then said to be not landed.
   */
  target?: string
  /** The last push of the target to `land.push`'s remote failed, and none went through since. */
  pushFailed?: { remote: string; branch: string; error: string }
}

export interface FormatStatusOptions {
  /** Colour the statuses. Default false. */
  color?: boolean
  /** Widest the title column gets. Default 40. */
  titleWidth?: number
}

const STATUS_COLORS: Record<string, keyof Colors> = {
  complete: 'green',
  in_progress: 'cyan',
  assigned: 'cyan',
  busy: 'cyan',
  pending: 'dim',
  idle: 'dim',
  review: 'yellow',
  failed: 'red',
  crashed: 'red',
  blocked: 'magenta',
  stopped: 'dim',
}

/** A table with a header row; widths from the plain text, colour applied after padding. */
function table(
  headers: string[],
  rows: string[][],
  c: Colors,
  paint: (col: number, text: string, padded: string) => string,
): string[] {
  const widths = headers.map((header, i) => Math.max(header.length, ...rows.map((row) => row[i]!.length)))
  const render = (row: string[], painter: (i: number, text: string, padded: string) => string): string =>
    row
      .map((text, i) => painter(i, text, i === row.length - 1 ? text : text.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd()
  return [render(headers, (_i, _text, padded) => c.bold(padded)), ...rows.map((row) => render(row, paint))]
}

/**
 * A readable view of a project's status: tasks (id, title, role, priority, status, agent,
 * iterations), agents (name, role, backend, status, task), and what blocks each task that waits.
 *
 * @example
 * console.log(formatStatus(orchestrator.status(), { color: process.stdout.isTTY }))
 */
export function formatStatus(input: StatusInput, options: FormatStatusOptions = {}): string {
  const c = makeColors(options.color ?? false)
  const statusPaint = (text: string, padded: string): string => {
    const color = STATUS_COLORS[text]
    return color ? (c[color] as (s: string) => string)(padded) : padded
  }
  const lines: string[] = []
  const tasks = input.tasks
  const progress = input.progress
  const total = progress?.total ?? tasks.length
  const complete = progress?.complete ?? tasks.filter((task) => task.status === 'complete').length
  const percentage = progress?.percentage ?? (total === 0 ? 0 : Math.floor((complete * 100) / total))
  const state = input.state ?? input.status ?? 'unknown'
  const byStatus = new Map<string, number>()
  for (const task of tasks) byStatus.set(task.status, (byStatus.get(task.status) ?? 0) + 1)
  const others = [...byStatus.entries()]
    .filter(([status]) => status !== 'complete')
    .map(([status, n]) => `${n} ${status.replace('_', ' ')}`)
  // Complete work that landed on the integration branch, waiting for a target that could not move.
  const heldBack = new Map<string, { ids: string[]; notes: Set<string> }>()
  for (const task of tasks) {
    if (!task.heldBack) continue
    const entry = heldBack.get(task.heldBack.target) ?? { ids: [], notes: new Set<string>() }
    entry.ids.push(task.id)
    entry.notes.add(task.heldBack.note)
    heldBack.set(task.heldBack.target, entry)
  }
  // Complete work done for another branch than the one the project lands on now: it waits for it.
  const waitsFor = new Map<string, string[]>()
  for (const task of tasks)
    if (task.waitsFor) waitsFor.set(task.waitsFor, [...(waitsFor.get(task.waitsFor) ?? []), task.id])
  const waitingFor = new Map<string, number>()
  for (const [target, { ids }] of heldBack) waitingFor.set(target, ids.length)
  for (const [target, ids] of waitsFor) waitingFor.set(target, (waitingFor.get(target) ?? 0) + ids.length)
  for (const [target, n] of waitingFor) others.push(`${n} waiting for ${target}`)
  const unpushed = input.pushFailed
  if (unpushed) others.push(`${unpushed.branch} not pushed to ${unpushed.remote}`)
  // What needs a person (core's rule, the dashboard's too). Complete is not delivered: work left
  // for `tanuki land` (landing off, a task marked complete).
  const needs = needsYou(tasks, { target: input.target })
  const notLanded = needs.filter((item) => item.kind === 'not-landed')
  // Complete work that waits for a fix of the target (it fails `land.verify` by itself) is not landed either.
  const byId = new Map(tasks.map((task) => [task.id, task]))
  const landingWaits = needs.filter((item) => item.kind === 'waits' && byId.get(item.taskId)?.status === 'complete')
  if (notLanded.length + landingWaits.length > 0) others.push(`${notLanded.length + landingWaits.length} not landed`)
  // Settled with work not complete, and none of it failed: what it waits for is a person's review.
  const word =
    state === 'failed' &&
    tasks.some((task) => task.status === 'review') &&
    !tasks.some((task) => task.status === 'failed' || task.status === 'blocked')
      ? 'needs review'
      : state
  lines.push(
    `${c.bold('Project')} ${word} · ${complete}/${total} complete (${percentage}%)${others.length > 0 ? ` · ${others.join(' · ')}` : ''}`,
    '',
  )

  const titleWidth = options.titleWidth ?? 40
  lines.push(c.bold('Tasks'))
  if (tasks.length === 0) {
    lines.push('  (none)')
  } else {
    const rows = tasks.map((task) => [
      task.id,
      fit(task.title ?? '', Math.min(titleWidth, (task.title ?? '').length)),
      task.role ?? '',
      task.priority ?? '',
      task.status,
      task.assignedTo ?? '',
      task.iterations === undefined ? '' : iterText(task),
    ])
    const body = table(['ID', 'TITLE', 'ROLE', 'PRIORITY', 'STATUS', 'AGENT', 'ITER'], rows, c, (col, text, padded) =>
      col === 4 ? statusPaint(text, padded) : padded,
    )
    lines.push(...body.map((row) => `  ${row}`))
  }

  const agents = input.agents ?? []
  lines.push('', c.bold('Agents'))
  if (agents.length === 0) {
    lines.push('  (none running)')
  } else {
    // A parked agent holds its task but runs nothing until its account's limit lifts: "busy" hid it.
    const rows = agents.map((agent) => [
      agent.name,
      agent.role ?? '',
      agent.backend ?? '',
      agent.leftRunning
        ? `left running (pid ${agent.leftRunning.pid})`
        : agent.parkedUntil
          ? `parked until ${formatTime(Date.parse(agent.parkedUntil))}`
          : (agent.status ?? ''),
      agent.task ?? '',
    ])
    const body = table(['NAME', 'ROLE', 'BACKEND', 'STATUS', 'TASK'], rows, c, (col, text, padded) =>
      col === 3 ? statusPaint(text, padded) : padded,
    )
    lines.push(...body.map((row) => `  ${row}`))
    const left = agents.filter((agent) => agent.leftRunning).map((agent) => agent.name)
    if (left.length > 0)
      lines.push(
        `  ${c.yellow('!')} no orchestrator runs, but a killed run left ${left.join(', ')} running: ` +
          '`tanuki project stop` stops them',
      )
  }

  // Why they wait: the limit (or outage) their last try met, grouped by when it lifts.
  const parked = new Map<string, { names: string[]; causes: Set<string> }>()
  for (const agent of agents) {
    if (!agent.parkedUntil) continue
    const entry = parked.get(agent.parkedUntil) ?? { names: [], causes: new Set<string>() }
    entry.names.push(agent.name)
    const last = tasks.find((task) => task.id === agent.task)?.lastError
    if (last?.class === 'rate-limited') entry.causes.add(last.cause)
    parked.set(agent.parkedUntil, entry)
  }
  if (parked.size > 0) {
    lines.push('', c.bold('Parked'))
    for (const [until, { names, causes }] of parked) {
      const why = [...causes].join('; ')
      lines.push(`  ${names.join(', ')} until ${formatTime(Date.parse(until))}${why ? `: ${why}` : ''}`)
    }
  }

  const statuses = new Map(tasks.map((task) => [task.id, task.status]))
  const waiting = tasks.filter(
    (task) => task.status === 'blocked' || (task.status === 'pending' && (task.blockers?.length ?? 0) > 0),
  )
  if (waiting.length > 0) {
    lines.push('', c.bold('Blocked and waiting'))
    for (const task of waiting) {
      const blockers = task.blockers ?? []
      const why =
        blockers.length > 0
          ? blockers
              .map((b) =>
                b.reason === 'missing'
                  ? `${b.id} (does not exist)`
                  : `${b.id} (${b.status ?? statuses.get(b.id) ?? b.reason})`,
              )
              .join(', ')
          : (task.reason ?? 'unknown')
      lines.push(`  ${c.bold(task.id)} ${statusPaint(task.status, task.status)} ← ${why}`)
    }
  }
  // Pending, but no run gives them an agent until a person fixes what they wait for (a verify
  // that cannot run where the agents work, a paused role, the budget) and resumes: one line per cause.
  const held = new Map<string, { ids: string[]; files: string[]; landing: boolean }>()
  for (const item of needs) {
    if (item.kind !== 'waits') continue
    // Complete work waits to land, on the branch: its task file has nothing to fix.
    const landing = byId.get(item.taskId)?.status === 'complete'
    const entry = held.get(item.why!) ?? { ids: [], files: [], landing }
    entry.ids.push(item.taskId)
    const source = byId.get(item.taskId)?.source
    if (!landing && source && !entry.files.includes(source)) entry.files.push(source)
    held.set(item.why!, entry)
  }
  // Settled without completing: nothing runs them again until a person says so.
  const stuck = needs.filter((item) => item.kind === 'failed' || item.kind === 'review')
  if (needs.length > 0 || unpushed) lines.push('', c.bold('Needs you'))
  // Landed, but the remote the config pushes to (`land.push`) lacks it: not delivered.
  if (unpushed) lines.push(`  ${c.yellow('not pushed')} ← ${notPushedNote(unpushed)}`)
  // Complete work whose dependency is not complete (in review, failed) does not land with `tanuki
  // land` either: it waits for that one, and says so rather than the command that would not land it.
  const { landable, held: holding } = notLandedGroups(
    notLanded.map((item) => byId.get(item.taskId)!),
    tasks,
  )
  if (landable.length > 0)
    lines.push(
      `  ${c.bold(someOf(landable, 20))} complete, ${c.yellow('not landed')} ← \`tanuki land\` puts ${landable.length === 1 ? 'its' : 'their'} work on ${input.target}`,
    )
  for (const { why, ids } of holding)
    lines.push(`  ${c.bold(someOf(ids, 20))} complete, ${c.yellow('not landed')} ← ${why}, which needs you first`)
  for (const [why, { ids, files, landing }] of held) {
    lines.push(
      landing
        ? `  ${c.bold(someOf(ids, 20))} complete, ${c.yellow('not landed')} ← ${why}`
        : `  ${c.bold(someOf(ids, 20))} ${statusPaint('pending', ids.length === 1 ? 'waits' : 'wait')} ← ${why}`,
    )
    if (files.length > 0) lines.push(`    their task files: ${someOf(files, 20)}`)
  }
  if (stuck.length > 0) {
    for (const item of stuck)
      lines.push(`  ${c.bold(item.taskId)} ${statusPaint(item.kind, item.kind)}${item.why ? ` ← ${item.why}` : ''}`)
    lines.push(
      `  \`tanuki task show ID\` has its tries, logs and work; then ${settledAdvice()} (\`project resume\` does not run them again).`,
    )
  }
  for (const target of waitingFor.keys()) {
    lines.push('', c.bold(`Waiting for ${target}`))
    const held = heldBack.get(target)
    if (held) {
      lines.push(
        `  ${held.ids.join(', ')}: landed on the integration branch, not on ${target}, which could not move forward`,
      )
      for (const note of held.notes) lines.push(`  note: ${note}`)
    }
    const ids = waitsFor.get(target)
    if (ids) lines.push(`  ${waitsForLine(target, ids)}`)
  }
  return `${lines.join('\n')}\n`
}

/**
 * A task's iterations: `4`, or with tries run again past its `max_iterations` (each after a try
 * without a verdict) `3 +1 again`: `4` beside `max tries: 3` read as a bug.
 */
function iterText(task: { iterations?: number; triesAgain?: number }): string {
  const again = task.triesAgain ?? 0
  return again > 0 ? `${task.iterations! - again} +${again} again` : String(task.iterations)
}
