import type { Clock } from '../clock.ts'
import { errorMessage, isTanukiError } from '../errors.ts'
import type { TaskSource } from '../source/types.ts'
import type { TaskPatch, TaskStatus } from '../task/types.ts'
import type { Bus } from './bus.ts'
import type { TanukiEvents } from './events.ts'

/** How long status changes gather before they are written to the task files. */
export const MIRROR_DELAY_MS = 200

/** How long after the last file whose status was written back people are told of them all (one line for a checkout). */
export const RESTORED_NOTICE_MS = 1000

/** How many task files the mirror writes at a time. */
const MIRROR_WRITERS = 8

/**
 * Writes the journal's statuses back into the tasks' sources (the front matter of task files), in
 * the background: changes to one task are coalesced (only the latest values are written), and a
 * write never holds up the run. The journal is the authority; this is a mirror for people reading
 * their task files, and can be turned off (`mirrorStatus: false`).
 *
 * Changes gather in windows of `MIRROR_DELAY_MS`. A task whose first change came in one window is
 * written when the next one ends, so every task's changes wait at least that long: a task
 * assigned, started and done within it is written once, as done. (Written at the end of the
 * window of its first change, about half the tasks of a quick run straddled two windows and were
 * written twice: a thousand-task run wrote 1,600 files for 1,000 tasks.)
 */
export class StatusMirror {
  /** What waits to be written, by task, with the window of its first change. */
  private readonly pending = new Map<
    string,
    { source: TaskSource; patch: TaskPatch; window: number; base?: TaskStatus }
  >()
  /** The window changes gather in now. */
  private window = 0
  private cancel: (() => void) | undefined
  private writing: Promise<void> = Promise.resolve()
  /** Task ids whose last write failed, with why: a run that could not write its mirror says so. */
  readonly failures = new Map<string, string>()
  /** Files whose status the journal overruled, not told yet. */
  private readonly untold = new Map<string, TanukiEvents['task:status-restored']['tasks'][number]>()
  /** What was told this run (`id:status`): a person is told once, not at every checkout. */
  private readonly told = new Set<string>()
  private cancelNotice: (() => void) | undefined

  constructor(
    private readonly bus: Bus,
    private readonly clock: Clock,
    private readonly enabled: boolean,
  ) {}

  /**
   * Queues values to write into a task's source, merged with those still waiting. `from`: the
   * status the task leaves, which its source holds when nothing waits for it.
   */
  set(id: string, source: TaskSource, patch: TaskPatch, from?: TaskStatus): void {
    if (!this.enabled) return
    const waiting = this.pending.get(id)
    if (waiting) {
      waiting.source = source
      waiting.patch = { ...waiting.patch, ...patch }
      // Back where it was before anything was written, with nothing of its own left to say (an
      // agent that could not start: no try ran): the file is left as it was.
      if (
        waiting.patch.status === waiting.base &&
        Object.entries(waiting.patch).every(([key, value]) => key === 'status' || value === null)
      ) {
        this.pending.delete(id)
        return
      }
    } else this.pending.set(id, { source, patch, window: this.window, ...(from === undefined ? {} : { base: from }) })
    this.cancel ??= this.clock.setTimeout(() => this.endWindow(), MIRROR_DELAY_MS)
  }

  /**
   * A task's file said another status than the journal has: `set` writes the journal's back, and
   * this tells people (`task:status-restored`), with the others that come until none has for
   * `RESTORED_NOTICE_MS`.
   */
  restored(said: TanukiEvents['task:status-restored']['tasks'][number]): void {
    if (!this.enabled) return
    const key = `${said.taskId}:${said.fileStatus}`
    if (this.told.has(key)) return
    this.told.add(key)
    this.untold.set(said.taskId, said)
    // Told once they stop coming for a while: a checkout's files arrive one by one.
    this.cancelNotice?.()
    this.cancelNotice = this.clock.setTimeout(() => this.tell(), RESTORED_NOTICE_MS)
  }

  /** Tells now what was written back and not told yet. */
  tell(): void {
    this.cancelNotice?.()
    this.cancelNotice = undefined
    if (this.untold.size === 0) return
    const tasks = [...this.untold.values()]
    this.untold.clear()
    this.bus.emit('task:status-restored', { tasks })
  }

  /** Writes everything waiting now; resolves when every write so far has ended. */
  flush(): Promise<void> {
    this.tell()
    this.cancel?.()
    this.cancel = undefined
    return this.take(() => true)
  }

  /** Writes the tasks whose first change came before this window, and starts the next window. */
  private endWindow(): void {
    this.cancel = undefined
    const ended = this.window++
    void this.take((window) => window < ended)
    if (this.pending.size > 0) this.cancel = this.clock.setTimeout(() => this.endWindow(), MIRROR_DELAY_MS)
  }

  /** Writes the tasks waiting whose window `chosen` picks, after the batch before them. */
  private take(chosen: (window: number) => boolean): Promise<void> {
    const batch: [string, { source: TaskSource; patch: TaskPatch }][] = []
    for (const entry of this.pending) if (chosen(entry[1].window)) batch.push(entry)
    for (const [id] of batch) this.pending.delete(id)
    if (batch.length > 0) this.writing = this.writing.then(() => this.write(batch))
    return this.writing
  }

  /**
   * Writes a batch, several tasks at a time: one after another, a run of quick tasks wrote its
   * statuses more slowly than it made them, and a thousand-task run ended with a second of writes
   * left (bench/cli.bench.ts). A task appears once in a batch, and a batch starts after the last.
   */
  private async write(batch: [string, { source: TaskSource; patch: TaskPatch }][]): Promise<void> {
    let next = 0
    const worker = async (): Promise<void> => {
      while (next < batch.length) {
        const [id, { source, patch }] = batch[next++]!
        try {
          await source.update(id, patch)
          this.failures.delete(id)
        } catch (error) {
          // The task's file is gone (a checkout or stash of the task folder, a person removed it):
          // there is nothing to mirror. The journal keeps the status, and writes it back into a
          // file that comes back (its change is a status the journal disagrees with).
          if (isTanukiError(error) && error.code === 'TANUKI_TASK_NOT_FOUND') {
            this.failures.delete(id)
            continue
          }
          this.failures.set(id, errorMessage(error))
          this.bus.emit('orchestrator:error', { context: `writing the status of ${id}`, message: errorMessage(error) })
        }
      }
    }
    await Promise.all(Array.from({ length: Math.min(MIRROR_WRITERS, batch.length) }, worker))
  }
}
