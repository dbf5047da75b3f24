import type { Awaitable } from '../agent/types.ts'
import type { TanukiEventName, TanukiEvents } from '../orchestrator/events.ts'

/** `task:completed` → `onTaskCompleted`, `agent:spawn-failed` → `onAgentSpawnFailed`. */
type HookName<E extends string> = E extends `${infer Scope}:${infer Rest}`
  ? `on${Capitalize<Scope>}${PascalCase<Rest>}`
  : never
type PascalCase<S extends string> = S extends `${infer Head}-${infer Tail}`
  ? `${Capitalize<Head>}${PascalCase<Tail>}`
  : Capitalize<S>

/** One optional hook per orchestrator event, named after it (`task:completed` → `onTaskCompleted`). */
export type ReporterHooks = {
  [E in TanukiEventName as HookName<E>]?: (event: TanukiEvents[E]) => Awaitable<void>
}

/**
 * Watches a run. Every hook is optional; `onEvent` sees every event (for logs that keep
 * everything). A reporter that throws is reported as an `orchestrator:error`; the run goes on.
 *
 * @example
 * const dots: Reporter = {
 *   name: 'dots',
 *   onTaskCompleted: () => { write('.') },
 *   onProjectSettled: ({ allComplete }) => { write(allComplete ? ' done\n' : ' not all complete\n') },
 * }
 */
export interface Reporter extends ReporterHooks {
  readonly name: string
  /** Every event, with its name, in order. */
  onEvent?<E extends TanukiEventName>(name: E, event: TanukiEvents[E]): Awaitable<void>
  /** The run ended (settled or stopped); flush and close files here. */
  onClose?(): Awaitable<void>
}

/** The hook a reporter implements for an event. */
export function hookName(event: TanukiEventName): keyof ReporterHooks {
  const [scope, rest = ''] = event.split(':') as [string, string]
  const pascal = (word: string): string => word.charAt(0).toUpperCase() + word.slice(1)
  return `on${pascal(scope)}${rest.split('-').map(pascal).join('')}` as keyof ReporterHooks
}
