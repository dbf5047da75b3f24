import { describe, expect, it } from 'vitest'
import { VirtualClock, until } from '../../test/fixtures/virtual-clock.ts'
import type { Reporter } from '../reporter/types.ts'
import { createBus } from './bus.ts'
import { REPORTER_CLOSE_TIMEOUT_MS, attachReporters } from './reporters.ts'

describe('attachReporters: close', () => {
  it('goes on without a reporter whose onClose never finishes, reporting it as an orchestrator:error', async () => {
    const clock = new VirtualClock()
    const bus = createBus(clock)
    const errors: { context: string; message: string }[] = []
    bus.events.on('orchestrator:error', (e) => void errors.push(e))
    const closed: string[] = []
    const hanging: Reporter = { name: 'webhook', onClose: () => new Promise<void>(() => {}) }
    const after: Reporter = { name: 'summary', onClose: () => void closed.push('summary') }
    const fanOut = attachReporters(bus, [hanging, after], [], { clock })

    let done = false
    const closing = fanOut.close().then(() => (done = true))
    await until(() => clock.pending().includes(REPORTER_CLOSE_TIMEOUT_MS))
    expect(done).toBe(false)
    clock.advance(REPORTER_CLOSE_TIMEOUT_MS)
    await closing

    expect(closed).toEqual(['summary'])
    expect(errors).toEqual([
      expect.objectContaining({
        context: 'closing reporter webhook',
        message: expect.stringContaining(`did not finish within ${REPORTER_CLOSE_TIMEOUT_MS} ms`),
      }),
    ])
    // Nothing is left waiting on the clock once every reporter closed.
    expect(clock.pending()).toEqual([])
  })

  it('waits for a slow onClose that finishes in time, and reports nothing', async () => {
    const clock = new VirtualClock()
    const bus = createBus(clock)
    const errors: unknown[] = []
    bus.events.on('orchestrator:error', (e) => void errors.push(e))
    let finish = (): void => {}
    const slow: Reporter = { name: 'slow', onClose: () => new Promise<void>((resolve) => (finish = resolve)) }
    const closing = attachReporters(bus, [slow], [], { clock }).close()
    await until(() => clock.pending().length === 1)
    clock.advance(REPORTER_CLOSE_TIMEOUT_MS - 1)
    finish()
    await closing
    expect(errors).toEqual([])
    expect(clock.pending()).toEqual([])
  })
})
