import { errorMessage, targetOfError } from '../errors.ts'
import type { Lander, LandingFeedback, LandingStart, LandRequest, PushFailure } from '../land/types.ts'
import type { ResolvedConfig } from '../plugin/index.ts'
import { setupFailure, type RoleSetup } from '../plugin/roles.ts'
import type { RunStore } from '../state/types.ts'
import type { Bus } from './bus.ts'
import { gateFailureKey } from './gate-failure.ts'
import { PushState } from './push-state.ts'
import { TargetCheck, type TargetBroken } from './target-check.ts'
import type { TaskRecord, TaskTable } from './task-table.ts'
import { triesSpent } from './tries.ts'

export interface LandingOptions {
  lander: Lander
  table: TaskTable
  bus: Bus
  now: () => number
  /** Queues a task sent back to an agent (and its dependents that became ready). */
  enqueue: (id: string) => void
  /** Hands queued work to idle agents. */
  dispatchAll: () => void
  /** A landing ended: the run may have settled, dependents may be landable. */
  onChange: () => void
  /** Where a role's gate commands run, when its backend has a sandbox (`AgentBackend.execIn`). */
  sandbox?: (role: string) => LandRequest['exec'] | undefined
  /** A role's `setup`, run in the integration worktree before the gate of its tasks. */
  setup?: (role: string) => RoleSetup | undefined
  /** The same landing failure this many times in a row sends the task to review. Default 3. */
  sameFailureLimit?: number
  /** `land.verify` of the config, to name it when it is the gate that cannot run. */
  gate?: string
  /** The run stays on once settled (`--watch`): it sees a new commit on the target by itself. */
  staysOn?: boolean
  /** Whether the target is on `land.push`'s remote: told how each push went. */
  push?: PushState
}

/**
 * The merge queue: completed tasks land one at a time, each only after every dependency of it has
 * landed, and among those ready in the order they completed. The lander applies the work, gates it
 * and moves the target; this decides what lands when, and what happens when it cannot.
 */
export class LandingQueue {
  /** Complete, not landed, in completion order. */
  private readonly waiting: string[] = []
  private current: Promise<void> | undefined
  private readonly controller = new AbortController()
  private closed = false
  private readonly idlers: (() => void)[] = []
  /** Where agents start a task from, once `prepare` said. */
  base: string | undefined
  /** Branches that work waits for and that no longer exist, as `prepare` found. */
  private gone: ReadonlySet<string> = new Set()
  /** Landings of earlier runs that the landed work lacks (made on another branch), with the branches that hold them. */
  private notHere: ReadonlyMap<string, string[]> = new Map()
  target: string | undefined
  /** What the lander said of the target itself at `prepare` (kept on a detached HEAD). */
  notice: string | undefined
  /**
   * Why landing stopped for the rest of the run, if it did: a gate command that cannot run at all
   * (exit 126 or 127) fails every landing the same way, and no agent can fix it.
   */
  stopped: string | undefined
  /**
   * Landed work the target has not reached, because it could not move forward: the tasks in the
   * order they landed, and the lander's note (why, what to do). A landing that moves it clears this.
   */
  held: { tasks: string[]; note: string } | undefined
  /** Whether the target fails `land.verify` by itself, and what waits for it meanwhile. */
  private readonly check: TargetCheck
  /** The last landing failure of each task and how many times in a row it came. */
  private readonly failures = new Map<string, { key: string; count: number }>()
  /**
   * A landing failed in the lander itself, and the target was settled again for it: until a
   * landing goes through, another such failure is said, not settled again (no loop).
   */
  private resettled = false

  constructor(private readonly options: LandingOptions) {
    const { lander, table, bus, gate, staysOn } = options
    this.check = new TargetCheck({ lander, table, bus, gate, staysOn, signal: this.controller.signal })
  }

  /**
   * The target fails `land.verify` by itself, without any task's work (a person's commit broke it):
   * no agent is to blame, so none is sent back, and nothing lands until a new commit comes to the
   * target (asked now and then, `recheck`) or a person runs `tanuki land`. `note` says so; `tip`
   * is the target's tip when it was found; `tasks`, the work that waits for it.
   */
  get broken(): TargetBroken | undefined {
    return this.check.broken
  }

  /**
   * Asks the lander to settle the target; records work that a crash left landed but unrecorded,
   * and says again where the landings that waited for the target stand.
   */
  async prepare(recordedTarget: string | undefined, fresh = false): Promise<void> {
    const { table, bus } = this.options
    let start: LandingStart
    // Every branch the records say work waits for (unlanded work of the last run's target too):
    // which of them still exist, only the lander can tell.
    const waitingFor = new Set<string>(recordedTarget ? [recordedTarget] : [])
    for (const record of table.values()) {
      if (record.task.status !== 'complete') continue
      const waits = record.landed ? record.landed.heldBack?.target : record.target
      if (waits) waitingFor.add(waits)
    }
    // What work still to do builds on, landed by earlier runs: maybe on another branch than this one.
    const landings = new Set<string>()
    for (const record of table.values()) {
      if (record.task.status === 'complete') continue
      for (const dep of record.task.dependsOn) {
        const landed = (table.get(dep) ?? table.gone(dep))?.landed
        if (landed && !landed.heldBack && !landed.empty && landed.commit !== 'by hand') landings.add(landed.commit)
      }
    }
    try {
      start = await this.options.lander.prepare({
        ...(recordedTarget ? { target: recordedTarget } : {}),
        ...(fresh ? { fresh } : {}),
        ...(waitingFor.size > 0 ? { waitingFor: [...waitingFor] } : {}),
        ...(landings.size > 0 ? { landings: [...landings] } : {}),
      })
    } catch (error) {
      // The target could not be settled (its own new commits conflict with the work that waits
      // for it): that is why the work waits now, and what the person must do.
      const note = errorMessage(error)
      if (this.held) {
        this.held = { ...this.held, note }
        for (const id of this.held.tasks) this.hold(id, note)
      } else {
        // At a run's start: the work an earlier run left waiting for the target that could not be
        // settled, as its records say. Work held for another branch waits for its own reasons.
        const target = targetOfError(error)
        for (const record of table.values()) {
          const { landed } = record
          if (!landed?.heldBack || landed.commit === 'by hand' || landed.heldBack.note === note) continue
          if (landed.heldBack.target !== target) continue
          table.note(record, { landed: { ...landed, heldBack: { ...landed.heldBack, note } } })
        }
      }
      throw error
    }
    this.base = start.base
    this.target = start.target
    this.options.push?.saw(start.push)
    this.notice = start.notice
    this.gone = new Set(start.gone)
    this.notHere = new Map((start.notHere ?? []).map(({ commit, branches }) => [commit, branches]))
    for (const { taskId, commit } of start.landed) {
      const record = table.get(taskId)
      // Only work still complete: a task rerun since is to land again.
      if (record && !record.landed && record.task.status === 'complete')
        table.note(record, { landed: { commit, at: this.options.now() } })
    }
    // Taken off the integration branch, which started again from the target (a person's commits
    // there conflict with them): landed no more, they land again from their work, or go to an agent.
    for (const { taskId } of start.relanding ?? []) {
      const record = table.get(taskId)
      if (record?.landed && record.landed.commit !== 'by hand') table.note(record, { landed: null })
      this.unhold(taskId)
    }
    // Tasks of this project recorded landed by the lander (not by hand) and still complete.
    const ours = (landings: LandingStart['held']) =>
      (landings ?? []).filter(({ taskId }) => {
        const record = table.get(taskId)
        return record?.task.status === 'complete' && record.landed && record.landed.commit !== 'by hand'
      })
    const target = { target: start.target }
    const held = ours(start.held)
    const still = new Set(held.map(({ taskId }) => taskId))
    const caughtUp = ours(start.caughtUp)
    // Recorded as waiting, and the lander no longer says so: the target reached them meanwhile
    // (a person moved it).
    for (const record of table.values()) {
      const { landed } = record
      if (landed?.heldBack?.target !== start.target || still.has(record.task.id)) continue
      if (!caughtUp.some(({ taskId }) => taskId === record.task.id))
        caughtUp.push({ taskId: record.task.id, commit: landed.commit })
    }
    for (const { taskId, commit } of caughtUp) {
      this.reached(taskId)
      bus.emit('task:landed', { taskId, commit, moved: true, ...target })
    }
    this.held = undefined
    if (held.length === 0) return
    const note = start.note ?? `${start.target} could not move forward to the landed work`
    this.held = { tasks: held.map(({ taskId }) => taskId), note }
    for (const { taskId, commit } of held) {
      this.hold(taskId, note)
      bus.emit('task:landed', { taskId, commit, moved: false, note, ...target })
    }
  }

  /** Records that a task's landing waits on the integration branch for the target (`note`: why). */
  private hold(id: string, note: string): void {
    const record = this.options.table.get(id)
    const landed = record?.landed
    if (!record || !landed || landed.commit === 'by hand') return
    const heldBack = { target: this.target ?? '', note }
    if (landed.heldBack?.target === heldBack.target && landed.heldBack.note === note) return
    this.options.table.note(record, { landed: { ...landed, heldBack } })
  }

  /** Records that the target reached a task's landing, which waited for it. */
  private reached(id: string): void {
    const record = this.options.table.get(id)
    const landed = record?.landed
    if (!record || !landed?.heldBack) return
    const { heldBack: _was, ...rest } = landed
    this.options.table.note(record, { landed: rest })
  }

  /**
   * When landed work waits for the target, or the target's last push failed, asks the lander to
   * settle it again, which pushes it again (`tanuki land` during a run, once a person committed or
   * stashed what held it back, or fixed what refused the push).
   */
  async retarget(): Promise<void> {
    if ((!this.held && !this.pushFailed) || this.closed) return
    await this.idle()
    const held = this.held?.tasks ?? []
    await this.prepare(this.target)
    // Taken off the integration branch (`LandingStart.relanding`): they land again now.
    if (held.some((id) => !this.options.table.get(id)?.landed)) {
      this.addUnlanded()
      await this.idle()
    }
  }

  /**
   * Adds a complete task to the queue (if it has not landed) and lands what can land: a task
   * landed by hand lets its dependents land.
   */
  add(id: string): void {
    if (this.closed) return
    if (!this.waiting.includes(id) && !this.options.table.get(id)?.landed) this.waiting.push(id)
    // The target fails the gate by itself: this work waits for it too, and says so.
    const record = this.options.table.get(id)
    if (this.broken && record?.task.status === 'complete' && !record.landed && this.landsHere(record))
      this.check.join(record)
    this.pump()
  }

  /** Whether a landing runs or could run now: the run is not settled while one does. */
  busy(): boolean {
    return this.current !== undefined || this.next() !== undefined
  }

  /** Resolves once nothing is landing and nothing waiting can land. */
  idle(): Promise<void> {
    if (!this.busy()) return Promise.resolve()
    return new Promise((resolve) => this.idlers.push(resolve))
  }

  /** Adds every complete task whose work has not landed, in the order they completed. */
  addUnlanded(): void {
    const complete = [...this.options.table.values()].filter(
      (record) => record.task.status === 'complete' && !record.landed,
    )
    complete.sort((a, b) => (a.completedAt ?? 0) - (b.completedAt ?? 0))
    for (const record of complete) this.add(record.task.id)
  }

  /** Tasks complete but not landed, in the order they wait. */
  pending(): readonly string[] {
    return this.waiting
  }

  /**
   * A person settled a task (rerun, reset, marked): its run of landing failures starts over, and
   * it leaves the queue (it comes back when it is complete again, unless landed by hand).
   */
  forget(id: string): void {
    this.failures.delete(id)
    const at = this.waiting.indexOf(id)
    if (at !== -1) this.waiting.splice(at, 1)
  }

  /**
   * The task's landing is void (rerun, reset) or a person's (landed by hand): it no longer waits
   * for the target.
   */
  unhold(id: string): void {
    if (!this.held?.tasks.includes(id)) return
    const tasks = this.held.tasks.filter((each) => each !== id)
    this.held = tasks.length > 0 ? { ...this.held, tasks } : undefined
  }

  /** Whether a task's complete work is for this run's target: not done for another branch. */
  landsHere(record: TaskRecord): boolean {
    return record.target === undefined || record.target === this.target
  }

  /**
   * Complete work that waits for another branch than this run's target, the one it was done for:
   * held on that branch's integration branch, or not landed yet. Each target with its tasks.
   */
  elsewhere(): { target: string; tasks: string[] }[] {
    const byTarget = new Map<string, string[]>()
    const records = [...this.options.table.values()].filter((record) => record.task.status === 'complete')
    records.sort((a, b) => (a.completedAt ?? 0) - (b.completedAt ?? 0))
    for (const record of records) {
      const waits = this.waitsElsewhere(record)
      if (waits !== undefined) byTarget.set(waits, [...(byTarget.get(waits) ?? []), record.task.id])
    }
    return [...byTarget].map(([target, tasks]) => ({ target, tasks }))
  }

  /** The other branch a complete task's work waits for (held back there, or done for it), if any. */
  private waitsElsewhere(record: TaskRecord): string | undefined {
    if (record.task.status !== 'complete') return undefined
    const waits = record.landed ? record.landed.heldBack?.target : record.target
    return waits === undefined || waits === this.target ? undefined : waits
  }

  /**
   * Why a task must not start in this run, when one of its dependencies' work waits for another
   * branch: an agent here would start without that work (it is on no branch of this run), and its
   * own work would land on this run's target without what it builds on.
   */
  dependencyElsewhere(record: TaskRecord): string | undefined {
    for (const dep of record.task.dependsOn) {
      const depRecord = this.options.table.get(dep)
      // Landed by an earlier run on another branch, which this one does not hold (landed again
      // since, its commit is another). Its file may be gone since.
      const landed = (depRecord ?? this.options.table.gone(dep))?.landed
      const holders = landed ? this.notHere.get(landed.commit) : undefined
      if (landed && holders) return this.landedElsewhere(dep, landed.commit, holders)
      const waits = depRecord && this.waitsElsewhere(depRecord)
      if (waits === undefined) continue
      // Gone (merged and deleted): it lands only where a person names it, and here is where it is needed.
      if (this.gone.has(waits)) {
        return (
          `its dependency ${dep} waits to land on ${waits}, the branch its work was done for, which no longer exists: ` +
          `land ${dep} on ${this.target} (\`tanuki land --into ${this.target}\`); then start again`
        )
      }
      return (
        `its dependency ${dep} waits to land on ${waits}, the branch its work was done for, and this run lands on ` +
        `${this.target}: land ${dep} there (\`tanuki land --into ${waits}\`) and bring ${waits} into ${this.target}, ` +
        'or run the project on that branch; then start again'
      )
    }
    return undefined
  }

  /** Why a task waits for its dependency `dep`, landed as `commit` on other branches than this run's target (`holders`). */
  private landedElsewhere(dep: string, commit: string, holders: readonly string[]): string {
    const here = this.target ?? 'this branch'
    const short = commit.slice(0, 12)
    const [branch] = holders
    if (branch === undefined) {
      return (
        `its dependency ${dep} landed as ${short} on a branch that no longer holds it, and ${here} does not either: ` +
        `bring it in (\`git cherry-pick ${short}\`), or run ${dep} again (\`tanuki task rerun ${dep}\`); then start again`
      )
    }
    const on = holders.length > 1 ? `${holders.slice(0, 3).join(', ')}${holders.length > 3 ? ', …' : ''}` : branch
    return (
      `its dependency ${dep} landed on ${on}, not on ${here}, so its work is not here: bring ${branch} into ${here} ` +
      `(\`git merge ${branch}\`), or run the project on ${branch}; if its work is on ${here} already (squashed), ` +
      `\`tanuki task mark ${dep} complete --landed\`; then start again`
    )
  }

  /** The first waiting task whose dependencies have all landed (none once landing stopped). */
  private next(): TaskRecord | undefined {
    const { table } = this.options
    if (this.stopped || this.broken) return undefined
    for (const id of this.waiting) {
      const record = table.get(id)
      if (!record || record.task.status !== 'complete' || !this.landsHere(record)) continue
      if (record.task.dependsOn.every((dep) => table.dependencyLanded(dep))) return record
    }
    return undefined
  }

  private pump(): void {
    if (this.current || this.closed || this.stopped) {
      if (!this.current) for (const resolve of this.idlers.splice(0)) resolve()
      return
    }
    const record = this.next()
    if (!record) {
      for (const resolve of this.idlers.splice(0)) resolve()
      return
    }
    this.current = this.land(record).finally(() => {
      this.current = undefined
      this.options.onChange()
      this.pump()
    })
  }

  private async land(record: TaskRecord): Promise<void> {
    const { table, bus, lander } = this.options
    const id = record.task.id
    const forget = (): void => {
      const at = this.waiting.indexOf(id)
      if (at !== -1) this.waiting.splice(at, 1)
    }
    try {
      const exec = this.options.sandbox?.(record.task.role)
      const setup = this.options.setup?.(record.task.role)
      const outcome = await lander.land({
        task: record.task,
        ...(exec ? { exec } : {}),
        ...(setup ? { setup: setup.command } : {}),
        ...(record.task.assignedTo ? { agent: record.task.assignedTo } : {}),
        ...(record.accepted ? { accepted: true } : {}),
        signal: this.controller.signal,
        onGate: ({ command, setup }) => bus.emit('task:land-gate', { taskId: id, command, setup }),
      })
      forget()
      this.resettled = false
      if (outcome.status === 'landed') this.options.push?.saw(outcome.push)
      // The target is at the landed work: every landing that waited for it is on it now.
      if (outcome.status === 'landed' && outcome.moved) {
        for (const each of this.held?.tasks ?? []) this.reached(each)
        this.held = undefined
      }
      // A person reran or reset it while it landed: what landed is still its work, but it will land again.
      if (record.task.status !== 'complete') return
      // A person said its work is there (marked landed by hand) while it landed: theirs stands.
      if (record.landed?.commit === 'by hand') return
      if (outcome.status === 'landed') {
        // Nothing of an empty landing waits for the target: only the landings before it do.
        const note =
          outcome.moved || outcome.empty
            ? undefined
            : (outcome.note ?? `${this.target} could not move forward to the landed work`)
        table.note(record, {
          landed: {
            commit: outcome.commit,
            at: this.options.now(),
            ...(note === undefined ? {} : { heldBack: { target: this.target ?? '', note } }),
            ...(outcome.empty ? { empty: outcome.empty } : {}),
          },
          feedback: null,
          ...(record.target === undefined ? {} : { target: null }),
        })
        if (note !== undefined) this.held = { tasks: [...(this.held?.tasks ?? []), id], note }
        bus.emit('task:landed', {
          taskId: id,
          commit: outcome.commit,
          moved: outcome.moved,
          ...(outcome.note ? { note: outcome.note } : {}),
          ...(this.target ? { target: this.target } : {}),
          ...(outcome.empty ? { empty: outcome.empty } : {}),
        })
      } else if (outcome.status === 'conflict') {
        const { status: _status, ...conflict } = outcome
        bus.emit('task:conflict', { taskId: id, files: conflict.files, what: conflict.what, landing: true })
        this.sendBack(record, { kind: 'conflict', ...conflict })
      } else {
        const { command, exitCode, output } = outcome
        bus.emit('task:land-failed', { taskId: id, command, exitCode, output })
        // A setup that cannot run at all is the config's; one that fails on the combined work (it
        // passed in the agent's workspace, before the task's change) is most likely the task's
        // work (a manifest edited, a lockfile out of sync): back to an agent, as a gate's failure.
        if (outcome.setup && (exitCode === 126 || exitCode === 127 || exitCode === null))
          this.stopForSetup(record, command, exitCode, output)
        else if (!outcome.setup && (exitCode === 126 || exitCode === 127)) this.stop(record, command, exitCode, output)
        else if (!outcome.setup && (await this.targetFails(record, command, outcome.base))) return
        else if (!outcome.setup && record.accepted) this.keepAccepted(record, command, exitCode, output)
        else this.sendBack(record, { kind: 'gate', command, exitCode, output })
      }
    } catch (error) {
      // The lander itself failed (the target's own new commits conflict with landed work that
      // waits for it, git broken, the run stopping): nothing moved.
      forget()
      if (this.controller.signal.aborted) return
      // Settled again, as a start would: the lander may start the integration branch again from
      // the target, and the work that waited there lands again from its work (one that conflicts
      // goes to an agent), this one after it. Once; otherwise it waits for `tanuki land`.
      if (await this.resettle()) return
      bus.emit('orchestrator:error', { context: `landing ${id}`, message: errorMessage(error) })
    }
  }

  /** Asks the lander to settle the target again after a landing failed in it; true when it did. */
  private async resettle(): Promise<boolean> {
    if (this.resettled) return false
    this.resettled = true
    try {
      await this.prepare(this.target)
    } catch {
      return false
    }
    this.addUnlanded()
    return true
  }

  /**
   * After `land.verify` failed on a task's work: whether it fails without it too, on what the work
   * was applied onto (the landed work and a person's commits). Then the target is to blame, not the
   * task: its work waits, complete, its try not counted, and landing holds (`broken`). One gate run
   * per base and command, however many tasks fail on it; none after a gate that passed.
   */
  private async targetFails(record: TaskRecord, command: string, base: string | undefined): Promise<boolean> {
    const { table } = this.options
    const found = await this.check.ask(command, base, this.target, () => this.options.sandbox?.(record.task.role))
    if (!found) return false
    if (this.controller.signal.aborted) return true
    // Still complete (a person may have rerun it meanwhile): it lands first once the target passes.
    if (record.task.status === 'complete' && !record.landed && !this.waiting.includes(record.task.id))
      this.waiting.unshift(record.task.id)
    // Every work waiting to land here waits for the target now, and says so.
    const tasks = this.waiting.filter((id) => {
      const each = table.get(id)
      return each?.task.status === 'complete' && !each.landed && this.landsHere(each)
    })
    this.check.hold(found, tasks)
    return true
  }

  /**
   * While the target fails the gate by itself: asks the lander for the target's tip, and lands
   * again when a new commit came (it may fix the gate). Cheap; called on the run's poll.
   */
  async recheck(): Promise<void> {
    if (this.closed) return
    if (await this.check.newCommit()) this.mended()
  }

  /** Lands again after the target failed the gate by itself (a new commit came, or `tanuki land`). */
  mended(): void {
    if (this.check.mend()) this.pump()
  }

  /**
   * A completed task's work could not land (a conflict, a gate that failed on the combined work):
   * back to an agent of its role, with why in its next prompt, on top of what has landed; or to
   * review when its tries are spent.
   */
  private sendBack(record: TaskRecord, feedback: LandingFeedback): void {
    const { table, bus } = this.options
    const why =
      feedback.kind === 'conflict'
        ? `its work conflicts with landed work in ${feedback.files.join(', ')}`
        : `\`${feedback.command}\` failed on the combined work (exit ${feedback.exitCode ?? 'none'})`
    table.note(record, { feedback })
    // The same failure again and again: more tries will not help, a person should look.
    // A conflict with other landed work is another failure; a gate's is the same one when the same
    // tests fail with the same errors (other tasks' tests land between tries), else when its output
    // differs only in its numbers (durations, times, counts).
    const key =
      feedback.kind === 'conflict'
        ? `conflict\0${feedback.files.join('\0')}\0${feedback.detail}`
        : `gate\0${feedback.command}\0${feedback.exitCode}\0${gateFailureKey(feedback.output)}`
    const last = this.failures.get(record.task.id)
    const same = last?.key === key ? last.count + 1 : 1
    this.failures.set(record.task.id, { key, count: same })
    const limit = this.options.sameFailureLimit ?? 3
    // The tries of this run of it: a person's rerun gave it `max_iterations` fresh ones.
    const spent = triesSpent(record) >= record.task.completion.maxIterations
    if (spent || same >= limit) {
      const reason = spent
        ? `could not land: ${why}; no tries left (${record.task.completion.maxIterations})`
        : `could not land: ${why}, the same way ${same} times in a row`
      table.setStatus(record, 'review', { reason })
      bus.emit('task:review', {
        taskId: record.task.id,
        agent: record.task.assignedTo ?? '',
        reason,
        iterations: record.iterations,
      })
      return
    }
    const ready = table.setStatus(record, 'pending', { reason: `could not land: ${why}; back to an agent` })
    for (const id of [record.task.id, ...ready]) this.options.enqueue(id)
    this.options.dispatchAll()
  }

  /**
   * Work a person accepted as it is (marked complete) failed `land.verify`, the only gate it met:
   * an agent sent it back would be judged by the verify the person overruled, so it stays complete,
   * not landed, saying why and what to do; `tanuki land` lands it once the gate passes.
   */
  private keepAccepted(record: TaskRecord, command: string, exitCode: number | null, output: string): void {
    const { table } = this.options
    table.note(record, { feedback: { kind: 'gate', command, exitCode, output } })
    table.explain(
      record,
      `could not land: \`land.verify\` \`${command}\` failed on the combined work (exit ${exitCode ?? 'none'}); ` +
        `it stays complete, accepted by hand, and lands once \`land.verify\` passes: fix what it reports, then ` +
        `\`tanuki land\`; or \`tanuki task rerun ${record.task.id}\` sends it to an agent with fresh tries`,
    )
  }

  /**
   * A gate command could not run at all (exit 126: not executable, 127: not found): no agent can
   * fix that, and every landing would fail the same way. Landing stops for the rest of the run;
   * the task stays complete, its work waiting for `tanuki land` once the command is fixed.
   */
  private stop(record: TaskRecord, command: string, exitCode: number, output: string): void {
    const said = output.trim().split('\n').at(-1)?.slice(0, 300)
    const which = command === this.options.gate ? '`land.verify`' : `the verify of task ${record.task.id}`
    this.stopped =
      `${which} \`${command}\` could not run on the combined work (exit ${exitCode}${said ? `: ${said}` : ''}), ` +
      `so nothing more lands in this run. Fix it${which === '`land.verify`' ? ' in the config' : ''}, then run \`tanuki land\`.`
    this.options.bus.emit('orchestrator:error', { context: 'landing', message: this.stopped })
  }

  /**
   * The role's `setup` failed in the integration worktree, before the gate: the gate would not find
   * what it needs, and no agent's work can fix the config. As for a gate that cannot run, landing
   * stops for the rest of the run; the task stays complete, its work waiting for `tanuki land`.
   */
  private stopForSetup(record: TaskRecord, command: string, exitCode: number | null, output: string): void {
    const { role } = record.task
    const key = this.options.setup?.(role)?.key ?? `agents.${role}.setup`
    this.stopped =
      `${setupFailure(command, role, exitCode, output)} in the integration worktree, before the gate of task ` +
      `${record.task.id}, so nothing more lands in this run; the work waits, complete. ` +
      `Fix it (\`${key}\` in the config, or what it needs), then run \`tanuki land\`.`
    this.options.bus.emit('orchestrator:error', { context: 'landing', message: this.stopped })
  }

  /** The last push of the target to `land.push`'s remote that failed, if none went through since. */
  get pushFailed(): PushFailure | undefined {
    return this.options.push?.failed
  }

  /** Lands nothing more; waits for the landing under way (aborted if `abort`). */
  async close(abort: boolean): Promise<void> {
    this.closed = true
    for (const resolve of this.idlers.splice(0)) resolve()
    if (abort) this.controller.abort('the run is stopping')
    await this.current
    await this.options.lander.close?.()
  }
}

/** What starting the merge queue needs besides the queue's own options. */
export interface OpenLandingOptions extends Omit<LandingOptions, 'lander'> {
  /** The lander a plugin registered, if any. */
  lander: Lander | undefined
  /** `land` in the config. */
  land: ResolvedConfig['land']
  /** The journal, which records the target. */
  store: RunStore
  /** The target an earlier run of the project recorded. */
  recordedTarget: string | undefined
  /**
   * A fresh start, not a resume: the lander lands on the branch checked out now, and complete
   * work an earlier run left for another target keeps waiting for that one.
   */
  fresh?: boolean
  /** The run's config: its `sameFailureLimit`. */
  config: Pick<ResolvedConfig, 'sameFailureLimit' | 'stopWhenSettled'>
}

/**
 * Starts the merge queue, when a lander is registered and landing is on: the lander settles the
 * target, and complete work that has not landed queues up (with `land.auto`).
 */
export async function openLanding(options: OpenLandingOptions): Promise<LandingQueue | undefined> {
  const { lander, land, store, recordedTarget, fresh, ...rest } = options
  if (!lander || !land.enabled) return undefined
  // Read only where the target is pushed: loading the journal again copies every task's state.
  const recordedPush = land.push ? (await store.load()).run.pushFailed : undefined
  const landing = new LandingQueue({
    lander,
    ...(land.push ? { push: new PushState({ store, bus: rest.bus, now: rest.now }, recordedPush) } : {}),
    sameFailureLimit: rest.config.sameFailureLimit,
    staysOn: !rest.config.stopWhenSettled,
    ...(land.verify ? { gate: land.verify } : {}),
    ...rest,
  })
  await landing.prepare(recordedTarget, fresh ?? false)
  const target = landing.target
  // Work done for the earlier target and not landed keeps that target: a person who checked out
  // another branch must not find it landed there.
  if (recordedTarget && target && recordedTarget !== target) {
    for (const record of rest.table.values()) {
      if (record.task.status === 'complete' && !record.landed && record.target === undefined)
        rest.table.note(record, { target: recordedTarget })
    }
  }
  store.append({ t: 'run', target: target ?? null })
  const elsewhere = landing.elsewhere()
  if (target && (landing.notice || (recordedTarget && recordedTarget !== target) || elsewhere.length > 0)) {
    rest.bus.emit('project:target', {
      target,
      ...(recordedTarget && recordedTarget !== target ? { previous: recordedTarget } : {}),
      ...(landing.notice ? { notice: landing.notice } : {}),
      elsewhere,
    })
  }
  if (land.auto) landing.addUnlanded()
  return landing
}
