import { applyRecord, emptyRunState } from './replay.ts'
import type { RunRecord, RunState, RunStore } from './types.ts'

/** A run store held in memory, with every record kept for inspection. */
export interface MemoryStore extends RunStore {
  /** Every record appended, in order. */
  readonly records: readonly RunRecord[]
  /** The state the records leave, kept up to date. */
  readonly state: RunState
}

/**
 * A run store in memory: for embedding without persistence, and for tests. Pass the state of an
 * earlier run to start from it (a resume).
 *
 * @example
 * const store = createMemoryStore()
 * await createOrchestrator({ config, backends, store }).start()
 */
export function createMemoryStore(initial: RunState = emptyRunState()): MemoryStore {
  const state = structuredClone(initial)
  const records: RunRecord[] = []
  return {
    records,
    state,
    load: () => structuredClone(state),
    append(record) {
      records.push(record)
      applyRecord(state, record)
    },
    flush: () => Promise.resolve(),
  }
}
