import type { TanukiError } from '../errors.ts'
import type { Failure } from '../failure.ts'
import type { Task } from '../task/types.ts'

export type Awaitable<T> = T | Promise<T>

/** The project an agent works for. Paths are plain strings: the core never touches the disk. */
export interface ProjectInfo {
  /** Absolute path of the project directory (or any stable name when there is none). */
  root: string
  /** Short name, used to label agents' resources (containers, branches). */
  name: string
  /**
   * Where Tanuki keeps this project's state (logs, pid files, records of what it created). Set
   * once, by the orchestrator: the host's choice, else `<root>/.tanuki`.
   */
  stateDir: string
  /**
   * Where agents' worktrees go, when the host chose (config `worktreesDir`). Default, for git
   * backends: a per-project folder in the user's state directory, outside the project's tree.
   */
  worktreesDir?: string
  /**
   * The config file, relative to `root` (`tanuki.config.mjs`), for messages that say where to
   * change a setting; undefined when there is none or the host did not say.
   */
  configFile?: string
}

/** A piece of an agent's output as it streams. */
export interface OutputChunk {
  stream: 'stdout' | 'stderr'
  text: string
}

/** Tokens and cost of one run, where the agent reports them. */
export interface Usage {
  inputTokens?: number
  outputTokens?: number
  cacheReadTokens?: number
  costUsd?: number
  turns?: number
  /**
   * True when the figures are Tanuki's estimate, not the agent's own bill: the run ended (killed,
   * timed out, cut off) before the agent reported what it spent, so what its answers so far said
   * of their tokens was priced by the model's list price.
   */
  estimated?: boolean
}

/** One iteration's work order. */
export interface RunRequest {
  prompt: string
  task: Task
  /** 1-based. */
  iteration: number
  /** Aborted when the orchestrator stops or the iteration times out: stop the work and return. */
  signal: AbortSignal
  /** Called with output as it arrives (for logs and live views). */
  onOutput?: (chunk: OutputChunk) => void
  /**
   * What this iteration may spend, reserved for it from the task's, role's and run's budgets: an
   * agent that can cap itself should (Claude Code's `--max-budget-usd`).
   */
  budget?: { usd?: number; tokens?: number }
}

/** What an agent produced in one iteration. */
export interface RunResult {
  /**
   * The text the completion signal is looked for in: for a model agent, its final answer; for a
   * command, its whole output.
   */
  output: string
  /** The process's exit code, where there is one. */
  exitCode?: number | null
  /** The agent's own account of a failure (a non-zero exit, an API error). */
  error?: string
  usage?: Usage
  /** The model session, to resume or inspect it. */
  sessionId?: string
  /** Tool calls that reported errors, in order. */
  toolErrors?: string[]
  /**
   * Why the run did not succeed, when the agent can tell: it never started (`could-not-start`), it
   * hit a rate or usage limit (`rate-limited`), or it failed on its own (`agent-error`). The
   * orchestrator decides from the class what happens next (see `FailureClass`).
   */
  failure?: AgentFailure
}

/** A failure as an agent reports it. */
export interface AgentFailure extends Failure {
  /**
   * The role's configuration is the cause (a binary that is missing, a flag refused, credentials
   * refused): the role is paused until it is fixed, and its tasks wait unharmed.
   */
  config?: boolean
  /** For `rate-limited`: when the limit resets (clock ms), when the agent said. */
  resetAt?: number
  /** For `rate-limited`: how long to wait, when the agent said. */
  retryAfterMs?: number
  /**
   * For `rate-limited`: the service failed (overloaded, a 5xx, out of reach), not a limit. It
   * parks the account as a limit does, but only `sameFailureLimit` times in a row for one task:
   * after that the try counts as an `agent-error`, so a request that fails for this task alone is
   * not paid for again and again.
   */
  outage?: boolean
  /**
   * For `verify-could-not-run`: a program the verify command names itself (`pytest` of `pytest
   * -q`, not the `vitest` that `npm test`'s script runs) could not run where the agent works (exit
   * 126: not executable, 127: not found). No agent can make it pass, so every task whose verify is
   * the same command, on the same role (the same sandbox), waits, unharmed, until a person fixes
   * it (installs the program, corrects the verify) and resumes, or reruns one of them in a run
   * that stays on.
   */
  unrunnable?: VerifyUnrunnable
  /**
   * The work is certainly not done, whatever a check says (a merge left with conflict markers):
   * the try does not complete the task, even when its signal and verify pass.
   */
  unfinished?: boolean
}

/** A verify command that could not run at all where an agent works. */
export interface VerifyUnrunnable {
  /** The verify command, as the task gives it. */
  command: string
  /** 126 (not executable) or 127 (not found). */
  exitCode: number
  /** The program the shell could not find or run (`pytest`), one the verify command names itself. */
  program?: string
  /** Where it ran, when that is not the host (the agent's `runsIn`). */
  runsIn?: string
  /** What the shell said: the last line of its output (`sh: 1: pytest: not found`). */
  said?: string
  /**
   * Found before any agent worked on the task: `command -v` found `program` nowhere the verify
   * looks for it (the verify itself did not run; `exitCode` is the 127 it would exit).
   */
  preflight?: boolean
}

export interface ExecOptions {
  /** Kill the command after this long; the result then has `timedOut: true`. */
  timeoutMs?: number
  signal?: AbortSignal
  onOutput?: (chunk: OutputChunk) => void
  /**
   * The command is a role's `setup`, readying the workspace: a backend that commits the workspace's
   * changes leaves out of the task's commits the files it creates that git neither tracks nor
   * ignores (and names them in `ExecResult.leftOut`). What it changes in tracked files is the
   * task's work as any change is.
   */
  setup?: boolean
}

/** The outcome of a command run where the agent works. */
export interface ExecResult {
  /** `null` when the command was killed (timeout, abort). */
  exitCode: number | null
  /** stdout and stderr, interleaved as they arrived. */
  output: string
  timedOut: boolean
  durationMs: number
  /**
   * For a `setup`: the paths it created that git neither tracks nor ignores, left out of the
   * task's commits (relative to the repository's top; a folder ends with `/`).
   */
  leftOut?: string[]
}

/** Why an agent ended. */
export interface AgentExit {
  /** What happened, in a few words ("exit code 137", "container killed"). */
  reason: string
  /** True when Tanuki asked it to stop; false for a crash. */
  expected: boolean
}

/**
 * A running agent: a process, a container, or anything that can take a prompt and run commands
 * in its own workspace.
 */
export interface Agent {
  /** Unique within the project, e.g. `backend-1`. */
  readonly name: string
  readonly role: string
  /** The backend's name. */
  readonly backend: string
  /** Where it works (a directory, a container), for people reading status. */
  readonly workspace?: string
  /**
   * Where its commands run when that is not the host (`the container of agent qa-1 (image
   * alpine:3)`): named in a cause about a command that could not run there, which may well run on
   * the host.
   */
  readonly runsIn?: string
  /**
   * The account it spends (e.g. `claude:ANTHROPIC_API_KEY`): agents sharing one park together when
   * it hits a usage limit. Default: its own name.
   */
  readonly account?: string
  /**
   * Runs one iteration of a task. Resolves when the agent is done, whatever it achieved; rejects
   * with a `TanukiError` of code `TANUKI_AGENT_CRASHED` when the agent died, `TANUKI_ABORTED` when
   * `request.signal` aborted it.
   */
  run(request: RunRequest): Promise<RunResult>
  /**
   * Runs a shell command in the agent's workspace (where `run` worked: same directory, same
   * container). Verify commands run here. Rejects only when the command could not be started.
   */
  exec(command: string, options?: ExecOptions): Promise<ExecResult>
  /**
   * Called once before the first iteration of a task (optional). A backend with per-agent
   * workspaces prepares the workspace here: it starts from `context.base` (the landed work),
   * brings in the work of dependencies that has not landed yet, and carries on the task's own
   * earlier work when it comes back after a failed landing. A merge that does not apply cleanly is
   * left in progress in the workspace and returned as a conflict: the agent resolves it in its
   * first iteration. Throwing counts as an agent failure.
   */
  beginTask?(task: Task, context: TaskContext): Promise<TaskStart | void>
  /**
   * Called once when a task's loop ends (optional), before its status is recorded and before any
   * dependent starts. For `complete`, a backend publishes the work here (for git: records the
   * task's commits where the lander finds them); for `review` too, so that the work lands if a
   * person approves it (marks it complete). Throwing on `complete` sends the task to `review`.
   */
  endTask?(task: Task, outcome: { status: 'complete' | 'review' | 'failed' }): Promise<void>
  /** Stops the agent; its workspace stays for a later spawn of the same name. */
  stop(): Promise<void>
  /** Stops the agent and deletes its workspace and any resources it holds. */
  remove(): Promise<void>
  /** Subscribes to the agent's end, expected or not. Returns an unsubscribe function. */
  onExit(listener: (exit: AgentExit) => void): () => void
}

/** What an agent needs to know to prepare its workspace for a task (see `Agent.beginTask`). */
export interface TaskContext {
  /** Where the task starts from: the landed work (for git, the integration branch), when landing is on. */
  base?: string
  /** Dependencies that are complete but whose work has not landed yet: bring their work in. */
  unlanded: readonly string[]
  /** The task did work before and comes back to be fixed (its landing failed): carry that work on. */
  carry: boolean
}

/** How a workspace came out of `beginTask`. */
export interface TaskStart {
  /** Work that did not apply cleanly; the merge is left in progress for the agent to resolve. */
  conflict?: Conflict
  /**
   * The task's own earlier attempt, cut off (its agent crashed, the run was killed), is in the
   * workspace, uncommitted: the prompt tells the agent so. Absent: not carried, or not known.
   */
  carried?: boolean
}

/** Work that did not merge cleanly. */
export interface Conflict {
  /** The conflicted files, relative to the workspace. */
  files: string[]
  /** What the other side changed in those files, for the agent's prompt (a diff, trimmed). */
  detail: string
  /** What was being brought in ("the landed work", "the work of TASK-2"). */
  what: string
  /**
   * The work brought in is the task's own earlier work, carried onto what it starts from now
   * (after a failed landing, or an interrupted attempt): `detail` is then what changed there since
   * that work began. After a landing that conflicted, this is the same conflict met again where
   * the agent resolves it: it is said once, not twice.
   */
  own?: boolean
}

/** What `AgentBackend.cleanup` is told. */
export interface CleanupOptions {
  /** Delete even branches and refs holding work that has not landed. */
  force?: boolean
  /**
   * The options of every role the config gives this backend (`backendRoles`): a backend whose
   * roles may reach their agents in different places (a Docker role's `host`) looks in each.
   */
  roles?: Record<string, unknown>[]
}

/** What a cleanup did. */
export interface CleanupReport {
  /**
   * What it deleted: folders as absolute paths, branches and refs by their names (which hold a
   * `/`), containers by theirs. `tanuki project stop --remove` counts them by those shapes.
   */
  removed: string[]
  /**
   * What it kept: because it holds work that has not landed, with the tasks whose work it is, or
   * (`tasks` empty) because it could not be deleted.
   */
  kept: KeptWork[]
  /** With `force`: what it deleted though it held work that had not landed, with those tasks. */
  discarded?: KeptWork[]
}

/** A branch (or other holder) of work that has not landed, and what is on it. */
export interface KeptWork {
  /** The branch, folder or ref. */
  name: string
  /** The tasks whose work it holds that has not landed. */
  tasks: string[]
  /**
   * Commits on it that are no task's recorded work and not on a landed branch: a person's own
   * (made by hand in the agent's worktree, or left there uncommitted and committed at removal).
   * `sha` (short) and `subject` are the newest's.
   */
  commits?: { count: number; sha: string; subject: string }
}

/** What the orchestrator asks a backend for. */
export interface SpawnRequest {
  /** The agent's name. Reusing a name reuses its workspace. */
  name: string
  role: string
  /** The role's configuration (`agents.<role>` in the config), for backend-specific options. */
  options: Readonly<Record<string, unknown>>
  project: ProjectInfo
  /**
   * Aborted when the run stops while the spawn is under way: a backend whose spawn waits (for a
   * machine to take the agent, say) gives up then, rejecting with `TANUKI_ABORTED`.
   */
  signal?: AbortSignal
}

/** A role's options, handed to a backend to check before the run starts. */
export interface RoleCheck {
  role: string
  /** The role's configuration: `defaults` under `agents.<role>`, as `SpawnRequest.options` will be. */
  options: Readonly<Record<string, unknown>>
  project: ProjectInfo
}

/** What `AgentBackend.checkPrograms` found for a role. */
export interface ProgramCheck {
  /** Programs that cannot start as configured: `task validate` exits 1 with each. */
  problems: TanukiError[]
  /**
   * Programs not found here that may be installed where the agents run (a default binary such as
   * `claude`): said, not refused. Without the role's name: the same note of several roles is said once.
   */
  notes: string[]
}

/**
 * A one-off command in a sandbox like a role's agents' (the same image, limits and environment),
 * on a folder of the host: how the landing gate runs a task's verify where its agents ran.
 */
export interface SandboxExecRequest extends ExecOptions {
  project: ProjectInfo
  role: string
  /** The role's configuration, as its agents get it. */
  options: Readonly<Record<string, unknown>>
  /** The host folder to run in; it is the sandbox's workspace. */
  dir: string
  /**
   * The worktree `dir` is a folder of, when it is not its top (a project in a subfolder of its
   * repository): the sandbox gives the whole worktree, as an agent's has, and runs in `dir` there.
   */
  top?: string
  command: string
  /** Variables for the command, on top of what the role's agents get. */
  env?: Record<string, string>
}

/**
 * Makes agents. Published as a plugin that calls `ctx.registerBackend`.
 *
 * @example
 * const echo: AgentBackend = {
 *   name: 'echo',
 *   async spawn({ name, role }) {
 *     return {
 *       name, role, backend: 'echo',
 *       run: async ({ prompt }) => ({ output: prompt }),
 *       exec: async () => ({ exitCode: 0, output: '', timedOut: false, durationMs: 0 }),
 *       stop: async () => {}, remove: async () => {}, onExit: () => () => {},
 *     }
 *   },
 * }
 */
export interface AgentBackend {
  /** The name roles refer to in the config (`backend: 'docker'`). */
  readonly name: string
  /**
   * Creates (or re-attaches to) an agent. Rejects with a clear `TanukiError` when it cannot; with
   * `details.config: true` (`blamesConfig`) when the role's configuration is the cause (an image
   * that cannot run, a user that cannot write the workspace): the role is then paused and its
   * tasks wait, unharmed, for the fix and a resume. Any other refusal fails the role's queued
   * tasks once none of its agents is left to take them.
   */
  spawn(request: SpawnRequest): Promise<Agent>
  /**
   * Runs a one-off command in a sandbox like the role's agents', on a host folder. The landing
   * gate uses it, so a task's verify on the combined work runs where its agents ran (in their
   * container, with their tools); a backend without it has the gate run on the host.
   */
  execIn?(request: SandboxExecRequest): Promise<ExecResult>
  /**
   * Checks a role's options before anything runs (optional): an unknown agent kind, a command
   * without its argv, an image the engine does not have. Throws a `TanukiError` naming the role and
   * key (`agents.<role>: …`). `tanuki task validate` and `project start` call it for every role;
   * nothing is spawned or written when one throws.
   */
  validateRole?(check: RoleCheck): Awaitable<void>
  /**
   * Looks on this machine for the programs a role's agents would start (optional): a command's
   * program, an agent's binary. `tanuki task validate` calls it for every role (a run does not: a
   * role whose program is missing is paused then, unharmed). `problems` are programs that cannot be
   * meant (a typo, a path that is not there), each naming its key (`agents.<role>.command[0]`);
   * `notes` are programs missing here that may well be installed where the agents run.
   */
  checkPrograms?(check: RoleCheck): Awaitable<ProgramCheck>
  /**
   * What a role's agents report of what they spend (optional): `usd` (dollars, and tokens),
   * `tokens` (tokens only: a `usd` budget would not count them), or undefined (nothing, or not
   * known). The check refuses a `usd` budget over a role whose agents report `tokens` only.
   */
  reportsSpend?(check: RoleCheck): 'usd' | 'tokens' | undefined
  /**
   * Deletes what this backend left for a project (worktrees, branches, containers), including
   * agents that are not running, e.g. after a crash. Used by `tanuki project stop --remove`. Work
   * that has not landed is kept, and reported, unless `force`.
   */
  cleanup?(project: ProjectInfo, options?: CleanupOptions): Promise<CleanupReport | void>
  /**
   * Stops what the agents of a run killed outright (`kill -9`, a crash) left running, keeping
   * their workspaces for the next run: `tanuki project stop` calls it when no orchestrator runs.
   * Resolves with the names of the agents it stopped.
   */
  stopLeftovers?(project: ProjectInfo, options?: Pick<CleanupOptions, 'roles'>): Promise<string[]>
}
