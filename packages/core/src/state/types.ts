import type { Awaitable } from '../agent/types.ts'
import type { Failure } from '../failure.ts'
import type { EmptyLanding, LandingFeedback, PushFailure } from '../land/types.ts'
import type { SpecHashes } from '../task/spec.ts'
import type { TaskStatus } from '../task/types.ts'

/** Tokens and dollars spent. */
export interface Spend {
  usd: number
  tokens: number
}

/** Where a task's work landed on the target branch. */
export interface Landing {
  /**
   * The commit on the target that carries the task's work (trailer `Tanuki-Task: <id>`), or
   * `by hand` when a person said its work is there (`mark complete` with `landed`).
   */
  commit: string
  /** Clock time in ms since the epoch. */
  at: number
  /**
   * Set while the work waits on the integration branch: the target could not move forward to it
   * (a person's uncommitted changes would be overwritten). Absent once the target holds it.
   */
  heldBack?: { target: string; note: string }
  /**
   * Set when nothing of the task landed (no work was recorded for it, or its work adds nothing):
   * `commit` is then the tip it found. It counts as landed for its dependents all the same, and
   * never waits for the target (no `heldBack`): nothing of it is to reach it.
   */
  empty?: EmptyLanding
}

/**
 * Why a task's last judged try did not pass, as its next prompt says it: kept in the journal so
 * that a try which starts on a new agent (a resume after a crash, an agent lost) is told it too.
 */
export interface TryFeedback {
  /** The try's number. */
  iteration: number
  /** Why it did not pass (the validation's reason). */
  reason: string
  /** Its verify, when it ran: `output` holds what `tellingLines` picks of it, not all of it. */
  verify?: { command: string; exitCode: number | null; timedOut: boolean; output: string }
}

/** Everything a run knows of one task besides its definition. */
export interface TaskRunState {
  status: TaskStatus
  /** The agent that has it (or last had it). */
  assignedTo?: string
  /** Iterations run, across every attempt. */
  iterations: number
  /**
   * Its `iterations` when a person last reran it: the tries before are its earlier runs', and it
   * has `max_iterations` from there (`iterations - triesFrom` of them spent). Absent: from 0.
   */
  triesFrom?: number
  /** Times it lost its agent (crash or failure). */
  attempts: number
  /** Why it is where it is: failed, in review, blocked, requeued. */
  reason?: string
  /**
   * The last iteration's failure, with the iteration and when. `cutOff`: the try had no verdict
   * because the run itself ended under it (a crash, kill -9), recorded by the resume that found it
   * in flight; a `crashed` failure without it is an agent lost under its try.
   */
  lastError?: Failure & { iteration?: number; at: number; cutOff?: true }
  /** What its iterations cost, where agents reported it. */
  spend?: Spend
  /** Where its work landed, once it did. */
  landed?: Landing
  startedAt?: number
  completedAt?: number
  /**
   * A hash of each field of its spec when it last completed (`specHashes`): an edit of its file
   * since is told (`changedSince`), not run.
   */
  ran?: SpecHashes
  /** Why it came back after completing (its landing failed): carried into its next prompt. */
  feedback?: LandingFeedback
  /** Why its last judged try did not pass, while that try is its latest verdict (`TryFeedback`). */
  lastTry?: TryFeedback
  /**
   * The branch its complete work was done for and lands on, set when a later run started landing
   * on another (a person checked out another branch): the work waits for that branch (a run on it,
   * or `tanuki land --into`), never moved to another one silently. Absent: the run's target.
   */
  target?: string
  /**
   * The verify command that held it, pending: it could not run where the task's role's agents
   * work (exit 126/127). A later run tries it again, free, before an agent is paid for the task.
   */
  heldBy?: string
  /**
   * A person marked it complete (`tanuki task mark ID complete`): they accept its work as it is,
   * whatever its own verify said. Landing does not gate it on its own verify again (`land.verify`,
   * the project's gate, still applies). Cleared once it leaves `complete` (a rerun, a reset).
   */
  accepted?: true
}

/** Agents that take no work until `until` (a usage limit), by account key. */
export interface Park {
  until: number
  reason: string
}

/** What a run knows of itself. */
export interface RunInfo {
  /** `running` while an orchestrator runs it; how the last one ended otherwise. */
  state?: 'running' | 'settled' | 'stopped' | 'failed'
  /** The branch completed work lands on, recorded when the run starts. */
  target?: string
  /** What the whole run spent. */
  spend?: Spend
  /**
   * The last push of the target to `land.push`'s remote failed: the landed work is on the target
   * here, not on the remote. Cleared once a later push of it goes through (in a run, or `tanuki land`).
   */
  pushFailed?: PushFailure
  startedAt?: number
  endedAt?: number
}

/** The state of a run, as the journal replays it. */
export interface RunState {
  tasks: Record<string, TaskRunState>
  parks: Record<string, Park>
  run: RunInfo
}

/**
 * One line of the journal. `task` and `run` records are patches: the fields they carry replace
 * the recorded ones (`null` removes one). `snapshot` starts a compacted journal.
 */
export type RunRecord =
  | ({ t: 'task'; id: string } & { [K in keyof TaskRunState]?: TaskRunState[K] | null })
  | ({ t: 'run' } & { [K in keyof RunInfo]?: RunInfo[K] | null })
  | { t: 'park'; key: string; until: number; reason: string }
  | { t: 'unpark'; key: string }
  | { t: 'snapshot'; state: RunState }

/**
 * Where a run's state lives: the one authority for statuses, iterations, spend, landings and
 * parks. The CLI's is an append-only file in the state folder; `createMemoryStore` keeps it in
 * memory. Appends are synchronous for the caller (nothing waits to record); `flush` says when
 * what was appended is durable.
 *
 * @example
 * const store = createMemoryStore()
 * const orchestrator = createOrchestrator({ config, backends, store })
 */
export interface RunStore {
  /** The state recorded so far; an empty state for a first run. */
  load(): Awaitable<RunState>
  /** Records one change. */
  append(record: RunRecord): void
  /** Resolves once everything appended so far is durable; rejects when it cannot be (disk full). */
  flush(): Promise<void>
  /** Flushes and releases the store. */
  close?(): Awaitable<void>
}
