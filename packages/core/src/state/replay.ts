import type { RunRecord, RunState, TaskRunState } from './types.ts'

/** A run with nothing recorded. */
export function emptyRunState(): RunState {
  return { tasks: {}, parks: {}, run: {} }
}

/** Copies `patch` onto `target`: `null` removes a field, `undefined` leaves it. */
function patchInto(target: Record<string, unknown>, patch: Record<string, unknown>): void {
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete target[key]
    else if (value !== undefined) target[key] = value
  }
}

/**
 * Folds one journal record into a state, in place. Records of unknown types are ignored, so a
 * journal written by a newer Tanuki still loads.
 */
export function applyRecord(state: RunState, record: RunRecord): RunState {
  switch (record.t) {
    case 'task': {
      const { t: _t, id, ...patch } = record
      const task = (state.tasks[id] ??= { status: 'pending', iterations: 0, attempts: 0 } as TaskRunState)
      patchInto(task as unknown as Record<string, unknown>, patch)
      break
    }
    case 'run': {
      const { t: _t, ...patch } = record
      patchInto(state.run as Record<string, unknown>, patch)
      break
    }
    case 'park':
      state.parks[record.key] = { until: record.until, reason: record.reason }
      break
    case 'unpark':
      delete state.parks[record.key]
      break
    case 'snapshot':
      state.tasks = structuredClone(record.state.tasks)
      state.parks = structuredClone(record.state.parks)
      state.run = structuredClone(record.state.run)
      break
  }
  return state
}

/** The state a list of records leaves, oldest first. */
export function replay(records: Iterable<RunRecord>, state: RunState = emptyRunState()): RunState {
  for (const record of records) applyRecord(state, record)
  return state
}
