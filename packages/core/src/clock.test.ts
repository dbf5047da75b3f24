import { describe, expect, it } from 'vitest'
import { VirtualClock, tick, until } from '../test/fixtures/virtual-clock.ts'
import { abortError, sleep, systemClock } from './clock.ts'
import { isTanukiError } from './errors.ts'

describe('sleep', () => {
  it('resolves after the time passes on its clock', async () => {
    const clock = new VirtualClock()
    let done = false
    void sleep(clock, 500).then(() => (done = true))
    expect(clock.pending()).toEqual([500])
    clock.advance(499)
    await tick()
    expect(done).toBe(false)
    clock.advance(1)
    await until(() => done)
    expect(clock.pending()).toEqual([])
  })

  it('resolves at once for zero or negative times, without a timer', async () => {
    const clock = new VirtualClock()
    await sleep(clock, 0)
    await sleep(clock, -5)
    expect(clock.pending()).toEqual([])
  })

  it('rejects with TANUKI_ABORTED when aborted, and cancels its timer', async () => {
    const clock = new VirtualClock()
    const controller = new AbortController()
    const waiting = sleep(clock, 10_000, controller.signal).catch((e: unknown) => e)
    expect(clock.pending()).toEqual([10_000])
    controller.abort('shutting down')
    const error = await waiting
    expect(isTanukiError(error, 'TANUKI_ABORTED')).toBe(true)
    expect((error as Error).message).toBe('Aborted: shutting down')
    expect((error as Error).cause).toBe('shutting down')
    expect(clock.pending()).toEqual([])
  })

  it('rejects at once when the signal is already aborted', async () => {
    const clock = new VirtualClock()
    const controller = new AbortController()
    controller.abort()
    const error = await sleep(clock, 0, controller.signal).catch((e: unknown) => e)
    expect(isTanukiError(error, 'TANUKI_ABORTED')).toBe(true)
    expect(clock.pending()).toEqual([])
  })

  it('stops listening to the signal once it resolved', async () => {
    const clock = new VirtualClock()
    const controller = new AbortController()
    const result = sleep(clock, 1, controller.signal).then(() => 'slept')
    clock.advance(1)
    expect(await result).toBe('slept')
    // A later abort has nothing left to reject.
    controller.abort()
    await tick()
  })

  it('works with the system clock', async () => {
    const before = systemClock.monotonic()
    await sleep(systemClock, 5)
    expect(systemClock.monotonic()).toBeGreaterThan(before)
    expect(Math.abs(systemClock.now() - Date.now())).toBeLessThan(1000)
    let fired = false
    const cancel = systemClock.setTimeout(() => (fired = true), 1)
    cancel()
    await sleep(systemClock, 10)
    expect(fired).toBe(false)
  })
})

describe('abortError', () => {
  it('says "stopped" when the abort gave no reason', () => {
    const signal = { reason: undefined } as unknown as AbortSignal
    expect(abortError(signal).message).toBe('Aborted: stopped')
  })
})
