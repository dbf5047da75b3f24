import { describe, expect, it } from 'vitest'
import { createMemoryStore } from './memory.ts'
import { applyRecord, emptyRunState, replay } from './replay.ts'
import type { RunRecord } from './types.ts'

describe('replay', () => {
  it('folds task records as patches: later values win, null removes, undefined leaves', () => {
    const state = replay([
      { t: 'task', id: 'a', status: 'assigned', assignedTo: 'x-1', reason: 'why' },
      { t: 'task', id: 'a', status: 'in_progress', startedAt: 5 },
      { t: 'task', id: 'a', status: 'pending', assignedTo: null, reason: null, iterations: 2 },
    ])
    expect(state.tasks.a).toEqual({ status: 'pending', iterations: 2, attempts: 0, startedAt: 5 })
  })

  it('a landing that waited for the target is replaced whole once the target reached it', () => {
    const heldBack = { target: 'main', note: 'your uncommitted changes in notes.txt would be overwritten' }
    const waiting = replay([{ t: 'task', id: 'a', status: 'complete', landed: { commit: 'c1', at: 1, heldBack } }])
    expect(waiting.tasks.a?.landed).toEqual({ commit: 'c1', at: 1, heldBack })
    applyRecord(waiting, { t: 'task', id: 'a', landed: { commit: 'c1', at: 1 } })
    expect(waiting.tasks.a?.landed).toEqual({ commit: 'c1', at: 1 })
  })

  it('keeps parks until they are lifted, and the run’s own facts', () => {
    const state = replay([
      { t: 'park', key: 'claude:ANTHROPIC_API_KEY', until: 100, reason: 'usage limit' },
      { t: 'park', key: 'codex:OPENAI_API_KEY', until: 200, reason: 'rate limit' },
      { t: 'unpark', key: 'codex:OPENAI_API_KEY' },
      { t: 'run', state: 'running', target: 'main', spend: { usd: 1.5, tokens: 900 } },
      { t: 'run', state: 'stopped', endedAt: 9 },
    ])
    expect(state.parks).toEqual({ 'claude:ANTHROPIC_API_KEY': { until: 100, reason: 'usage limit' } })
    expect(state.run).toEqual({ state: 'stopped', target: 'main', spend: { usd: 1.5, tokens: 900 }, endedAt: 9 })
  })

  it('a snapshot replaces everything before it; what follows applies on top', () => {
    const snapshot = replay([{ t: 'task', id: 'a', status: 'complete', iterations: 3 }])
    const state = replay([
      { t: 'task', id: 'gone', status: 'failed' },
      { t: 'snapshot', state: snapshot },
      { t: 'task', id: 'b', status: 'review' },
    ])
    expect(Object.keys(state.tasks).sort()).toEqual(['a', 'b'])
    expect(state.tasks.a?.iterations).toBe(3)
    // The snapshot was copied, not shared.
    state.tasks.a!.iterations = 99
    expect(snapshot.tasks.a?.iterations).toBe(3)
  })

  it('ignores records of types it does not know, so a newer journal still loads', () => {
    const state = emptyRunState()
    applyRecord(state, { t: 'from-the-future', id: 'a' } as unknown as RunRecord)
    expect(state).toEqual(emptyRunState())
  })
})

describe('createMemoryStore', () => {
  it('keeps every record and the state they leave, starting from an earlier run', async () => {
    const store = createMemoryStore(replay([{ t: 'task', id: 'a', status: 'complete' }]))
    store.append({ t: 'task', id: 'b', status: 'failed', reason: 'no' })
    await store.flush()
    expect(store.records).toEqual([{ t: 'task', id: 'b', status: 'failed', reason: 'no' }])
    const loaded = await store.load()
    expect(loaded.tasks).toEqual({
      a: { status: 'complete', iterations: 0, attempts: 0 },
      b: { status: 'failed', iterations: 0, attempts: 0, reason: 'no' },
    })
    // What load returns is a copy.
    loaded.tasks.a!.status = 'pending'
    expect(store.state.tasks.a?.status).toBe('complete')
  })
})
