import { TanukiError } from './errors.ts'

/**
 * Time, as the core sees it. The default uses the timers every runtime has; tests and embedders
 * can pass their own.
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number
  /** A monotonic high-resolution time in ms, for measuring durations. */
  monotonic(): number
  /** Calls `fn` after `ms`; returns a function that cancels it. */
  setTimeout(fn: () => void, ms: number): () => void
}

export const systemClock: Clock = {
  now: () => Date.now(),
  monotonic: () => performance.now(),
  setTimeout(fn, ms) {
    const handle = setTimeout(fn, ms)
    return () => clearTimeout(handle)
  },
}

/** Resolves after `ms`, or rejects with `TANUKI_ABORTED` as soon as `signal` aborts. */
export function sleep(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(abortError(signal))
  if (ms <= 0) return Promise.resolve()
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      cancel()
      reject(abortError(signal!))
    }
    const cancel = clock.setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}

export function abortError(signal: AbortSignal): TanukiError {
  return new TanukiError('TANUKI_ABORTED', `Aborted: ${String(signal.reason ?? 'stopped')}`, { cause: signal.reason })
}
