import { notPushedNote } from '@tanuki/core'
import type { Colors } from '../format.ts'
import {
  causeThenResume,
  clause,
  colors as makeColors,
  formatCost,
  formatDuration,
  formatTokens,
  notLandedGroups,
  someOf,
  waitsForLine,
} from '../format.ts'
import type { RunModel } from '../model/index.ts'
import { outcomeOf, waitingOn } from './words.ts'

export interface BriefOptions {
  /** The heading. Default `Tanuki run summary`. */
  title?: string
  /** Where the whole report is, as the reader should see it; the brief's last line names it. */
  file?: string
  /** Colour functions. Default none. */
  colors?: Colors
  /** Most failed and in-review tasks named one a line; the rest are counted. Default 20. */
  shown?: number
}

/**
 * Longest a failed task's reason gets on its line: a verify's message can be a paragraph, and
 * `tanuki task show` that follows it has all of it.
 */
const REASON_WIDTH = 200

/** Text on one line; cut to `width`, when given. What to do is never cut: only reasons `task show` has too. */
function oneLine(text: string, width = Number.POSITIVE_INFINITY): string {
  const flat = clause(text.replace(/\s+/g, ' ').trim())
  return flat.length > width ? `${flat.slice(0, width - 1)}…` : flat
}

/**
 * The end of a run for a console, at any size: the outcome, the counts, time and spend, then only
 * what needs a person (failed and in-review tasks one a line with the command that says why, what
 * waits on them grouped by what it waits for, work not landed, roles and verifies that hold tasks),
 * and where the whole report is. A run of 300 tasks that went well is four lines; the table of
 * every task and each failure's output stay in the file (`renderSummary`).
 *
 * @example
 * process.stdout.write(renderBrief(model, { title: 'Tanuki run summary: app', file: '.tanuki/summary.md' }))
 */
export function renderBrief(model: RunModel, options: BriefOptions = {}): string {
  const c = options.colors ?? makeColors(false)
  const shown = options.shown ?? 20
  const counts = model.counts()
  const progress = model.progress()
  const tasks = [...model.tasks.values()]
  const held = model.heldBack()
  const elsewhere = new Set(model.elsewhere.flatMap(({ tasks: ids }) => ids))
  // Complete work with no landing, in a run that lands: not on the person's branch. A run that
  // lands nothing (no git, or landing off) never names one: the run's exit says what to do then.
  const lands =
    model.target !== undefined ||
    model.landedCount() + model.nothingToLandCount() + model.landedEarlierCount() > 0 ||
    held !== undefined
  const unlanded = lands
    ? tasks.filter((task) => task.status === 'complete' && !task.landed && !elsewhere.has(task.id))
    : []

  const lines: string[] = ['', c.bold(options.title ?? 'Tanuki run summary')]
  const figures = [
    `${progress.complete} of ${progress.total} complete`,
    ...(
      [
        ['failed', 'failed'],
        ['review', 'in review'],
        ['blocked', 'blocked'],
        ['pending', 'pending'],
        ['in_progress', 'in progress'],
        ['assigned', 'assigned'],
      ] as const
    )
      .filter(([status]) => counts[status] > 0)
      .map(([status, words]) => `${counts[status]} ${words}`),
  ]
  const landed = model.landedCount()
  if (landed > 0) figures.push(`${landed} landed`)
  const empty = model.nothingToLandCount()
  if (empty > 0) figures.push(`${empty} with nothing to land`)
  const earlier = model.landedEarlierCount()
  if (earlier > 0) figures.push(`${earlier} landed in an earlier run`)
  if (unlanded.length > 0) figures.push(`${unlanded.length} not landed`)
  if (held) figures.push(`${held.tasks.length} waiting for ${held.target ?? 'the target'}`)
  for (const { target, tasks: ids } of model.elsewhere) figures.push(`${ids.length} waiting for ${target}`)
  lines.push(`  ${outcomeOf(model)} ${figures.join(' · ')}`)
  const spend: string[] = []
  if (model.startedAt !== undefined && model.endedAt !== undefined)
    spend.push(`took ${formatDuration(model.endedAt - model.startedAt)}`)
  const usage = model.usage()
  const cost = formatCost(usage)
  if (cost) spend.push(`cost ${cost}${usage?.estimated ? " (~: in part Tanuki's estimate)" : ''}`)
  const tokens = formatTokens(usage)
  if (tokens) spend.push(`tokens ${tokens}`)
  if (spend.length > 0) lines.push(`  ${spend.join(' · ').replace(/^./, (first) => first.toUpperCase())}`)

  const needs: string[] = []
  // A paused role's cause is said once, on the role, with the tasks that wait for its fix under it.
  const underRole = new Set<string>()
  for (const [role, cause] of model.pausedRoles) {
    const { text, ownFix } = causeThenResume(cause)
    needs.push(
      `${c.red('■')} role ${c.bold(role)} paused: ${oneLine(text)}${ownFix ? '' : '; fix it, then `tanuki project resume`'}`,
    )
    const ids = tasks
      .filter((task) => task.status === 'pending' && task.reason === `waits: ${cause}`)
      .map((task) => task.id)
      .sort(taskOrder)
    for (const id of ids) underRole.add(id)
    if (ids.length > 0)
      needs.push(`    ${ids.length === 1 ? 'its task waits' : 'its tasks wait'}: ${c.bold(someOf(ids, 10))}`)
  }
  for (const blocked of model.blockedVerifies)
    needs.push(`${c.red('■')} ${oneLine(blocked.cause)} (role ${c.bold(blocked.role)}; its tasks wait)`)

  // Settled without completing: nothing runs them again until a person says so. Failed first.
  const stuck = tasks
    .filter((task) => task.status === 'failed' || task.status === 'review')
    .sort((a, b) => (a.status === b.status ? taskOrder(a.id, b.id) : a.status === 'failed' ? -1 : 1))
  const named = stuck.slice(0, shown)
  const width = Math.max(0, ...named.map((task) => task.id.length))
  for (const task of named) {
    const mark = task.status === 'failed' ? c.red('✗') : c.yellow('!')
    const word = task.status === 'failed' ? 'failed   ' : 'in review'
    const why = task.reason ?? task.lastFailure?.cause
    needs.push(
      `${mark} ${c.bold(task.id.padEnd(width))} ${word}  ${why ? `${oneLine(why, REASON_WIDTH)} · ` : ''}\`tanuki task show ${task.id}\``,
    )
  }
  if (stuck.length > named.length)
    needs.push(
      `  and ${stuck.length - named.length} more failed or in review: ${someOf(
        stuck.slice(named.length).map((task) => task.id),
        10,
      )}`,
    )

  // Work that is complete but not on the person's branch.
  for (const task of unlanded.filter((task) => task.landFailed)) {
    const gate = task.landFailed!
    needs.push(
      `${c.yellow('⇡')} ${c.bold(task.id)} not landed: \`${gate.command}\` exited ${gate.exitCode ?? 'without a code'} on the combined work · \`tanuki land\` tries again`,
    )
  }
  // One whose dependency is not complete waits for it: `tanuki land` would not land it.
  const { landable: plainUnlanded, held: holding } = notLandedGroups(
    unlanded.filter((task) => !task.landFailed),
    tasks,
  )
  for (const { why, ids } of holding)
    needs.push(`${c.yellow('⇡')} ${c.bold(someOf(ids, 10))} complete, not landed · ${why}`)
  if (plainUnlanded.length > 0)
    needs.push(
      `${c.yellow('⇡')} ${c.bold(someOf(plainUnlanded, 10))} complete, not landed · \`tanuki land\` puts ${plainUnlanded.length === 1 ? 'its' : 'their'} work on ${model.target ?? 'the target'}`,
    )
  if (held)
    needs.push(
      `${c.yellow('⇡')} ${c.bold(someOf(held.tasks, 10))} not on ${held.target ?? 'the target'} yet${held.note ? `: ${oneLine(held.note)}` : ''}`,
    )
  for (const { target, tasks: ids } of model.elsewhere) needs.push(`${c.yellow('⇡')} ${waitsForLine(target, ids)}`)
  // Landed, but the remote the config pushes to lacks it.
  if (model.pushFailed) needs.push(`${c.yellow('⇡')} ${oneLine(notPushedNote(model.pushFailed))}`)

  // What waits on those: one line per thing it waits for, so 200 tasks behind one failure are one line.
  const waiting = new Map<string, { status: string; why: string; ids: string[] }>()
  for (const task of tasks) {
    if (task.status === 'complete' || task.status === 'failed' || task.status === 'review') continue
    if (underRole.has(task.id)) continue
    const why = waitingOn(task, model)
    const key = `${task.status}\n${why}`
    const group = waiting.get(key) ?? { status: task.status, why, ids: [] }
    group.ids.push(task.id)
    waiting.set(key, group)
  }
  const groups = [...waiting.values()].sort((a, b) => b.ids.length - a.ids.length)
  for (const group of groups.slice(0, 10)) {
    const mark = group.status === 'blocked' ? c.magenta('⊘') : c.dim('·')
    needs.push(
      `${mark} ${c.bold(someOf(group.ids.sort(taskOrder), 5))} ${group.status.replace('_', ' ')}: ${oneLine(group.why)}`,
    )
  }
  const rest = groups.slice(10).reduce((n, group) => n + group.ids.length, 0)
  if (rest > 0) needs.push(`  and ${rest} more waiting on other things`)

  if (needs.length > 0) lines.push(c.bold('Needs you:'), ...needs.map((line) => `  ${line}`))
  if (options.file) {
    const what = stuck.length > 0 ? 'Every task, and the output of each failure' : 'Every task'
    lines.push(`${what}: ${options.file}`)
  }
  return `${lines.join('\n')}\n`
}

/** Ids in the order a person reads them: `T-2` before `T-10`. */
function taskOrder(a: string, b: string): number {
  return a.localeCompare(b, undefined, { numeric: true })
}
