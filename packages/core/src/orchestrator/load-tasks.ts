import { TanukiError } from '../errors.ts'
import { createMemorySource } from '../source/memory.ts'
import type { TaskSource } from '../source/types.ts'
import { createTask } from '../task/parse.ts'
import type { Task } from '../task/types.ts'
import { IN_FLIGHT } from './task-table.ts'
import { cutOffError, noTriesLeft } from './tries.ts'
import type { RunContext } from './types.ts'

/** The statuses whose reason `project:loaded` carries: a person wants to know why. */
const UNSETTLED_WHY: ReadonlySet<string> = new Set(['failed', 'review', 'blocked'])

/** What loading a run's tasks reads from and fills in. */
export type LoadContext = Pick<RunContext, 'config' | 'store' | 'table' | 'budgets' | 'parking' | 'bus' | 'enqueue'> & {
  /** Sources plugins registered, then those the orchestrator was given. */
  readonly sources: readonly TaskSource[]
  /** When the run started (clock ms), for the journal. */
  readonly startedAt: number
}

/** What the run goes on with once its tasks are loaded. */
export interface LoadedTasks {
  /** Every source, the config's own tasks last: the ones to watch. */
  sources: TaskSource[]
  /** The target an earlier run of the project recorded, for the lander. */
  recordedTarget: string | undefined
}

/**
 * Loads every source's tasks and the journal of earlier runs, and brings them together: work an
 * earlier run left in flight starts over, `blocked` is derived from the graph again, and what is
 * ready is queued. Refuses a task id used twice and a project without tasks.
 */
export async function loadTasks(ctx: LoadContext): Promise<LoadedTasks> {
  const { config, store, table, bus } = ctx
  const sources = [...ctx.sources]
  if (config.tasks.length > 0) {
    sources.push(
      createMemorySource(config.tasks.map((input) => createTask({ source: 'tanuki.config (tasks)', ...input }))),
    )
  }
  const loaded = new Map<string, { task: Task; source: TaskSource }>()
  for (const source of sources) {
    for (const task of await source.load()) {
      const existing = loaded.get(task.id)
      if (existing) {
        const where = (t: Task, s: TaskSource): string => (t.source ? `${t.source} (from ${s.name})` : s.name)
        const both = [where(existing.task, existing.source), where(task, source)]
        throw new TanukiError(
          'TANUKI_TASK_DUPLICATE',
          `Task id "${task.id}" is used twice: ${both[0]} and ${both[1]}. Give one of them another id.`,
          { details: { id: task.id, sources: both } },
        )
      }
      loaded.set(task.id, { task, source })
    }
  }
  if (loaded.size === 0) {
    const where = config.tasksDir ? ` in ${config.tasksDir}` : ''
    throw new TanukiError(
      'TANUKI_NO_TASKS',
      `No tasks found${where}. Add a task file (tanuki init writes a sample) or tasks in the config.`,
    )
  }
  const state = await store.load()
  table.load([...loaded.values()], state)
  ctx.budgets.load(table.values())
  ctx.parking.load(state.parks)
  store.append({ t: 'run', state: 'running', startedAt: ctx.startedAt, endedAt: null })

  const recovered: string[] = []
  for (const record of table.values()) {
    // Work in flight when an earlier run died: its agent is gone, so it starts over, with the
    // tries left of it. The one cut off counts (the journal has it begun, and it may have been
    // paid for), without a verdict: a last one gets one more try, but not a crash after crash.
    const inFlight = IN_FLIGHT.has(record.task.status)
    const lastError = inFlight ? cutOffError(record, ctx.startedAt) : undefined
    if (lastError) table.note(record, { lastError })
    const spent = inFlight ? noTriesLeft(record) : undefined
    if (spent) {
      table.setStatus(record, 'review', { reason: spent })
    } else if (inFlight) {
      recovered.push(record.task.id)
      table.setStatus(record, 'pending', { reason: 'was in flight when the previous run ended' })
    } else if (record.task.status === 'pending' && record.reason?.startsWith('waits: ')) {
      // What it waited for in an earlier run (a paused role, a verify that could not run, the
      // budget) a person may have fixed: this run finds out again, and says so if it is not.
      table.explain(record, undefined)
    }
  }
  // Re-derive `blocked` from the graph: a person may have fixed what blocked a task.
  for (const record of table.values()) {
    if (record.task.status === 'blocked' && table.hardBlockers(record.task.id).length === 0) {
      table.setStatus(record, 'pending', { reason: 'no longer blocked' })
    }
  }
  for (const record of table.values()) {
    if (record.task.status === 'pending') table.blockIfStuck(record)
  }
  const ready = table.resolver.ready()
  // Queued without a `task:queued` each: `project:loaded` tells them all at once. With 100,000
  // ready tasks those events, through every reporter and into the events log, took most of a second.
  for (const id of ready) ctx.enqueue(id, true)
  // A landing or iterations the journal has are of earlier runs: reporters learn of them here,
  // not by a `task:landed` or a `task:completed`.
  // So is why a task an earlier run settled failed, went to review or is blocked (a summary said
  // "no reason given" for them).
  const tasks = [...table.values()].map(({ task, landed, iterations, reason, accepted, takenFromFile }) => ({
    id: task.id,
    title: task.title,
    role: task.role,
    priority: task.priority,
    status: task.status,
    dependsOn: [...task.dependsOn],
    ...(landed ? { landed } : {}),
    ...(iterations > 0 ? { iterations } : {}),
    ...(reason !== undefined && UNSETTLED_WHY.has(task.status) ? { reason } : {}),
    ...(accepted && task.status === 'complete' ? { accepted } : {}),
    ...(takenFromFile ? { fromFile: true as const } : {}),
  }))
  bus.emit('project:loaded', { total: table.size, ready: ready.length, recovered, tasks })
  // Files whose status the journal overruled: said now, before the run's own lines.
  table.tellRestored()
  return { sources, recordedTarget: state.run.target }
}
