import { TanukiError } from '../errors.ts'
import type { LandResult } from '../land/types.ts'
import type { TaskStatus } from '../task/types.ts'
import { IN_FLIGHT, type TaskRecord } from './task-table.ts'
import type { RunContext } from './types.ts'

/** What a person's commands may touch of the run, and ask of it. */
export type CommandContext = Pick<
  RunContext,
  | 'config'
  | 'clock'
  | 'bus'
  | 'table'
  | 'queue'
  | 'state'
  | 'landing'
  | 'enqueue'
  | 'unsettle'
  | 'dispatchAll'
  | 'checkSettled'
  | 'durable'
> & {
  /**
   * A person reruns or resets a task whose verify its role holds (it could not run): that task
   * tries it again first, before its agent works; the others it holds wait for what it finds.
   */
  retryVerify(record: TaskRecord): void
  /** A person settled a task (marked it): one its held verify waited for tries no more. */
  settledByHand(record: TaskRecord): void
}

/**
 * What a person asks of a running orchestrator (`tanuki task rerun|reset|mark`, `tanuki land`).
 * A command for a task in flight stops its run and waits, as an override, until that unwinds:
 * what the person asked wins over whatever the run ended with.
 */
export class Commands {
  /** Work a person asked for (rerun, reset, mark) while the task ran: applied once its run unwinds. */
  private readonly overrides = new Map<string, () => void>()

  constructor(private readonly ctx: CommandContext) {}

  /** See `Orchestrator.rerun`. */
  async rerun(id: string, options: { withDependents?: boolean } = {}): Promise<void> {
    const ids = [id, ...(options.withDependents ? this.ctx.table.resolver.transitiveDependents(id) : [])]
    const records = ids.map((each) => this.commanded(each))
    for (const record of records) this.command(record, () => this.toPending(record, 'rerun by a person', false))
    await this.afterCommand()
  }

  /** See `Orchestrator.reset`. */
  async reset(id: string): Promise<void> {
    const record = this.commanded(id)
    this.command(record, () => this.toPending(record, 'reset by a person', true))
    await this.afterCommand()
  }

  /** See `Orchestrator.mark`. */
  async mark(
    id: string,
    status: Extract<TaskStatus, 'complete' | 'failed'>,
    options: { landed?: boolean } = {},
  ): Promise<void> {
    if (status !== 'complete' && status !== 'failed') {
      throw new TanukiError(
        'TANUKI_TASK_STATUS',
        `A task can be marked complete or failed, not "${status}"; use rerun or reset to run it again.`,
      )
    }
    if (options.landed && status !== 'complete') {
      throw new TanukiError('TANUKI_TASK_STATUS', 'Only a task marked complete can be marked landed.')
    }
    const { table, queue } = this.ctx
    const record = this.commanded(id)
    this.command(record, () => {
      queue.remove(id)
      this.ctx.settledByHand(record)
      if (status === 'failed') return table.fail(record, 'marked failed by a person')
      // Its work is on the target by a person's hand: nothing to land, and no landing failure left.
      this.ctx.landing()?.forget(id)
      if (options.landed) {
        this.ctx.landing()?.unhold(id)
        table.note(record, { landed: { commit: 'by hand', at: this.ctx.clock.now() }, feedback: null })
        // Reports built from events (the summary, JUnit, the dashboard) show it landed too.
        this.ctx.bus.emit('task:landed', { taskId: id, commit: 'by hand', moved: true })
      }
      // Accepted as it is: its landing does not run its own verify again (that may be why it was in review).
      if (record.task.status !== 'complete' && !record.accepted) table.note(record, { accepted: true })
      const ready = table.setStatus(record, 'complete', { reason: 'marked complete by a person' })
      if (this.ctx.config.land.auto) this.ctx.landing()?.add(id)
      // Complete already, its dependents that waited for its work (on another branch) may start now.
      const waited = options.landed ? table.resolver.dependents(id).filter((each) => table.resolver.isReady(each)) : []
      for (const each of new Set([...ready, ...table.unblockDependents(id), ...waited])) this.ctx.enqueue(each)
    })
    await this.afterCommand()
  }

  /** See `Orchestrator.land`. */
  async land(): Promise<LandResult> {
    this.mustRun()
    const landing = this.ctx.landing()
    if (!landing) {
      throw new TanukiError(
        'TANUKI_LAND_OFF',
        'Landing is off for this run (land: false, or no lander: not a git repository).',
      )
    }
    // Stopped by a gate that cannot run: this run's config still has it, so nothing would land.
    if (landing.stopped) {
      throw new TanukiError(
        'TANUKI_LAND_STOPPED',
        `Landing stopped in this run: ${landing.stopped.replace(/ Fix it.*$/, '')} Stop the run (\`tanuki project stop\`), fix it, then run \`tanuki land\`.`,
      )
    }
    // The target failed the gate by itself: the person may have fixed it; the gate says.
    landing.mended()
    landing.addUnlanded()
    await landing.idle()
    // What landed may still wait for the target, or for its push: the person may have made way for it since.
    await landing.retarget()
    const elsewhere = landing.elsewhere()
    return {
      held: landing.held ? [...landing.held.tasks] : [],
      ...(landing.held ? { note: landing.held.note } : landing.broken ? { note: landing.broken.note } : {}),
      ...(elsewhere.length > 0 ? { elsewhere } : {}),
      ...(landing.pushFailed ? { pushFailed: landing.pushFailed } : {}),
    }
  }

  /** The command a person gave while the task ran, if any: taken, so it applies once. */
  takeOverride(id: string): (() => void) | undefined {
    const override = this.overrides.get(id)
    this.overrides.delete(id)
    return override
  }

  /** Commands reach a running orchestrator only. */
  private mustRun(): void {
    const state = this.ctx.state()
    if (state !== 'running') {
      throw new TanukiError(
        'TANUKI_ORCHESTRATOR_STATE',
        `The run is ${state}; commands reach a running orchestrator only.`,
      )
    }
  }

  private commanded(id: string): TaskRecord {
    this.mustRun()
    const record = this.ctx.table.get(id)
    if (!record) throw new TanukiError('TANUKI_TASK_NOT_FOUND', `No task "${id}" in this run.`, { details: { id } })
    return record
  }

  /** Applies a command now, or, for a task in flight, stops its run and applies it once that unwinds. */
  private command(record: TaskRecord, apply: () => void): void {
    this.ctx.unsettle()
    if (IN_FLIGHT.has(record.task.status)) {
      this.overrides.set(record.task.id, apply)
      record.controller?.abort('a person changed the task')
      return
    }
    apply()
  }

  private toPending(record: TaskRecord, reason: string, clear: boolean): void {
    const { table, queue } = this.ctx
    const id = record.task.id
    queue.remove(id)
    this.ctx.landing()?.forget(id)
    this.ctx.landing()?.unhold(id)
    // Before the status, whose event and mirror tell the iterations it keeps. A rerun keeps them
    // as its history and counts its fresh tries from there, in the journal, so a resume (or a
    // landing that fails) counts them the same.
    table.note(record, {
      attempts: 0,
      landed: null,
      feedback: null,
      ...(clear
        ? { iterations: 0, triesFrom: null, lastError: null }
        : { triesFrom: record.iterations > 0 ? record.iterations : null }),
    })
    const ready = table.setStatus(record, 'pending', { reason })
    table.blockIfStuck(record)
    // Its verify could not run, and held it: the person who asks again may have fixed it.
    this.ctx.retryVerify(record)
    for (const each of [id, ...ready, ...table.unblockDependents(id)]) this.ctx.enqueue(each)
  }

  private async afterCommand(): Promise<void> {
    this.ctx.dispatchAll()
    this.ctx.checkSettled()
    await this.ctx.durable()
  }
}
