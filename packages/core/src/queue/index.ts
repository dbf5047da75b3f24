import type { TaskPriority } from '../task/types.ts'

/** Lower ranks are served first. */
export const PRIORITY_RANK: Readonly<Record<TaskPriority, number>> = { critical: 0, high: 1, medium: 2, low: 3 }

/** What the queue holds of a task. */
export interface QueueItem {
  id: string
  role: string
  priority: TaskPriority
}

interface Entry<T extends QueueItem> {
  item: T
  rank: number
  seq: number
  removed: boolean
}

/** A binary min-heap on (priority rank, arrival), so equal priorities come out first-in first-out. */
class Heap<T extends QueueItem> {
  readonly entries: Entry<T>[] = []

  push(entry: Entry<T>): void {
    const a = this.entries
    a.push(entry)
    let i = a.length - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (!before(a[i]!, a[parent]!)) break
      ;[a[i], a[parent]] = [a[parent]!, a[i]!]
      i = parent
    }
  }

  pop(): Entry<T> | undefined {
    const a = this.entries
    const top = a[0]
    const last = a.pop()
    if (a.length > 0 && last) {
      a[0] = last
      let i = 0
      for (;;) {
        const l = 2 * i + 1
        const r = l + 1
        let m = i
        if (l < a.length && before(a[l]!, a[m]!)) m = l
        if (r < a.length && before(a[r]!, a[m]!)) m = r
        if (m === i) break
        ;[a[i], a[m]] = [a[m]!, a[i]!]
        i = m
      }
    }
    return top
  }
}

function before<T extends QueueItem>(x: Entry<T>, y: Entry<T>): boolean {
  return x.rank < y.rank || (x.rank === y.rank && x.seq < y.seq)
}

/**
 * Ready tasks waiting for an agent: one priority queue per role, first-in first-out within a
 * priority. Enqueue and dequeue are O(log n); remove and contains are O(1) (removal is lazy: the
 * entry is skipped when it reaches the top).
 *
 * @example
 * const queue = new TaskQueue()
 * queue.enqueue(task)
 * const next = queue.dequeue('backend')
 */
export class TaskQueue<T extends QueueItem = QueueItem> {
  private readonly heaps = new Map<string, Heap<T>>()
  private readonly index = new Map<string, Entry<T>>()
  private readonly counts = new Map<string, number>()
  private seq = 0

  /** Adds a task; returns false (and changes nothing) if it is already queued. */
  enqueue(item: T): boolean {
    if (this.index.has(item.id)) return false
    const entry: Entry<T> = { item, rank: PRIORITY_RANK[item.priority], seq: this.seq++, removed: false }
    let heap = this.heaps.get(item.role)
    if (!heap) this.heaps.set(item.role, (heap = new Heap()))
    heap.push(entry)
    this.index.set(item.id, entry)
    this.counts.set(item.role, (this.counts.get(item.role) ?? 0) + 1)
    return true
  }

  /** Takes the most urgent task of a role, or `undefined` when none waits. */
  dequeue(role: string): T | undefined {
    const heap = this.heaps.get(role)
    if (!heap) return undefined
    for (let entry = heap.pop(); entry; entry = heap.pop()) {
      if (entry.removed) continue
      this.forget(entry)
      return entry.item
    }
    return undefined
  }

  /** The task `dequeue(role)` would return, left in place. */
  peek(role: string): T | undefined {
    const heap = this.heaps.get(role)
    if (!heap) return undefined
    while (heap.entries[0]?.removed) heap.pop()
    return heap.entries[0]?.item
  }

  /** Takes a task out wherever it is; returns whether it was queued. */
  remove(id: string): boolean {
    const entry = this.index.get(id)
    if (!entry) return false
    entry.removed = true
    this.forget(entry)
    return true
  }

  contains(id: string): boolean {
    return this.index.has(id)
  }

  /** Tasks waiting, in all roles or in one. */
  size(role?: string): number {
    return role === undefined ? this.index.size : (this.counts.get(role) ?? 0)
  }

  /** Waiting tasks per role (roles with none are left out). */
  sizes(): Record<string, number> {
    const sizes: Record<string, number> = {}
    for (const [role, count] of this.counts) if (count > 0) sizes[role] = count
    return sizes
  }

  /** Roles that have tasks waiting. */
  roles(): string[] {
    return Object.keys(this.sizes())
  }

  /** The queued items of a role in the order they would be dequeued. O(n log n); for display. */
  list(role?: string): T[] {
    const entries = [...this.index.values()].filter((entry) => role === undefined || entry.item.role === role)
    return entries.sort((a, b) => a.rank - b.rank || a.seq - b.seq).map((entry) => entry.item)
  }

  clear(): void {
    this.heaps.clear()
    this.index.clear()
    this.counts.clear()
  }

  private forget(entry: Entry<T>): void {
    this.index.delete(entry.item.id)
    this.counts.set(entry.item.role, (this.counts.get(entry.item.role) ?? 1) - 1)
  }
}
