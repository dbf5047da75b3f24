import type { RunModel, TaskState } from '../model/index.ts'

/** What keeps a task from starting, in words. */
export function waitingOn(task: TaskState, model: RunModel): string {
  if (task.blockers && task.blockers.length > 0) {
    return task.blockers
      .map((b) => (b.reason === 'missing' ? `${b.id} does not exist` : `${b.id} is ${b.status ?? b.reason}`))
      .join(', ')
  }
  const unmet = task.dependsOn.filter((id) => model.tasks.get(id)?.status !== 'complete')
  if (unmet.length > 0)
    return `waiting on ${unmet.map((id) => `${id} (${model.tasks.get(id)?.status ?? 'missing'})`).join(', ')}`
  return task.reason ?? 'not started'
}

/**
 * How the run came out, as a sentence: all complete (and what of it is not on the target yet), or
 * not. The report sets it in bold; the brief on the console does not.
 */
export function outcomeOf(model: RunModel): string {
  const progress = model.progress()
  const held = model.heldBack()
  const target = held?.target ?? 'the target'
  if (progress.total === 0 || progress.complete !== progress.total) return 'Not all tasks complete.'
  // Landed, but the remote the config pushes to lacks it: not delivered.
  const push = model.pushFailed
  const unpushed = push ? `; ${push.branch} not pushed to ${push.remote}` : ''
  if (held) return `All tasks complete; ${held.tasks.length} not on ${target} yet${unpushed}.`
  if (model.elsewhere.length > 0)
    return `All tasks complete; ${model.elsewhere.map(({ target: other, tasks: ids }) => `${ids.length} waiting for ${other}`).join(', ')}${unpushed}.`
  return `All tasks complete${unpushed}.`
}
