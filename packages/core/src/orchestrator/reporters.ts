import { systemClock, type Clock } from '../clock.ts'
import { errorMessage } from '../errors.ts'
import { hookName, type Reporter } from '../reporter/types.ts'
import type { Bus } from './bus.ts'
import type { TanukiEventName } from './events.ts'

/** How long one reporter's `onClose` may take before the run goes on without it. */
export const REPORTER_CLOSE_TIMEOUT_MS = 5000

/** Events in the order they were emitted, as `[name, event]`. */
export type EventLog = [TanukiEventName, unknown][]

/** The reporters of a run, fed from the bus. */
export interface ReporterFanOut {
  /**
   * Calls every reporter's `onClose`, in order; none hears an event after it. One that takes
   * longer than `closeTimeoutMs` is reported as an `orchestrator:error` and left behind.
   */
  close(): Promise<void>
}

/**
 * Feeds every event to every reporter: `onEvent` first, then the event's own hook. Events emitted
 * before the reporters existed (plugins register them during start-up) come first, in order. A
 * reporter that throws or rejects is reported as an `orchestrator:error` naming it; the others
 * still get the event, and all of them see events in bus order.
 */
export function attachReporters(
  bus: Bus,
  reporters: readonly Reporter[],
  early: EventLog = [],
  options: { clock?: Clock; closeTimeoutMs?: number } = {},
): ReporterFanOut {
  const clock = options.clock ?? systemClock
  const closeTimeoutMs = options.closeTimeoutMs ?? REPORTER_CLOSE_TIMEOUT_MS
  const failed = (reporter: Reporter, name: TanukiEventName, error: unknown): void => {
    // A reporter that fails on errors must not feed itself.
    if (name === 'orchestrator:error') return
    bus.emit('orchestrator:error', { context: `reporter ${reporter.name} on ${name}`, message: errorMessage(error) })
  }
  const watch = (reporter: Reporter, name: TanukiEventName, result: unknown): void => {
    if (result instanceof Promise) result.catch((error: unknown) => failed(reporter, name, error))
  }
  // Every event reaches every reporter (10,000 `task:completed` in a big run): no
  // allocation per call but the failures list, and each event's hook name worked out once.
  const hooks = new Map<TanukiEventName, ReturnType<typeof hookName>>()
  const deliver = (name: TanukiEventName, event: unknown): void => {
    let failures: [Reporter, unknown][] | undefined
    let hook = hooks.get(name)
    if (hook === undefined) hooks.set(name, (hook = hookName(name)))
    for (const reporter of reporters) {
      const own = reporter[hook] as ((event: unknown) => unknown) | undefined
      try {
        watch(reporter, name, reporter.onEvent?.(name, event as never))
      } catch (error) {
        ;(failures ??= []).push([reporter, error])
      }
      if (!own) continue
      try {
        watch(reporter, name, own.call(reporter, event))
      } catch (error) {
        ;(failures ??= []).push([reporter, error])
      }
    }
    if (failures) for (const [reporter, error] of failures) failed(reporter, name, error)
  }
  if (reporters.length > 0) {
    for (const [name, event] of early) deliver(name, event)
    bus.events.on('*', deliver)
  }
  return {
    async close() {
      bus.events.off('*', deliver)
      for (const reporter of reporters) {
        if (!reporter.onClose) continue
        let cancel = (): void => {}
        // A reporter that never finishes closing (a webhook that hangs) must not hold the run.
        const late = new Promise<'late'>((resolve) => {
          cancel = clock.setTimeout(() => resolve('late'), closeTimeoutMs)
        })
        try {
          const closed = Promise.resolve().then(() => reporter.onClose!())
          if ((await Promise.race([closed, late])) === 'late') {
            closed.catch(() => {})
            bus.emit('orchestrator:error', {
              context: `closing reporter ${reporter.name}`,
              message: `its onClose did not finish within ${closeTimeoutMs} ms; the run ends without waiting for it`,
            })
          }
        } catch (error) {
          bus.emit('orchestrator:error', { context: `closing reporter ${reporter.name}`, message: errorMessage(error) })
        } finally {
          cancel()
        }
      }
    },
  }
}
