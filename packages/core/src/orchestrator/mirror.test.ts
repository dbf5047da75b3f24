import { describe, expect, it } from 'vitest'
import { systemClock } from '../clock.ts'
import type { TaskSource } from '../source/types.ts'
import type { TaskPatch } from '../task/types.ts'
import { createBus } from './bus.ts'
import { RESTORED_NOTICE_MS, StatusMirror } from './mirror.ts'
import { VirtualClock } from '../../test/fixtures/virtual-clock.ts'
import { createMemorySource } from '../source/memory.ts'
import { createTask } from '../task/parse.ts'

/** A source whose writes end only when the test lets them, counting how many run at once. */
function slowSource(failing: ReadonlySet<string> = new Set()) {
  const written: { id: string; patch: TaskPatch }[] = []
  const waiting: (() => void)[] = []
  let inFlight = 0
  let most = 0
  const source: TaskSource = {
    name: 'slow',
    load: async () => [],
    update(id, patch) {
      inFlight++
      most = Math.max(most, inFlight)
      return new Promise<void>((resolve, reject) => {
        waiting.push(() => {
          inFlight--
          if (failing.has(id)) reject(new Error(`${id} is read-only`))
          else {
            written.push({ id, patch })
            resolve()
          }
        })
      })
    },
  }
  /** Lets the mirror start what it will, then ends every write under way; says how many. */
  const release = async (): Promise<number> => {
    await new Promise((resolve) => setImmediate(resolve))
    const ended = waiting.splice(0)
    for (const end of ended) end()
    return ended.length
  }
  return { source, written, release, most: () => most, inFlight: () => inFlight }
}

describe('StatusMirror', () => {
  it('writes a batch eight tasks at a time, each once, and the next batch only after it', async () => {
    const slow = slowSource()
    const mirror = new StatusMirror(createBus(systemClock), systemClock, true)
    for (let i = 0; i < 20; i++) mirror.set(`t${i}`, slow.source, { status: 'in_progress' })
    mirror.set('t0', slow.source, { status: 'complete' })
    const first = mirror.flush()
    await new Promise((resolve) => setImmediate(resolve))
    expect(slow.inFlight()).toBe(8)
    // A change made while the batch is written waits for it, even for a task not yet written.
    mirror.set('t19', slow.source, { status: 'complete' })
    const second = mirror.flush()
    let rounds = 0
    while ((await slow.release()) > 0) rounds++
    await Promise.all([first, second])
    expect(slow.most()).toBe(8)
    expect(rounds).toBe(4) // 8 + 8 + 4, then the second batch
    expect(slow.written.filter((w) => w.id === 't0')).toEqual([{ id: 't0', patch: { status: 'complete' } }])
    expect(slow.written.filter((w) => w.id === 't19').map((w) => w.patch.status)).toEqual(['in_progress', 'complete'])
    expect(new Set(slow.written.map((w) => w.id)).size).toBe(20)
  })

  it('each task waits a whole window from its first change: changes within it are written once', async () => {
    const clock = new VirtualClock()
    const written: string[] = []
    const source: TaskSource = {
      name: 'memory',
      load: async () => [],
      update: async (id, patch) => void written.push(`${id} ${patch.status}`),
    }
    const settle = () => new Promise((resolve) => setImmediate(resolve))
    const mirror = new StatusMirror(createBus(clock), clock, true)
    mirror.set('a', source, { status: 'assigned' })
    clock.advance(150)
    mirror.set('b', source, { status: 'assigned' })
    clock.advance(40)
    mirror.set('b', source, { status: 'complete' })
    mirror.set('a', source, { status: 'in_progress' })
    clock.advance(10)
    await settle()
    // The first window ended 50 ms after b's first change: b waits for the next, and so does a.
    expect(written).toEqual([])
    clock.advance(100)
    mirror.set('a', source, { status: 'complete' })
    mirror.set('c', source, { status: 'assigned' })
    clock.advance(100)
    await settle()
    expect(written).toEqual(['a complete', 'b complete'])
    // c came in the second window: written when the third ends.
    clock.advance(200)
    await settle()
    expect(written).toEqual(['a complete', 'b complete', 'c assigned'])
    expect(clock.pending()).toEqual([])
  })

  it('a write that fails is said and remembered; the others are written', async () => {
    const slow = slowSource(new Set(['t1']))
    const bus = createBus(systemClock)
    const errors: string[] = []
    bus.events.on('orchestrator:error', (e) => errors.push(`${e.context}: ${e.message}`))
    const mirror = new StatusMirror(bus, systemClock, true)
    for (const id of ['t0', 't1', 't2']) mirror.set(id, slow.source, { status: 'complete' })
    const done = mirror.flush()
    while ((await slow.release()) > 0);
    await done
    expect(slow.written.map((w) => w.id).sort()).toEqual(['t0', 't2'])
    expect(errors).toEqual(['writing the status of t1: t1 is read-only'])
    expect([...mirror.failures]).toEqual([['t1', 't1 is read-only']])
  })

  it('a task whose file is gone (a checkout, a stash) is skipped, not an error: the journal keeps its status', async () => {
    const source = createMemorySource([createTask({ id: 'kept', title: 'Kept', completion: { signal: 'DONE' } })])
    const bus = createBus(systemClock)
    const errors: string[] = []
    bus.events.on('orchestrator:error', (e) => errors.push(`${e.context}: ${e.message}`))
    const mirror = new StatusMirror(bus, systemClock, true)
    mirror.set('gone', source, { status: 'complete' })
    mirror.set('kept', source, { status: 'complete' })
    await mirror.flush()
    expect(errors).toEqual([])
    expect(mirror.failures.size).toBe(0)
    expect((await source.load()).map((t) => [t.id, t.status])).toEqual([['kept', 'complete']])
  })

  describe('files whose status the journal overruled', () => {
    const said = (taskId: string, fileStatus: 'pending' | 'complete' = 'pending') =>
      ({ taskId, file: `${taskId}.md`, fileStatus, status: 'complete' }) as const

    it('tells them in one event once none has come for a while, and each task with each status once a run', () => {
      const clock = new VirtualClock()
      const bus = createBus(clock)
      const told: string[][] = []
      bus.events.on('task:status-restored', (e) => told.push(e.tasks.map((t) => `${t.taskId}:${t.fileStatus}`)))
      const mirror = new StatusMirror(bus, clock, true)
      // A checkout: its files come one by one, each within the wait of the one before.
      for (const id of ['A', 'B', 'C']) {
        mirror.restored(said(id))
        clock.advance(RESTORED_NOTICE_MS - 1)
      }
      expect(told).toEqual([])
      clock.advance(1)
      expect(told).toEqual([['A:pending', 'B:pending', 'C:pending']])
      // The same again (a second checkout): told already. Another status of one of them is news.
      for (const id of ['A', 'B', 'C']) mirror.restored(said(id))
      mirror.restored(said('A', 'complete'))
      clock.advance(RESTORED_NOTICE_MS)
      expect(told).toEqual([['A:pending', 'B:pending', 'C:pending'], ['A:complete']])
    })

    it('tells what waits at once on tell() and flush(), and nothing with the mirror off', async () => {
      const clock = new VirtualClock()
      const bus = createBus(clock)
      const told: string[] = []
      bus.events.on('task:status-restored', (e) => told.push(...e.tasks.map((t) => t.taskId)))
      const mirror = new StatusMirror(bus, clock, true)
      mirror.restored(said('A'))
      mirror.tell()
      mirror.restored(said('B'))
      await mirror.flush()
      expect(told).toEqual(['A', 'B'])
      clock.advance(RESTORED_NOTICE_MS)
      expect(told).toEqual(['A', 'B'])

      const off = new StatusMirror(bus, clock, false)
      off.restored(said('C'))
      await off.flush()
      clock.advance(RESTORED_NOTICE_MS)
      expect(told).toEqual(['A', 'B'])
    })
  })
})
