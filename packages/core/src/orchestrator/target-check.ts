import { askGateAlone, targetFailsNote, targetFailsOutput, targetFailsSaid } from '../land/target-fails.ts'
import type { GateAloneVerdict, Lander, LandRequest } from '../land/types.ts'
import type { Bus } from './bus.ts'
import type { TaskRecord, TaskTable } from './task-table.ts'

export interface TargetCheckOptions {
  lander: Pick<Lander, 'gateAlone' | 'targetTip'>
  table: TaskTable
  bus: Bus
  /** `land.verify` of the config: the only gate asked about on a base alone. */
  gate?: string | undefined
  /** The run stays on once settled (`--watch`): it sees a new commit on the target by itself. */
  staysOn?: boolean | undefined
  /** Aborted when the run stops: a gate run alone is cut short. */
  signal: AbortSignal
}

/**
 * The target fails `land.verify` by itself, without any task's work (a person's commit broke it):
 * `note` says so (`targetFailsNote`); `tip` is the target's tip when it was found; `tasks`, the
 * work that waits for it.
 */
export interface TargetBroken {
  note: string
  /** What the gate printed on the target alone: its telling lines (`targetFailsOutput`). */
  output: string[]
  tip: string
  tasks: string[]
}

/** What `TargetCheck.ask` found: the target fails the gate by itself. */
export interface TargetFails {
  note: string
  /** What the gate printed on the target alone: its telling lines (`targetFailsOutput`). */
  output: string[]
  /** The target's newest commit in the base (`GateAloneVerdict.commit`). */
  tip: string
}

/**
 * Whether the target fails the gate by itself, for the merge queue: asks the lander to run the
 * gate on a landing's base alone (once per base and command, however many tasks fail on it; the
 * decision and its words are `askGateAlone` and `targetFailsNote`), holds the `broken` state while
 * it does, and asks the lander for the target's tip now and then to see a new commit come.
 * The queue decides what lands; this only says whether the target is to blame.
 */
export class TargetCheck {
  private state: TargetBroken | undefined
  /** The gate's verdict on landing bases alone, by base and command: each is asked once. */
  private readonly alone = new Map<string, Promise<GateAloneVerdict | undefined>>()
  /** A `newCommit` asks the lander for the target's tip. */
  private rechecking = false

  constructor(private readonly options: TargetCheckOptions) {}

  /** Set while the target fails the gate by itself: nothing lands until it is `mend`ed. */
  get broken(): TargetBroken | undefined {
    return this.state
  }

  /**
   * After `land.verify` (`command`) failed on a task's work: whether it fails without it too, on
   * what the work was applied onto (`base`: the landed work and a person's commits). Undefined when
   * the task's work is to blame (the gate passed there), or nobody can tell; else what to say.
   * `target` names the target in the note; `exec`, where the gate runs (asked only if it runs).
   */
  async ask(
    command: string,
    base: string | undefined,
    target: string | undefined,
    exec: () => LandRequest['exec'] | undefined,
  ): Promise<TargetFails | undefined> {
    const { lander, gate, signal, staysOn } = this.options
    const key = `${base}\0${command}`
    let asked = this.alone.get(key)
    if (!asked) {
      asked = askGateAlone(lander, { command, base }, { gate, signal, exec: exec() })
      if (!asked) return undefined
      this.alone.set(key, asked)
    }
    const verdict = await asked
    // Unknown (it could not run there) or passed: the task's work is to blame, as before.
    if (!verdict || verdict.passed) {
      if (!verdict) this.alone.delete(key)
      return undefined
    }
    return {
      note: targetFailsNote(target ?? 'the target', command, verdict, staysOn),
      output: targetFailsOutput(verdict.output),
      tip: verdict.commit,
    }
  }

  /**
   * Holds landing for the target found failing (`ask`): `tasks` (the work waiting to land on it)
   * wait for it and say so, and the run is told once per note.
   */
  hold(found: TargetFails, tasks: string[]): void {
    const { table, bus } = this.options
    const first = this.state?.note !== found.note
    this.state = { note: found.note, output: found.output, tip: found.tip, tasks }
    for (const id of tasks) table.explain(table.get(id)!, `waits: ${found.note}`)
    // Why the target fails, under the note: what the gate printed there.
    if (first)
      bus.emit('orchestrator:error', { context: 'landing', message: targetFailsSaid(found.note, found.output) })
  }

  /** Complete work that came to land on the target while it fails: it waits too, and says so. */
  join(record: TaskRecord): void {
    if (!this.state) return
    if (!this.state.tasks.includes(record.task.id)) this.state.tasks.push(record.task.id)
    this.options.table.explain(record, `waits: ${this.state.note}`)
  }

  /**
   * While the target fails: asks the lander for the target's tip; true when a new commit came
   * (it may fix the gate). Cheap; asked on the run's poll.
   */
  async newCommit(): Promise<boolean> {
    const { lander } = this.options
    if (!this.state || this.rechecking || !lander.targetTip) return false
    this.rechecking = true
    let tip: string | undefined
    try {
      tip = await lander.targetTip()
    } catch {
      tip = undefined
    } finally {
      this.rechecking = false
    }
    return tip !== undefined && this.state !== undefined && tip !== this.state.tip
  }

  /** Lets landing go on (a new commit came, or `tanuki land`); true when it was held. */
  mend(): boolean {
    if (!this.state) return false
    const { table } = this.options
    for (const id of this.state.tasks) {
      const record = table.get(id)
      if (record?.reason?.startsWith('waits: ')) table.explain(record, undefined)
    }
    this.state = undefined
    return true
  }
}
