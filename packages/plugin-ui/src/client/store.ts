import { DashboardModel } from '../model/index.ts'
import type { OutputChunk } from '../server/hub.ts'
import { fetchStatus } from './api.ts'

/** How the page's link to the server stands. */
export type Connection = 'connecting' | 'live' | 'reconnecting' | 'closed'

type StreamEvent = [seq: number, name: string, payload: unknown]

/**
 * The page's state: the status model kept up to date by the event stream, and agent output of the
 * open task. Listeners are told at most once per animation frame, however many events came.
 */
export class Store {
  model = new DashboardModel()
  seq = 0
  connection: Connection = 'connecting'
  /** Bumped on every change, so views can tell. */
  version = 0
  /** Ids of tasks changed since the last notification (undefined: anything may have). */
  changed: Set<string> | undefined = new Set()
  /** Live output of the open task, per iteration number within its attempt. */
  output: OutputChunk[] = []
  private task: string | undefined
  private source: EventSource | undefined
  private loading: Promise<void> | undefined
  private held: StreamEvent[] | undefined
  private readonly listeners = new Set<() => void>()
  private frame = 0

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener)
    return () => void this.listeners.delete(listener)
  }

  private notify(): void {
    this.version++
    if (this.frame) return
    this.frame = requestAnimationFrame(() => {
      this.frame = 0
      for (const listener of this.listeners) listener()
      this.changed = new Set()
    })
  }

  /** Reads the status, then follows the events after it. */
  async start(): Promise<void> {
    await this.reload()
    this.connect()
  }

  /** Reads the status again (at start, and when the server says the run changed under it). */
  reload(): Promise<void> {
    this.loading ??= (async () => {
      this.held = []
      try {
        const { seq, doc } = await fetchStatus()
        this.model = DashboardModel.from(doc)
        this.seq = seq
        this.changed = undefined
        const held = this.held
        this.held = undefined
        this.apply(held)
      } finally {
        this.held = undefined
        this.loading = undefined
      }
      this.notify()
    })()
    return this.loading
  }

  /** Follows the event stream; with a task open, its agent output too. */
  connect(task?: string): void {
    this.task = task
    this.output = []
    this.source?.close()
    const params = new URLSearchParams({ since: String(this.seq) })
    if (task) params.set('task', task)
    const source = new EventSource(`/api/events?${params}`)
    this.source = source
    source.addEventListener('open', () => {
      this.connection = 'live'
      this.notify()
    })
    source.addEventListener('error', () => {
      this.connection = source.readyState === EventSource.CLOSED ? 'closed' : 'reconnecting'
      this.notify()
    })
    source.addEventListener('events', (message) => {
      const events = JSON.parse((message as MessageEvent<string>).data) as StreamEvent[]
      if (this.held) this.held.push(...events)
      else this.apply(events)
      this.notify()
    })
    source.addEventListener('output', (message) => {
      const { taskId, chunks } = JSON.parse((message as MessageEvent<string>).data) as {
        taskId: string
        chunks: OutputChunk[]
      }
      if (taskId !== this.task) return
      this.output.push(...chunks)
      this.notify()
    })
    source.addEventListener('resync', () => void this.reload())
  }

  /** The open task's page changed: follow its output (or none). */
  watch(task: string | undefined): void {
    if (task !== this.task) this.connect(task)
  }

  private apply(events: StreamEvent[]): void {
    for (const [seq, name, payload] of events) {
      // Replays after a reconnect may repeat what the status already had.
      if (seq <= this.seq) continue
      this.seq = seq
      const ids = this.model.apply(name, payload)
      if (ids && this.changed) for (const id of ids) this.changed.add(id)
    }
  }
}

export const store = new Store()
