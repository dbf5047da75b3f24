// How many tries a task has spent in this run of it, and the rule for a try without a verdict
// (cut off by a crash, its agent lost, its verify unable to run): it counts, but never ends the
// task by itself. Read by the scheduler, the task loop, landing and a resume.
import type { TaskRunState } from '../state/types.ts'
import type { TaskRecord } from './task-table.ts'
/**
 * The tries a task spent in this run of it: since a person last reran it (its earlier runs' tries
 * are its history), or in all. What `max_iterations` bounds, wherever tries are counted.
 */
export function triesSpent(record: Pick<TaskRecord, 'iterations' | 'triesFrom'>): number {
  return Math.max(0, record.iterations - (record.triesFrom ?? 0))
}

/**
 * The cause a resume records of the try a crash (or kill -9) of the previous run cut off: words
 * for people. What tells that crash from an agent lost under its try is `lastError.cutOff`.
 */
export const CUT_OFF_BY_CRASH = 'the try was cut off when the previous run ended (a crash or kill -9)'

/**
 * A failure as the journal has it, marked `cutOff` when it is the cut-off try of a journal written
 * before the marker: those said it by this cause alone. No other failure ever had it (an agent lost
 * under its try is `agent NAME crashed: …`), so the text is read once here, never compared again.
 */
export function journalError(saved: NonNullable<TaskRunState['lastError']>): NonNullable<TaskRunState['lastError']> {
  const before = saved.cutOff === undefined && saved.class === 'crashed' && saved.cause === CUT_OFF_BY_CRASH
  return before ? { ...saved, cutOff: true } : saved
}

/**
 * Whether a task's last try ended without a verdict, and how: cut off by a crash of the run
 * (`crash`), its agent lost under it (`lost`: it crashed, failed, could not be spawned), its
 * verify could not run where the agent worked (`held`), or the one more try it was to get never
 * began (`unstarted`: it paid for nothing). Such a try counts (but one that never began), and it
 * never ends the task by itself. Read from the journal's facts: only a task whose loop is to start
 * again asks.
 */
export function verdictless(
  record: Pick<TaskRecord, 'lastError' | 'heldBy'>,
): 'crash' | 'lost' | 'held' | 'unstarted' | undefined {
  const last = record.lastError
  if (last?.cutOff) return 'crash'
  if (last?.class === 'crashed' || last?.class === 'agent-error') return 'lost'
  // A look before any try has no number: the try it held never began (nor one whose agent could
  // not start, nor one the run's budget or a finishing stop kept from starting: none counted).
  const before = last?.class === 'verify-could-not-run' && last.iteration === undefined
  if (before || last?.class === 'could-not-start' || last?.class === 'budget') return 'unstarted'
  // Held after a try ran.
  if (last?.class === 'verify-could-not-run' && record.heldBy !== undefined) return 'held'
  return undefined
}

/**
 * Why a task whose loop is to start again has no tries left of this run of it, with what gives it
 * more; undefined while it has some. Every try counts, one without a verdict too (it may have been
 * paid for), but one without a verdict never ends the task: with its tries used, it gets one more
 * (`graceTry`). An agent lost on it gets another, up to `retryLimit` lost agents (as any lost
 * agent does); a held verify runs on its work first, free. A crash gets one only if the try it cut
 * off was not already such an extra one (its tries spent are then past `max_iterations`): crashes
 * in a row buy one extra try, not `max_iterations` each.
 */
export function noTriesLeft(
  record: Pick<TaskRecord, 'iterations' | 'triesFrom' | 'task' | 'lastError' | 'heldBy'>,
): string | undefined {
  const max = record.task.completion.maxIterations
  const spent = triesSpent(record)
  if (spent < max) return undefined
  const how = verdictless(record)
  if (how === 'lost' || how === 'held' || how === 'unstarted' || (how === 'crash' && spent === max)) return undefined
  const last =
    how === 'crash'
      ? 'a crash (or kill -9) cut off the extra try its last try without a verdict got'
      : record.lastError
        ? `the last ended: ${record.lastError.cause}`
        : `${spent} were used`
  return `no tries left (${max}): ${last}; \`tanuki task rerun ${record.task.id}\` gives fresh tries`
}

/**
 * What a resume records of a task the previous run left in flight: its try was cut off, without a
 * verdict. Undefined when no try was under way (its held verify was being tried again first).
 */
export function cutOffError(
  record: Pick<TaskRecord, 'iterations' | 'lastError' | 'heldBy'>,
  at: number,
): NonNullable<TaskRecord['lastError']> | undefined {
  if (verdictless(record) === 'held') return undefined
  return { class: 'crashed', cause: CUT_OFF_BY_CRASH, iteration: record.iterations, at, cutOff: true }
}

/**
 * Why a task the previous run left in flight has no tries left once a resume loads it (the try a
 * crash cut off was already the one more try a last try without a verdict gets); else undefined.
 * What `project resume` says before the run starts.
 */
export function noTriesLeftAfterCrash(
  record: Pick<TaskRecord, 'iterations' | 'triesFrom' | 'task' | 'lastError' | 'heldBy'>,
): string | undefined {
  return noTriesLeft({ ...record, lastError: cutOffError(record, 0) ?? record.lastError })
}

/**
 * Whether the task's loop, starting again, is the one more try a last try without a verdict gets
 * (see `noTriesLeft`): it runs as its last try again.
 */
export function graceTry(record: Pick<TaskRecord, 'iterations' | 'triesFrom' | 'task'>): boolean {
  return triesSpent(record) >= record.task.completion.maxIterations
}
