import type { Progress } from '../orchestrator/events.ts'
import { TASK_STATUSES, type TaskStatus } from '../task/types.ts'
import type { Landing } from '../state/types.ts'

/**
 * Progress computed from a list of tasks: for views of a project that is not running (the
 * orchestrator keeps the same numbers incrementally while it runs).
 */
export function progressOf(
  tasks: Iterable<{ role: string; status: TaskStatus; landed?: Landing | undefined }>,
): Progress {
  const byStatus: Record<string, number> = {}
  for (const status of TASK_STATUSES) byStatus[status] = 0
  const byRole: Progress['byRole'] = {}
  let total = 0
  let landed = 0
  let heldBack = 0
  let nothingToLand = 0
  for (const task of tasks) {
    total++
    // Work that waits on the integration branch is not on the target: not landed.
    if (task.landed?.heldBack) heldBack++
    else if (task.landed?.empty) nothingToLand++
    else if (task.landed) landed++
    byStatus[task.status] = (byStatus[task.status] ?? 0) + 1
    const role = (byRole[task.role] ??= { total: 0 })
    role.total++
    role[task.status] = (role[task.status] ?? 0) + 1
  }
  return progressFromCounts(total, byStatus, byRole, landed, heldBack, nothingToLand)
}

/** The Progress of `total` tasks, given the counts by status and by role. */
export function progressFromCounts(
  total: number,
  byStatus: Record<string, number>,
  byRole: Progress['byRole'],
  landed = 0,
  heldBack = 0,
  nothingToLand = 0,
): Progress {
  const complete = byStatus.complete ?? 0
  return {
    total,
    complete,
    inProgress: (byStatus.assigned ?? 0) + (byStatus.in_progress ?? 0),
    pending: byStatus.pending ?? 0,
    failed: byStatus.failed ?? 0,
    review: byStatus.review ?? 0,
    blocked: byStatus.blocked ?? 0,
    landed,
    heldBack,
    nothingToLand,
    percentage: total === 0 ? 0 : Math.floor((complete * 100) / total),
    byStatus,
    byRole,
  }
}
