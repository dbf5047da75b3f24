import { hostname } from 'node:os'
import { Resolver, TanukiError, type RunRecord, type TaskPatch, type TaskRunState } from '@tanuki/core'
import { takeHandWork } from '@tanuki/plugin-agent-process/kit'
import { controlSocketPath, sendControl, type ControlRequest } from './control.ts'
import { appendDurably } from './journal.ts'
import { acquireLock, runningOrchestrator } from './lock.ts'
import { sourceFailures } from './plugin-sources.ts'
import { projectInfo, readTasks, taskNotFound, type Project } from './project.ts'

/** A person's command on one task: run it again, start it over, or settle it by hand. */
export type TaskCommand = Extract<ControlRequest, { command: 'rerun' | 'reset' | 'mark' }>

/** What a command did, for the person who gave it. */
export interface TaskCommandResult {
  /** `running`: the running orchestrator applied it; `recorded`: written to the journal for the next run. */
  via: 'running' | 'recorded'
  /** The tasks it changed. */
  ids: string[]
  /** What else it did, one line each (a fix made by hand taken into the work it accepted). */
  notes?: string[]
}

/**
 * Applies `tanuki task rerun|reset|mark`: through the running orchestrator when there is one (it
 * stops the task if it runs, and schedules what follows at once), otherwise straight into the
 * journal, under the project's lock, for the next `project start` or `resume`. The task files'
 * mirrored status follows.
 */
export async function applyTaskCommand(project: Project, request: TaskCommand): Promise<TaskCommandResult> {
  // Every source's tasks: a plugin's task is run, and rerun, like a file's.
  const { tasks, errors } = await readTasks(project)
  if (!tasks.some((task) => task.id === request.id)) throw taskNotFound(project, request.id, errors)
  const withDependents = request.command === 'rerun' && request.withDependents
  // A dependent in a source that could not be read would be left as it is, unnoticed.
  const failed = sourceFailures(errors)
  if (withDependents && failed.length > 0) {
    throw new TanukiError(
      'TANUKI_PLUGIN_FAILED',
      `Cannot rerun the dependents of "${request.id}": not every task source could be read, and some may be among them. Rerun it alone, or once they load.` +
        `\n${failed.map((error) => `  - ${error.message}`).join('\n')}`,
      { details: { id: request.id } },
    )
  }
  const ids = withDependents ? [request.id, ...new Resolver(tasks).transitiveDependents(request.id)] : [request.id]
  const running = runningOrchestrator(project.paths.lock)
  if (running) {
    if (running.host !== hostname()) {
      throw new TanukiError(
        'TANUKI_LOCKED',
        `The orchestrator runs on ${running.host} (pid ${running.pid}); run this command there.`,
      )
    }
    await sendControl(controlSocketPath(project.paths.stateDir), request)
    return { via: 'running', ids }
  }
  const lock = acquireLock(project.paths.lock, `task ${request.command}`)
  const notes: string[] = []
  try {
    // Accepting a task means the work the person looked at, with what they fixed by hand in its
    // agent's worktree. No run uses that worktree now: the lock is ours.
    if (request.command === 'mark' && request.status === 'complete' && !request.landed) {
      // Marked without the fix, the task would land the agent's work alone, and say nothing of it.
      const took = await takeHandWork(projectInfo(project), request.id).catch((error: unknown) => {
        throw new TanukiError(
          'TANUKI_AGENT_FAILED',
          `${request.id} is not marked complete: taking what you changed by hand in its agent's worktree into its work failed ` +
            `(${error instanceof Error ? error.message : String(error)}). Your changes are still there. Fix that and mark it again, ` +
            `or commit your fix on your own branch instead.`,
          { cause: error, details: { id: request.id } },
        )
      })
      if (took)
        notes.push(
          `${request.id}: took your ${took.count === 1 ? '1 commit' : `${took.count} commits`} on ${took.branch} (${took.sha} ${took.subject}) as part of its work`,
        )
    }
    const at = Date.now()
    appendDurably(project.paths.journal, (state) =>
      ids.map((id): RunRecord => ({ t: 'task', id, ...recordedChange(request, at, state.tasks[id]) })),
    )
    if (project.config.resolved.mirrorStatus) {
      const patch = mirroredChange(request)
      for (const id of ids) if (project.source.pathOf(id)) await project.source.update(id, patch)
    }
  } finally {
    lock.release()
  }
  return { via: 'recorded', ids, ...(notes.length > 0 ? { notes } : {}) }
}

/**
 * What a command changes in a task's run state (`recorded`: what the journal has of it): the same
 * as the orchestrator's own commands.
 */
function recordedChange(
  request: TaskCommand,
  at: number,
  recorded: TaskRunState | undefined,
): Omit<Extract<RunRecord, { t: 'task' }>, 't' | 'id'> {
  switch (request.command) {
    case 'rerun': {
      const iterations = recorded?.iterations ?? 0
      // Its work, and the branch it was done for, are void: its next try is for the run's target.
      return {
        status: 'pending',
        assignedTo: null,
        reason: 'rerun by a person',
        attempts: 0,
        landed: null,
        // A fresh set of tries: a landing's feedback would have them go on counting from its last,
        // and its tries so far are its earlier runs' (the runner and the landing count from here).
        feedback: null,
        triesFrom: iterations > 0 ? iterations : null,
        target: null,
        accepted: null,
      }
    }
    case 'reset':
      return {
        status: 'pending',
        assignedTo: null,
        reason: 'reset by a person',
        attempts: 0,
        iterations: 0,
        triesFrom: null,
        lastError: null,
        landed: null,
        feedback: null,
        target: null,
        accepted: null,
      }
    case 'mark':
      return request.status === 'complete'
        ? {
            status: 'complete',
            reason: 'marked complete by a person',
            completedAt: at,
            // Accepted as it is: its landing does not run its own verify again (that may be why it
            // was in review). Work complete already was judged by its verify: nothing to accept.
            ...(recorded?.status === 'complete' ? {} : { accepted: true }),
            ...(request.landed ? { landed: { commit: 'by hand', at }, feedback: null } : {}),
          }
        : { status: 'failed', reason: 'marked failed by a person', target: null, accepted: null }
  }
}

function mirroredChange(request: TaskCommand): TaskPatch {
  if (request.command === 'mark') {
    return request.status === 'complete'
      ? { status: 'complete', failure: null }
      : { status: 'failed', failure: 'marked failed by a person' }
  }
  return {
    status: 'pending',
    assigned_to: null,
    failure: null,
    ...(request.command === 'reset' ? { iterations: null } : {}),
  }
}
