import picocolors from 'picocolors'
import { landingHolds, type EmptyLanding, type LandingTask } from '@tanuki/core'

/** The colour functions reporters use: picocolors' own, or pass-throughs when colour is off. */
export type Colors = ReturnType<typeof picocolors.createColors>

/**
 * Whether to colour: an explicit option wins, then `NO_COLOR` (any non-empty value, see
 * no-color.org), then `FORCE_COLOR`, then whether the stream is a terminal.
 */
export function useColor(
  option: boolean | undefined,
  stream: { isTTY?: boolean } | undefined,
  env: Record<string, string | undefined>,
): boolean {
  if (option !== undefined) return option
  if (env.NO_COLOR) return false
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '0' && env.FORCE_COLOR !== 'false') return true
  return stream?.isTTY === true
}

export function colors(enabled: boolean): Colors {
  return picocolors.createColors(enabled)
}

/** `850ms`, `12.3s`, `4m05s`, `1h02m`. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '—'
  if (ms < 1000) return `${Math.round(ms)}ms`
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`
  const s = Math.floor(ms / 1000)
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`
}

/** `mm:ss` (or `h:mm:ss`) for a clock that ticks in a live view. */
export function formatElapsed(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000))
  const mmss = `${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`
  return s >= 3600 ? `${Math.floor(s / 3600)}:${mmss}` : mmss
}

/** Local wall-clock time `HH:MM:SS` of an event, for log lines. */
export function formatTime(at: number): string {
  const d = new Date(at)
  return [d.getHours(), d.getMinutes(), d.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':')
}

/** A progress bar of `width` cells. */
export function bar(fraction: number, width: number): { done: string; rest: string } {
  const cells = Math.max(0, Math.min(width, Math.round(fraction * width)))
  return { done: '█'.repeat(cells), rest: '░'.repeat(width - cells) }
}

/** Pads or cuts plain text to exactly `width` characters (cut text ends in `…`). */
export function fit(text: string, width: number): string {
  if (width <= 0) return ''
  if (text.length > width) return width === 1 ? '…' : `${text.slice(0, width - 1)}…`
  return text.padEnd(width)
}

/** The last `lines` lines of a text, trimmed of trailing blank lines. */
export function tail(text: string, lines: number): string {
  const all = text.replace(/\s+$/, '').split('\n')
  return all.slice(-lines).join('\n')
}

/** Token and cost figures, or undefined when the agent reported none. */
export function formatTokens(usage: { inputTokens?: number; outputTokens?: number } | undefined): string | undefined {
  if (usage?.inputTokens === undefined && usage?.outputTokens === undefined) return undefined
  return `${usage.inputTokens ?? 0} in / ${usage.outputTokens ?? 0} out`
}

/** A cost in dollars; `~` before it when part of it is Tanuki's estimate, not the agent's bill. */
export function formatCost(usage: { costUsd?: number; estimated?: boolean } | undefined): string | undefined {
  return usage?.costUsd === undefined ? undefined : `${usage.estimated ? '~' : ''}$${usage.costUsd.toFixed(4)}`
}

export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`
}

/**
 * How many iterations a task's end took: `2 iterations`, or, when earlier runs of it ran some too
 * (it was rerun), `2 iterations (5 in all, with its earlier runs)`: the console numbered this
 * run's `1/3`, `2/3`, and the total alone read as a contradiction. `again`: its last try ran once
 * more that many times (it had no verdict), numbered as that try: `3 iterations +1 again`.
 */
export function iterationsTaken(total: number, attempt: number | undefined, again = 0): string {
  if (attempt === undefined) return plural(total, 'iteration')
  const taken = `${plural(attempt, 'iteration')}${again > 0 ? ` +${again} again` : ''}`
  return attempt + again < total ? `${taken} (${total} in all, with its earlier runs)` : taken
}

/** The first few ids, and how many more: `A, B, C, D, E and 3 more`. */
export function someOf(ids: readonly string[], shown = 5): string {
  return ids.length <= shown ? ids.join(', ') : `${ids.slice(0, shown).join(', ')} and ${ids.length - shown} more`
}

/** `text` as a sentence that another follows: its own full stop is dropped (causes often end in one). */
export function clause(text: string): string {
  return text.replace(/[.\s]+$/, '')
}

/** A cause whose last sentence is its own fix: `… Commit it (…)`, `… Set the role's \`model\` …`. */
const OWN_FIX = /^(?:Commit|Set|Install|Create|Check out|Add|Raise|Log in)\b/

/**
 * What a paused role's people are told: a cause that ends with its own fix gets `, then \`tanuki
 * project resume\`` after it (one instruction, not "Commit it (…); fix it, then …"); any other, a
 * `fix it` of its own. Without the final period.
 */
export function causeThenResume(cause: string): { text: string; ownFix: boolean } {
  const said = clause(cause)
  // Its last sentence: paths and commands in it may hold periods, not a period and a space.
  return OWN_FIX.test(said.split(/\.\s+/).pop() ?? '')
    ? { text: `${said}, then \`tanuki project resume\``, ownFix: true }
    : { text: said, ownFix: false }
}

/** Why a task had nothing to land, as people read it. */
export function emptyWhy(empty: EmptyLanding, target?: string): string {
  return empty === 'no-work' ? 'no work was recorded' : `its work is already on ${target ?? 'the target'}`
}

/**
 * Complete work that waits for another branch than the one the project lands on now: the branch
 * it was done for (a person checked out another since). Where it waits, and what lands it; the
 * console, `project status`, a run's exit and `tanuki land` all say it so.
 */
export function waitsForLine(target: string, tasks: readonly string[]): string {
  const one = tasks.length === 1
  return (
    `${someOf(tasks)} ${one ? 'waits' : 'wait'} for ${target}, the branch ${one ? 'its' : 'their'} work was done for, ` +
    `not the one the project lands on now: \`tanuki land --into ${target}\` lands ${one ? 'it' : 'them'} there ` +
    `(or check out ${target} and run \`tanuki project start\`; if ${target} was deleted, ` +
    `\`tanuki land --into BRANCH\` lands ${one ? 'it' : 'them'} on the branch you name).`
  )
}

/**
 * What a person does about a task settled without completing (`failed`, `review`), which nothing
 * runs again until they say so: one wording for a run's exit, `project status` and `tanuki task
 * show`. `id`: the task's, else `ID`.
 */
export function settledAdvice(id = 'ID'): string {
  return `\`tanuki task rerun ${id}\` to try again, or \`tanuki task mark ${id} complete\``
}

// What holds a complete task's landing is core's: the dashboard says it too (`needsYou`).
export { landingHolds, type LandingTask } from '@tanuki/core'

/** A task's status as a sentence says it: `in review`, `in progress`, `failed`. */
export function statusPhrase(status: string): string {
  return status === 'review' ? 'in review' : status.replace('_', ' ')
}

/** `waits for S-1 (in review), S-2 (failed)`: what a complete task's landing waits for. */
export function landingHoldsLine(holds: readonly LandingTask[]): string {
  return `waits for ${someOf(
    holds.map((dep) => `${dep.id} (${statusPhrase(dep.status)})`),
    10,
  )}`
}

/** Complete work not landed, by what holds it (see `notLandedGroups`). */
export interface NotLandedGroups {
  /** Ids of the tasks `tanuki land` lands now: nothing they depend on holds them. */
  landable: string[]
  /** The rest, one entry per `landingHoldsLine` (`waits for S-1 (in review)`), in the order met. */
  held: { why: string; ids: string[] }[]
}

/**
 * Complete tasks not landed (`notLanded`), grouped by what holds them: those `tanuki land` lands,
 * and the others by the dependencies they wait for (`landingHolds`, looked up among `tasks`), so
 * 200 tasks behind one task in review are one line. One grouping for `project status`, the brief at
 * a run's end and the dashboard.
 */
export function notLandedGroups<T extends LandingTask>(notLanded: Iterable<T>, tasks: Iterable<T>): NotLandedGroups {
  const byId = new Map<string, T>()
  for (const task of tasks) byId.set(task.id, task)
  const landable: string[] = []
  const held = new Map<string, string[]>()
  for (const task of notLanded) {
    const holds = landingHolds(task, byId)
    if (holds.length === 0) landable.push(task.id)
    else {
      const why = landingHoldsLine(holds)
      held.set(why, [...(held.get(why) ?? []), task.id])
    }
  }
  return { landable, held: [...held].map(([why, ids]) => ({ why, ids })) }
}
