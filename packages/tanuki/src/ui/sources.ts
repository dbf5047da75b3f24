import { spawn } from 'node:child_process'
import { closeSync, existsSync, openSync, readFileSync, readSync, statSync } from 'node:fs'
import { isAbsolute, join } from 'node:path'
import { StringDecoder } from 'node:string_decoder'
import { TanukiError, createTask, errorMessage, parseTask, type Orchestrator, type Task } from '@tanuki/core'
import {
  DashboardModel,
  type DashboardSource,
  type SourceListener,
  type StatusDocument,
  type TaskDetail,
  type TaskSpec,
} from '@tanuki/plugin-ui'
import { requestStop, projectStatus } from '../commands/project.ts'
import { runningOrchestrator } from '../lock.ts'
import { readTasks, taskNotFound, type Project } from '../project.ts'
import { readJournal } from '../journal.ts'
import { readJson, statusDocument } from '../state.ts'
import { lastLanding } from '../task-work.ts'
import { applyTaskCommand } from '../task-commands.ts'
import { readIterations } from './logs.ts'

function specOf(task: Task): TaskSpec {
  return {
    id: task.id,
    title: task.title,
    role: task.role,
    priority: task.priority,
    status: task.status,
    dependsOn: [...task.dependsOn],
    completion: { ...task.completion },
    tags: [...task.tags],
    body: task.body,
    ...(task.source === undefined ? {} : { source: task.source }),
  }
}

/** Where a task that is not in a file may be: the run's tasks, or every source read afresh. */
type Elsewhere = (id: string) => Promise<Task | undefined>

/**
 * A task's spec: from its file, where the source last saw it or where the status says (so an edit
 * shows at once), else from `elsewhere`.
 */
async function readSpec(
  project: Project,
  id: string,
  hint: string | undefined,
  elsewhere: Elsewhere,
): Promise<TaskSpec | undefined> {
  const tryFile = (path: string | undefined): Task | undefined => {
    if (!path) return undefined
    const file = isAbsolute(path) ? path : join(project.root, path)
    try {
      const task = parseTask(readFileSync(file, 'utf8'), project.source.display(file))
      return task.id === id ? task : undefined
    } catch {
      return undefined
    }
  }
  const task = tryFile(project.source.pathOf(id)) ?? tryFile(hint) ?? (await elsewhere(id))
  return task && specOf(task)
}

async function detail(
  project: Project,
  id: string,
  hint: string | undefined,
  elsewhere: Elsewhere,
): Promise<TaskDetail | undefined> {
  const spec = await readSpec(project, id, hint, elsewhere)
  if (!spec) return undefined
  return { spec, iterations: readIterations(project.paths, id) }
}

/**
 * A task of the config's own, else of every source (`readTasks`: the task files, then the
 * plugins' task sources, which it sets up and tears down), those kept for a few seconds: the task
 * page asks again as output comes. Throws `TANUKI_TASK_NOT_FOUND`, naming what could not be read,
 * when `id` is not among them.
 */
function everySource(project: Project): Elsewhere {
  let read: { at: number; tasks: Promise<Awaited<ReturnType<typeof readTasks>>> } | undefined
  return async (id) => {
    const inputs = project.config.resolved.tasks
    const at = inputs.findIndex((input) => input.id === id)
    if (at !== -1) return createTask({ ...inputs[at]!, source: `${project.config.file ?? 'config'} (tasks[${at}])` })
    if (!read || Date.now() - read.at > 5000) read = { at: Date.now(), tasks: readTasks(project) }
    const { tasks, errors } = await read.tasks
    const task = tasks.find((candidate) => candidate.id === id)
    if (!task && errors.length > 0) throw taskNotFound(project, id, errors)
    return task
  }
}

/**
 * Why tasks' complete work last failed to land, from what the journal keeps for their next try
 * (the telling lines of the gate's output, as `tanuki task show` says them; a conflict's files):
 * no status document carries it, and a page that was not open when `task:land-failed` came
 * would not know it. A task that landed since has none.
 */
export function withLandings(doc: StatusDocument, journal: string): StatusDocument {
  const { state } = readJournal(journal)
  for (const task of doc.tasks) {
    const feedback = state.tasks[task.id]?.feedback
    if (!feedback || task.landed || task.landFailed || task.conflict) continue
    if (feedback.kind === 'conflict') task.conflict = { files: [...feedback.files] }
    else
      task.landFailed = {
        command: feedback.command,
        exitCode: feedback.exitCode,
        output: lastLanding(feedback)!.lines.join('\n'),
      }
  }
  return doc
}

/**
 * The dashboard's data in the process of a run (`tanuki project start --ui`): the orchestrator's
 * own status and events, task specs from their files and iterations from the logs the run writes.
 */
export function createRunSource(project: Project, orchestrator: Orchestrator): DashboardSource {
  return {
    status: () => withLandings(statusDocument(orchestrator.status()), project.paths.journal),
    // The run has every source's tasks: none is read again (a plugin's source is not set up twice).
    task: (id) => detail(project, id, orchestrator.task(id)?.source, async (other) => orchestrator.spec(other)),
    subscribe(listener) {
      const forward = (name: string, event: unknown): void => listener(name, event)
      orchestrator.events.on('*', forward)
      return () => orchestrator.events.off('*', forward)
    },
    rerun: (id, options) => orchestrator.rerun(id, options),
    reset: (id) => orchestrator.reset(id),
    async stop() {
      // Not awaited: stopping tears the dashboard down too, and the page is told by the events.
      void orchestrator.stop()
    },
    async resume() {
      throw new TanukiError(
        'TANUKI_UI_ACTION',
        `The run is on (state ${orchestrator.state}); there is nothing to resume. Stop it first, or rerun a task.`,
      )
    },
  }
}

export interface StateSourceOptions {
  /** How often the state folder is looked at for new events and runs starting or ending, in ms. Default 250. */
  pollMs?: number
  /** How to start a detached resume; default: this CLI, `project resume --detach`. */
  resume?: (project: Project) => Promise<void>
}

/** Events in the log before `end` stamped at or after `since`, read backwards from `end` as far as needed. */
function eventsSince(file: string, end: number, since: number): [string, Record<string, unknown>][] {
  const found: [string, Record<string, unknown>][] = []
  if (end === 0) return found
  const fd = openSync(file, 'r')
  try {
    let start = end
    let text = ''
    // 64 KiB at a time, at most 16 MiB: the snapshot is at most a fifth of a second old.
    for (let step = 64 * 1024; start > 0 && end - start < 16 * 1024 * 1024; step *= 2) {
      const from = Math.max(0, start - step)
      const chunk = Buffer.alloc(start - from)
      readSync(fd, chunk, 0, chunk.length, from)
      text = chunk.toString('utf8') + text
      start = from
      const firstNewline = text.indexOf('\n')
      const probe = start === 0 ? text : text.slice(firstNewline + 1)
      const at = /"at":(\d+)/.exec(probe)
      if (at && Number(at[1]) < since) break
    }
    const lines = (start === 0 ? text : text.slice(text.indexOf('\n') + 1)).split('\n')
    for (const line of lines) {
      if (!line.trim()) continue
      try {
        const { event, ...payload } = JSON.parse(line) as { event: string; at?: number }
        if (typeof payload.at === 'number' && payload.at >= since) found.push([event, payload])
      } catch {
        // a line cut short by a kill -9
      }
    }
  } finally {
    closeSync(fd)
  }
  return found
}

/** A file's size and time of change, to tell that it changed; empty when it is not there. */
function stamp(path: string): string {
  const stat = statSync(path, { throwIfNoEntry: false })
  return stat ? `${stat.size}:${stat.mtimeMs}` : ''
}

/**
 * The dashboard's data read from a project's state folder (`tanuki ui`), while a run is on and
 * after: the run's status snapshot and its event log followed as it grows while one is on, the
 * task files and logs after. Stop does what `tanuki project stop` does; resume starts
 * `tanuki project resume --detach`.
 */
export function createStateSource(project: Project, options: StateSourceOptions = {}): DashboardSource {
  const { paths } = project
  const fromSources = everySource(project)
  let offset = existsSync(paths.events) ? statSync(paths.events).size : 0
  let decoder = new StringDecoder('utf8')
  let partial = ''
  let runningPid = runningOrchestrator(paths.lock)?.pid
  let journal = stamp(paths.journal)
  let timer: NodeJS.Timeout | undefined

  const readNew = (listener: SourceListener): void => {
    if (!existsSync(paths.events)) return
    const size = statSync(paths.events).size
    if (size < offset) {
      // The log was replaced (a run with `truncate`): start over from its beginning.
      offset = 0
      partial = ''
      decoder = new StringDecoder('utf8')
    }
    if (size === offset) return
    const fd = openSync(paths.events, 'r')
    let text: string
    try {
      const chunk = Buffer.alloc(size - offset)
      const read = readSync(fd, chunk, 0, chunk.length, offset)
      offset += read
      text = partial + decoder.write(chunk.subarray(0, read))
    } finally {
      closeSync(fd)
    }
    const lines = text.split('\n')
    partial = lines.pop() ?? ''
    for (const line of lines) {
      if (!line.trim()) continue
      try {
        const { event, ...payload } = JSON.parse(line) as { event: string }
        listener(event, payload)
      } catch {
        // not an event line
      }
    }
  }

  return {
    async status() {
      const doc = withLandings((await projectStatus(project)) as StatusDocument, paths.journal)
      const running = runningOrchestrator(paths.lock)
      if (!running || !existsSync(paths.events)) return doc
      // The snapshot is up to a fifth of a second old, or not written yet by a run just started:
      // add what the log says happened since, up to where the events are followed from.
      const snapshot = doc.pid === running.pid && doc.status !== 'starting'
      const since = snapshot ? Date.parse(doc.updatedAt) : Date.parse(running.startedAt)
      const model = DashboardModel.from(doc)
      for (const [name, event] of eventsSince(paths.events, offset, since)) model.apply(name, event)
      return model.document()
    },
    task: (id) => {
      const hint = readJson<StatusDocument>(paths.status)?.tasks.find((task) => task.id === id)?.source
      return detail(project, id, hint, fromSources)
    },
    subscribe(listener) {
      const tick = (): void => {
        try {
          readNew(listener)
          const pid = runningOrchestrator(paths.lock)?.pid
          // With no run on, a command from another terminal (`tanuki task mark|rerun|reset`,
          // `tanuki land`) changes only the journal: no event tells it.
          const now = stamp(paths.journal)
          const changed = pid === undefined && now !== journal
          journal = now
          if (pid !== runningPid || changed) {
            runningPid = pid
            listener('dashboard:resync', {})
          }
        } catch (error) {
          listener('orchestrator:error', {
            context: 'following the event log',
            message: errorMessage(error),
            at: Date.now(),
          })
        }
      }
      timer = setInterval(tick, options.pollMs ?? 250)
      timer.unref()
      return () => clearInterval(timer)
    },
    // What `tanuki task rerun|reset` do: through the running orchestrator, or into the journal.
    async rerun(id, options) {
      await applyTaskCommand(project, {
        command: 'rerun',
        id,
        ...(options?.withDependents ? { withDependents: true } : {}),
      })
    },
    async reset(id) {
      await applyTaskCommand(project, { command: 'reset', id })
    },
    async stop() {
      const pid = requestStop(project)
      if (pid === undefined) {
        throw new TanukiError('TANUKI_UI_ACTION', `No run of ${project.root} is on; there is nothing to stop.`)
      }
    },
    async resume() {
      const running = runningOrchestrator(paths.lock)
      if (running) {
        throw new TanukiError(
          'TANUKI_UI_ACTION',
          `A run of ${project.root} is on (pid ${running.pid}); there is nothing to resume.`,
        )
      }
      await (options.resume ?? resumeDetached)(project)
    },
    close() {
      clearInterval(timer)
    },
  }
}

/** Runs `tanuki project resume --detach` for the project and waits until the run holds the lock. */
export async function resumeDetached(project: Project): Promise<void> {
  const cli = process.argv[1]
  if (!cli) throw new TanukiError('TANUKI_UI_ACTION', 'Cannot find the tanuki CLI to resume the run with.')
  const child = spawn(
    process.execPath,
    [...process.execArgv, cli, 'project', 'resume', '--detach', '--cwd', project.root],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  )
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()))
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()))
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve))
  if (code !== 0) {
    throw new TanukiError(
      'TANUKI_UI_ACTION',
      `\`tanuki project resume --detach\` exited with code ${code}: ${output.trim() || 'no output'}`,
    )
  }
}
