import { hostname } from 'node:os'
import {
  TanukiError,
  askGateAlone,
  isTanukiError,
  roleBackendName,
  roleConfig,
  roleSetup,
  setupFailure,
  setupPlugins,
  targetFailsNote,
  targetFailsOutput,
  type EmptyLanding,
  type LandRequest,
  type LandResult,
  type LandingFeedback,
  type LandingStart,
  type PushFailure,
  type RunRecord,
  type RunState,
  type TargetPush,
  type Task,
} from '@tanuki/core'
import { createGitLander, git, gitRepository, gitSaid, taskRef } from '@tanuki/plugin-agent-process/kit'
import { controlSocketPath, sendControl } from './control.ts'
import { appendDurably, readJournal } from './journal.ts'
import { acquireLock, runningOrchestrator } from './lock.ts'
import { defaultPlugins } from './plugins.ts'
import { sourceFailures } from './plugin-sources.ts'
import { checkNamed, onlyThese, type LandOptions } from './land-only.ts'
import { projectInfo, readTasks, taskNotFound, type Project } from './project.ts'
import { withJournal } from './state.ts'
import { readTargetFails, writeTargetFails } from './target-fails.ts'

/** What `tanuki land` did (or, with `dryRun`, would do). */
export interface LandReport {
  /** The branch work landed on. */
  target: string
  /** Landed now, in order; `moved`: the target moved to it (else it waits on the integration branch, and a note says why). */
  landed: {
    taskId: string
    commit: string
    moved: boolean
    /** A person accepted its work as it is (`tanuki task mark ID complete`): its own verify did not run. */
    accepted?: true
  }[]
  /**
   * Settled now with nothing to land, in order (not in `landed`): no work was recorded for the
   * task, or its work adds nothing (`reason`). Recorded as landed all the same, so its dependents
   * land. With `dryRun`: those that would be, and are not in `plan`.
   */
  nothingToLand: { taskId: string; reason: EmptyLanding }[]
  /** Landed earlier on the integration branch, on the target now: it moved forward to them. */
  caughtUp: { taskId: string; commit: string }[]
  /**
   * Landed on the integration branch, not on the target, which could not move forward (a note says
   * why and what to do): the tasks, in the order they landed.
   */
  held: string[]
  /**
   * Could not land: back to pending, with why, for the next run's agents to fix; to review when it
   * has no tries left; complete still when a person accepted it and `land.verify` failed (`next`).
   */
  failed: {
    taskId: string
    reason: string
    /** What happens to it next, and what a person can do. */
    next?: string
    /** For a conflict: the ref of its work, for a person who merges it by hand (`git cherry-pick`). */
    work?: string
  }[]
  /** Complete but waiting on a dependency that has not landed (or could not). */
  waiting: { taskId: string; on: string[] }[]
  /**
   * Complete work done for another branch than `target`, which waits for that one and does not land
   * here (a person checked out another branch since, or `--into` names another): each branch with
   * its tasks, in the order they completed. `tanuki land --into <branch>` lands them there.
   */
  elsewhere?: { target: string; tasks: string[] }[]
  /** With `dryRun`: what would land, in order, with the conflicts each would meet. */
  plan?: { taskId: string; conflicts: string[] }[]
  /** What people should know (the target could not move forward, and why). */
  notes: string[]
  /** Why landing stopped before the end (a gate command that cannot run): the rest waits, complete. */
  stopped?: string
  /** Landed by the running orchestrator, which was asked to. */
  viaRunning?: boolean
  /**
   * The project is not a git repository (`none`), or one without a commit (`no-commit`): its
   * agents work in its folder itself, so their work is there already and nothing lands (a run
   * lands nothing either).
   */
  noRepository?: 'none' | 'no-commit'
  /**
   * Why landing ended with an error (the target's own new commits conflict with work that waits
   * for it, the target fails `land.verify` without any task's work, git failed, …): the rest of
   * the report is what was done, or known, before it.
   */
  error?: {
    code: string
    message: string
    /**
     * What the gate printed when the target failed it by itself (`TANUKI_LAND_TARGET_FAILS`): its
     * telling lines (`targetFailsOutput`).
     */
    output?: string[]
  }
  /**
   * The last push of the target to `land.push`'s remote failed (now, or in a run before and not
   * tried again): the landed work is not on the remote. `tanuki land` pushes again; absent once a
   * push went through.
   */
  pushFailed?: PushFailure
  /** A push of the target that had failed before went through now: the remote has the landed work. */
  pushed?: { remote: string; branch: string }
}

/**
 * The report of a landing that ended with `error` before anything landed: the work the journal
 * says waits for `target` (`first`, in order, then the rest), and the complete work not landed.
 */
function failedReport(state: RunState, target: string, error: TanukiError, first: string[] = []): LandReport {
  const tasks = Object.entries(state.tasks)
  const held = [...first]
  for (const [id, saved] of tasks)
    if (saved.status === 'complete' && saved.landed?.heldBack?.target === target && !held.includes(id)) held.push(id)
  const waiting = tasks
    .filter(([, saved]) => saved.status === 'complete' && !saved.landed)
    .sort(([, a], [, b]) => (a.completedAt ?? 0) - (b.completedAt ?? 0))
    .map(([taskId]) => ({ taskId, on: [] }))
  return {
    target,
    landed: [],
    nothingToLand: [],
    caughtUp: [],
    held,
    failed: [],
    waiting,
    notes: [],
    error: { code: error.code, message: error.message },
    ...(state.run.pushFailed ? { pushFailed: state.run.pushFailed } : {}),
  }
}

/**
 * Writes the statuses `records` changed to the task files' mirrored `status`, as a run does: the
 * journal changed them with no run on, and a file left behind reads as a status a person typed.
 */
async function mirrorStatuses(project: Project, records: readonly RunRecord[]): Promise<void> {
  if (!project.config.resolved.mirrorStatus) return
  for (const record of records) {
    if (record.t !== 'task' || !record.status || !project.source.pathOf(record.id)) continue
    await project.source.update(
      record.id,
      record.status === 'pending'
        ? { status: 'pending', assigned_to: null, failure: null }
        : { status: record.status, failure: record.reason ?? null },
    )
  }
}

/**
 * Complete tasks whose work has not landed, in the order they can land: every dependency first,
 * otherwise in the order they completed.
 */
export function landingOrder(
  tasks: readonly Task[],
  facts: ReadonlyMap<string, { landed?: unknown; completedAt?: number }>,
): Task[] {
  const pending = tasks
    .filter((task) => task.status === 'complete' && !facts.get(task.id)?.landed)
    .sort((a, b) => (facts.get(a.id)?.completedAt ?? 0) - (facts.get(b.id)?.completedAt ?? 0))
  const placed = new Set(tasks.filter((task) => facts.get(task.id)?.landed).map((task) => task.id))
  const order: Task[] = []
  for (let progress = true; progress; ) {
    progress = false
    for (const task of pending) {
      if (placed.has(task.id) || !task.dependsOn.every((dep) => placed.has(dep))) continue
      order.push(task)
      placed.add(task.id)
      progress = true
    }
  }
  return order
}

/**
 * `tanuki land`: lands what is complete and not yet landed, in dependency order, gated by verify
 * on the combined work. While an orchestrator runs, it is asked to do it; otherwise it is done here,
 * under the project's lock, and recorded in the journal. A task that cannot land goes back to
 * pending with why, so the next run's agent fixes it; unless the target fails `land.verify` without
 * any task's work: then no task is to blame, and the work waits, complete (`error` says so).
 */
export async function landProject(project: Project, options: LandOptions = {}): Promise<LandReport> {
  try {
    return await landOrRefuse(project, options)
  } catch (error) {
    // Refused, or failed before it knew more (landing off, a run elsewhere, the running
    // orchestrator's answer): said in the report too, with what the journal says waits.
    if (!isTanukiError(error)) throw error
    const state = readJournal(project.paths.journal).state
    return failedReport(state, options.into ?? state.run.target ?? '', error)
  }
}

/**
 * Why a project's folder has no repository to land in: it is none, or one without a commit.
 * Anything else git says (git missing, a repository it refuses to read) is an error to show, not
 * a folder to call "no repository".
 */
async function whyNoRepository(root: string): Promise<'none' | 'no-commit'> {
  const found = await git(['rev-parse', '--git-dir'], root)
  if (found.code === 0) return 'no-commit'
  if (/not a git repository/i.test(found.stderr)) return 'none'
  throw new TanukiError('TANUKI_LAND_FAILED', `git cannot read ${root}: ${gitSaid(found)}`)
}

/** `landProject`'s work; a `TanukiError` it throws is the report's `error`. */
async function landOrRefuse(project: Project, options: LandOptions): Promise<LandReport> {
  const config = project.config.resolved
  if (!config.land.enabled) {
    throw new TanukiError(
      'TANUKI_LAND_OFF',
      "Landing is off in tanuki.config (`land: false`): the work stays on the agents' branches.",
    )
  }
  const noRepository = (await gitRepository(project.root)) ? undefined : await whyNoRepository(project.root)
  if (noRepository) {
    const target = options.into ?? ''
    return {
      target,
      landed: [],
      nothingToLand: [],
      caughtUp: [],
      held: [],
      failed: [],
      waiting: [],
      notes: [],
      noRepository,
    }
  }
  const running = runningOrchestrator(project.paths.lock)
  if (running && !options.dryRun) {
    if (running.host !== hostname()) {
      throw new TanukiError(
        'TANUKI_LOCKED',
        `The orchestrator runs on ${running.host} (pid ${running.pid}); run \`tanuki land\` there.`,
      )
    }
    if (options.into) {
      throw new TanukiError('TANUKI_LOCKED', 'A run is on and lands on its own target; `--into` needs the run stopped.')
    }
    if (options.only) {
      throw new TanukiError(
        'TANUKI_LOCKED',
        `A run is on (pid ${running.pid}); landing only some tasks needs it stopped (\`tanuki project stop\`). ` +
          '`tanuki land` with no task asks the run to land all the complete work.',
      )
    }
    const result = (await sendControl(controlSocketPath(project.paths.stateDir), { command: 'land' }, 30 * 60_000)) as
      | LandResult
      | undefined
    return {
      target: readJournal(project.paths.journal).state.run.target ?? '',
      landed: [],
      nothingToLand: [],
      caughtUp: [],
      // An older orchestrator answers nothing: nothing is known to wait.
      held: result?.held ?? [],
      failed: [],
      waiting: [],
      notes: result?.note ? [result.note] : [],
      ...(result?.elsewhere && result.elsewhere.length > 0 ? { elsewhere: result.elsewhere } : {}),
      ...(result?.pushFailed ? { pushFailed: result.pushFailed } : {}),
      viaRunning: true,
    }
  }
  const lock = options.dryRun ? undefined : acquireLock(project.paths.lock, 'land')
  try {
    const state = readJournal(project.paths.journal).state
    const lander = createGitLander({
      project: projectInfo(project),
      land: { ...config.land, ...(options.into ? { into: options.into } : {}) },
      ...(options.into ? { intoFrom: '--into' } : {}),
      verifyTimeoutMs: config.verifyTimeoutMs,
      // Remote agents' work is on the shared git remote, and their next tasks start from what lands here.
      ...(config.remote ? { remote: typeof config.remote.git === 'string' ? config.remote.git : 'origin' } : {}),
    })
    const recordedTarget = options.into ? {} : state.run.target ? { target: state.run.target } : {}
    // Every source's tasks, with what the journal recorded of each. A task of a source that cannot
    // be read does not land now, nor does what depends on it: they land once it loads.
    const read = await readTasks(project)
    const recorded = withJournal(read.tasks, state)
    const tasks = recorded.map(({ task }) => task)
    // Tasks named that are not there, or not complete, are refused before anything moves.
    if (options.only) checkNamed(options.only, tasks, (id) => taskNotFound(project, id, read.errors))
    // A dry run writes nothing: no branch or worktree made, no target moved.
    let start: LandingStart
    try {
      start = options.dryRun ? await lander.inspect(recordedTarget) : await lander.prepare(recordedTarget)
    } catch (error) {
      if (options.dryRun || !isTanukiError(error)) throw error
      // The target could not be settled (its own new commits conflict with the work that waits
      // for it): that is why that work waits now, and what to do, so its records say so.
      const found = await lander.inspect(recordedTarget).catch(() => undefined)
      const target = found?.target ?? options.into ?? state.run.target ?? ''
      const landed = (id: string) => state.tasks[id]?.status === 'complete' && state.tasks[id]?.landed
      const report = failedReport(state, target, error, (found?.held ?? []).map(({ taskId }) => taskId).filter(landed))
      const notes: RunRecord[] = report.held.flatMap((id) => {
        const was = state.tasks[id]?.landed
        if (!was || was.commit === 'by hand') return []
        if (was.heldBack?.target === target && was.heldBack.note === error.message) return []
        return [{ t: 'task', id, landed: { ...was, heldBack: { target, note: error.message } } }]
      })
      if (notes.length > 0) appendDurably(project.paths.journal, notes)
      return report
    }
    const records: RunRecord[] = []
    const now = Date.now()
    // Whether the target is on `land.push`'s remote: each push (`prepare` pushes it again) says.
    let pushFailed = config.land.push ? state.run.pushFailed : undefined
    const sawPush = (push: TargetPush | undefined): void => {
      if (push?.error !== undefined)
        pushFailed = { remote: push.remote, branch: push.branch, error: push.error, at: now }
      else if (push && pushFailed?.branch === push.branch) pushFailed = undefined
    }
    sawPush(start.push)
    const facts = new Map(recorded.map(({ task, facts }) => [task.id, facts]))
    const statusOf = new Map(tasks.map((task) => [task.id, task.status]))
    for (const { taskId, commit } of start.landed) {
      const known = facts.get(taskId)
      // Only work still complete: a task rerun since is to land again.
      if (known && !known.landed && statusOf.get(taskId) === 'complete') {
        records.push({ t: 'task', id: taskId, landed: { commit, at: now } })
        facts.set(taskId, { ...known, landed: { commit, at: now } })
      }
    }
    // Taken off the integration branch, which started again from the target (its own new commits,
    // a person's, conflict with them): landed no more, they land again below from their work. On
    // record at once, for the integration branch holds them no more whatever comes next.
    const voided: RunRecord[] = []
    for (const { taskId } of start.relanding ?? []) {
      const known = facts.get(taskId)
      if (!known?.landed || known.landed.commit === 'by hand') continue
      const { landed: _was, ...rest } = known
      facts.set(taskId, rest)
      voided.push({ t: 'task', id: taskId, landed: null })
    }
    if (voided.length > 0 && !options.dryRun) appendDurably(project.paths.journal, voided)
    // Complete work done for another branch waits for that one: it never lands here unasked. Work
    // no target was recorded for was done for the one the last run recorded.
    const doneFor = (id: string): string | undefined => facts.get(id)?.target ?? state.run.target
    const elsewhere = new Map<string, string[]>()
    const byCompletion = tasks
      .filter((task) => task.status === 'complete')
      .sort((a, b) => (state.tasks[a.id]?.completedAt ?? 0) - (state.tasks[b.id]?.completedAt ?? 0))
    /** The branch a complete task's work waits for: held back there, or done for it. */
    const waitsFor = (id: string): string | undefined => {
      const landed = facts.get(id)?.landed
      return landed ? landed.heldBack?.target : doneFor(id)
    }
    // Work for a branch that is gone (merged and deleted, say) has nowhere else to land: it lands
    // on the branch the person names with `--into`, as they asked. So does work that landed on the
    // gone branch's integration branch and waited there: that is no branch of theirs.
    const gone = new Set<string>()
    if (options.into !== undefined) {
      for (const branch of new Set(byCompletion.map((task) => waitsFor(task.id)))) {
        if (branch === undefined || branch === start.target) continue
        const found = await git(['rev-parse', '--verify', '--quiet', `refs/heads/${branch}`], project.root)
        if (found.code !== 0) gone.add(branch)
      }
    }
    /** Held back for a gone branch, landing here again from its work: its old landing is void if this one fails. */
    const relanded = new Set<string>()
    /** Held back for a gone branch, and on the target meanwhile. */
    const caughtUpHere: { taskId: string; commit: string }[] = []
    /** Held back for a gone branch, with nothing left to land it from: a person's to apply, said in `goneNotes`. */
    const byHand = new Set<string>()
    const goneNotes: string[] = []
    for (const task of byCompletion) {
      const landed = facts.get(task.id)?.landed
      const waits = waitsFor(task.id)
      if (waits === undefined || waits === start.target) continue
      if (gone.has(waits) && !landed) continue
      if (gone.has(waits) && landed) {
        const here = start.landed.find(({ taskId }) => taskId === task.id)
        if (here) {
          // Its landing reached the target (a person merged or cherry-picked it): it is there.
          facts.set(task.id, { ...facts.get(task.id)!, landed: { ...landed, commit: here.commit } })
          caughtUpHere.push(here)
          continue
        }
        // Landed again from its work, as work not landed yet is; where that work is no more (and
        // no shared remote may have it), only its landing commit holds it: a person's to apply.
        const ref = taskRef(projectInfo(project), task.id, 'work')
        if (config.remote || (await git(['rev-parse', '--verify', '--quiet', ref], project.root)).code === 0) {
          const { landed: _held, ...rest } = facts.get(task.id)!
          facts.set(task.id, rest)
          relanded.add(task.id)
          continue
        }
        goneNotes.push(
          `${task.id} waited for ${waits} on its integration branch, and ${waits} is gone, but its work (${ref}) is gone too: ` +
            `apply its landing by hand (\`git cherry-pick ${landed.commit}\` on ${start.target}, resolve, commit), ` +
            `then \`tanuki task mark ${task.id} complete --landed\`.`,
        )
        byHand.add(task.id)
        continue
      }
      elsewhere.set(waits, [...(elsewhere.get(waits) ?? []), task.id])
    }
    const other = new Set([...[...elsewhere.values()].flat(), ...byHand])
    const all = landingOrder(
      tasks.filter((task) => !other.has(task.id)),
      facts,
    )
    const chosen = options.only
      ? onlyThese(all, options.only, {
          facts,
          target: start.target,
          waitsElsewhere: (id) => [...elsewhere].find(([, ids]) => ids.includes(id))?.[0],
        })
      : undefined
    const order = chosen?.order ?? all
    // Landings of this project's tasks (not by hand) that waited for the target.
    const ours = (landings: { taskId: string; commit: string }[] = []) =>
      landings.filter(({ taskId }) => {
        const landed = facts.get(taskId)?.landed
        return statusOf.get(taskId) === 'complete' && landed && landed.commit !== 'by hand'
      })
    const held = ours(start.held).map(({ taskId }) => taskId)
    const caughtUp = [...ours(start.caughtUp), ...caughtUpHere]
    // Recorded as waiting for this target, and the lander no longer says so: the target reached
    // them meanwhile (a person moved it).
    for (const task of tasks) {
      const landed = facts.get(task.id)?.landed
      if (landed?.heldBack?.target !== start.target || held.includes(task.id)) continue
      if (!caughtUp.some(({ taskId }) => taskId === task.id)) caughtUp.push({ taskId: task.id, commit: landed.commit })
    }
    /** Records where a landing stands: on the target, or waiting for it (`note`: why). */
    const record = (taskId: string, note?: string): void => {
      const landed = facts.get(taskId)?.landed
      if (!landed || landed.commit === 'by hand') return
      const heldBack = note === undefined ? undefined : { target: start.target, note }
      if (landed.heldBack?.target === heldBack?.target && landed.heldBack?.note === heldBack?.note) return
      const { heldBack: _was, ...rest } = landed
      const next = { ...rest, ...(heldBack ? { heldBack } : {}) }
      records.push({ t: 'task', id: taskId, landed: next })
      facts.set(taskId, { ...facts.get(taskId)!, landed: next })
    }
    const report: LandReport = {
      target: start.target,
      landed: [],
      nothingToLand: [],
      caughtUp,
      held,
      failed: [],
      waiting: [],
      notes: [
        ...(start.note ? [start.note] : []),
        ...goneNotes,
        ...(chosen?.notes ?? []),
        ...sourceFailures(read.errors).map((error) => error.message),
      ],
    }
    if (options.dryRun) {
      // Said as the landing would say it: a task with nothing to land is not in the plan.
      const predicted = await lander.predict(order)
      report.plan = predicted.filter((step) => !step.empty).map(({ taskId, conflicts }) => ({ taskId, conflicts }))
      for (const { taskId, empty } of predicted) if (empty) report.nothingToLand.push({ taskId, reason: empty })
    } else {
      for (const { taskId } of caughtUp) record(taskId)
      const why = start.note ?? `${start.target} could not move forward to the landed work`
      for (const taskId of held) record(taskId, why)
      // The gate runs where each task's agents run (a container of its role), as in a run.
      const info = projectInfo(project)
      const registry = await setupPlugins(
        {
          ...config,
          plugins: defaultPlugins(config.plugins, { reporters: false, remote: config.remote !== undefined }),
        },
        info,
      )
      const sandbox = (role: string): LandRequest['exec'] => {
        const roleOptions = roleConfig(config, role)
        const backend = registry.backends.get(roleBackendName(roleOptions, registry.backends))
        const execIn = backend?.execIn?.bind(backend)
        return execIn
          ? (command, dir, exec) => execIn({ project: info, role, options: roleOptions, dir, command, ...exec })
          : undefined
      }
      let at = 0
      const signal = new AbortController().signal
      const blocked = new Set<string>()
      /** The target fails the gate by itself (`note` says so): the rest waits, complete, each saying what for. */
      const targetFails = (note: string, output: string[]): void => {
        report.error = { code: 'TANUKI_LAND_TARGET_FAILS', message: note, output }
        // Each says what it waits for (`project status` lists them under Needs you).
        for (const rest of order.slice(at)) {
          const on = rest.dependsOn.filter((dep) => blocked.has(dep))
          report.waiting.push({ taskId: rest.id, on })
          if (facts.get(rest.id)?.reason !== `waits: ${note}`)
            records.push({ t: 'task', id: rest.id, reason: `waits: ${note}` })
        }
      }
      // What the last `tanuki land` found running `land.verify` alone on a base: it holds for that
      // base (no commit came to the target since) and command, so the gate does not run twice again.
      const kept = readTargetFails(project.paths.targetFails, config.land.verify)
      try {
        for (; at < order.length; at++) {
          const task = order[at]!
          const waitsOn = task.dependsOn.filter((dep) => blocked.has(dep))
          if (waitsOn.length > 0) {
            report.waiting.push({ taskId: task.id, on: waitsOn })
            blocked.add(task.id)
            continue
          }
          const exec = sandbox(task.role)
          const setup = roleSetup(config, task.role)
          const outcome = await lander.land({
            task,
            ...(task.assignedTo ? { agent: task.assignedTo } : {}),
            ...(exec ? { exec } : {}),
            ...(setup ? { setup: setup.command } : {}),
            ...(facts.get(task.id)?.accepted ? { accepted: true } : {}),
            signal,
          })
          if (outcome.status === 'landed') {
            if (outcome.empty) report.nothingToLand.push({ taskId: task.id, reason: outcome.empty })
            else
              report.landed.push({
                taskId: task.id,
                commit: outcome.commit,
                moved: outcome.moved,
                ...(facts.get(task.id)?.accepted && task.completion.verify ? { accepted: true as const } : {}),
              })
            // The target at this landing holds every one before it; or it waits with them (a
            // landing with nothing to land has nothing to wait with).
            const waits = !outcome.moved && !outcome.empty
            if (outcome.moved) for (const taskId of report.held) record(taskId)
            report.held = outcome.moved ? [] : waits ? [...report.held, task.id] : report.held
            const note = outcome.note ?? `${start.target} could not move forward to the landed work`
            const landed = {
              commit: outcome.commit,
              at: Date.now(),
              ...(waits ? { heldBack: { target: start.target, note } } : {}),
              ...(outcome.empty ? { empty: outcome.empty } : {}),
            }
            // What it waited for (the target failing the gate by itself) is over.
            const waited = facts.get(task.id)?.reason?.startsWith('waits: ')
            records.push({ t: 'task', id: task.id, landed, feedback: null, ...(waited ? { reason: null } : {}) })
            facts.set(task.id, { ...facts.get(task.id)!, landed })
            if (outcome.note) report.notes.push(outcome.note)
            sawPush(outcome.push)
            continue
          }
          // A gate that cannot run at all, or the setup it needs failing, is no agent's to fix, and
          // would fail every landing alike: the work stays complete, waiting, and nothing more is tried.
          const cannotRun = (code: number | null): boolean => code === 126 || code === 127 || code === null
          if (outcome.status === 'gate-failed' && outcome.setup && cannotRun(outcome.exitCode)) {
            report.stopped =
              `${setupFailure(outcome.command, task.role, outcome.exitCode, outcome.output)} in the integration ` +
              `worktree, before the gate of task ${task.id}, so nothing more landed: the work waits, complete. ` +
              `Fix it (\`${setup?.key ?? `agents.${task.role}.setup`}\` in the config, or what it needs), then run \`tanuki land\` again.`
            for (const rest of order.slice(order.indexOf(task))) report.waiting.push({ taskId: rest.id, on: [] })
            break
          }
          if (
            outcome.status === 'gate-failed' &&
            !outcome.setup &&
            (outcome.exitCode === 126 || outcome.exitCode === 127)
          ) {
            const which = outcome.command === config.land.verify ? '`land.verify`' : `the verify of task ${task.id}`
            report.stopped =
              `${which} \`${outcome.command}\` could not run on the combined work (exit ${outcome.exitCode}), ` +
              'so nothing more landed: the work waits, complete. Fix the command, then run `tanuki land` again.'
            for (const rest of order.slice(order.indexOf(task))) report.waiting.push({ taskId: rest.id, on: [] })
            break
          }
          // `land.verify` failed on the task's work: run once on what the work was applied onto, it
          // says whose the failure is. Failing there too, the target fails it by itself (a person's
          // commit broke it): no task is sent back, the work waits, complete, and nothing more lands.
          if (outcome.status === 'gate-failed' && !outcome.setup) {
            const known = kept && kept.base === outcome.base && kept.command === outcome.command ? kept : undefined
            const verdict = known
              ? { passed: false, ...known }
              : await askGateAlone(lander, outcome, { gate: config.land.verify, signal, exec })
            if (verdict && !verdict.passed) {
              const output = typeof verdict.output === 'string' ? targetFailsOutput(verdict.output) : verdict.output
              targetFails(targetFailsNote(start.target, outcome.command, verdict), output)
              const { commit, subject } = verdict
              if (!known && outcome.base) {
                writeTargetFails(project.paths.targetFails, {
                  base: outcome.base,
                  command: outcome.command,
                  commit,
                  subject,
                  output,
                })
              }
              break
            }
          }
          blocked.add(task.id)
          const feedback: LandingFeedback =
            outcome.status === 'conflict'
              ? { kind: 'conflict', files: outcome.files, detail: outcome.detail, what: outcome.what }
              : { kind: 'gate', command: outcome.command, output: outcome.output, exitCode: outcome.exitCode }
          const reason =
            outcome.status === 'conflict'
              ? `could not land: its work conflicts with landed work in ${outcome.files.join(', ')}`
              : `could not land: \`${outcome.command}\` failed on the combined work (exit ${outcome.exitCode ?? 'none'})`
          const work = outcome.status === 'conflict' ? { work: taskRef(projectInfo(project), task.id, 'work') } : {}
          const known = facts.get(task.id)
          // Accepted by a person, it failed the project's gate (its own verify did not run): theirs
          // to settle, not an agent's, so it stays complete and lands once the gate passes.
          if (known?.accepted && outcome.status === 'gate-failed') {
            const next =
              `it stays complete, accepted by hand, and lands once \`land.verify\` passes: fix what it reports ` +
              `(commit the fix on ${start.target}), then \`tanuki land\`; or \`tanuki task rerun ${task.id}\` sends it to an agent with fresh tries`
            const said = outcome.setup
              ? reason
              : `could not land: \`land.verify\` \`${outcome.command}\` failed on the combined work (exit ${outcome.exitCode ?? 'none'})`
            report.failed.push({ taskId: task.id, reason: said, next })
            records.push({ t: 'task', id: task.id, reason: `${said}; ${next}`, feedback })
            continue
          }
          // Its tries in this run of it are spent: a run would send it to review, not to an agent.
          const spent = (known?.iterations ?? 0) - (known?.triesFrom ?? 0) >= task.completion.maxIterations
          // Accepting it helps only where its own verify is what failed: its landing then skips it.
          const ownFailed = outcome.status === 'gate-failed' && outcome.command === task.completion.verify
          const next = spent
            ? `no tries left (${task.completion.maxIterations}), so it goes to review: \`tanuki task rerun ${task.id}\` gives it fresh tries` +
              (ownFailed
                ? `, or \`tanuki task mark ${task.id} complete\` accepts it as it is (its landing then skips its verify)`
                : '')
            : '`tanuki project resume` sends it back to an agent'
          report.failed.push({ taskId: task.id, reason, next, ...work })
          records.push({
            t: 'task',
            id: task.id,
            status: spent ? 'review' : 'pending',
            reason: spent
              ? `${reason}; no tries left (${task.completion.maxIterations})`
              : `${reason}; back to an agent at the next run`,
            feedback,
            // Out of complete, its acceptance is over: work done again is judged again.
            ...(known?.accepted ? { accepted: null } : {}),
            // Its landing for a gone branch is void: the work it lands next is where it lands.
            ...(relanded.has(task.id) ? { landed: null } : {}),
          })
        }
      } catch (error) {
        if (!isTanukiError(error)) throw error
        // The lander failed (git broken, the target moved under it): what landed before is
        // recorded below; the rest waits, complete.
        report.error = { code: error.code, message: error.message }
        for (const rest of order.slice(at)) report.waiting.push({ taskId: rest.id, on: [] })
      } finally {
        await registry.teardown()
      }
    }
    const unplaced = tasks.filter(
      (task) =>
        task.status === 'complete' &&
        !facts.get(task.id)?.landed &&
        !other.has(task.id) &&
        // In the order but not named (`tanuki land ID…`) waits for no dependency: a note says so.
        !all.includes(task),
    )
    if (elsewhere.size > 0) report.elsewhere = [...elsewhere].map(([target, ids]) => ({ target, tasks: ids }))
    for (const task of unplaced)
      report.waiting.push({ taskId: task.id, on: task.dependsOn.filter((dep) => !facts.get(dep)?.landed) })
    if (pushFailed) report.pushFailed = pushFailed
    else if (state.run.pushFailed && config.land.push && !options.dryRun)
      report.pushed = { remote: state.run.pushFailed.remote, branch: state.run.pushFailed.branch }
    // Recorded when it changed, so `project status` and the next run know it.
    const was = state.run.pushFailed
    if (!options.dryRun && (was?.error !== pushFailed?.error || was?.branch !== pushFailed?.branch))
      records.push({ t: 'run', pushFailed: pushFailed ?? null })
    if (records.length > 0 && !options.dryRun) {
      appendDurably(project.paths.journal, records)
      await mirrorStatuses(project, records)
    }
    return report
  } finally {
    lock?.release()
  }
}
