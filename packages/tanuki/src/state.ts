import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { mkdir, open } from 'node:fs/promises'
import { basename, dirname } from 'node:path'
import {
  Resolver,
  isNotLanded,
  progressOf,
  taskView,
  type AgentInfo,
  type OrchestratorStatus,
  type Reporter,
  type Progress,
  type PushFailure,
  type RunState,
  type Task,
  type TaskFacts,
  type TaskRunState,
  type TaskView,
} from '@tanuki/core'
import { agentLog, isIterationLog, iterationLog, setupLog, taskLogDir, type StatePaths } from './paths.ts'

/** The `tanuki project status --json` document. Public API: keep it stable. */
export interface StatusDocument {
  /**
   * `starting`, `running`, `stopping` while an orchestrator runs; otherwise `not started`,
   * `complete` (every task complete), `stopped` (work left: the run was stopped or killed, or a
   * task was set back to pending after it settled) or `failed` (settled with tasks not complete
   * and none a run could take, or ended by an error).
   */
  status: string
  /** The running orchestrator's pid. */
  pid?: number
  updatedAt: string
  tasks: TaskView[]
  /**
   * Counts. With no orchestrator running, `notLanded`: complete tasks whose work has not landed on
   * the branch the project lands on (`target`), and does not wait for another one; `tanuki land`
   * lands it.
   */
  progress: Progress & { queued?: number; notLanded?: number }
  /** The branch complete work lands on, as the last run recorded it (none without git). */
  target?: string
  /**
   * The last push of the target to `land.push`'s remote failed (`error`: what git said; `at`: ms
   * since the epoch), and none went through since: the landed work is not on the remote.
   * `tanuki land` pushes again. Absent when the last push went through, or nothing is pushed.
   */
  pushFailed?: PushFailure
  /**
   * `leftRunning`: the agent's process still runs though no orchestrator does (a run killed with
   * `kill -9` left it, editing and spending); `tanuki project stop` stops it.
   */
  agents: (Omit<AgentInfo, 'assigned'> & { assigned?: number; leftRunning?: { pid: number } })[]
  /**
   * The remote workers of the project (`tanuki worker`), as the run last saw them in Redis; only
   * for projects with `remote` in their config.
   */
  workers?: WorkerStatus[]
}

/** A remote worker in the status document. */
export interface WorkerStatus {
  name: string
  host: string
  roles: string[]
  capacity: number
  backend: string
  agents: { name: string; role: string; task?: string }[]
  lastSeen: string
  alive: boolean
  [key: string]: unknown
}

/** The status document of the orchestrator running in this process. */
export function statusDocument(status: OrchestratorStatus): StatusDocument {
  return {
    status: status.state,
    pid: process.pid,
    updatedAt: new Date().toISOString(),
    tasks: status.tasks,
    progress: { ...status.progress, queued: status.queue.size },
    agents: status.agents,
    ...(status.pushFailed ? { pushFailed: status.pushFailed } : {}),
  }
}

function writeAtomic(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true })
  const temp = `${path}.${process.pid}.tmp`
  writeFileSync(temp, text)
  renameSync(temp, path)
}

export function readJson<T>(path: string): T | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T
  } catch {
    return undefined
  }
}

/** How long log text gathers before it is written. */
const LOG_FLUSH_MS = 50
/** The buffer log text is encoded into between two writes: about 100 ms of 50 agents' output. */
const SLAB_BYTES = 1 << 20

/** What the state reporter needs of its run. */
export interface StateReporterOptions {
  paths: StatePaths
  /** The orchestrator's status, for the snapshot other terminals read. */
  status: () => OrchestratorStatus
  /** Reports a write that failed outside an event (the throttled snapshot, the batched logs). */
  onError: (context: string, error: unknown) => void
}

/**
 * Keeps `.tanuki/` up to date while a project runs: the status snapshot other terminals read,
 * the agents that exist, and the logs of every task iteration and agent. A reporter: a write that
 * fails while an event is handled is reported by the orchestrator as an `orchestrator:error`
 * naming it, and one that fails later (the snapshot and logs are batched) through `onError`.
 * A start that was refused leaves the last run's snapshot alone.
 */
export function createStateReporter(options: StateReporterOptions): Reporter & { flush(): Promise<void> } {
  const { paths } = options
  let timer: NodeJS.Timeout | undefined
  let ran = false
  /** How long the last snapshot took, in ms: a big project's snapshot waits longer (see `schedule`). */
  let cost = 0
  const snapshot = (): void => {
    timer = undefined
    const began = performance.now()
    const status = options.status()
    const doc = statusDocument(status)
    writeAtomic(paths.status, JSON.stringify(doc, null, 2) + '\n')
    writeAtomic(paths.agents, JSON.stringify(status.agents, null, 2) + '\n')
    cost = performance.now() - began
  }
  const guarded = (context: string, work: () => void) => (): void => {
    try {
      work()
    } catch (error) {
      options.onError(context, error)
    }
  }
  // Snapshots are throttled: a status view half a second old is fine; rewriting the file on
  // every event of a busy run is not. A snapshot costs time in proportion to the tasks (about
  // 30 ms for 1,000 on a slow VM), so it waits at least twenty times its last cost: it never takes
  // more than a twentieth of the run's one thread, whatever the project's size (at a tenth, it was
  // a tenth of the orchestrator's time in runs of 1,000 quick tasks).
  const schedule = (): void => {
    if (ran) timer ??= setTimeout(guarded(`writing ${paths.status}`, snapshot), Math.max(500, 20 * cost))
  }
  // Log text is gathered per file and written every 50 ms: an open, write and close for each
  // event cost more than the agent's command itself in runs of quick tasks (bench/cli.bench.ts),
  // and once per turn of the event loop still meant three of each per file and iteration. At most
  // 50 ms of log text (and a write under way) is lost to a kill -9. It is kept as bytes, each
  // piece encoded once and shared by the task's log and the agent's: joining it as text meant
  // copying every chunk of an agent's output four times (two joins, two encodings), the most of a
  // busy run's time. The files are written off the orchestrator's thread, one batch after another:
  // done on it, a folder and an open and close a task cost a fifth of its time in runs of quick
  // tasks, more than anything else Tanuki does for a task (bench/cli.bench.ts).
  const buffered = new Map<string, Buffer[]>()
  let flushing: NodeJS.Timeout | undefined
  /** The batches written so far, in order: each starts once the one before it has ended. */
  let writes: Promise<void> = Promise.resolve()
  // The bytes are encoded into buffers that are reused once their batch is written: a fresh
  // allocation for each chunk cost a page fault per few kilobytes.
  const spare: Buffer[] = []
  let slab: Buffer = Buffer.allocUnsafe(SLAB_BYTES)
  let slabUsed = 0
  /** The slabs that the batch being gathered uses, the current one among them. */
  let slabs: Buffer[] = [slab]
  const nextSlab = (): void => {
    slab = spare.pop() ?? Buffer.allocUnsafe(SLAB_BYTES)
    slabUsed = 0
    slabs.push(slab)
  }
  const encode = (text: string): Buffer => {
    // A UTF-16 unit takes at most 3 bytes.
    const most = text.length * 3
    if (most > SLAB_BYTES - slabUsed) {
      if (most > SLAB_BYTES / 4) return Buffer.from(text)
      nextSlab()
    }
    const start = slabUsed
    slabUsed += slab.write(text, start)
    return slab.subarray(start, slabUsed)
  }
  // Every task has a log folder of its own: made before its first write, rather than after that
  // write failed (an exception and one more system call per task).
  const folders = new Set<string>()
  const appendBytes = async (path: string, pieces: Buffer[]): Promise<void> => {
    const file = await open(path, 'a')
    try {
      await file.writev(pieces)
    } finally {
      await file.close()
    }
  }
  const appendToLog = async (path: string, pieces: Buffer[]): Promise<void> => {
    const folder = dirname(path)
    if (!folders.has(folder)) {
      await mkdir(folder, { recursive: true })
      folders.add(folder)
    }
    try {
      await appendBytes(path, pieces)
    } catch {
      // The folder went away meanwhile (a person cleaned the logs up): make it again.
      await mkdir(folder, { recursive: true })
      await appendBytes(path, pieces)
    }
  }
  /** Takes what was gathered and writes it after the batches before it; resolves when all are. */
  const writeLogs = (): Promise<void> => {
    clearTimeout(flushing)
    flushing = undefined
    if (buffered.size === 0) return writes
    const batch = [...buffered]
    buffered.clear()
    const used = slabs
    slabs = []
    nextSlab()
    // Every file's write ends before the next batch starts, failed or not: text appended by two
    // batches at once could interleave. Each failure is said.
    writes = writes.then(async () => {
      const results = await Promise.allSettled(batch.map(([path, pieces]) => appendToLog(path, pieces)))
      for (const result of results) if (result.status === 'rejected') options.onError('writing the logs', result.reason)
      spare.push(...used.slice(0, Math.max(0, 4 - spare.length)))
    })
    return writes
  }
  const append = (path: string, bytes: Buffer): void => {
    const pieces = buffered.get(path)
    if (pieces) pieces.push(bytes)
    else buffered.set(path, [bytes])
    flushing ??= setTimeout(writeLogs, LOG_FLUSH_MS)
  }
  /** Each agent's log path, worked out once rather than for every chunk of its output. */
  const agentLogs = new Map<string, string>()
  const agentLogOf = (agent: string): string => {
    let path = agentLogs.get(agent)
    if (path === undefined) agentLogs.set(agent, (path = agentLog(paths, agent)))
    return path
  }
  // A task that runs again (its agent crashed, the run resumed, a person reset it) starts its
  // iterations at 1 again; its log files keep counting, so no run's log is mixed into another's.
  // Counted in memory (the writes are buffered), starting from the files an earlier run left.
  const logCount = new Map<string, number>()
  /** The task log folders an earlier run left, listed once rather than asked of each task. */
  let earlierFolders: Set<string> | undefined
  /** The iteration logs a task has so far, this run's and those an earlier run left. */
  const logsSoFar = (taskId: string): number => {
    let earlier = logCount.get(taskId)
    if (earlier !== undefined) return earlier
    const dir = taskLogDir(paths, taskId)
    earlierFolders ??= new Set(existsSync(dirname(dir)) ? readdirSync(dirname(dir)) : [])
    earlier = 0
    try {
      if (earlierFolders.has(basename(dir))) earlier = readdirSync(dir).filter(isIterationLog).length
    } catch {
      // Not a folder after all: its write will say so.
    }
    logCount.set(taskId, earlier)
    return earlier
  }
  const current = new Map<string, string>()
  const logOf = (e: { taskId: string; iteration: number }): string =>
    current.get(e.taskId) ?? iterationLog(paths, e.taskId, e.iteration)
  const finish = async (): Promise<void> => {
    clearTimeout(timer)
    timer = undefined
    if (ran) snapshot()
    await writeLogs()
  }
  return {
    name: 'tanuki:state',
    onEvent: schedule,
    onOrchestratorState(e) {
      if (e.to === 'running') ran = true
    },
    onTaskSetup(e) {
      // Before the iteration log it readies the workspace for, which `tanuki logs` prints next.
      const file = setupLog(paths, e.taskId, logsSoFar(e.taskId) + 1)
      const how = e.timedOut ? 'timed out' : `exited ${e.exitCode ?? 'without a code'}`
      const header = `# ${e.taskId} — setup on ${e.agent} at ${new Date(e.at).toISOString()}\n`
      // What it created that git would have taken, left out of the task's commits: said where people look.
      const leftOut = e.leftOut?.length
        ? `\nLeft out of the task's commits: ${e.leftOut.join(', ')} (the setup created them and git neither tracks nor ignores them; add them to the project's .gitignore)\n`
        : ''
      append(file, encode(`${header}\n## Setup: \`${e.command}\` ${how}\n\n${e.output}\n${leftOut}`))
      append(agentLogOf(e.agent), encode(`\n[${e.taskId} setup: \`${e.command}\` ${how}]\n${e.output}${leftOut}`))
    },
    onIterationStarted(e) {
      const earlier = logsSoFar(e.taskId)
      logCount.set(e.taskId, earlier + 1)
      const file = iterationLog(paths, e.taskId, earlier + 1)
      current.set(e.taskId, file)
      const rerun = earlier + 1 === e.iteration ? '' : ` (log ${earlier + 1} of this task)`
      const header = `# ${e.taskId} — iteration ${e.iteration}/${e.maxIterations}${rerun} on ${e.agent} at ${new Date(e.at).toISOString()}\n`
      append(file, encode(`${header}\n## Prompt\n\n${e.prompt}\n## Agent output\n\n`))
      append(agentLogOf(e.agent), encode(`\n${header}`))
    },
    onIterationOutput(e) {
      const bytes = encode(e.text)
      append(logOf(e), bytes)
      append(agentLogOf(e.agent), bytes)
    },
    onIterationFinished(e) {
      const lines = [`\n## Result: ${e.outcome} — ${e.reason}\n`]
      if (e.failure) lines.push(`failure: ${e.failure.class} — ${e.failure.cause}\n`)
      if (e.usage) lines.push(`usage: ${JSON.stringify(e.usage)}\n`)
      if (e.verify) {
        lines.push(
          `\n## Verify: \`${e.verify.command}\` exited ${e.verify.exitCode ?? 'without a code'}${e.verify.timedOut ? ' (timed out)' : ''}\n\n${e.verify.output}\n`,
        )
      }
      append(logOf(e), encode(lines.join('')))
      append(agentLogOf(e.agent), encode(`\n[${e.taskId} #${e.iteration}: ${e.outcome} — ${e.reason}]\n`))
    },
    onClose: finish,
    flush: finish,
  }
}

/**
 * How a project stands when no orchestrator runs it, from what its journal recorded. `workLeft`: a
 * task a run would take now (ready, or in flight), which a person's `task rerun|reset|mark` after
 * the run can make.
 */
export function runStatusWord(state: RunState, tasks: { allComplete: boolean; workLeft: boolean }): string {
  switch (state.run.state) {
    case undefined:
      return 'not started'
    case 'settled':
      // Settled is of the last run; a task set back to pending since is work for the next one
      // (`resume` runs it), so the project is not failed, nor complete, until that run settles.
      if (tasks.workLeft) return 'stopped'
      return tasks.allComplete ? 'complete' : 'failed'
    case 'failed':
      return 'failed'
    // `running` with no orchestrator: it was killed; either way, interrupted.
    default:
      return 'stopped'
  }
}

/** Each task with the status (and facts) its journal recorded: the authority over its file. */
export function withJournal(
  tasks: Task[],
  state: RunState,
): { task: Task; facts: TaskFacts & Pick<TaskRunState, 'feedback' | 'triesFrom' | 'heldBy' | 'accepted'> }[] {
  return tasks.map((task) => {
    const saved = state.tasks[task.id]
    if (!saved) {
      const iterations = typeof task.extra.iterations === 'number' ? task.extra.iterations : 0
      const reason = typeof task.extra.failure === 'string' ? task.extra.failure : undefined
      return { task, facts: { iterations, attempts: 0, reason } }
    }
    const recorded: Task = { ...task, status: saved.status }
    if (saved.assignedTo === undefined) delete recorded.assignedTo
    else recorded.assignedTo = saved.assignedTo
    return { task: recorded, facts: saved }
  })
}

/**
 * The dependency graph of tasks (with their recorded statuses), as a run builds it: a task the
 * journal has complete whose file is gone since counts complete for its dependents, as a run counts it.
 */
export function recordedGraph(tasks: readonly Task[], state: RunState): Resolver {
  const graph = new Resolver()
  const here = new Set(tasks.map((task) => task.id))
  for (const [id, saved] of Object.entries(state.tasks))
    if (!here.has(id) && saved.status === 'complete') graph.retire(id)
  graph.addAll(tasks)
  return graph
}

/** Builds the status document of a project that is not running, from its task files and journal. */
export function statusFromJournal(tasks: Task[], state: RunState, paths: StatePaths): StatusDocument {
  const recorded = withJournal(tasks, state)
  const graph = recordedGraph(
    recorded.map(({ task }) => task),
    state,
  )
  const views: TaskView[] = recorded.map(({ task, facts }) =>
    taskView(task, {
      ...facts,
      // Done for the branch the project lands on again: it lands at the next run, waits for nothing else.
      ...('target' in facts && facts.target === state.run.target ? { target: undefined } : {}),
      blockers: task.status === 'pending' || task.status === 'blocked' ? graph.blockers(task.id) : [],
    }),
  )
  const progress = progressOf(
    recorded.map(({ task, facts }) => ({ role: task.role, status: task.status, landed: facts.landed })),
  )
  const agents = (readJson<StatusDocument['agents']>(paths.agents) ?? []).map((agent) => ({
    ...agent,
    status: agent.status === 'crashed' ? 'crashed' : 'stopped',
  })) as StatusDocument['agents']
  const allComplete = progress.total > 0 && progress.complete === progress.total
  const workLeft =
    graph.ready().length > 0 || recorded.some(({ task }) => task.status === 'assigned' || task.status === 'in_progress')
  // Complete is not delivered: work that lands on the project's branch and has not (landing off,
  // a task marked complete by hand since the run).
  const target = state.run.target
  const notLanded = target ? views.filter(isNotLanded).length : 0
  return {
    status: runStatusWord(state, { allComplete, workLeft }),
    updatedAt: new Date().toISOString(),
    tasks: views,
    progress: target ? { ...progress, notLanded } : progress,
    agents,
    ...(target ? { target } : {}),
    ...(state.run.pushFailed ? { pushFailed: state.run.pushFailed } : {}),
  }
}
