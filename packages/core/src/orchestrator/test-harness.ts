// A small harness for the orchestrator's tests: the real Orchestrator over the in-memory backend,
// with every event logged. Not exported from the package.
import type { Clock } from '../clock.ts'
import type { UserConfig } from '../plugin/index.ts'
import type { Reporter } from '../reporter/types.ts'
import type { TaskSource } from '../source/types.ts'
import type { RunStore } from '../state/types.ts'
import { createMemoryBackend, type MemoryBackend, type MemoryBackendOptions } from '../testing/memory-backend.ts'
import type { TaskInput } from '../task/types.ts'
import { createOrchestrator, type Orchestrator } from './index.ts'
import type { TanukiEventName, TanukiEvents } from './events.ts'

/** One event as the bus emitted it. */
export interface Logged {
  name: TanukiEventName
  event: TanukiEvents[TanukiEventName]
}

export interface Harness {
  orchestrator: Orchestrator
  backend: MemoryBackend
  /** Every event, in order, from before `start()`. */
  log: Logged[]
  /** The payloads of one event, in order. */
  all<E extends TanukiEventName>(name: E): TanukiEvents[E][]
  /** Resolves with the first event (past or future) of that name that matches. */
  when<E extends TanukiEventName>(name: E, match?: (event: TanukiEvents[E]) => boolean): Promise<TanukiEvents[E]>
  /** Index in the log of the first matching event, or -1. */
  indexOf<E extends TanukiEventName>(name: E, match?: (event: TanukiEvents[E]) => boolean): number
}

export interface HarnessOptions {
  backend?: MemoryBackendOptions
  sources?: TaskSource[]
  reporters?: Reporter[]
  store?: RunStore
  clock?: Clock
}

const live: Orchestrator[] = []

/** Builds an orchestrator over a memory backend; `cooldownMs` is 0 unless the config says otherwise. */
export function harness(config: UserConfig, options: HarnessOptions = {}): Harness {
  const backend = createMemoryBackend(options.backend)
  const orchestrator = createOrchestrator({
    config: { cooldownMs: 0, ...config },
    backends: [backend],
    ...(options.sources ? { sources: options.sources } : {}),
    ...(options.reporters ? { reporters: options.reporters } : {}),
    ...(options.store ? { store: options.store } : {}),
    ...(options.clock ? { clock: options.clock } : {}),
  })
  live.push(orchestrator)
  const log: Logged[] = []
  const waiters: { name: TanukiEventName; match: (event: never) => boolean; resolve: (event: never) => void }[] = []
  orchestrator.events.on('*', (name, event) => {
    log.push({ name, event })
    for (const waiter of [...waiters]) {
      if (waiter.name === name && waiter.match(event as never)) {
        waiters.splice(waiters.indexOf(waiter), 1)
        waiter.resolve(event as never)
      }
    }
  })
  const indexOf = <E extends TanukiEventName>(
    name: E,
    match: (event: TanukiEvents[E]) => boolean = () => true,
  ): number => log.findIndex((entry) => entry.name === name && match(entry.event as TanukiEvents[E]))
  return {
    orchestrator,
    backend,
    log,
    all: (name) => log.filter((entry) => entry.name === name).map((entry) => entry.event) as never,
    indexOf,
    when(name, match = () => true) {
      const index = indexOf(name, match)
      if (index >= 0) return Promise.resolve(log[index]!.event as never)
      return new Promise((resolve) => waiters.push({ name, match: match as never, resolve: resolve as never }))
    },
  }
}

/** Stops every orchestrator a test left running; call from `afterEach`. */
export async function stopAll(): Promise<void> {
  await Promise.all(live.splice(0).map((orchestrator) => orchestrator.stop()))
}

/** Tasks with a signal each (the default script prints it), as `config.tasks` takes them. */
export function tasks(...inputs: (Partial<TaskInput> & { id: string })[]): TaskInput[] {
  return inputs.map((input) => ({ title: `Task ${input.id}`, completion: { signal: 'DONE' }, ...input }))
}

/** The error a promise rejects with (fails the test if it resolves). */
export async function rejection(
  promise: Promise<unknown>,
): Promise<{ code?: string; message: string; details?: Record<string, unknown> }> {
  try {
    await promise
  } catch (error) {
    return error as { code?: string; message: string }
  }
  throw new Error('expected a rejection, but the promise resolved')
}

/** A clock whose wall time the test sets; timers are real. */
export function pinnedWallClock(start = 1_000_000): Clock & { time: number } {
  const clock = {
    time: start,
    now: () => clock.time,
    monotonic: () => clock.time,
    setTimeout(fn: () => void, ms: number) {
      const handle = setTimeout(fn, Math.min(ms, 2_147_483_647))
      return () => clearTimeout(handle)
    },
  }
  return clock
}
