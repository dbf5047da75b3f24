import { basename, join, resolve } from 'node:path'
import { pathName } from '@tanuki/core'

/** Where Tanuki keeps a project's state, all under `<project>/.tanuki`. */
export interface StatePaths {
  root: string
  stateDir: string
  lock: string
  /** The run's journal: the authority for run state. */
  journal: string
  stopRequest: string
  status: string
  agents: string
  events: string
  logs: string
  detachedLog: string
  worktrees: string
  /** The remote workers as the last run saw them (written by the remote agents' plugin). */
  workers: string
  /** Parsed task files kept between runs (see `TaskCache`). */
  taskCache: string
  /** Where task files' new texts are written before they are renamed into place. */
  temp: string
  /** The last `tanuki land` found the target failing `land.verify` by itself: on which base (see `TargetFailsRecord`). */
  targetFails: string
}

export function statePaths(projectRoot: string): StatePaths {
  const root = resolve(projectRoot)
  const stateDir = join(root, '.tanuki')
  return {
    root,
    stateDir,
    lock: join(stateDir, 'orchestrator.lock'),
    journal: join(stateDir, 'journal.ndjson'),
    stopRequest: join(stateDir, 'stop-request.json'),
    status: join(stateDir, 'status.json'),
    agents: join(stateDir, 'agents.json'),
    events: join(stateDir, 'events.ndjson'),
    logs: join(stateDir, 'logs'),
    detachedLog: join(stateDir, 'orchestrator.log'),
    worktrees: join(stateDir, 'worktrees'),
    workers: join(stateDir, 'workers.json'),
    taskCache: join(stateDir, 'cache', 'tasks'),
    temp: join(stateDir, 'tmp'),
    targetFails: join(stateDir, 'target-fails.json'),
  }
}

/**
 * A task's log folder: `.tanuki/logs/tasks/<id>`. Ids go through core's one guard for names that
 * become paths (`pathName`): nothing can reach outside the state folder.
 */
export function taskLogDir(paths: StatePaths, taskId: string): string {
  return join(paths.logs, 'tasks', pathName(taskId, 'task id'))
}

/** A task's log for one iteration: `.tanuki/logs/tasks/<id>/iteration-<n>.log`. */
export function iterationLog(paths: StatePaths, taskId: string, iteration: number): string {
  return join(taskLogDir(paths, taskId), `iteration-${String(iteration).padStart(3, '0')}.log`)
}

/** Whether a file of a task's log folder is an iteration's log (not a setup's). */
export function isIterationLog(name: string): boolean {
  return /^iteration-\d+\.log$/.test(name)
}

/**
 * What a role's `setup` printed before the task's iteration log `iteration` (it sorts just before
 * it): `.tanuki/logs/tasks/<id>/iteration-<n>-setup.log`.
 */
export function setupLog(paths: StatePaths, taskId: string, iteration: number): string {
  return join(taskLogDir(paths, taskId), `iteration-${String(iteration).padStart(3, '0')}-setup.log`)
}

/** Everything one agent printed, across tasks: `.tanuki/logs/agents/<name>.log`. */
export function agentLog(paths: StatePaths, agent: string): string {
  return join(paths.logs, 'agents', `${pathName(agent, 'agent name')}.log`)
}

export function projectName(root: string): string {
  return basename(resolve(root)) || 'tanuki'
}

/** `.tanuki/.gitignore`: the run's state stays out of the project's git status; tasks stay in. */
export const STATE_GITIGNORE = `# Tanuki's run state; the tasks folder is yours and belongs in git.
*
!.gitignore
!tasks/
!tasks/**
`
