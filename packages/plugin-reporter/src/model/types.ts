import type { EmptyLanding, Failure, TaskStatus, Usage } from '@tanuki/core'

/** Statuses in the order reporters list them. */
export const STATUS_ORDER: readonly TaskStatus[] = [
  'complete',
  'in_progress',
  'assigned',
  'pending',
  'review',
  'failed',
  'blocked',
]

/** The last verify a task ran, as the summary shows it. */
export interface VerifyRecord {
  /** The verify command. */
  command: string
  /** `null` when it was killed (timeout). */
  exitCode: number | null
  /** What it printed, stdout and stderr interleaved. */
  output: string
  /** True when it ran out of time. */
  timedOut: boolean
}

/** What the model knows of one task, from events alone. */
export interface TaskState {
  /** The task's id. */
  id: string
  /** Known from `project:loaded` or `task:added`. */
  title?: string
  /** Known from `project:loaded`, `task:added`, `task:queued` or `task:assigned`. */
  role?: string
  /** `critical` … `low`. */
  priority?: string
  /** Its status now (`pending` until an event says otherwise). */
  status: TaskStatus
  /** Ids of the tasks it depends on. */
  dependsOn: string[]
  /** The agent that has it (or last had it). */
  agent?: string
  /** Iterations run, across every attempt. */
  iterations: number
  /** The iteration in progress (1-based, counted per attempt). */
  iteration?: number
  /**
   * The number of the last iteration its current attempt started in this run, as `iteration`
   * counts (per attempt, up to `max_iterations`): below `iterations` once a person reran it. Kept
   * after the attempt ends, so its end can say both; cleared when it goes back to pending.
   */
  attemptIteration?: number
  /**
   * Its last tries in a row that ran its last try once more (`iteration:started`'s `again`): past
   * `max_iterations`, numbered as that try.
   */
  againTries?: number
  /** Its limit (`max_iterations`). */
  maxIterations?: number
  /** When it was last assigned (clock ms). */
  assignedAt?: number
  /** From its first assignment to completion, failure or review. */
  firstAssignedAt?: number
  /** How long it took: the orchestrator's figure on completion, else from first assignment to the end. */
  durationMs?: number
  /** Why it failed, went to review, is blocked or was requeued. */
  reason?: string
  /** What blocks it, from its last `task:blocked`. */
  blockers?: { id: string; reason: string; status?: string }[]
  /** Summed over its iterations, where the agent reported them (tries cut short too). */
  usage?: Usage
  /** What went wrong in its last failed iteration: the class and a short cause. */
  lastFailure?: Failure
  /** The last verify it ran. */
  lastVerify?: VerifyRecord
  /** The agent's output of the last finished iteration. */
  lastOutput?: string
  /** Times it lost its agent. */
  requeues: number
  /**
   * Where its work landed. `moved: false`: on the integration branch only, waiting for the target
   * to move forward (`note` says why); it turns true once a later landing moves the target.
   * `earlier`: it landed in an earlier run (the journal says so through `project:loaded`).
   * `empty`: nothing of it landed (no work was recorded, or its work adds nothing), though it
   * counts as landed for its dependents; `commit` is the tip it found.
   */
  landed?: { commit: string; moved: boolean; note?: string; earlier?: boolean; empty?: EmptyLanding }
  /** Conflicts its work met (at landing, or when work was brought into its agent's workspace). */
  conflicts?: { files: string[]; what: string; landing?: boolean }[]
  /** The last gate that failed on the combined work. */
  landFailed?: { command: string; exitCode: number | null; output: string }
}

/** What the model knows of one agent. */
export interface AgentState {
  /** The agent's name (`backend-1`). */
  name: string
  /** Its role; `?` until an event names it. */
  role: string
  /** Its backend; `?` until an event names it. */
  backend: string
  /** What it is doing. */
  status: 'idle' | 'busy' | 'crashed' | 'stopped' | 'spawn-failed'
  /** The task it works on, when busy. */
  task?: string
  /** When it took its current task (clock ms). */
  since?: number
  /** Why it crashed or could not start. */
  message?: string
  /** When its park lifts (clock ms), while its account waits out a limit. */
  parkedUntil?: number
}
