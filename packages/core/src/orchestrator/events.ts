import type { ExecResult, Usage } from '../agent/types.ts'
import type { Failure } from '../failure.ts'
import type { EmptyLanding } from '../land/types.ts'
import type { Landing } from '../state/types.ts'
import type { Blocker } from '../resolver/index.ts'
import type { StatusChange } from '../status/index.ts'
import type { SpecField } from '../task/spec.ts'
import type { TaskPriority, TaskStatus } from '../task/types.ts'

export type OrchestratorState = 'stopped' | 'starting' | 'running' | 'stopping'

/** How an iteration ended, as the Validator saw it. */
/** What a running task's loop reads of its definition, by the names its file gives them. */
export type RedefinedField = 'title' | 'body' | 'verify' | 'signal' | 'max_iterations'

export type IterationOutcome = 'complete' | 'retry' | 'review' | 'failed'

/**
 * Every event the orchestrator emits, by name. Names and payloads are public API: reporters,
 * the NDJSON log and embedders rely on them. Payloads are plain JSON-serialisable data; `at` is
 * clock time in ms since the epoch.
 */
export type TanukiEvents = {
  /** The lifecycle moved: stopped → starting → running → stopping → stopped. */
  'orchestrator:state': { from: OrchestratorState; to: OrchestratorState; at: number }
  /** Something went wrong that did not stop the run (a status write, a reporter). */
  'orchestrator:error': { context: string; message: string; at: number }
  /**
   * The run stops once the tries under way end (`stop({ finish: true })`): no task starts and no
   * new try begins; each of `tasks` ends its try (judged, its work landing if it completes), then
   * the run stops. A plain `stop()` meanwhile stops it at once.
   */
  'orchestrator:finishing': { tasks: string[]; at: number }
  /**
   * Tasks are loaded and checked; `recovered` were in flight when a previous run ended. `tasks`
   * is every task as it stands once loaded, so reporters can show titles, roles and tasks that
   * never change status (already complete on resume, waiting on a task in review). The `ready`
   * ones (pending, every dependency complete) are in the queue now: they get no `task:queued`
   * event of their own.
   */
  'project:loaded': {
    total: number
    ready: number
    recovered: string[]
    tasks: {
      id: string
      title: string
      role: string
      priority: TaskPriority
      status: TaskStatus
      dependsOn: string[]
      /** Where its work landed in an earlier run, as the journal records it; absent when it has not. */
      landed?: Landing
      /** Iterations its earlier runs took, as the journal records them; absent when none. */
      iterations?: number
      /** Why it is `failed`, in `review` or `blocked`, as the journal records it. */
      reason?: string
      /** Complete by a person's mark, its work accepted as it is (`StatusChange.accepted`), as the journal records it. */
      accepted?: true
      /**
       * Its status is its file's: the journal, which knew earlier runs of the project, did not know
       * the task (a new file; perhaps a copy of a finished task's). It does not run until a person
       * reruns it. Absent on a first start, which takes every file's status.
       */
      fromFile?: true
    }[]
    at: number
  }
  /** Nothing is left to run: every task is complete, failed, in review, blocked or waiting on those. */
  'project:settled': { allComplete: boolean; progress: Progress; at: number }
  /**
   * Where this run lands completed work, when that is news: not where an earlier run landed
   * (`previous`: a person checked out another branch, or `land.into` changed), or kept because
   * nothing is checked out (`notice`). `elsewhere`: complete work that waits for the branch it was
   * done for, which this run does not land on (each target with its tasks, in the order they wait).
   */
  'project:target': {
    target: string
    previous?: string
    notice?: string
    elsewhere: { target: string; tasks: string[] }[]
    at: number
  }
  /**
   * Pushing the target to `land.push`'s remote failed (`error`: what git said), or went through
   * again after one had failed (no `error`). Said when that changes, not at every landing: the
   * landed work is on the target either way, only the remote lacks it.
   */
  'project:push': { remote: string; branch: string; error?: string; at: number }
  /**
   * A task appeared while running (a new file). It carries the task's definition as it stands once
   * added, as `project:loaded` does for the tasks loaded at the start, so reporters can show its
   * title and role before (or without) it ever running. Older cores sent `taskId` only.
   */
  'task:added': {
    taskId: string
    title: string
    role: string
    priority: TaskPriority
    status: TaskStatus
    dependsOn: string[]
    /** Its `status` (complete, failed, review) is its file's, taken as it is: see `project:loaded`. */
    fromFile?: true
    at: number
  }
  /**
   * A task's definition changed while the project runs (a person edited its file): its title,
   * role, priority and dependencies as they stand now, for reporters that show them. A task in
   * flight takes its title, body and completion at once (its next prompt, its next judgement), and
   * its role, priority and dependencies once its run ends (another event then).
   */
  'task:redefined': {
    taskId: string
    title: string
    role: string
    priority: TaskPriority
    dependsOn: string[]
    /** The task runs: which of what its loop reads changed, taken from its next prompt and judgement on. */
    whileRunning?: RedefinedField[]
    /**
     * The task is complete: which fields of its spec differ from those it completed with. The edit
     * does not run it again; `tanuki task rerun` does.
     */
    sinceComplete?: SpecField[]
    at: number
  }
  /**
   * Task files whose front matter's `status` disagreed with the journal were written back to the
   * journal's: a person typed a status (to rerun a task, say), or a git checkout, stash or pull
   * changed the files. The journal stays the authority; people change a status with `tanuki task
   * rerun|reset|mark`. Sent once none has come for a second, so a checkout of many files is one event, and
   * each task with each status its file said is in one event per run at most. Not sent when the
   * status mirror is off (`mirrorStatus: false`), nor for a file that only lagged behind a run
   * that crashed while it was in flight.
   */
  'task:status-restored': {
    tasks: {
      taskId: string
      /** Its file, as the source names it. */
      file?: string
      /** What the file said. */
      fileStatus: TaskStatus
      /** The journal's status, written back into the file. */
      status: TaskStatus
    }[]
    at: number
  }
  /** Every status change; the StatusTracker's record. */
  'task:status': StatusChange
  /**
   * A task became ready while the project runs and waits for an agent. Those ready when it loads
   * are `project:loaded`'s `queued`.
   */
  'task:queued': { taskId: string; role: string; priority: TaskPriority; queueSize: number; at: number }
  'task:assigned': { taskId: string; agent: string; role: string; at: number }
  'task:completed': { taskId: string; agent: string; iterations: number; durationMs: number; at: number }
  /** Gave up on the task: verify could not run, or agents failed it too often. */
  'task:failed': { taskId: string; agent?: string; reason: string; iterations: number; at: number }
  /** Tries ran out: a person should look. */
  'task:review': { taskId: string; agent: string; reason: string; iterations: number; at: number }
  /** A dependency failed or is missing. */
  'task:blocked': { taskId: string; blockers: Blocker[]; at: number }
  /**
   * A pending task is held, unqueued, until a person acts: its verify cannot run where its role's
   * agents work, or a dependency's work waits for another branch. `reason` says which and what to
   * do. No line of its own on the console (a whole backlog can wait at once): summaries and
   * status show it.
   */
  'task:waiting': { taskId: string; reason: string; at: number }
  /**
   * The task's work landed as one commit. `moved: true`: it is on the target branch, and so is
   * every landing before it (landings that waited are on the target now), except after `commit: 'by
   * hand'` (a person said so: no target moved). `moved: false`: it waits on the integration
   * branch, with the landings before it that waited, because the target could not move forward
   * (`note` says why and what to do). Sent again, when a run starts, for landings of an earlier
   * run that waited: `moved` says whether the target reached them now. `target` names the target.
   * `empty`: nothing of the task landed and no commit was made for it (no work was recorded, or it
   * adds nothing): `commit` is the tip it found, and it counts as landed only so that its
   * dependents can land. Say "nothing to land", not "landed". Nothing of it waits for the target:
   * with `empty`, `moved: false` only says the target still lags the landings before it.
   */
  'task:landed': {
    taskId: string
    commit: string
    moved: boolean
    note?: string
    target?: string
    empty?: EmptyLanding
    at: number
  }
  /**
   * Work did not apply cleanly: at landing (`landing: true`: the task's work on the work landed
   * since it began; the task goes back to an agent to resolve it), or when a dependency's work, or
   * the task's own earlier work after a gate that failed, was brought into an agent's workspace
   * (the agent resolves it in its next iteration). `what` names the work being brought in. A
   * landing's conflict is said once: not again when the agent's workspace meets it.
   */
  'task:conflict': { taskId: string; files: string[]; what: string; landing?: boolean; at: number }
  /**
   * A command of a landing's gate starts on the combined work: the role's `setup` (`setup: true`),
   * the task's verify, then `land.verify`. Its end is the landing's: `task:landed`,
   * `task:land-failed`. A long gate was silent between `task:completed` and `task:landed`.
   */
  'task:land-gate': { taskId: string; command: string; setup: boolean; at: number }
  /** The task's work applied, but verify failed on the combined work: it goes back to an agent (or to review). */
  'task:land-failed': { taskId: string; command: string; exitCode: number | null; output: string; at: number }
  /**
   * The role's `setup` ran in an agent's workspace, before the task's first iteration there (its
   * `output` is for the task's log). `exitCode` 0: the iterations go on; otherwise (or
   * `timedOut`) no iteration runs and the role is paused (`role:paused` says why). `leftOut`: the
   * paths it created that git neither tracks nor ignores, which the agent's backend leaves out of
   * the task's commits (a `.gitignore` should name them).
   */
  'task:setup': {
    taskId: string
    agent: string
    role: string
    command: string
    exitCode: number | null
    output: string
    timedOut: boolean
    durationMs: number
    leftOut?: string[]
    at: number
  }
  /** Back to pending: its agent crashed or failed, or the run stopped. */
  'task:requeued': { taskId: string; agent?: string; reason: string; attempt: number; at: number }
  'iteration:started': {
    taskId: string
    agent: string
    iteration: number
    maxIterations: number
    prompt: string
    at: number
    /**
     * Set when this try runs the task's last try once more (numbered as it), since that one ended
     * without a verdict: cut off by a crash of the run (`crash`), its agent lost (`lost`), its
     * verify unable to run (`held`), or as the record no longer says (`unjudged`).
     */
    again?: 'crash' | 'lost' | 'held' | 'unjudged'
  }
  /**
   * The agent's output as it streams. `at`: when the orchestrator got it (always set by the
   * orchestrator; optional for events built by hand, which older cores sent without it).
   */
  'iteration:output': {
    taskId: string
    agent: string
    iteration: number
    stream: 'stdout' | 'stderr'
    text: string
    at?: number
  }
  'iteration:finished': {
    taskId: string
    agent: string
    iteration: number
    maxIterations: number
    outcome: IterationOutcome
    reason: string
    /** What the agent produced (the text the signal is looked for in). */
    output: string
    exitCode?: number | null
    verify?: ExecResult & { command: string }
    usage?: Usage
    sessionId?: string
    toolErrors?: string[]
    /** Why it did not succeed, when it did not: its class and a short cause. */
    failure?: Failure
    durationMs: number
    at: number
  }
  'agent:spawned': { agent: string; role: string; backend: string; workspace?: string; at: number }
  /** `pausesRole`: the failure blames the role's configuration, so `role:paused` follows and says it. */
  'agent:spawn-failed': {
    agent: string
    role: string
    backend: string
    message: string
    pausesRole?: boolean
    at: number
  }
  /** An agent died without being asked to; its task (if any) goes back to pending. */
  'agent:crashed': { agent: string; role: string; taskId?: string; reason: string; at: number }
  'agent:stopped': { agent: string; role: string; removed: boolean; at: number }
  /**
   * The agent takes no work until `until` (clock ms): its account hit a rate or usage limit.
   * Every agent sharing the account parks with it.
   */
  'agent:parked': { agent: string; role: string; account: string; until: number; reason: string; at: number }
  /** A parked agent takes work again. */
  'agent:resumed': { agent: string; role: string; account: string; at: number }
  /**
   * The role takes no work until its configuration is fixed (a binary, a flag, credentials); its
   * tasks wait, unharmed. `cause` says what to fix.
   */
  'role:paused': { role: string; cause: string; at: number }
  /**
   * A program a task's verify names itself could not run at all where its agent works (exit 126:
   * not executable, 127: not found): the role's tasks with the same verify wait, unharmed, and are
   * given no agent until a person fixes it and resumes (or, in a run that stays on, reruns one of
   * them); the other tasks go on. `cause` says which program, where, and what to do. Tried again
   * then (by one of them, before its agent works) and still unable to run, it holds them again:
   * another `verify:blocked`, with no paid run.
   */
  'verify:blocked': {
    role: string
    command: string
    /** The task whose verify it was. */
    taskId: string
    /**
     * The tasks that wait for it now, `taskId` first (those of the role with this verify that were
     * ready, or waited for it already). Tasks that become ready later wait too, without an event of
     * their own.
     */
    tasks: string[]
    /** The program the shell could not find or run, when it said. */
    program?: string
    /** Where it ran, when that is not the host (an agent's container). */
    runsIn?: string
    cause: string
    at: number
  }
  /**
   * A verify that held its tasks (`verify:blocked`) runs again where the role's agents work: after
   * a resume, or a person's rerun or reset of one of them in a run that stays on, that task alone
   * was given an agent, which ran the verify before working, free. The tasks it held are queued
   * again. (Should it still not run, `verify:blocked` says so instead, and they wait on.)
   */
  'verify:unblocked': {
    role: string
    command: string
    /** The task whose agent ran the verify first (the one a person reran or reset, if any). */
    taskId: string
    /** The other tasks it held, now queued again. */
    tasks: string[]
    at: number
  }
}

export type TanukiEventName = keyof TanukiEvents

/** Counts of where the project stands. */
export interface Progress {
  total: number
  complete: number
  inProgress: number
  pending: number
  failed: number
  review: number
  blocked: number
  /** Tasks whose work landed on the target. */
  landed: number
  /**
   * Tasks that count as landed for their dependents although nothing of theirs landed (no work was
   * recorded, or it added nothing: `landed.empty`): not counted in `landed`.
   */
  nothingToLand: number
  /**
   * Tasks whose work landed on the integration branch and waits there for the target, which could
   * not move forward to it: not counted in `landed`.
   */
  heldBack: number
  /** Complete tasks as a whole-number percentage of all tasks. */
  percentage: number
  byStatus: Record<string, number>
  /** Per role: total and counts by status. */
  byRole: Record<string, { total: number } & Record<string, number>>
}
