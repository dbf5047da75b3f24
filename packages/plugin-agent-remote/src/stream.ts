import type { Redis } from 'ioredis'
import { decode } from './protocol.ts'

/**
 * Reads one Redis stream in order, from its start, on a connection of its own (a blocking read
 * holds it). What was handled is trimmed away, so a stream holds only what is in flight. A Redis
 * restart (with persistence on) loses nothing: the read goes on from the last id handled.
 */
export class StreamReader<T> {
  private last = '0'
  private closed = false
  private readonly running: Promise<void>

  constructor(
    private readonly client: Redis,
    private readonly key: string,
    private readonly handle: (message: T) => void,
    private readonly onError: (error: unknown) => void = () => {},
  ) {
    this.running = this.loop()
  }

  private async loop(): Promise<void> {
    while (!this.closed) {
      let batch: [string, [string, string[]][]][] | null
      try {
        batch = (await this.client.xread('COUNT', 512, 'BLOCK', 1000, 'STREAMS', this.key, this.last)) as
          | [string, [string, string[]][]][]
          | null
      } catch (error) {
        if (this.closed) return
        this.onError(error)
        await new Promise((resolve) => setTimeout(resolve, 200))
        continue
      }
      if (!batch) continue
      for (const [, entries] of batch) {
        for (const [id, fields] of entries) {
          this.last = id
          const message = decode<T>(fields)
          if (message === undefined) continue
          try {
            this.handle(message)
          } catch (error) {
            this.onError(error)
          }
        }
      }
      // Entries before the last handled one are done with; the next read starts after it.
      if (!this.closed) await this.client.xtrim(this.key, 'MINID', this.last).catch(() => {})
    }
  }

  /** Stops reading: the blocking read is cut by closing the connection. */
  async close(): Promise<void> {
    this.closed = true
    this.client.disconnect()
    await this.running.catch(() => {})
  }
}

/** Waits for `work`, at most `ms`: what is left then is abandoned. */
export function within(ms: number, work: Promise<unknown>): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  return Promise.race([
    work.then(
      () => {},
      () => {},
    ),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms)
    }),
  ]).finally(() => clearTimeout(timer))
}
