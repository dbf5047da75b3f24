import type { AgentBackend, ProjectInfo } from '../agent/types.ts'
import type { Clock } from '../clock.ts'
import type { ResolvedConfig, UserConfig } from '../plugin/index.ts'
import type { TaskQueue } from '../queue/index.ts'
import type { Reporter } from '../reporter/types.ts'
import type { Blocker } from '../resolver/index.ts'
import type { TaskSource } from '../source/types.ts'
import type { Failure } from '../failure.ts'
import type { EmptyLanding, PushFailure } from '../land/types.ts'
import type { Landing, RunStore, Spend, TaskRunState } from '../state/types.ts'
import type { Task, TaskStatus } from '../task/types.ts'
import type { Budgets } from './budgets.ts'
import type { Bus } from './bus.ts'
import type { OrchestratorState, Progress } from './events.ts'
import type { LandingQueue } from './landing.ts'
import type { Parking } from './parking.ts'
import type { TaskTable } from './task-table.ts'

export interface OrchestratorOptions {
  /** The user config (defaults are filled in) or an already resolved one. */
  config?: UserConfig
  /**
   * Continue the project's earlier run (`tanuki project resume`): completed work lands on the
   * target that run recorded, even if another branch is checked out now. Default false, a fresh
   * start: it lands on the branch checked out (unless `land.into` says otherwise); work an earlier
   * run left for another branch keeps waiting for that one.
   */
  resume?: boolean
  /** The project agents work on. Default: `{ root: '.', name: config.name, stateDir: '<root>/.tanuki' }`. */
  project?: Partial<ProjectInfo>
  /** Task sources besides those plugins register (the CLI passes its file source here). */
  sources?: TaskSource[]
  /** Backends besides those plugins register. */
  backends?: AgentBackend[]
  /** Reporters besides those plugins register. */
  reporters?: Reporter[]
  /**
   * Where the run's state is recorded (statuses, iterations, spend, landings, parks): the
   * authority on resume. Default: in memory, so a new orchestrator starts from the task files.
   */
  store?: RunStore
  clock?: Clock
  /**
   * Why a role that `agents` does not list gets no agents, or undefined when it runs on
   * `defaults` (the default, for every role). The CLI refuses such roles when the config lists its
   * roles and `defaults` names no agent, so a role it does not list does not start the default
   * (paid) agent: its spawns are refused with this cause, and its tasks wait as a paused role's.
   * Only when its agent would be paid: the role's backend says it reports spend
   * (`AgentBackend.reportsSpend`), or has no way to say; a free one (a plugin's `kind: 'shell'`)
   * runs.
   */
  unlistedRole?: (role: string) => string | undefined
}

/** What an agent is doing. */
export type AgentStatus = 'idle' | 'busy' | 'crashed' | 'stopped'

/** An agent as `status()` shows it. */
export interface AgentInfo {
  name: string
  role: string
  backend: string
  status: AgentStatus
  /** The task it runs, if busy. */
  task?: string
  workspace?: string
  /** Tasks it has been given. */
  assigned: number
  /** When its park lifts (ISO time), while its account waits out a usage or rate limit. */
  parkedUntil?: string
}

/** A task as `status()` shows it. */
export interface TaskView {
  id: string
  title: string
  role: string
  priority: Task['priority']
  status: TaskStatus
  assignedTo?: string
  dependsOn: string[]
  /** Iterations run, across every attempt. */
  iterations: number
  /**
   * Of its tries in this run of it, those past `max_iterations`: each ran its last try once more,
   * since that one had no verdict (cut off by a crash, its agent lost). Present when any ran: its
   * tries read `3/3 +1 again`.
   */
  triesAgain?: number
  /** Times it lost its agent (crash or failure). */
  attempts: number
  /** Why it is failed, in review, blocked or was requeued. */
  reason?: string
  /** What stops it from starting, if anything. */
  blockers?: Blocker[]
  source?: string
  /**
   * Where its work landed on the target branch, or null while it has not (also while it waits on
   * the integration branch: see `heldBack`). `empty`: nothing of it landed (no work was recorded,
   * or its work adds nothing), and `commit` is the tip it found; it counts as landed for its dependents.
   */
  landed: { commit: string; at: string; empty?: EmptyLanding } | null
  /**
   * Present while its work landed on the integration branch but waits there for `target`, which
   * could not move forward to it; `note` says why and what to do (commit or stash, then `tanuki land`).
   */
  heldBack?: { target: string; commit: string; at: string; note: string }
  /**
   * Present while it is complete, not landed, and its work was done for another branch than the
   * one the project lands on now (a person checked out another since): the branch it waits for.
   * It lands only there (`tanuki land --into <waitsFor>`, or a run on that branch).
   */
  waitsFor?: string
  /** The last iteration's failure (its class and cause), or null. */
  lastError: (Failure & { iteration?: number; at: string }) | null
  /** What its iterations cost, where agents reported it. */
  spend?: Spend
  /**
   * Present while it is complete because a person marked it so (`tanuki task mark ID complete`),
   * accepting its work as it is: its landing does not run its verify again, only `land.verify`.
   */
  accepted?: true
}

export interface OrchestratorStatus {
  state: OrchestratorState
  startedAt?: number
  uptimeMs: number
  progress: Progress
  queue: { size: number; byRole: Record<string, number> }
  agents: AgentInfo[]
  tasks: TaskView[]
  /** The last push of the target to `land.push`'s remote failed, and none went through since. */
  pushFailed?: PushFailure
}

/** How a run ended. */
export interface RunSummary {
  /** True when every task is complete. */
  allComplete: boolean
  /**
   * `settled`: nothing was left to run; `stopped`: `stop()` was called first; `failed`: the run
   * could not go on (its state could not be recorded); `budget`: the run's budget is spent.
   */
  reason: 'settled' | 'stopped' | 'failed' | 'budget'
  progress: Progress
  /** What the run spent, where agents reported it. */
  spend: Spend
  /** What went wrong with the run itself (not its tasks), one line each: a state or status write that failed. */
  problems: string[]
  /**
   * Why landing stopped before the run ended, if it did (a gate command that cannot run, or a
   * target that fails `land.verify` without any task's work): the complete work that did not land
   * waits for `tanuki land`.
   */
  landingStopped?: string
  /**
   * Work that landed on the integration branch but not on the target, which could not move forward
   * (a person's uncommitted changes would be overwritten): `tasks` in the order they landed, and
   * `note`, the lander's word on why and what to do. Complete is not delivered: the run exits 1.
   */
  heldBack?: HeldBack
  /**
   * Complete tasks that landing should have landed (`land.auto`) and did not: the run stopped
   * before their turn or during their landing, or the lander failed on them. Nothing of them
   * moved; `tanuki land` or the next run lands them. Complete is not delivered: the run exits 1.
   * Not set when landing stopped (`landingStopped` says why the rest did not land).
   */
  unlanded?: string[]
  /**
   * Complete tasks whose work is left for `tanuki land`, as `land: { auto: false }` asks: not on
   * the target yet. The run's exit code is not changed by them.
   */
  toLand?: string[]
  /**
   * Tasks settled without completing, by status: a person's to decide (`tanuki task rerun|mark`);
   * a resume does not run them again. Absent when there are none.
   */
  settled?: { failed: string[]; review: string[] }
  /**
   * Complete work that an earlier run did for another branch than this run's target (a person
   * checked out another branch since): it was not landed here, and waits for that branch (a run
   * on it, or `tanuki land --into`). Each target with its tasks. The run exits 1.
   */
  elsewhere?: { target: string; tasks: string[] }[]
  /**
   * Verify commands that could not run where a role's agents work (exit 126/127), and the tasks
   * that wait for them, unharmed (pending): nothing an agent does can make such a verify pass, so
   * only the first task that met it ran. `cause` names the command, the program, where, and what
   * to do; `sources`, where the waiting tasks are defined (the files to correct a typo in).
   */
  verifyBlocked?: VerifyBlocked[]
  /**
   * The last push of the target to `land.push`'s remote failed (a hook refused it, the remote is out
   * of reach, it was rejected), and none went through since: the landed work is on the target
   * here, not on the remote. Configured delivery did not happen: the run exits 1.
   */
  pushFailed?: PushFailure
}

/** A verify that cannot run where a role's agents work, and the tasks that wait for it. */
export interface VerifyBlocked {
  role: string
  command: string
  cause: string
  /** The tasks that wait for it, pending. */
  tasks: string[]
  /** Where those tasks are defined (their files), each once. */
  sources: string[]
}

/** Landed work that waits on the integration branch for the target to move forward. */
export interface HeldBack {
  /** The branch that did not move (`main`). */
  target: string
  /** The tasks whose landing waits, in the order they landed. */
  tasks: string[]
  /** Why the target could not move, where the work waits, and what to do. */
  note: string
}

/**
 * What the orchestrator's parts (a person's commands, what becomes of a finished run, loading the
 * tasks) share of the run: its records, and the scheduling they may ask for. Each part takes the
 * few members it needs (`Pick<RunContext, …>`), so what it may touch is written at its top.
 */
export interface RunContext {
  readonly config: ResolvedConfig
  readonly table: TaskTable
  readonly queue: TaskQueue
  readonly bus: Bus
  readonly clock: Clock
  readonly store: RunStore
  /** The task, role and run budgets. */
  readonly budgets: Budgets
  /** Accounts parked on a usage or rate limit. */
  readonly parking: Parking
  /** What went wrong with the run itself, for its summary. */
  readonly problems: string[]
  /** The run's lifecycle state. */
  state(): OrchestratorState
  /**
   * Aborted once the run stops after the tries under way (`stop({ finish: true })`): from then on
   * no task starts and no new try begins, and the pauses between tries end.
   */
  readonly finished: AbortSignal
  /** The merge queue, when a lander is registered and landing is on. */
  landing(): LandingQueue | undefined
  /**
   * Queues a task if it is pending (and asks for agents of its role while the run is on), with a
   * `task:queued` event unless `quiet` (the tasks queued as a run loads, which `project:loaded` tells).
   */
  enqueue(id: string, quiet?: boolean): void
  /** Hands a role's queued tasks to its idle agents. */
  dispatch(role: string): void
  /** Hands every role's queued tasks to idle agents. */
  dispatchAll(): void
  /** Ends the run if nothing runs and nothing waits that could run. */
  checkSettled(): void
  /** The run has something to do again: it must settle anew. */
  unsettle(): void
  /** Waits until the journal holds everything so far; false (and the run ends) when it cannot. */
  durable(): Promise<boolean>
}

/** What is known of a task's run, for its view. */
export interface TaskFacts {
  iterations: number
  /** Its `iterations` when a person last reran it (`TaskRunState.triesFrom`). */
  triesFrom?: number | undefined
  attempts: number
  reason?: string | undefined
  blockers?: Blocker[]
  lastError?: TaskRunState['lastError'] | undefined
  spend?: Spend | undefined
  landed?: Landing | undefined
  /** The branch its complete work was done for, when not the project's target (`TaskRunState.target`). */
  target?: string | undefined
  /** A person marked it complete, accepting its work as it is (`TaskRunState.accepted`). */
  accepted?: true | undefined
}

/** A task as status views show it, from the task and what is known of its run. */
export function taskView(task: Task, facts: TaskFacts): TaskView {
  return {
    id: task.id,
    title: task.title,
    role: task.role,
    priority: task.priority,
    status: task.status,
    ...(task.assignedTo === undefined ? {} : { assignedTo: task.assignedTo }),
    dependsOn: task.dependsOn,
    iterations: facts.iterations,
    ...triesPast(facts.iterations - (facts.triesFrom ?? 0), task.completion.maxIterations),
    attempts: facts.attempts,
    ...(facts.reason === undefined ? {} : { reason: facts.reason }),
    ...(facts.blockers && facts.blockers.length > 0 ? { blockers: facts.blockers } : {}),
    ...(task.source === undefined ? {} : { source: task.source }),
    landed:
      facts.landed && !facts.landed.heldBack
        ? {
            commit: facts.landed.commit,
            at: new Date(facts.landed.at).toISOString(),
            ...(facts.landed.empty ? { empty: facts.landed.empty } : {}),
          }
        : null,
    ...(facts.landed?.heldBack
      ? {
          heldBack: {
            target: facts.landed.heldBack.target,
            commit: facts.landed.commit,
            at: new Date(facts.landed.at).toISOString(),
            note: facts.landed.heldBack.note,
          },
        }
      : {}),
    ...(task.status === 'complete' && !facts.landed && facts.target !== undefined ? { waitsFor: facts.target } : {}),
    lastError: facts.lastError ? failureView(facts.lastError) : null,
    ...(facts.spend ? { spend: facts.spend } : {}),
    ...(task.status === 'complete' && facts.accepted ? { accepted: true as const } : {}),
  }
}

/** A failure as views show it: its time as ISO text, without the journal's `cutOff` marker (its cause says it). */
function failureView(error: NonNullable<TaskRunState['lastError']>): NonNullable<TaskView['lastError']> {
  const { cutOff: _cutOff, ...failure } = error
  return { ...failure, at: new Date(error.at).toISOString() }
}

/** `triesAgain` of a task that spent `spent` tries of this run of it: present when past `max`. */
function triesPast(spent: number, max: number): { triesAgain?: number } {
  return spent > max ? { triesAgain: spent - max } : {}
}
