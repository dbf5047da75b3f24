import type { Awaitable, Conflict, ExecOptions, ExecResult, OutputChunk } from '../agent/types.ts'
import type { Task } from '../task/types.ts'

/** What the lander found when a run starts. */
export interface LandingStart {
  /** The branch (or whatever the lander lands on) work goes to: shown to people, recorded in the journal. */
  target: string
  /** Where agents start a task from: the landed work. Passed to `Agent.beginTask` as `base`. */
  base: string
  /**
   * Tasks whose work is on the target already (found by their trailer): a landing that a crash
   * interrupted after the commit. They are recorded as landed and never land twice.
   */
  landed: { taskId: string; commit: string }[]
  /**
   * Landings that waited on the integration branch (an earlier run's, or a crash's) and that the
   * target reached now, moving forward to them; oldest first.
   */
  caughtUp?: { taskId: string; commit: string }[]
  /**
   * Landings on the integration branch that the target has not reached: it still could not move
   * forward (`note` says why and what to do). They reach it at the next move; oldest first.
   */
  held?: { taskId: string; commit: string }[]
  /**
   * Landings that waited on the integration branch and that the target's own new commits (a
   * person's) conflict with: the integration branch started again from the target, without them
   * (the target and the person's commits untouched), so they are landed no more. Each lands again
   * from its task's work, gated, in order; one whose work conflicts now goes back to an agent, as
   * any landing's conflict does. Oldest first.
   */
  relanding?: { taskId: string; commit: string }[]
  /** What people should know (the target could not move forward, and why). */
  note?: string
  /**
   * What people should know about the target itself, when it is not the obvious one: a fresh start
   * found nothing checked out (a detached HEAD) and kept the target an earlier run recorded.
   */
  notice?: string
  /**
   * Of `LandingRecord.waitingFor`, the branches that no longer exist (merged and deleted): the
   * work waiting for them lands only where a person names it (`tanuki land --into`).
   */
  gone?: string[]
  /**
   * Of `LandingRecord.landings`, those the landed work (`base`) does not hold, neither as history
   * nor as a change already there: landed on another branch. Each with the branches that hold it
   * (none when no branch does any more). A task that depends on one waits: its agent would start
   * without that work.
   */
  notHere?: { commit: string; branches: string[] }[]
  /** How pushing the target to `land.push`'s remote went, when `prepare` pushed it. */
  push?: TargetPush
}

/**
 * A push of the target to the remote `land.push` names, after the target moved: it went through,
 * or it failed (`error`: what git said: a hook that refused it, a remote out of reach, a rejected
 * non-fast-forward). The landing stands either way; only the remote lacks it.
 */
export interface TargetPush {
  /** The git remote (`land.push`). */
  remote: string
  /** The branch pushed: the target. */
  branch: string
  /** What git said when the push failed; absent when it went through. */
  error?: string
}

/** A push of the target that failed, as the journal records it until a later push goes through. */
export interface PushFailure extends Required<TargetPush> {
  /** Clock time in ms since the epoch. */
  at: number
}

/** What `Lander.prepare` knows of earlier runs, and how this one started. */
export interface LandingRecord {
  /** The target an earlier run of the project recorded. */
  target?: string
  /**
   * A fresh start (`project start`), not a resume: work lands on the branch checked out now (unless
   * `land.into` says otherwise), and on `target` only when nothing is checked out. Without it, a
   * resume or `tanuki land`: work lands on `target`, even if a person has switched branches since.
   */
  fresh?: boolean
  /**
   * The branches complete work of earlier runs waits for, as the journal says (done for them, or
   * held back for them): the lander says which no longer exist (`LandingStart.gone`).
   */
  waitingFor?: string[]
  /**
   * The landing commits of earlier runs that work still to do builds on (its dependencies'): the
   * lander says which are not in the landed work (`LandingStart.notHere`).
   */
  landings?: string[]
}

/** One task to land. */
export interface LandRequest {
  task: Task
  /** The agent whose work it is (the last that ran it), when known. */
  agent?: string
  signal: AbortSignal
  /** What the gate prints (verify on the combined work), as it runs. */
  onOutput?: (chunk: OutputChunk) => void
  /** Called as each command of the gate starts (`setup`: it is the role's setup, `LandRequest.setup`). */
  onGate?: (step: { command: string; setup: boolean }) => void
  /**
   * Runs a gate command in `dir` where the task's agents run (a container of its role), when its
   * backend can (`AgentBackend.execIn`). Absent: the lander runs the gate on the host. `top`: the
   * whole worktree `dir` is a folder of (`SandboxExecRequest.top`).
   */
  exec?: (
    command: string,
    dir: string,
    options: ExecOptions & { env?: Record<string, string>; top?: string },
  ) => Promise<ExecResult>
  /**
   * The `setup` of the task's role (`npm ci`): run where the gate runs, in the same way, before the
   * gate's first command, so the gate finds what the agents' workspaces had (installed
   * dependencies). One that fails ends the landing as `gate-failed` with `setup: true`.
   */
  setup?: string
  /**
   * A person accepted the task's work as it is (`TaskRunState.accepted`): the gate does not run its
   * own verify, only `land.verify`.
   */
  accepted?: boolean
}

/**
 * Why a task counts as landed though nothing of its own landed: `no-work`, no work was recorded
 * for it (a person marked it complete and it never ran, it ran in a shared workspace or with
 * `commit: false`); `no-changes`, its work adds nothing to the landed work (a rerun whose agent
 * made the same change again).
 */
export type EmptyLanding = 'no-work' | 'no-changes'

/** How a landing went. */
export type LandOutcome =
  /**
   * Landed as one commit. `moved`: the target is at the landed work now, so it holds this landing
   * and every one before it (also for a task with no work to land). `moved: false` when the target
   * could not be moved forward (a person's uncommitted changes would be overwritten, or it moved
   * meanwhile): this landing, and those before it that waited, wait on the integration branch,
   * and `note` says why and what to do.
   *
   * `empty`: nothing of the task landed, and no commit was made for it (see `EmptyLanding` for
   * why); `commit` is the integration tip it found. It still counts as landed, so its dependents
   * land after it, but people are told there was nothing to land, not that it landed.
   *
   * `push`: how pushing the target to `land.push`'s remote went, when it was pushed (after it moved).
   */
  | { status: 'landed'; commit: string; moved: boolean; note?: string; empty?: EmptyLanding; push?: TargetPush }
  /** The work does not apply cleanly on the landed work. Nothing moved. */
  | ({ status: 'conflict' } & Conflict)
  /**
   * Applied, but the gate (the task's verify, then `land.verify`) failed on the combination. Nothing
   * moved. `setup`: the command that failed is the role's `setup` (`LandRequest.setup`), run before
   * the gate: no agent's work can fix that, so landing stops.
   */
  | {
      status: 'gate-failed'
      command: string
      output: string
      exitCode: number | null
      setup?: boolean
      /**
       * What the work was applied onto: the landed work and the target's own commits, without this
       * task's work. With `Lander.gateAlone`, the orchestrator asks whether the gate fails there too.
       */
      base?: string
    }

/** What `Lander.gateAlone` asks: one gate command, on a base without any task's work. */
export interface GateAloneRequest {
  /** The base of a landing whose gate failed (`LandOutcome` gate-failed's `base`). */
  base: string
  /** The gate command that failed (`land.verify`). */
  command: string
  signal: AbortSignal
  /** Where the command runs, as for `LandRequest.exec`. */
  exec?: LandRequest['exec']
}

/** How the gate went on a base alone (`Lander.gateAlone`). */
export interface GateAloneVerdict {
  /** The command passed on the base: the failure was the task's work. */
  passed: boolean
  exitCode: number | null
  output: string
  /** The target's newest commit in the base (a person's, usually), and its subject: named to people. */
  commit: string
  subject: string
}

/**
 * Brings completed work onto the person's branch: one commit per task, in dependency order, gated
 * by verify on the combined result. Published as a plugin that calls `ctx.registerLander`; the
 * orchestrator decides what lands when, the lander how.
 *
 * @example
 * const lander: Lander = {
 *   name: 'log',
 *   prepare: async () => ({ target: 'main', base: 'main', landed: [] }),
 *   land: async ({ task }) => ({ status: 'landed', commit: task.id, moved: true }),
 * }
 */
export interface Lander {
  readonly name: string
  /**
   * Called once when a run starts (and by `tanuki land`): settles the target, repairs what a crash
   * left behind, and says what already landed. `recorded.target` is the target an earlier run of
   * the project recorded: a resume lands where the run started landing, even if a person has
   * switched branches since; a fresh start (`recorded.fresh`) lands on the branch checked out.
   * A failure once the target is known is a `TanukiError` naming it in `details.target`: the
   * message is then recorded as why that target's waiting work waits (and no other's).
   */
  prepare(recorded?: LandingRecord): Promise<LandingStart>
  /** Lands one task whose dependencies have all landed. One landing at a time. */
  land(request: LandRequest): Promise<LandOutcome>
  /**
   * Runs a gate command that failed on a landing on that landing's base alone (the landed work and
   * the target's own commits, without the task's work): whether the target fails it by itself.
   * Resolves with undefined when it cannot tell (the base is no longer where landings start).
   * The orchestrator asks once per base and command, and only after a gate failed.
   */
  gateAlone?(request: GateAloneRequest): Promise<GateAloneVerdict | undefined>
  /**
   * The target's tip now, cheaply (one `rev-parse`): while the target fails the gate by itself,
   * the orchestrator asks it now and then, and lands again once a new commit came.
   */
  targetTip?(): Promise<string | undefined>
  /** Releases what `prepare` took. */
  close?(): Awaitable<void>
}

/** Why a task came back to an agent after it completed: carried into its next prompt. */
export type LandingFeedback =
  | ({ kind: 'conflict' } & Conflict)
  | { kind: 'gate'; command: string; output: string; exitCode: number | null }

/** What `Orchestrator.land()` left: the landed work that still waits for the target, if any. */
export interface LandResult {
  /** Tasks whose work landed on the integration branch and waits for the target, in order. */
  held: string[]
  /** Why the target could not move, and what to do (when `held` is not empty). */
  note?: string
  /**
   * Complete work that waits for another branch, the one it was done for (`TaskRunState.target`),
   * which this run does not land on: each target with its tasks.
   */
  elsewhere?: { target: string; tasks: string[] }[]
  /** The last push of the target to `land.push`'s remote failed, and it failed again now. */
  pushFailed?: PushFailure
}
