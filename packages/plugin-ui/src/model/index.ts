import {
  needsYou,
  notPushedNote,
  tellingLines,
  type NeedKind,
  type NeedsYouItem,
  type Progress,
  type TanukiEvents,
  type TaskStatus,
  type Usage,
} from '@tanuki/core'
import type { DashboardAgent, DashboardTask, Spend, StatusDocument, TaskLanding } from '../types.ts'

/** Every status, in the order the dashboard lists them. */
export const STATUSES: readonly TaskStatus[] = [
  'in_progress',
  'assigned',
  'pending',
  'review',
  'failed',
  'blocked',
  'complete',
]

/** Events of capabilities newer than this core: their payloads, as the dashboard reads them. */
export interface LaterEvents {
  'task:landed': {
    taskId: string
    commit: string
    /** `false`: it waits on the integration branch for `target` (cores before it: always landed). */
    moved?: boolean
    note?: string
    target?: string
    /** Nothing of it landed (no work, or none new): counted apart from the landed (cores before it: never). */
    empty?: 'no-work' | 'no-changes'
    at: number | string
  }
  'task:conflict': { taskId: string; files: string[]; at: number | string }
  'agent:parked': { agent: string; until: number | string; reason?: string; at: number | string }
  'agent:resumed': { agent: string; at: number | string }
}

/** Every event the model folds in. */
export type ModelEvents = TanukiEvents & LaterEvents

/**
 * What a task's page shows of a failed gate's output: core's `tellingLines` (the lines naming what
 * failed, then its last lines; `tanuki task show` prints the same), one text.
 */
export function gateExcerpt(output: string): string {
  return tellingLines(output).join('\n')
}

/** An event's time as ISO text: cores stamp ms since the epoch; some payloads carry ISO already. */
export function isoTime(at: unknown): string {
  if (typeof at === 'string') return at
  if (typeof at === 'number' && Number.isFinite(at)) return new Date(at).toISOString()
  return new Date().toISOString()
}

/** Tokens an iteration used: its input and output (cache reads are counted apart by agents). */
export function usageTokens(usage: Usage): number | undefined {
  if (usage.inputTokens === undefined && usage.outputTokens === undefined) return undefined
  return (usage.inputTokens ?? 0) + (usage.outputTokens ?? 0)
}

/** `total` with `usage` added. */
export function addSpend(total: Spend | undefined, usage: Usage): Spend {
  const sum: Spend = { ...total }
  if (typeof usage.costUsd === 'number') sum.usd = (sum.usd ?? 0) + usage.costUsd
  const tokens = usageTokens(usage)
  if (tokens !== undefined) sum.tokens = (sum.tokens ?? 0) + tokens
  // A sum with an estimate in it is an estimate.
  if (usage.estimated) sum.estimated = true
  return sum
}

/**
 * The status document kept up to date by events: the dashboard's server folds every event in, so
 * the status it serves and the events it streams agree, and the page does the same with what it
 * receives. Each event costs O(1) (counts are kept, not recounted); unknown events are ignored, so
 * newer cores still work.
 *
 * @example
 * const model = DashboardModel.from(await source.status())
 * model.apply('task:status', { taskId: 'a', from: 'pending', to: 'assigned', at: Date.now() })
 * model.document().progress.inProgress // 1
 */
export class DashboardModel {
  /** The orchestrator's state (`running`, `stopped`, …). */
  status = 'stopped'
  pid: number | undefined
  /** Every task, by id, in the order they were first seen. */
  readonly tasks = new Map<string, DashboardTask>()
  /** Every agent, by name. */
  readonly agents = new Map<string, DashboardAgent>()
  /** Tasks by status. */
  readonly byStatus = new Map<string, number>()
  /** Tasks by role, then by status. */
  readonly byRole = new Map<string, Map<string, number>>()
  /** Queued tasks, as the document last said. */
  queued: number | undefined
  /** Tasks landed. */
  landed: number | undefined
  /** Tasks counted as landed for their dependents, with nothing of theirs to land. */
  nothingToLand: number | undefined
  /** Tasks whose landing waits on the integration branch for the target. */
  heldBack: number | undefined
  /** When the document or the last event was made (ISO). */
  updatedAt = new Date(0).toISOString()
  /** Extra top-level fields of the document, kept as they were. */
  private extra: Record<string, unknown> = {}

  /**
   * The branch complete work lands on, when the document says it (one built from the journal, with
   * no run on): complete tasks not landed then need `tanuki land`.
   */
  get target(): string | undefined {
    return typeof this.extra.target === 'string' ? this.extra.target : undefined
  }

  /**
   * The target's last push to `land.push`'s remote that failed and has not gone through since:
   * the status document's `pushFailed` (the journal's, after a run), then `project:push`.
   */
  get pushFailed(): { remote: string; branch: string; error: string; at?: number } | undefined {
    const failed = this.extra.pushFailed as { remote?: unknown; branch?: unknown; error?: unknown; at?: unknown }
    if (typeof failed?.remote !== 'string' || typeof failed.branch !== 'string') return undefined
    const error = typeof failed.error === 'string' ? failed.error : ''
    return {
      remote: failed.remote,
      branch: failed.branch,
      error,
      ...(typeof failed.at === 'number' ? { at: failed.at } : {}),
    }
  }

  /** A model of a status document. */
  static from(doc: StatusDocument): DashboardModel {
    const model = new DashboardModel()
    const { status, pid, updatedAt, tasks, progress, agents, ...extra } = doc
    model.status = status
    model.pid = pid
    model.updatedAt = updatedAt
    model.extra = extra
    for (const task of tasks) model.put({ ...task, dependsOn: [...(task.dependsOn ?? [])] })
    for (const agent of agents) model.agents.set(agent.name, { ...agent })
    model.queued = progress?.queued
    model.landed = progress?.landed
    model.nothingToLand = progress?.nothingToLand
    model.heldBack = progress?.heldBack
    return model
  }

  /** Adds or replaces a task, keeping the counts. */
  put(task: DashboardTask): void {
    const before = this.tasks.get(task.id)
    if (before) this.count(before, -1)
    this.tasks.set(task.id, task)
    this.count(task, 1)
  }

  /** A landing that waited for the target is on it now. */
  private reach(task: DashboardTask): void {
    const held = task.heldBack
    if (!held) return
    task.heldBack = undefined
    this.heldBack = (this.heldBack ?? 1) - 1
    this.setLanded(task, { commit: held.commit, at: held.at })
  }

  /** Sets (or clears) a task's landing, keeping the landed and nothing-to-land counts. */
  private setLanded(task: DashboardTask, landed: TaskLanding | null): void {
    if (task.landed?.empty) this.nothingToLand = (this.nothingToLand ?? 1) - 1
    else if (task.landed) this.landed = (this.landed ?? 1) - 1
    if (landed?.empty) this.nothingToLand = (this.nothingToLand ?? 0) + 1
    else if (landed) this.landed = (this.landed ?? 0) + 1
    task.landed = landed
  }

  private count(task: DashboardTask, delta: number): void {
    this.byStatus.set(task.status, (this.byStatus.get(task.status) ?? 0) + delta)
    let role = this.byRole.get(task.role)
    if (!role) this.byRole.set(task.role, (role = new Map()))
    role.set(task.status, (role.get(task.status) ?? 0) + delta)
    role.set('total', (role.get('total') ?? 0) + delta)
  }

  private task(id: string): DashboardTask {
    let task = this.tasks.get(id)
    if (!task) {
      task = { id, title: id, role: 'default', priority: 'medium', status: 'pending', dependsOn: [], iterations: 0 }
      this.put(task)
    }
    return task
  }

  /** Changes a task's status or role, keeping the counts. */
  private move(task: DashboardTask, change: { status?: TaskStatus; role?: string }): void {
    this.count(task, -1)
    if (change.status !== undefined) task.status = change.status
    if (change.role !== undefined) task.role = change.role
    this.count(task, 1)
  }

  private agent(name: string, role = '?', backend = '?'): DashboardAgent {
    let agent = this.agents.get(name)
    if (!agent) this.agents.set(name, (agent = { name, role, backend, status: 'idle' }))
    return agent
  }

  private release(name: string | undefined, taskId: string): void {
    const agent = name === undefined ? undefined : this.agents.get(name)
    if (!agent || agent.task !== taskId) return
    if (agent.status === 'busy') agent.status = 'idle'
    agent.task = undefined
    agent.iteration = undefined
    agent.maxIterations = undefined
  }

  /**
   * Folds one event in. Returns the ids of the tasks it changed (`[]` when only agents or the
   * run changed), or undefined when it changed nothing the dashboard shows.
   */
  apply(name: string, payload: unknown): string[] | undefined {
    const e = payload as Record<string, unknown>
    if (typeof e?.at === 'number' || typeof e?.at === 'string') this.updatedAt = isoTime(e.at)
    switch (name) {
      case 'orchestrator:state': {
        const { to } = e as ModelEvents['orchestrator:state']
        this.status = to
        return []
      }
      case 'project:push': {
        // A push that failed is kept in the document, as `tanuki project status --json` has it.
        const { remote, branch, error, at } = e as ModelEvents['project:push']
        if (error === undefined) delete this.extra.pushFailed
        else this.extra.pushFailed = { remote, branch, error, at: typeof at === 'number' ? at : Date.now() }
        return []
      }
      case 'project:loaded': {
        const { tasks } = e as ModelEvents['project:loaded']
        const ids: string[] = []
        for (const loaded of tasks ?? []) {
          const task = this.tasks.get(loaded.id)
          const next: DashboardTask = {
            ...(task ?? { iterations: 0 }),
            id: loaded.id,
            title: loaded.title,
            role: loaded.role,
            priority: loaded.priority,
            status: loaded.status,
            dependsOn: [...loaded.dependsOn],
          }
          // What the journal says of earlier runs: their iterations, and where their work landed
          // (or waits for the target), which no event of this run repeats.
          if (loaded.iterations !== undefined) next.iterations = loaded.iterations
          if (loaded.reason !== undefined) next.reason = loaded.reason
          next.accepted = loaded.accepted
          const earlier = loaded.landed
          if (earlier) {
            if (task) this.setLanded(task, null)
            if (task?.heldBack) this.heldBack = (this.heldBack ?? 1) - 1
            next.landed = null
            if (earlier.heldBack) {
              next.heldBack = { ...earlier.heldBack, commit: earlier.commit, at: isoTime(earlier.at) }
              this.heldBack = (this.heldBack ?? 0) + 1
            } else {
              const empty = earlier.empty ? { empty: earlier.empty } : {}
              this.setLanded(next, { commit: earlier.commit, at: isoTime(earlier.at), ...empty })
              next.heldBack = undefined
            }
          }
          this.put(next)
          ids.push(loaded.id)
        }
        return ids
      }
      case 'task:added': {
        // Its definition comes with it (older cores sent the id alone: keep what is there).
        const { taskId, title, role, priority, status, dependsOn } = e as Partial<ModelEvents['task:added']> & {
          taskId: string
        }
        const task = this.task(taskId)
        if (title !== undefined) task.title = title
        if (priority !== undefined) task.priority = priority
        if (dependsOn !== undefined) task.dependsOn = [...dependsOn]
        if (role !== undefined || status !== undefined) this.move(task, { role, status })
        return [taskId]
      }
      case 'task:redefined': {
        const { taskId, title, role, priority, dependsOn } = payload as ModelEvents['task:redefined']
        const task = this.task(taskId)
        task.title = title
        task.priority = priority
        task.dependsOn = [...dependsOn]
        this.move(task, { role })
        return [taskId]
      }
      case 'task:status': {
        const change = payload as ModelEvents['task:status']
        const task = this.task(change.taskId)
        this.move(task, { status: change.to })
        if (change.reason !== undefined && change.to !== 'complete') task.reason = change.reason
        if (change.to === 'complete') task.reason = undefined
        // Accepted by a person as it is; any other status ends that (work done again is judged again).
        if (change.to !== 'complete' || change.accepted) task.accepted = change.accepted
        // A try a stop, a crash or a person cut short: what it spent, which no `iteration:finished` told.
        if (change.usage) task.spend = addSpend(task.spend, change.usage)
        if (change.to === 'assigned' || change.to === 'in_progress') {
          if (change.agent) task.assignedTo = change.agent
          task.blockers = undefined
        }
        if (change.to === 'pending' || SETTLED.has(change.to)) {
          task.iteration = undefined
          this.release(task.assignedTo, task.id)
        }
        if (change.to === 'pending' && change.from !== 'pending') task.assignedTo = undefined
        // Rerun or reset: its landing that waited is void.
        if (change.to === 'pending' && task.heldBack) {
          task.heldBack = undefined
          this.heldBack = (this.heldBack ?? 1) - 1
        }
        return [task.id]
      }
      case 'task:queued': {
        const { taskId, role, priority } = e as ModelEvents['task:queued']
        const task = this.task(taskId)
        if (task.role !== role) this.move(task, { role })
        task.priority = priority
        return [taskId]
      }
      case 'task:assigned': {
        const { taskId, agent: name, role } = e as ModelEvents['task:assigned']
        const task = this.task(taskId)
        task.assignedTo = name
        const agent = this.agent(name, role)
        agent.status = 'busy'
        agent.task = taskId
        agent.iteration = undefined
        agent.assigned = (agent.assigned ?? 0) + 1
        return [taskId]
      }
      case 'task:completed': {
        const { taskId, agent, iterations } = e as ModelEvents['task:completed']
        const task = this.task(taskId)
        task.iterations = Math.max(task.iterations, iterations)
        this.release(agent, taskId)
        return [taskId]
      }
      case 'task:failed':
      case 'task:review': {
        const { taskId, agent, reason, iterations } = e as ModelEvents['task:failed']
        const task = this.task(taskId)
        task.iterations = Math.max(task.iterations, iterations)
        task.reason = reason
        this.release(agent, taskId)
        return [taskId]
      }
      case 'task:blocked': {
        const { taskId, blockers } = e as ModelEvents['task:blocked']
        this.task(taskId).blockers = blockers
        return [taskId]
      }
      case 'task:requeued': {
        const { taskId, agent, reason, attempt } = e as ModelEvents['task:requeued']
        const task = this.task(taskId)
        task.attempts = attempt
        task.reason = reason
        this.release(agent, taskId)
        return [taskId]
      }
      case 'iteration:started': {
        const { taskId, agent: name, iteration, maxIterations } = e as ModelEvents['iteration:started']
        const task = this.task(taskId)
        task.iterations++
        task.iteration = iteration
        task.maxIterations = maxIterations
        task.assignedTo = name
        const agent = this.agent(name)
        agent.status = 'busy'
        agent.task = taskId
        agent.iteration = iteration
        agent.maxIterations = maxIterations
        return [taskId]
      }
      case 'iteration:finished': {
        const finished = e as ModelEvents['iteration:finished'] & { failure?: { class: string; cause: string } }
        const task = this.task(finished.taskId)
        if (finished.usage) task.spend = addSpend(task.spend, finished.usage)
        if (finished.failure) {
          task.lastError = {
            class: finished.failure.class,
            cause: finished.failure.cause,
            iteration: finished.iteration,
            at: isoTime(finished.at),
          }
        }
        return [task.id]
      }
      case 'task:landed': {
        const { taskId, commit, at, moved, note, target, empty } = e as LaterEvents['task:landed']
        const task = this.task(taskId)
        task.conflict = undefined
        task.landFailed = undefined
        if (moved === false && !empty) {
          // On the integration branch only: waiting for the target, not landed.
          this.setLanded(task, null)
          if (!task.heldBack) this.heldBack = (this.heldBack ?? 0) + 1
          task.heldBack = { target: target ?? 'the target', commit, at: isoTime(at), note: note ?? '' }
          return [taskId]
        }
        const changed = [taskId]
        // The target moved to it: every landing that waited before it is on the target too. (Nothing
        // of an empty landing waits, but the landings before it still do when it did not move.)
        if (commit !== 'by hand' && moved !== false) {
          for (const other of this.tasks.values()) {
            if (other === task || !other.heldBack || (target && other.heldBack.target !== target)) continue
            this.reach(other)
            changed.push(other.id)
          }
        }
        if (task.heldBack) this.reach(task)
        this.setLanded(task, { commit, at: isoTime(at), ...(empty ? { empty } : {}) })
        return changed
      }
      case 'task:land-failed': {
        const { taskId, command, exitCode, output, at } = e as ModelEvents['task:land-failed']
        this.task(taskId).landFailed = { command, exitCode, output: gateExcerpt(output ?? ''), at: isoTime(at) }
        return [taskId]
      }
      case 'task:conflict': {
        const { taskId, files, at } = e as LaterEvents['task:conflict']
        this.task(taskId).conflict = { files: [...(files ?? [])], at: isoTime(at) }
        return [taskId]
      }
      case 'agent:parked': {
        const { agent: name, until, reason } = e as LaterEvents['agent:parked']
        const agent = this.agent(name)
        agent.parkedUntil = isoTime(until)
        if (reason !== undefined) agent.parkReason = reason
        return []
      }
      case 'agent:resumed': {
        const agent = this.agent((e as LaterEvents['agent:resumed']).agent)
        agent.parkedUntil = undefined
        agent.parkReason = undefined
        return []
      }
      case 'agent:spawned': {
        const { agent: name, role, backend, workspace } = e as ModelEvents['agent:spawned']
        const agent = this.agent(name, role, backend)
        Object.assign(agent, { role, backend, status: 'idle', task: undefined, message: undefined })
        if (workspace !== undefined) agent.workspace = workspace
        return []
      }
      case 'agent:spawn-failed': {
        const { agent: name, role, backend, message } = e as ModelEvents['agent:spawn-failed']
        Object.assign(this.agent(name, role, backend), { role, backend, status: 'spawn-failed', message })
        return []
      }
      case 'agent:crashed': {
        const { agent: name, role, reason } = e as ModelEvents['agent:crashed']
        Object.assign(this.agent(name, role), {
          status: 'crashed',
          task: undefined,
          iteration: undefined,
          message: reason,
        })
        return []
      }
      case 'agent:stopped': {
        const { agent: name, role } = e as ModelEvents['agent:stopped']
        Object.assign(this.agent(name, role), { status: 'stopped', task: undefined, iteration: undefined })
        return []
      }
      default:
        return undefined
    }
  }

  /**
   * What needs a person, as `tanuki project status` says under "Needs you" (core's `needsYou`):
   * failed tasks first, then those in review, those held, complete work not landed.
   */
  needsYou(): NeedsYouItem[] {
    return needsYou([...this.tasks.values()], { target: this.target }).sort(
      (a, b) => NEED_ORDER[a.kind] - NEED_ORDER[b.kind],
    )
  }

  /**
   * The target not on `land.push`'s remote, as `tanuki project status` says under "Needs you": what
   * git said and what to do (core's `notPushedNote`), and the command that pushes it again.
   * Undefined while nothing failed to push. Of the project, not of a task: apart from `needsYou`.
   */
  notPushed(): { remote: string; branch: string; why: string; command: string } | undefined {
    const failed = this.pushFailed
    if (!failed) return undefined
    return { remote: failed.remote, branch: failed.branch, why: notPushedNote(failed), command: 'tanuki land' }
  }

  /** Counts by status and role, and the percentage complete. */
  progress(): StatusDocument['progress'] {
    const byStatus: Record<string, number> = {}
    for (const status of STATUSES) byStatus[status] = this.byStatus.get(status) ?? 0
    const byRole: Progress['byRole'] = {}
    for (const [role, counts] of this.byRole) {
      const total = counts.get('total') ?? 0
      if (total > 0) byRole[role] = Object.fromEntries(counts) as { total: number } & Record<string, number>
    }
    const total = this.tasks.size
    const complete = byStatus.complete ?? 0
    return {
      total,
      complete,
      inProgress: (byStatus.assigned ?? 0) + (byStatus.in_progress ?? 0),
      pending: byStatus.pending ?? 0,
      failed: byStatus.failed ?? 0,
      review: byStatus.review ?? 0,
      blocked: byStatus.blocked ?? 0,
      percentage: total === 0 ? 0 : Math.floor((complete * 100) / total),
      byStatus,
      byRole,
      ...(this.queued === undefined ? {} : { queued: this.queued }),
      ...(this.landed === undefined ? {} : { landed: this.landed }),
      ...(this.nothingToLand === undefined ? {} : { nothingToLand: this.nothingToLand }),
      ...(this.heldBack === undefined ? {} : { heldBack: this.heldBack }),
    }
  }

  /** What the run spent, summed over its tasks. */
  spend(): Spend {
    const total: Spend = {}
    for (const task of this.tasks.values()) {
      if (task.spend?.usd !== undefined) total.usd = (total.usd ?? 0) + task.spend.usd
      if (task.spend?.tokens !== undefined) total.tokens = (total.tokens ?? 0) + task.spend.tokens
      if (task.spend?.estimated) total.estimated = true
    }
    return total
  }

  /** The model as a status document. */
  document(): StatusDocument {
    return {
      ...this.extra,
      status: this.status,
      ...(this.pid === undefined ? {} : { pid: this.pid }),
      updatedAt: this.updatedAt,
      tasks: [...this.tasks.values()],
      progress: this.progress(),
      agents: [...this.agents.values()],
    }
  }
}

const SETTLED: ReadonlySet<string> = new Set(['complete', 'failed', 'review', 'blocked'])

const NEED_ORDER: Record<NeedKind, number> = { failed: 0, review: 1, waits: 2, 'not-landed': 3 }
