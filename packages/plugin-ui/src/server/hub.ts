import { errorMessage } from '@tanuki/core'
import { DashboardModel, gateExcerpt } from '../model/index.ts'
import type { DashboardSource, StatusDocument } from '../types.ts'

/** One event as the stream sends it: its sequence number, name and (slimmed) payload. */
export type StreamEvent = [seq: number, name: string, payload: unknown]

/** What the hub sends a client: a batch of events, or word to read the status again. */
export type StreamMessage =
  | { kind: 'events'; events: StreamEvent[] }
  | { kind: 'output'; taskId: string; chunks: OutputChunk[] }
  | { kind: 'resync' }

/** Agent output of one task, for the pages that show it live. */
export interface OutputChunk {
  iteration: number
  agent: string
  stream: 'stdout' | 'stderr'
  text: string
}

/** A connected page. */
export interface HubClient {
  /** The task whose page is open: its agent output is sent too. */
  task?: string
  /** Sends one message (already serialised, the SSE `event` name and `data`). */
  send(event: string, data: string): void
}

export interface HubOptions {
  /** Longest time an event waits to be sent, in ms; events in between go in one message. Default 100. */
  batchMs?: number
  /** Events kept for pages that reconnect (they ask from a sequence number). Default 20,000. */
  keep?: number
  /** Most agent output sent per task per batch, in characters; the rest is on the task's page. Default 64 KiB. */
  maxOutputChars?: number
}

/** Payload fields too big for every page: the task's page reads them from its detail. */
function slim(name: string, event: unknown): unknown {
  if (name === 'iteration:started') {
    const { prompt: _prompt, ...rest } = event as { prompt?: string }
    return rest
  }
  if (name === 'iteration:finished') {
    const { output: _output, verify, ...rest } = event as { output?: string; verify?: { output?: string } }
    if (!verify) return rest
    const { output: _verifyOutput, ...command } = verify
    return { ...rest, verify: command }
  }
  // What a gate printed can be long: the pages get what they show of it, the lines that name what
  // failed and its end, cut from the whole output (a tail alone could lose the first).
  if (name === 'task:land-failed') {
    const { output, ...rest } = event as { output?: string }
    return { ...rest, output: gateExcerpt(output ?? '') }
  }
  return event
}

/**
 * Between a source and the pages: folds every event into one model (so `/api/status` and the
 * stream agree, by sequence number), and sends events in batches, each serialised once for every
 * page. A page that opens the status at sequence S asks the stream for what came after S; one
 * whose S is too old to replay is told to read the status again.
 *
 * @example
 * const hub = createHub(source)
 * await hub.ready()
 * const stop = hub.connect({ send: (event, data) => write(event, data) }, since)
 */
export interface Hub {
  /** Resolves once the first status is read and events are followed. */
  ready(): Promise<void>
  /** The status document as the events have made it, and the sequence number it includes. */
  snapshot(): { seq: number; doc: StatusDocument }
  /** Connects a page; events after `since` are sent at once, if still kept. Returns the disconnect. */
  connect(client: HubClient, since?: number): () => void
  /** Pages connected now. */
  readonly clients: number
  /** Folds and forwards one event (the source's listener). */
  publish(name: string, event: unknown): void
  /** Reads the status again and tells every page to do so. */
  resync(): Promise<void>
  /** Sends what is pending now (tests and shutdown). */
  flush(): void
  /** Stops following the source and disconnects every page. */
  close(): void
}

export function createHub(source: DashboardSource, options: HubOptions = {}): Hub {
  const batchMs = options.batchMs ?? 100
  const keep = options.keep ?? 20_000
  const maxOutputChars = options.maxOutputChars ?? 64 * 1024
  let model = new DashboardModel()
  let seq = 0
  /** Events kept for replay, oldest first; `kept[0]` has sequence number `seq - kept.length + 1`. */
  let kept: StreamEvent[] = []
  let pending: StreamEvent[] = []
  const output = new Map<string, OutputChunk[]>()
  const outputSize = new Map<string, number>()
  const clients = new Set<HubClient>()
  let timer: ReturnType<typeof setTimeout> | undefined
  let rebasing: StreamEvent[] | undefined
  let closed = false

  const schedule = (): void => {
    if (timer === undefined && !closed) {
      timer = setTimeout(flush, batchMs)
      ;(timer as { unref?: () => void }).unref?.()
    }
  }

  const flush = (): void => {
    if (timer !== undefined) clearTimeout(timer)
    timer = undefined
    if (pending.length > 0) {
      const data = JSON.stringify(pending)
      pending = []
      for (const client of clients) client.send('events', data)
    }
    for (const [taskId, chunks] of output) {
      let data: string | undefined
      for (const client of clients) {
        if (client.task !== taskId) continue
        data ??= JSON.stringify({ taskId, chunks })
        client.send('output', data)
      }
    }
    output.clear()
    outputSize.clear()
  }

  const publish = (name: string, event: unknown): void => {
    if (closed) return
    if (name === 'dashboard:resync') {
      void resync()
      return
    }
    if (name === 'iteration:output') {
      const chunk = event as OutputChunk & { taskId: string }
      // Output goes only to the pages of its task, and is not part of the status.
      if (![...clients].some((client) => client.task === chunk.taskId)) return
      const size = outputSize.get(chunk.taskId) ?? 0
      if (size >= maxOutputChars) return
      const text = chunk.text.slice(0, maxOutputChars - size)
      outputSize.set(chunk.taskId, size + text.length)
      let chunks = output.get(chunk.taskId)
      if (!chunks) output.set(chunk.taskId, (chunks = []))
      chunks.push({ iteration: chunk.iteration, agent: chunk.agent, stream: chunk.stream, text })
      schedule()
      return
    }
    const item: StreamEvent = [0, name, slim(name, event)]
    if (rebasing) {
      rebasing.push(item)
      return
    }
    if (model.apply(name, event) === undefined) return
    item[0] = ++seq
    kept.push(item)
    if (kept.length > keep * 2) kept = kept.slice(-keep)
    pending.push(item)
    schedule()
  }

  let unsubscribe: (() => void) | undefined
  let rebase: Promise<void> | undefined
  /** Reads the status; events that arrive meanwhile are folded in after it. */
  const resync = (): Promise<void> => {
    rebase = (async () => {
      rebasing ??= []
      try {
        model = DashboardModel.from(await source.status())
      } catch (error) {
        // Keep what the events built; say why in the document.
        model.status = `unknown (${errorMessage(error)})`
      }
      const held = rebasing
      rebasing = undefined
      // Pages get what happened before, then word to read the status again: nothing before this
      // point is replayed after it.
      flush()
      kept = []
      seq++
      for (const [, name, event] of held ?? []) publish(name, event)
      for (const client of clients) client.send('resync', '{}')
    })()
    return rebase
  }

  // Subscribe first, then read: the status includes everything before the first event heard.
  rebasing = []
  unsubscribe = source.subscribe?.(publish)
  const first = resync()

  return {
    ready: async () => {
      await first
      await rebase
    },
    snapshot: () => ({ seq, doc: model.document() }),
    connect(client, since) {
      clients.add(client)
      if (since !== undefined) {
        const oldest = kept[0]?.[0] ?? seq + 1
        // Pending events reach it with the next batch; those already sent are replayed now.
        const sent = seq - pending.length
        if (since < oldest - 1 || since > seq) client.send('resync', '{}')
        else {
          const missed = kept.filter(([n]) => n > since && n <= sent)
          if (missed.length > 0) client.send('events', JSON.stringify(missed))
        }
      }
      return () => void clients.delete(client)
    },
    get clients() {
      return clients.size
    },
    publish,
    resync,
    flush,
    close() {
      closed = true
      unsubscribe?.()
      flush()
      clients.clear()
    },
  }
}
