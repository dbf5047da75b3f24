import type { TanukiEvents } from '@tanuki/core'
import type { TaskState } from './types.ts'

/** What the journal said of a task's landing in an earlier run, as `project:loaded` carries it. */
type EarlierLanding = TanukiEvents['project:loaded']['tasks'][number]['landed']

/**
 * A task's landing from an earlier run, as the model keeps it; undefined when it has none to
 * show. No `task:landed` tells it in this run (unless the target caught up with it now, which
 * replaces this). Work that waited for its target is not on it: the landing says so again for this
 * run's target, `project:target` for another.
 */
export function earlierLanding(before: EarlierLanding): TaskState['landed'] {
  if (!before || before.heldBack) return undefined
  return { commit: before.commit, moved: true, earlier: true, ...(before.empty ? { empty: before.empty } : {}) }
}

/**
 * Where the run's work landed, from `task:landed` events: each task's landing, and the landings
 * that wait on the integration branch for the target, until a later landing moves it.
 */
export class Landings {
  /** The branch work lands on, once a landing (or `project:target`) named it. */
  target: string | undefined
  /** Tasks whose landing waits for the target, in the order they landed. */
  private readonly held = new Set<string>()
  /** Why the target could not move to the last landing, and what to do. */
  private heldNote: string | undefined

  /** `tasks`: the model's tasks, whose `landed` this keeps. */
  constructor(private readonly tasks: ReadonlyMap<string, TaskState>) {}

  /** Folds in a `task:landed` of `task`. */
  landed(task: TaskState, e: TanukiEvents['task:landed']): void {
    if (e.target) this.target = e.target
    task.landed = {
      commit: e.commit,
      moved: e.moved,
      ...(e.note ? { note: e.note } : {}),
      ...(e.empty ? { empty: e.empty } : {}),
    }
    this.held.delete(e.taskId)
    if (!e.moved) {
      // Nothing of an empty landing waits: only the landings before it, which said so.
      if (!e.empty) {
        this.held.add(e.taskId)
        this.heldNote = e.note
      }
    } else if (e.commit !== 'by hand') {
      // The target is at this landing: those that waited for it are on it now (a landing by a
      // person's hand moves no target).
      for (const id of this.held) {
        const waited = this.tasks.get(id)!
        if (waited.landed)
          waited.landed = {
            commit: waited.landed.commit,
            moved: true,
            ...(waited.landed.empty ? { empty: waited.landed.empty } : {}),
          }
      }
      this.held.clear()
      this.heldNote = undefined
    }
  }

  /** A rerun or reset of a complete task: its landing is not its work any more (it lands again once complete). */
  undo(task: TaskState): void {
    task.landed = undefined
    this.held.delete(task.id)
  }

  /** See `RunModel.landedCount`. */
  landedCount(): number {
    let landed = 0
    for (const task of this.tasks.values())
      if (task.landed?.moved && !task.landed.earlier && !task.landed.empty) landed++
    return landed
  }

  /** See `RunModel.nothingToLandCount`. */
  nothingToLandCount(): number {
    let empty = 0
    for (const task of this.tasks.values()) if (task.landed?.empty && !task.landed.earlier) empty++
    return empty
  }

  /** See `RunModel.landedEarlierCount`. */
  landedEarlierCount(): number {
    let landed = 0
    for (const task of this.tasks.values()) if (task.landed?.earlier && !task.landed.empty) landed++
    return landed
  }

  /** See `RunModel.heldBack`. */
  heldBack(): { target?: string; tasks: string[]; note?: string } | undefined {
    if (this.held.size === 0) return undefined
    return {
      ...(this.target ? { target: this.target } : {}),
      tasks: [...this.held],
      ...(this.heldNote ? { note: this.heldNote } : {}),
    }
  }
}
