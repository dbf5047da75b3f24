import type { Redis } from 'ioredis'
import type { Keys } from './protocol.ts'

/** An agent a worker runs, as its registration shows it. */
export interface WorkerAgent {
  name: string
  role: string
  session: string
  /** The task it works on, if any. */
  task?: string
}

/** A worker as `tanuki project status` lists it (`workers` in `--json`). */
export interface WorkerInfo {
  /** Its id: unique per `tanuki worker` process. */
  id: string
  name: string
  host: string
  pid: number
  /** The roles it takes; empty: any role. */
  roles: string[]
  capacity: number
  /** The local backend its agents run with: `process` or `docker`. */
  backend: string
  version: string
  startedAt: string
  /** When it last refreshed its registration (ISO time). */
  lastSeen: string
  /** Whether it refreshed its registration lately (within three of its heartbeats). */
  alive: boolean
  agents: WorkerAgent[]
}

/** What a worker writes in the registry hash. */
export type WorkerRecord = Omit<WorkerInfo, 'alive' | 'lastSeen'> & { lastSeen: number; heartbeatMs: number }

/** Registrations older than this are dropped: a worker that died long ago is no news. */
const FORGET_MS = 10 * 60_000

/** The project's workers, newest first; long-dead registrations are removed. */
export async function readWorkers(client: Redis, keys: Keys, now = Date.now()): Promise<WorkerInfo[]> {
  const all = await client.hgetall(keys.workers)
  const workers: WorkerInfo[] = []
  for (const [id, text] of Object.entries(all)) {
    let record: WorkerRecord
    try {
      record = JSON.parse(text) as WorkerRecord
    } catch {
      continue
    }
    if (now - record.lastSeen > FORGET_MS) {
      await client.hdel(keys.workers, id)
      continue
    }
    const { heartbeatMs, ...rest } = record
    workers.push({
      ...rest,
      lastSeen: new Date(record.lastSeen).toISOString(),
      alive: now - record.lastSeen < 3 * heartbeatMs,
    })
  }
  return workers.sort((a, b) => a.name.localeCompare(b.name))
}
