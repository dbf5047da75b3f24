/**
 * What `needsYou` reads of a task: a `TaskView`, a task of `tanuki project status --json`, or a
 * dashboard's. Only the id and status are required.
 */
export interface NeedsYouTask {
  id: string
  status: string
  /** Why it is failed, in review, or waits (`waits: …`). */
  reason?: string
  /** Its last failure: the cause is said when it has no reason. */
  lastError?: { cause: string } | null
  dependsOn?: readonly string[]
  /** Its landing, once landed (`null` or absent: not landed). */
  landed?: unknown
  /** Present while its work waits on the integration branch for the target. */
  heldBack?: unknown
  /** The branch its complete work waits for, when it is another than the target. */
  waitsFor?: string
  /** What stops it from starting. */
  blockers?: readonly unknown[]
}

/**
 * What needs a person: `failed` and `review` (settled without completing: nothing runs them again
 * until a person says so), `waits` (pending, held until a person fixes what the reason names: a
 * verify that cannot run, a paused role, the budget; or complete, its landing held by a target that
 * fails `land.verify` by itself), `not-landed` (complete, its work not on the target branch).
 */
export type NeedKind = 'failed' | 'review' | 'waits' | 'not-landed'

/** One task that needs a person, why, and the command for it. */
export interface NeedsYouItem {
  /** The task's id. */
  taskId: string
  kind: NeedKind
  /** Why, in words: the task's reason or last failure (`failed`, `review`), what it waits for (`waits`). */
  why?: string
  /**
   * `not-landed` only: the dependencies, not complete, that keep its work from landing (in review,
   * failed, back with an agent), found through complete ones not landed themselves. Empty: `tanuki
   * land` lands it. Each of them needs a person first.
   */
  holds?: { id: string; status: string }[]
  /**
   * The command a person runs for it: `tanuki task show ID` for a settled task (its tries, logs and
   * work; then `tanuki task rerun ID` or `tanuki task mark ID complete`), the one a held task's
   * reason names (else `tanuki project resume`), `tanuki land`. Absent when what holds it comes first.
   */
  command?: string
}

export interface NeedsYouOptions {
  /**
   * The branch complete work lands on, when no run is under way: complete tasks with nothing
   * landed (nor waiting on the integration branch, nor for another branch) are then `not-landed`.
   * Without it (a run is on, landing as it goes) none is.
   */
  target?: string
}

/** How the reason of a task that waits for a person's fix begins (see the orchestrator's `halted`). */
const WAITS = 'waits: '

/** The first `tanuki …` command a reason names in backquotes. */
const NAMED_COMMAND = /`(tanuki [^`]+)`/

/**
 * Every task that needs a person, in the order of `tasks`, with why and the command for it: what
 * `tanuki project status` lists under "Needs you" and the dashboard shows. Data, so each says it
 * its own way (grouped lines, a panel with links).
 *
 * @example
 * for (const item of needsYou(doc.tasks, { target: doc.target }))
 *   console.log(item.taskId, item.kind, item.why ?? '', item.command ?? '')
 */
export function needsYou<T extends NeedsYouTask>(tasks: readonly T[], options: NeedsYouOptions = {}): NeedsYouItem[] {
  const byId = new Map(tasks.map((task) => [task.id, task]))
  const items: NeedsYouItem[] = []
  for (const task of tasks) {
    if (task.status === 'failed' || task.status === 'review') {
      const why = task.reason ?? task.lastError?.cause
      items.push({
        taskId: task.id,
        kind: task.status,
        ...(why ? { why } : {}),
        command: `tanuki task show ${task.id}`,
      })
    } else if (waitsForFix(task)) {
      const why = task.reason!.slice(WAITS.length)
      items.push({
        taskId: task.id,
        kind: 'waits',
        why,
        command: NAMED_COMMAND.exec(why)?.[1] ?? 'tanuki project resume',
      })
    } else if (options.target && isNotLanded(task)) {
      // Complete work whose dependency is not complete does not land with `tanuki land` either.
      const holds = landingHolds(task, byId).map((dep) => ({ id: dep.id, status: dep.status }))
      items.push({
        taskId: task.id,
        kind: 'not-landed',
        holds,
        ...(holds.length === 0 ? { command: 'tanuki land' } : {}),
      })
    }
  }
  return items
}

/**
 * Held until a person fixes what its reason names: pending (a verify that cannot run, a paused
 * role, the budget), or complete with its work not landed (the target fails `land.verify` by itself).
 */
function waitsForFix(task: NeedsYouTask): boolean {
  if (!task.reason?.startsWith(WAITS)) return false
  if (task.status === 'complete') return !task.landed
  return task.status === 'pending' && (task.blockers?.length ?? 0) === 0
}

/**
 * Complete work not on the branch the project lands on, with nothing under way to put it there
 * (landing off, a task marked complete by hand): it has no landing, does not wait on the
 * integration branch for the target (`heldBack`) and was not done for another branch
 * (`waitsFor`). Counted and named as not landed when the project has a target.
 */
export function isNotLanded(task: Pick<NeedsYouTask, 'status' | 'landed' | 'heldBack' | 'waitsFor'>): boolean {
  return task.status === 'complete' && !task.landed && !task.heldBack && !task.waitsFor
}

/** What `landingHolds` reads of a task. */
export interface LandingTask {
  id: string
  status: string
  dependsOn?: readonly string[]
  landed?: unknown
}

/**
 * The dependencies that keep a complete task's work from landing: the ones not complete (in
 * review, failed, back with an agent after their own landing failed), found through dependencies
 * that are complete but not landed themselves (`tanuki land` lands those first). Empty: `tanuki
 * land` lands it. Each once, in the order met.
 */
export function landingHolds<T extends LandingTask>(task: T, byId: ReadonlyMap<string, T>): T[] {
  const holds: T[] = []
  const seen = new Set<string>([task.id])
  const visit = (each: T): void => {
    for (const id of each.dependsOn ?? []) {
      const dep = byId.get(id)
      if (!dep || seen.has(id) || dep.landed) continue
      seen.add(id)
      if (dep.status === 'complete') visit(dep)
      else holds.push(dep)
    }
  }
  visit(task)
  return holds
}
