import type { Usage } from '../agent/types.ts'
import type { Clock } from '../clock.ts'
import { tellingLines } from '../output.ts'
import type { RunnerHooks } from '../runner/index.ts'
import type { RunStore, TryFeedback } from '../state/types.ts'
import type { Validation } from '../validator/index.ts'
import type { AgentRecord } from './agent-pool.ts'
import type { Budgets, Reservation } from './budgets.ts'
import type { Bus } from './bus.ts'
import type { Parking } from './parking.ts'
import type { TaskRecord, TaskTable } from './task-table.ts'
import { triesSpent, verdictless } from './tries.ts'

/** What one task's run on one agent reports to. */
export interface IterationContext {
  record: TaskRecord
  agent: AgentRecord
  /** Aborts the task's run (a stop, a crash, a person's command). */
  signal: AbortSignal
  bus: Bus
  table: TaskTable
  budgets: Budgets
  parking: Parking
  store: RunStore
  clock: Clock
  /** Aborted once the run stops after the tries under way. */
  finished: AbortSignal
}

/** Why a task waits when the run stops after the tries under way. */
export const FINISHING = 'the run stopped after the tries under way'

/**
 * The abort reason of a task's run that the run ended on its way to stopping after the tries under
 * way (the try had ended at a usage limit, and its next would wait for the park): told from any
 * other abort by its type, not by its words.
 */
export class FinishingAbort extends Error {
  override readonly name = 'FinishingAbort'
  constructor() {
    super(FINISHING)
  }
  /** As the string it replaced: an abort's reason is said in messages as `Aborted: ${reason}`. */
  override toString(): string {
    return this.message
  }
}

/**
 * The runner's hooks for one task on one agent: each iteration counted and announced, its output
 * streamed as events, its budgets reserved before it starts and settled after, a limit parking
 * the agent's account, and its result (class, cause, spend) recorded. `release` gives back what
 * an iteration that never finished still holds of the budgets, counts what it spent (when the
 * agent's error says), and says whether one was under way.
 */
export function iterationHooks(context: IterationContext): {
  hooks: RunnerHooks
  release(usage?: Usage): boolean
} {
  const { record, agent, signal, bus, table, budgets, parking, store, clock } = context
  const task = record.task
  /** What the iteration under way holds of the budgets. */
  let held: Reservation | undefined
  /** An iteration started and not ended: cut short, if the loop ends now. */
  let open = false
  /** When the iteration under way started: a limit it meets may be one its account is parked for. */
  let startedAt = clock.now()
  const hooks: RunnerHooks = {
    onIterationStart: (iteration, prompt) => {
      open = true
      startedAt = clock.now()
      // Its tries used, it runs at all only as its last try once more: said, with why.
      const max = record.task.completion.maxIterations
      const how = triesSpent(record) >= max ? verdictless(record) : undefined
      const again = how === undefined ? undefined : how === 'unstarted' ? 'unjudged' : how
      table.note(record, { iterations: record.iterations + 1 })
      bus.emit('iteration:started', {
        taskId: task.id,
        agent: agent.name,
        iteration,
        maxIterations: max,
        prompt,
        ...(again ? { again } : {}),
      })
    },
    onOutput: (iteration, chunk) => {
      bus.emit('iteration:output', {
        taskId: task.id,
        agent: agent.name,
        iteration,
        stream: chunk.stream,
        text: chunk.text,
      })
    },
    beforeIteration: () => {
      // The run stops once the tries under way end: no new one begins; the task waits, unjudged.
      if (context.finished.aborted) return { stop: { class: 'budget', cause: FINISHING }, halt: true }
      if (!budgets.applies(record)) return {}
      const reserved = budgets.reserve(record)
      if ('stop' in reserved) return reserved
      held = reserved
      return { budget: reserved.grant }
    },
    onRateLimited: (limit) => {
      // The run stops once the tries under way end: this one ended at the limit, and its next
      // would wait for the park to lift (hours, for a usage limit). The park is recorded all the
      // same (a resume keeps it); the task waits, unjudged, as a parked one does when asked.
      if (context.finished.aborted) record.controller?.abort(new FinishingAbort())
      record.waitsOnPark = true
      return parking.park(agent, limit, signal, startedAt).finally(() => {
        record.waitsOnPark = false
      })
    },
    onIterationEnd: (iteration, result, validation, durationMs) => {
      open = false
      const failed = validation.failure
      if (failed?.class !== 'rate-limited') parking.cleared(agent)
      const spend = result.usage ? budgets.settle(record, held, result.usage) : undefined
      if (!result.usage && held) budgets.settle(record, held, undefined)
      held = undefined
      table.note(record, {
        ...(failed ? { lastError: { class: failed.class, cause: failed.cause, iteration, at: clock.now() } } : {}),
        ...lastTry(record, iteration, validation),
        // A try cut short by a limit does not count: it runs again after the park. Nor does one
        // whose agent could not start: nothing ran.
        ...(failed?.class === 'rate-limited' || failed?.class === 'could-not-start'
          ? { iterations: record.iterations - 1 }
          : {}),
        ...(spend ? { spend } : {}),
      })
      if (spend) store.append({ t: 'run', spend: budgets.runSpend() })
      bus.emit('iteration:finished', {
        taskId: task.id,
        agent: agent.name,
        iteration,
        maxIterations: record.task.completion.maxIterations,
        outcome: validation.outcome,
        reason: validation.reason,
        output: result.output,
        ...(result.exitCode === undefined ? {} : { exitCode: result.exitCode }),
        ...(validation.verify ? { verify: validation.verify } : {}),
        ...(result.usage ? { usage: result.usage } : {}),
        ...(result.sessionId ? { sessionId: result.sessionId } : {}),
        ...(result.toolErrors?.length ? { toolErrors: result.toolErrors } : {}),
        ...(failed ? { failure: { class: failed.class, cause: failed.cause } } : {}),
        durationMs,
      })
    },
  }
  return {
    hooks,
    release(usage) {
      // What a try spent before it was cut short (a stop, a crash) is spent all the same.
      if (usage) {
        const spend = budgets.settle(record, held, usage)
        table.note(record, { spend })
        store.append({ t: 'run', spend: budgets.runSpend() })
      } else if (held) budgets.settle(record, held, undefined)
      held = undefined
      const cut = open
      open = false
      return cut
    },
  }
}

/**
 * What the journal keeps of a try's verdict for the next prompt, wherever the next try runs (a
 * resume, another agent): why a judged try did not pass (cleared by one that passed). A try a
 * limit cut short, one whose agent could not start, or whose verify could not run changes nothing.
 */
function lastTry(record: TaskRecord, iteration: number, validation: Validation): { lastTry?: TryFeedback | null } {
  const failed = validation.failure
  if (validation.outcome === 'complete') return record.lastTry ? { lastTry: null } : {}
  if (failed?.class === 'rate-limited' || failed?.class === 'could-not-start' || failed?.unrunnable) return {}
  const ran = validation.verify
  const verify = ran && {
    command: ran.command,
    exitCode: ran.exitCode,
    timedOut: ran.timedOut,
    output: tellingLines(ran.output).join('\n'),
  }
  return { lastTry: { iteration, reason: validation.reason, ...(verify ? { verify } : {}) } }
}
