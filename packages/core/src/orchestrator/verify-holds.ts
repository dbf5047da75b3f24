import type { VerifyUnrunnable } from '../agent/types.ts'
import { IN_FLIGHT, type TaskRecord } from './task-table.ts'
import type { RunContext, VerifyBlocked } from './types.ts'

/** What the holds read of the run, and change of it. */
export type HoldsContext = Pick<RunContext, 'config' | 'table' | 'queue' | 'bus' | 'enqueue'>

/** A verify that cannot run where a role's agents work, which holds the role's tasks that have it. */
export interface HeldVerify {
  /** Which command, what is missing, where, and what to fix. */
  cause: string
  /** The task that met it: one to rerun, to try it again in a run that stays on. */
  taskId: string
  /**
   * Set while it is tried again (a resume, a person's rerun): only `taskId` (when absent, the
   * first of its tasks to be queued) is given an agent, which runs the verify, free, before it is
   * paid to work; the others wait for what that finds.
   */
  trying?: { taskId?: string }
}

/**
 * The verify commands that cannot run where a role's agents work (a program missing from the
 * machine or the image, a typo every task file copied). Such a verify fails every task that has
 * it, whatever its agent does: the role's tasks with it wait for the fix instead of each paying
 * for an agent's run first. It is tried again (after a resume, or a person's rerun in a run that
 * stays on) by one task alone, before its agent works; only once it runs do the others start.
 * The journal keeps which tasks a verify held (`heldBy`), so a resume tries it again that way too.
 */
export class VerifyHolds {
  /** role → verify command → its hold. */
  private readonly holds = new Map<string, Map<string, HeldVerify>>()

  constructor(private readonly ctx: HoldsContext) {}

  /**
   * The hold on the task's verify for its role, if any. A pending task an earlier run's hold left
   * (`heldBy`, for the verify it still has) brings it back, to be tried again first.
   */
  of(record: TaskRecord): HeldVerify | undefined {
    const { role, completion, status, id } = record.task
    const command = completion.verify
    if (command === undefined) return undefined
    const known = this.holds.get(role)?.get(command)
    if (known || record.heldBy !== command || status !== 'pending') return known
    const hold: HeldVerify = {
      cause: `verify \`${command}\` could not run for role "${role}" when it was last tried`,
      taskId: id,
      trying: {},
    }
    this.set(role, command, hold)
    return hold
  }

  /**
   * Whether the task may be queued: its verify is not held, or it is the one task that tries it
   * again. Else it waits, saying why, and the journal keeps that its verify holds it.
   */
  admits(record: TaskRecord): boolean {
    const hold = this.of(record)
    if (!hold) return true
    const { id } = record.task
    const trying = hold.trying
    if (trying) {
      const current = trying.taskId === undefined ? undefined : this.ctx.table.get(trying.taskId)
      // None yet, or the one that was to try it was settled by a person's command or has another
      // verify now: this one takes its place.
      if (!current || !this.waitsFor(current, record.task.role, record.task.completion.verify!)) trying.taskId = id
      if (trying.taskId === id) return true
    }
    this.wait(record, hold)
    return false
  }

  /**
   * The task's verify could not run where its agent works: holds the role's tasks that have it,
   * those queued leaving the queue (`verify:blocked`, once per hold). Met again while it was tried
   * again, it holds them all once more. Returns why they wait and what to do.
   */
  hold(record: TaskRecord, wall: VerifyUnrunnable): string {
    const { table, queue, bus } = this.ctx
    const { role } = record.task
    const known = this.holds.get(role)?.get(wall.command)
    if (known && !known.trying) {
      this.note(record, wall.command)
      return this.why(known)
    }
    const hold: HeldVerify = { cause: unrunnableCause(role, wall), taskId: record.task.id }
    this.set(role, wall.command, hold)
    const cause = this.why(hold)
    this.note(record, wall.command)
    // Those queued leave the queue, and those that waited for it to be tried wait on; the ones
    // that are not ready yet are held as they come (`admits`).
    const held = [record.task.id]
    for (const other of table.values()) {
      const { id, role: otherRole, completion } = other.task
      if (other === record || otherRole !== role || completion.verify !== wall.command) continue
      const waited = known !== undefined && other.task.status === 'pending' && other.heldBy === wall.command
      if (!queue.remove(id) && !waited) continue
      this.wait(other, hold)
      held.push(id)
    }
    bus.emit('verify:blocked', {
      role,
      command: wall.command,
      taskId: record.task.id,
      tasks: held,
      ...(wall.program ? { program: wall.program } : {}),
      ...(wall.runsIn ? { runsIn: wall.runsIn } : {}),
      cause,
    })
    return cause
  }

  /**
   * A person reran or reset a task its verify held (they may have fixed it): that task tries it
   * again, before its agent works; the others go on waiting, for what it finds.
   */
  retry(record: TaskRecord): void {
    const hold = this.of(record)
    if (!hold) return
    hold.trying = { taskId: record.task.id }
    const { role, completion } = record.task
    for (const other of this.ctx.table.values()) {
      const { task } = other
      if (other === record || task.status !== 'pending' || other.heldBy !== completion.verify) continue
      if (this.waitsFor(other, role, completion.verify!)) this.ctx.table.explain(other, `waits: ${this.why(hold)}`)
    }
  }

  /**
   * The task that was to try its verify again will not start for it (a person settled it or gave
   * it another verify or role; it waits for work on another branch): another task the hold keeps
   * takes its place, those ready being queued (the first admitted tries it). `role` and `verify`
   * are the ones the task had, when a change took them away.
   */
  stepDown(record: TaskRecord, role = record.task.role, verify = record.task.completion.verify): void {
    if (verify === undefined) return
    const trying = this.holds.get(role)?.get(verify)?.trying
    if (trying?.taskId !== record.task.id) return
    trying.taskId = undefined
    const { table, enqueue } = this.ctx
    for (const other of table.values()) {
      const { id, status } = other.task
      if (other !== record && status === 'pending' && this.waitsFor(other, role, verify) && table.resolver.isReady(id))
        enqueue(id)
    }
  }

  /**
   * The task's verify ran where its agent works (whatever it found of the work): its hold is over
   * (`verify:unblocked`). Returns the other tasks it held, for the caller to queue.
   */
  release(record: TaskRecord): string[] {
    const { table, bus } = this.ctx
    const { role, completion, id } = record.task
    const command = completion.verify
    if (command === undefined || !this.holds.get(role)?.delete(command)) return []
    const held: string[] = []
    for (const other of table.values()) {
      if (other.task.role !== role || other.heldBy !== command) continue
      if (other.task.status === 'pending' && other.reason?.startsWith('waits: ')) table.explain(other, undefined)
      table.note(other, { heldBy: null })
      if (other !== record && other.task.status === 'pending' && table.resolver.isReady(other.task.id))
        held.push(other.task.id)
    }
    bus.emit('verify:unblocked', { role, command, taskId: id, tasks: held })
    return held
  }

  /**
   * Each verify that could not run where a role's agents work, with the tasks still waiting for
   * it, for the run's summary. The run is over: what tries it again now is a resume, whatever a
   * run that stayed on said, and the tasks say so.
   */
  blocked(): VerifyBlocked[] {
    const { table } = this.ctx
    const blocked: VerifyBlocked[] = []
    for (const [role, commands] of this.holds) {
      for (const [command, hold] of commands) {
        const waiting = [...table.values()].filter(
          (record) => record.task.status === 'pending' && this.waitsFor(record, role, command),
        )
        if (waiting.length === 0) continue
        const cause = heldBecause(hold, false)
        const said = `waits: ${this.why(hold)}`
        for (const record of waiting) if (record.reason === said) table.explain(record, `waits: ${cause}`)
        const sources = [...new Set(waiting.flatMap(({ task }) => (task.source ? [task.source] : [])))]
        blocked.push({ role, command, cause, tasks: waiting.map(({ task }) => task.id), sources })
      }
    }
    return blocked
  }

  /** Why the tasks a hold keeps wait, and what is to happen. */
  private why(hold: HeldVerify): string {
    if (!hold.trying) return heldBecause(hold, !this.ctx.config.stopWhenSettled)
    const who = hold.trying.taskId === undefined ? 'the first of its tasks to start' : hold.trying.taskId
    return `${hold.cause}; it is tried again first where ${who} starts, before its agent works, and the others start once it runs`
  }

  /** Whether a task has this role and verify, and still runs or may (pending, in flight). */
  private waitsFor(record: TaskRecord, role: string, command: string): boolean {
    const { task } = record
    return (
      task.role === role &&
      task.completion.verify === command &&
      (task.status === 'pending' || IN_FLIGHT.has(task.status))
    )
  }

  /** The task waits for the hold: why, and, in the journal, which verify holds it. */
  private wait(record: TaskRecord, hold: HeldVerify): void {
    this.ctx.table.explain(record, `waits: ${this.why(hold)}`)
    this.note(record, record.task.completion.verify!)
  }

  private note(record: TaskRecord, command: string): void {
    if (record.heldBy !== command) this.ctx.table.note(record, { heldBy: command })
  }

  private set(role: string, command: string, hold: HeldVerify): void {
    let commands = this.holds.get(role)
    if (!commands) this.holds.set(role, (commands = new Map()))
    commands.set(command, hold)
  }
}

/**
 * Why the tasks a verify holds wait, and what tries it again: in a run that stays on (`--watch`),
 * which holds the lock `project resume` needs, a rerun of one of them; else a resume.
 */
export function heldBecause(hold: HeldVerify, staysOn: boolean): string {
  const retry = staysOn
    ? `\`tanuki task rerun ${hold.taskId}\` (or of another task that waits for it)`
    : '`tanuki project resume`'
  return `${hold.cause}; then ${retry}`
}

/** Which command cannot run, what is missing, where, and what to fix. */
function unrunnableCause(role: string, wall: VerifyUnrunnable): string {
  const where = wall.runsIn ? `in ${wall.runsIn}` : 'on this machine'
  const exit = wall.preflight
    ? `looked for before any agent worked: \`command -v ${wall.program}\` found nothing`
    : `exit ${wall.exitCode}${wall.said ? `: ${wall.said}` : ''}`
  const fix = !wall.program
    ? 'Make what it runs available there'
    : wall.exitCode === 126
      ? `\`${wall.program}\` cannot be executed there: make it executable`
      : `\`${wall.program}\` was not found there: install it (or put it on PATH)`
  return (
    `verify \`${wall.command}\` cannot run ${where} for role "${role}" (${exit}). ` +
    `${fix}, or correct the verify in the task files that give it`
  )
}
