import { errorMessage } from '../errors.ts'
import { hookName, type Reporter } from '../reporter/types.ts'
import type { Bus } from './bus.ts'
import type { TanukiEventName } from './events.ts'

/** Events in the order they were emitted, as `[name, event]`. */
export type EventLog = [TanukiEventName, unknown][]

/** The reporters of a run, fed from the bus. */
export interface ReporterFanOut {
  /** Calls every reporter's `onClose`, in order; none hears an event after it. */
  close(): Promise<void>
}

/**
 * Feeds every event to every reporter: `onEvent` first, then the event's own hook. Events emitted
 * before the reporters existed (plugins register them during start-up) come first, in order. A
 * reporter that throws or rejects is reported as an `orchestrator:error` naming it; the others
 * still get the event, and all of them see events in bus order.
 */
export function attachReporters(bus: Bus, reporters: readonly Reporter[], early: EventLog = []): ReporterFanOut {
  const failed = (reporter: Reporter, name: TanukiEventName, error: unknown): void => {
    // A reporter that fails on errors must not feed itself.
    if (name === 'orchestrator:error') return
    bus.emit('orchestrator:error', { context: `reporter ${reporter.name} on ${name}`, message: errorMessage(error) })
  }
  const deliver = (name: TanukiEventName, event: unknown): void => {
    const failures: [Reporter, unknown][] = []
    for (const reporter of reporters) {
      const hook = reporter[hookName(name)] as ((event: unknown) => unknown) | undefined
      for (const call of [() => reporter.onEvent?.(name, event as never), hook && (() => hook.call(reporter, event))]) {
        if (!call) continue
        try {
          const result = call()
          if (result instanceof Promise) result.catch((error: unknown) => failed(reporter, name, error))
        } catch (error) {
          failures.push([reporter, error])
        }
      }
    }
    for (const [reporter, error] of failures) failed(reporter, name, error)
  }
  if (reporters.length > 0) {
    for (const [name, event] of early) deliver(name, event)
    bus.events.on('*', deliver)
  }
  return {
    async close() {
      bus.events.off('*', deliver)
      for (const reporter of reporters) {
        try {
          await reporter.onClose?.()
        } catch (error) {
          bus.emit('orchestrator:error', { context: `closing reporter ${reporter.name}`, message: errorMessage(error) })
        }
      }
    },
  }
}
