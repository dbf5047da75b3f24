import { afterEach, describe, expect, it } from 'vitest'
import { createBus } from './bus.ts'
import type { TanukiEvents } from './events.ts'
import { harness, pinnedWallClock, stopAll, tasks } from './test-harness.ts'

afterEach(stopAll)

const added = {
  taskId: 'a',
  title: 'A',
  role: 'default',
  priority: 'medium',
  status: 'pending',
  dependsOn: [],
} satisfies Omit<TanukiEvents['task:added'], 'at'>

describe('createBus', () => {
  it('stamps `at` from the clock, streamed output too (its own object, not a copy)', () => {
    const bus = createBus(pinnedWallClock(42))
    const seen: unknown[] = []
    bus.events.on('*', (_name, event) => seen.push(event))
    bus.emit('task:added', added)
    const output = { taskId: 'a', agent: 'x', iteration: 1, stream: 'stdout' as const, text: 'hi' }
    bus.emit('iteration:output', output)
    expect(seen).toEqual([
      { ...added, at: 42 },
      { taskId: 'a', agent: 'x', iteration: 1, stream: 'stdout', text: 'hi', at: 42 },
    ])
    expect(seen[1]).toBe(output)
  })

  it('turns a throwing listener into an orchestrator:error, and the other listeners still hear the event', () => {
    const bus = createBus(pinnedWallClock(7))
    const heard: string[] = []
    const errors: unknown[] = []
    bus.events.on('task:added', () => {
      throw new Error('listener bug')
    })
    bus.events.on('task:added', (e) => heard.push(e.taskId))
    bus.events.on('orchestrator:error', (e) => errors.push(e))
    expect(() => bus.emit('task:added', added)).not.toThrow()
    expect(heard).toEqual(['a'])
    expect(errors).toEqual([{ context: 'a listener of task:added', message: 'listener bug', at: 7 }])
  })

  it('does not loop when a listener of orchestrator:error throws', () => {
    const bus = createBus(pinnedWallClock())
    let calls = 0
    bus.events.on('orchestrator:error', () => {
      calls++
      throw new Error('again')
    })
    bus.emit('orchestrator:error', { context: 'x', message: 'y' })
    expect(calls).toBe(1)
  })
})

describe('a listener that throws during a run', () => {
  it('never breaks a status change: the run completes and the failure is reported', async () => {
    const { orchestrator, all } = harness({ tasks: tasks({ id: 'a' }, { id: 'b', dependsOn: ['a'] }) })
    orchestrator.events.on('task:status', (e) => {
      if (e.to === 'complete') throw new Error('my dashboard broke')
    })
    await orchestrator.start()
    const summary = await orchestrator.done()
    expect(summary.allComplete).toBe(true)
    expect(all('orchestrator:error').map((e) => e.message)).toEqual(['my dashboard broke', 'my dashboard broke'])
    expect(orchestrator.task('b')?.status).toBe('complete')
  })
})
