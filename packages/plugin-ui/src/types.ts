import type { Awaitable, Blocker, EmptyLanding, Progress, TaskPriority, TaskStatus, Usage } from '@tanuki/core'

/** A task's landing: the commit its work became on the target branch. */
export interface TaskLanding {
  /** The commit's hash. */
  commit: string
  /** When it landed (ISO time). */
  at: string
  /**
   * Set when nothing of the task landed (no work was recorded, or its work added nothing): `commit`
   * is the tip it found, and it counts as landed only for its dependents.
   */
  empty?: EmptyLanding
}

/**
 * Work that landed on the integration branch and waits there for the target, which could not move
 * forward to it (a person's uncommitted changes would be overwritten).
 */
export interface TaskHeldBack {
  /** The branch that did not move (`main`). */
  target: string
  /** The landed commit, on the integration branch. */
  commit: string
  /** When it landed there (ISO time). */
  at: string
  /** Why the target could not move, and what to do. */
  note: string
}

/** Why a task's last iteration or landing failed, by class (`verify-failed`, `rate-limited`, …). */
export interface TaskFailure {
  /** The failure class. */
  class: string
  /** What happened, in a sentence. */
  cause: string
  /** The iteration it happened in, when it was one. */
  iteration?: number
  /** When (ISO time). */
  at: string
}

/** What a task (or the run) spent: summed over iterations that reported usage. */
export interface Spend {
  /** US dollars, where the agent reported a cost. */
  usd?: number
  /** Input and output tokens, where the agent reported them. */
  tokens?: number
  /**
   * True when part of it is Tanuki's estimate at list prices, not the agent's bill: a try cut off
   * before the agent reported what it spent (`Usage.estimated`).
   */
  estimated?: boolean
}

/**
 * A task as the dashboard shows it: the fields of `tanuki project status --json`, the optional
 * ones later capabilities add (landing, failure class, spend), and what only live events tell.
 */
export interface DashboardTask {
  /** The task's id. */
  id: string
  /** Its title. */
  title: string
  /** The agent pool that takes it. */
  role: string
  /** `critical` … `low`. */
  priority: TaskPriority
  /** Where it stands. */
  status: TaskStatus
  /** The agent that has it (or last had it). */
  assignedTo?: string
  /** Ids of the tasks it depends on. */
  dependsOn: string[]
  /** Iterations run, across every attempt. */
  iterations: number
  /** Times it lost its agent. */
  attempts?: number
  /** Why it is failed, in review, blocked or was requeued. */
  reason?: string
  /** What stops it from starting. */
  blockers?: Blocker[]
  /** Its file, or where it came from. */
  source?: string
  /** Its landing, once landed (`null`: complete, not landed yet, or waiting for the target). */
  landed?: TaskLanding | null
  /** Present while its work waits on the integration branch for the target. */
  heldBack?: TaskHeldBack
  /**
   * Present while it is complete, not landed, and its work was done for another branch than the
   * one the project lands on now: that branch (`tanuki project status --json`).
   */
  waitsFor?: string
  /**
   * Present while it is complete by a person's mark (`tanuki task mark ID complete`): its work was
   * accepted as it is, and its landing runs only `land.verify`.
   */
  accepted?: true
  /** The last failure, with its class. */
  lastError?: TaskFailure | null
  /** What it spent. */
  spend?: Spend
  /**
   * Why its complete work last failed to land, from `task:land-failed` (or, for a page opened
   * after it, the journal): the gate command on the combined work, its exit code and the telling
   * lines of what it printed; `at` when an event said it. Gone once it lands.
   */
  landFailed?: { command: string; exitCode: number | null; output: string; at?: string }
  /** Files in conflict when its work was last landed (from `task:conflict`). */
  conflict?: { files: string[]; at?: string }
  /** The iteration in progress (live). */
  iteration?: number
  /** Its `max_iterations`, once an iteration started (live). */
  maxIterations?: number
}

/** An agent as the dashboard shows it: a lane. */
export interface DashboardAgent {
  /** Its name (`backend-1`). */
  name: string
  /** Its role. */
  role: string
  /** Its backend (`process`, `docker`, …). */
  backend: string
  /** `idle`, `busy`, `crashed`, `stopped` (and `spawn-failed` from events). */
  status: string
  /** The task it works on. */
  task?: string
  /** Where it works. */
  workspace?: string
  /** Tasks it has been given. */
  assigned?: number
  /** Parked until this time (ISO) by a usage limit. */
  parkedUntil?: string
  /** Why it is parked. */
  parkReason?: string
  /** The iteration of its task in progress (live). */
  iteration?: number
  /** Its task's `max_iterations` (live). */
  maxIterations?: number
  /** Why it crashed or could not start. */
  message?: string
}

/**
 * The status document: `tanuki project status --json`, with the optional fields of newer runs.
 * Extra fields are allowed and kept.
 */
export interface StatusDocument {
  /** `running`, `starting`, `stopping` while an orchestrator runs; `stopped` otherwise. */
  status: string
  /** The running orchestrator's pid. */
  pid?: number
  /** When it was made (ISO time). */
  updatedAt: string
  tasks: DashboardTask[]
  progress: Omit<Progress, 'landed' | 'heldBack' | 'nothingToLand'> & {
    queued?: number
    landed?: number
    heldBack?: number
    nothingToLand?: number
  }
  agents: DashboardAgent[]
}

/** A task's spec, as its file says. */
export interface TaskSpec {
  id: string
  title: string
  role: string
  priority: TaskPriority
  status: TaskStatus
  dependsOn: string[]
  completion: { verify?: string; signal?: string; maxIterations: number }
  tags: string[]
  /** The Markdown body: the agent's instructions. */
  body: string
  /** Its file, or where it came from. */
  source?: string
}

/** What a verify command did. */
export interface VerifyRecord {
  command: string
  /** `null` when it was killed or did not say. */
  exitCode: number | null
  timedOut?: boolean
  /** What it printed. */
  output: string
}

/** One iteration of a task, from its log (or live events). */
export interface IterationRecord {
  /** Its place among all of the task's iterations (its log's number), from 1. */
  number: number
  /** The iteration within its attempt, from 1. */
  iteration: number
  maxIterations?: number
  agent?: string
  /** When it started (ISO time). */
  startedAt?: string
  /** The prompt the agent got. */
  prompt?: string
  /** What the agent printed: plain text, or Claude Code / Codex JSON lines. */
  output: string
  /** `complete`, `retry`, `review` or `failed`; absent while it runs. */
  outcome?: string
  /** The validator's reason. */
  reason?: string
  usage?: Usage
  verify?: VerifyRecord
  /** Its failure class and cause, when it failed. */
  failure?: { class: string; cause: string }
}

/** Everything the dashboard shows on a task's page. */
export interface TaskDetail {
  spec: TaskSpec
  /** Every iteration, oldest first. */
  iterations: IterationRecord[]
}

/** What the event stream forwards: an event's name and payload (`dashboard:resync` re-reads the status). */
export type SourceListener = (name: string, event: unknown) => void

/**
 * Where a dashboard gets its data and carries out its actions. The CLI implements it twice: in the
 * process of a run (`tanuki project start --ui`) and from a project's state folder (`tanuki ui`).
 *
 * @example
 * const source: DashboardSource = {
 *   status: async () => statusOf(orchestrator),
 *   task: async (id) => detailFromLogs(id),
 *   subscribe: (listener) => { orchestrator.events.on('*', listener); return () => orchestrator.events.off('*', listener) },
 *   rerun: async (id) => orchestrator.rerun(id),
 *   reset: async (id) => orchestrator.reset(id),
 *   stop: () => orchestrator.stop(),
 *   resume: async () => { throw new TanukiError('TANUKI_UI_ACTION', 'the run is on') },
 * }
 */
export interface DashboardSource {
  /** The status document as it stands now. */
  status(): Awaitable<StatusDocument>
  /** A task's spec and iterations, or undefined when no task has that id. */
  task(id: string): Awaitable<TaskDetail | undefined>
  /**
   * Calls `listener` with every orchestrator event while a run is on; `dashboard:resync` when
   * the status should be read again (a run started or ended). Returns the unsubscribe function.
   */
  subscribe?(listener: SourceListener): () => void
  /** Runs a settled task again (and, with `withDependents`, the tasks that depend on it). */
  rerun(id: string, options?: { withDependents?: boolean }): Promise<void>
  /** Puts a task back to pending, its iterations forgotten. */
  reset(id: string): Promise<void>
  /** Stops the run gracefully. */
  stop(): Promise<void>
  /** Continues a stopped run. */
  resume(): Promise<void>
  /** Releases what the source holds (watchers, timers). */
  close?(): Awaitable<void>
}
