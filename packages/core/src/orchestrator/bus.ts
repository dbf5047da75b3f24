import mitt, { type Emitter, type Handler, type WildcardHandler } from 'mitt'
import type { Clock } from '../clock.ts'
import { errorMessage } from '../errors.ts'
import type { TanukiEventName, TanukiEvents } from './events.ts'

/** An event as the orchestrator hands it to `emit`: `at` is stamped on the way out. */
export type EventInput<E extends TanukiEventName> = TanukiEvents[E] extends { at: number }
  ? Omit<TanukiEvents[E], 'at'>
  : TanukiEvents[E]

/** The orchestrator's event bus: the public emitter, and an `emit` that no listener can break. */
export interface Bus {
  /** Subscribe here; `events.emit` is the plain mitt one. */
  readonly events: Emitter<TanukiEvents>
  /** Stamps `at` (where the event has one), then calls every listener; returns the event sent. */
  emit<E extends TanukiEventName>(name: E, event: EventInput<E>): TanukiEvents[E]
}

/**
 * A mitt emitter whose `emit` guards each listener: one that throws becomes an
 * `orchestrator:error`, and the others still hear the event. A throw out of a listener would
 * otherwise unwind a status change half-way (counts moved, the write-back never queued).
 */
export function createBus(clock: Clock): Bus {
  const events = mitt<TanukiEvents>()
  const stamp = <E extends TanukiEventName>(name: E, event: EventInput<E>): TanukiEvents[E] => {
    // Agents' output comes in many pieces a second: its (fresh) object takes `at` in place, no copy.
    if (name === 'iteration:output') {
      ;(event as { at?: number }).at = clock.now()
      return event as TanukiEvents[E]
    }
    return { ...event, at: clock.now() } as TanukiEvents[E]
  }

  const send = <E extends TanukiEventName>(name: E, event: TanukiEvents[E]): TanukiEvents[E] => {
    const failures: unknown[] = []
    for (const handler of [...(events.all.get(name) ?? [])] as Handler<TanukiEvents[E]>[]) {
      try {
        handler(event)
      } catch (error) {
        failures.push(error)
      }
    }
    for (const handler of [...(events.all.get('*') ?? [])] as WildcardHandler<TanukiEvents>[]) {
      try {
        handler(name, event)
      } catch (error) {
        failures.push(error)
      }
    }
    // A listener that fails on errors must not feed itself.
    if (name !== 'orchestrator:error') {
      for (const error of failures) {
        send('orchestrator:error', {
          context: `a listener of ${name}`,
          message: errorMessage(error),
          at: clock.now(),
        })
      }
    }
    return event
  }

  return { events, emit: (name, event) => send(name, stamp(name, event)) }
}
