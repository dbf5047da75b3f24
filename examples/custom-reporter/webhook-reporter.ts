// Types only: they vanish at run time, so this file needs nothing installed beside the CLI.
import type { Reporter, TanukiEventName, TanukiEvents, TanukiPlugin } from '@tanuki/core'

export interface WebhookReporterOptions {
  /** Where each event is POSTed, as JSON. */
  url: string
  /** Events to post. Default: all but `iteration:output` (agents' output streams in many small pieces). */
  events?: TanukiEventName[]
  /** Extra request headers (an auth token, say). */
  headers?: Record<string, string>
  /** Longest one post may take, in ms. Default 5000. */
  timeoutMs?: number
  /** Where failed posts are reported. Default `console.error`. */
  onError?: (message: string) => void
}

/** The body of each post. */
export interface WebhookPost {
  /** The event's name, `task:completed`. */
  event: TanukiEventName
  /** One line a person can read. */
  summary: string
  /** When it happened, ms since the epoch. */
  at: number
}

/** One line about an event, from its payload alone. */
export function summarize<E extends TanukiEventName>(name: E, payload: TanukiEvents[E]): string {
  const e = payload as Partial<Record<string, unknown>>
  const who = [e.taskId && `task ${String(e.taskId)}`, e.agent && `agent ${String(e.agent)}`].filter(Boolean).join(', ')
  const change = typeof e.to === 'string' ? `${String(e.from)} → ${e.to}` : undefined
  const why = e.reason ?? e.message
  return [name, who && `(${who})`, change, why !== undefined && `— ${String(why)}`].filter(Boolean).join(' ')
}

/**
 * A reporter that posts a summary of each event to a webhook. Posts go out one at a time, in
 * order; a failed post is reported and dropped, never failing the run. `onClose` waits for the
 * posts still on their way, so the last events are not lost when the CLI exits.
 */
export function createWebhookReporter(options: WebhookReporterOptions): Reporter {
  const wanted = options.events ? new Set(options.events) : undefined
  const report = options.onError ?? ((message: string) => console.error(message))
  let queue: Promise<void> = Promise.resolve()
  let failures = 0

  const post = async (body: WebhookPost): Promise<void> => {
    try {
      const response = await fetch(options.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...options.headers },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(options.timeoutMs ?? 5000),
      })
      // Drain the body so the connection can be reused.
      await response.arrayBuffer()
      if (!response.ok) throw new Error(`HTTP ${response.status}`)
    } catch (error) {
      failures++
      // Say it once; a webhook that is down would otherwise repeat the same line for every event.
      if (failures === 1)
        report(
          `webhook reporter: could not post ${body.event} to ${options.url}: ${error instanceof Error ? error.message : String(error)}`,
        )
    }
  }

  return {
    name: 'webhook',
    onEvent<E extends TanukiEventName>(name: E, payload: TanukiEvents[E]) {
      if (wanted ? !wanted.has(name) : name === 'iteration:output') return
      const at = 'at' in payload && typeof payload.at === 'number' ? payload.at : Date.now()
      const body: WebhookPost = { event: name, summary: summarize(name, payload), at }
      queue = queue.then(() => post(body))
    },
    async onClose() {
      await queue
      if (failures > 1) report(`webhook reporter: ${failures} posts to ${options.url} failed in all`)
    },
  }
}

/**
 * The webhook reporter as a plugin.
 *
 * @example
 * export default defineConfig({ plugins: [webhookReporter({ url: 'https://hooks.example.com/tanuki' })] })
 */
export function webhookReporter(options: WebhookReporterOptions): TanukiPlugin {
  // A plugin is a plain object (`definePlugin` from 'tanuki' would only add type inference).
  return {
    name: 'example:reporter-webhook',
    setup(ctx) {
      ctx.registerReporter(createWebhookReporter(options))
    },
  }
}
