import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import {
  TanukiError,
  combineErrors,
  errorMessage,
  createOrchestrator,
  type Orchestrator,
  type ProjectInfo,
  type RunSummary,
  type Task,
  type TaskFacts,
  type TaskRunState,
  type TanukiPlugin,
  type TaskSource,
  type UserConfig,
} from '@tanuki/core'
import { leftovers, reapLeftovers } from '@tanuki/plugin-agent-process'
import { checkProjectTasks, editedNote, noTasks } from './check.ts'
import { loadConfig, type LoadedConfig } from './config.ts'
import { FileTaskSource } from './file-source.ts'
import { acquireLock } from './lock.ts'
import { hiddenTaskNotes } from './task-folders.ts'
import { readPluginTasks, type PluginOrigin } from './plugin-sources.ts'
import { defaultPlugins } from './plugins.ts'
import { STATE_GITIGNORE, projectName, statePaths, type StatePaths } from './paths.ts'
import { controlSocketPath, serveControl } from './control.ts'
import { type FileJournal, openJournal, readJournal } from './journal.ts'
import { createStateReporter, withJournal } from './state.ts'
import { dashboardBanner } from './ui/banner.ts'
import { onOutputClosed, outputClosed } from './output.ts'
import { sharedWorkspaceNote } from './shared-workspace.ts'
import { unlistedRoleRule } from './unlisted-roles.ts'

/** A project on disk: its folder, state paths, config and task files. */
export interface Project {
  root: string
  paths: StatePaths
  config: LoadedConfig
  source: FileTaskSource
}

export async function openProject(root: string): Promise<Project> {
  const paths = statePaths(root)
  const config = await loadConfig(paths.root)
  const source = new FileTaskSource({
    root: paths.root,
    cacheFile: paths.taskCache,
    tempDir: paths.temp,
    ...(config.resolved.tasksDir ? { tasksDir: config.resolved.tasksDir } : {}),
  })
  return { root: paths.root, paths, config, source }
}

/** The project as agents and plugins see it: its root, name, state folder and where worktrees go. */
export function projectInfo(project: Project): ProjectInfo {
  const config = project.config.resolved
  return {
    root: project.root,
    name: config.name,
    stateDir: project.paths.stateDir,
    ...(config.worktreesDir ? { worktreesDir: resolve(project.root, config.worktreesDir) } : {}),
    ...(project.config.file ? { configFile: project.config.file } : {}),
  }
}

/**
 * Reads and checks every task before anything runs or is written: each invalid file or config
 * task, duplicate id, unknown dependency and cycle is named. Throws one `TanukiError` listing them
 * all. (`checkProject` also checks the config and the roles, through the plugins.)
 */
export function checkTasks(project: Project): Task[] {
  const { tasks, errors } = checkProjectTasks(project.source, project.config, undefined, [], {
    journal: project.paths.journal,
  })
  if (errors.length > 0) throw combineErrors(errors, 'in the tasks')
  if (tasks.length === 0) {
    throw noTasks(project.source, hiddenTaskNotes(project.root, project.config, 0))
  }
  return tasks.filter((task) => project.source.pathOf(task.id) !== undefined)
}

/** A project's tasks from every source: its task files, its config and its plugins' task sources. */
export interface ProjectTasks {
  /** The task files' tasks, then the config's, then the plugins'. */
  tasks: Task[]
  /** The plugin (and its source) of each task from a plugin, by task id. */
  plugins: Map<string, PluginOrigin>
  /**
   * Every problem found: invalid files and config tasks, plugins and sources that failed (their
   * tasks are left out), duplicate ids; with `graph`, unknown dependencies and a cycle too.
   */
  errors: TanukiError[]
}

/**
 * Reads the tasks of every source, as they are specified (statuses as the sources give them; see
 * `recordedTasks` for the journal's). A plugin that fails to set up or a source that fails to load
 * is one of the errors, naming the plugin; the other sources' tasks still come back.
 */
export async function readTasks(project: Project, options: { graph?: boolean } = {}): Promise<ProjectTasks> {
  const scanned = project.source.scan()
  const fromPlugins = await readPluginTasks(project.config.resolved, projectInfo(project), project.config.file)
  const checked = checkProjectTasks(project.source, project.config, scanned, fromPlugins.tasks, {
    graph: options.graph ?? false,
    journal: project.paths.journal,
  })
  const plugins = new Map<string, PluginOrigin>()
  for (const task of checked.pluginTasks) plugins.set(task.id, fromPlugins.origins.get(task)!)
  return {
    tasks: [...checked.tasks, ...checked.pluginTasks],
    plugins,
    errors: [...fromPlugins.errors, ...checked.errors],
  }
}

/**
 * The project's tasks as they stand, from every source (`readTasks`): each task's spec, with the
 * status and facts its journal recorded (the authority over the status its source gives), and
 * every problem found.
 */
export async function recordedTasks(
  project: Project,
  options: { graph?: boolean } = {},
): Promise<
  ProjectTasks & { facts: Map<string, TaskFacts & Pick<TaskRunState, 'feedback' | 'triesFrom' | 'accepted'>> }
> {
  const read = await readTasks(project, options)
  const recorded = withJournal(read.tasks, readJournal(project.paths.journal).state)
  return {
    ...read,
    tasks: recorded.map(({ task }) => task),
    facts: new Map(recorded.map(({ task, facts }) => [task.id, facts])),
  }
}

/**
 * `TANUKI_TASK_NOT_FOUND` for an id no source has, listing what could not be read (a task file
 * that does not parse, a source that failed): the task may be there.
 */
export function taskNotFound(project: Project, id: string, errors: readonly TanukiError[]): TanukiError {
  const where = `${project.source.display(project.source.dir)}${project.config.resolved.plugins.length > 0 ? " or the plugins' task sources" : ''}`
  const unread =
    errors.length > 0
      ? `\nSome tasks could not be read, and it may be one of them:\n${errors.map((e) => `  - ${e.message}`).join('\n')}`
      : ''
  return new TanukiError(
    'TANUKI_TASK_NOT_FOUND',
    `No task "${id}" in ${where}. \`tanuki task list\` shows the ids.${unread}`,
    { details: { id } },
  )
}

export interface RunOptions {
  /**
   * Keep running for new tasks instead of stopping once everything is settled. Without it the
   * config's `stopWhenSettled` decides (default true).
   */
  watch?: boolean
  quiet?: boolean
  verbose?: boolean
  /** For the lock and messages. */
  command: 'start' | 'resume'
  /** The task files' tasks as `checkProject` just read them; read and checked again when absent. */
  tasks?: Task[]
  /** Serve the web dashboard with the run. */
  ui?: { host?: string; port?: number }
}

/** What `project stop` leaves for the running orchestrator before signalling it. */
export interface StopRequest {
  remove: boolean
  /** Stop once the tries under way end, instead of cutting them short. */
  finish?: boolean
}

/**
 * Runs a project in the foreground until every task is settled (or, with `watch`, until it is
 * stopped). Holds the project's lock throughout; SIGINT/SIGTERM stop it gracefully. Resolves with
 * the run's summary.
 */
export async function runProject(project: Project, options: RunOptions): Promise<RunSummary> {
  const { paths } = project
  const lock = acquireLock(paths.lock, options.command)
  // A run killed outright (`kill -9`, a crash) left its agents' processes working and spending. An
  // agent spawned again stops its own, but a run that starts none (no tries left) would leave them
  // for good: with the lock held, no orchestrator's agents are among them.
  const reaped = reapKilledRun(projectInfo(project))
  if (reaped.length > 0 && !options.quiet)
    process.stdout.write(`· stopped the agents a killed run left running: ${reaped.join(', ')}\n`)
  let orchestrator: Orchestrator | undefined
  let journal: FileJournal | undefined
  let control: { close(): Promise<void> } | undefined
  let signals = 0
  /** Every task settled: the run is only closing now. */
  let settled = false
  const onSignal = (signal: NodeJS.Signals): void => {
    if (!orchestrator) return
    const request = readStopRequest(paths)
    // `project stop --finish`: the tries under way end first. A stop after it (Ctrl-C, `project
    // stop`) stops now, as a first one does.
    if (request?.finish) {
      rmSync(paths.stopRequest, { force: true })
      if (orchestrator.state === 'running') {
        void orchestrator.stop({ finish: true })
        return
      }
    }
    // A second Ctrl-C is for when a graceful stop hangs (an agent that will not die): leave now.
    if (++signals > 1) {
      process.stderr.write(
        `\ntanuki: ${signal} again: quitting without waiting; \`tanuki project resume\` picks up from here.\n`,
      )
      lock.release()
      process.exit(130)
    }
    // The work may be over already, and the run only closing (agents stopping, reporters writing).
    // Stopped, the run still closes its reporters (a summary, a webhook) before it ends.
    const stopping = orchestrator.state === 'stopping' || orchestrator.state === 'stopped'
    const what =
      stopping && settled ? 'the run is over, closing' : stopping ? 'stopping already' : 'stopping gracefully'
    process.stderr.write(`\n${signal}: ${what} (again to quit at once)…\n`)
    void orchestrator.stop({ remove: request?.remove ?? false })
  }
  // A reader that went away (`| head`, a pager quit) stops the run as Ctrl-C does: nothing runs
  // on unseen, nothing is left half done, and `resume` continues.
  let outputGone = false
  const stopWatchingOutput = onOutputClosed((stream) => {
    if (!outputClosed('stderr'))
      process.stderr.write(
        `\ntanuki: its ${stream} was closed: stopping gracefully; \`tanuki project resume\` continues.\n`,
      )
    outputGone = true
    if (started) void orchestrator?.stop({ remove: false })
  })
  let started = false
  try {
    const checked = options.tasks?.filter((task) => project.source.pathOf(task.id) !== undefined) ?? checkTasks(project)
    rmSync(paths.stopRequest, { force: true })
    mkdirSync(paths.stateDir, { recursive: true })
    const ignore = join(paths.stateDir, '.gitignore')
    if (!existsSync(ignore)) writeFileSync(ignore, STATE_GITIGNORE)
    const user = project.config.user
    const state = createStateReporter({
      paths,
      status: () => orchestrator!.status(),
      onError: (context, error) =>
        orchestrator?.events.emit('orchestrator:error', { context, message: errorMessage(error), at: Date.now() }),
    })
    journal = openJournal(paths.journal)
    const unlistedRole = unlistedRoleRule(user, project.config.file)
    orchestrator = createOrchestrator({
      config: {
        ...user,
        plugins: [
          defaultPlugins(user.plugins, {
            events: paths.events,
            remote: user.remote !== undefined,
            ...(options.quiet ? { quiet: true } : {}),
            ...(options.verbose ? { verbose: true } : {}),
          }),
          options.ui && (await dashboardPlugin(options.ui, project, () => orchestrator!)),
        ],
        // `--watch` keeps it running; without it, the config says (by default, stop once settled).
        stopWhenSettled: options.watch ? false : (user.stopWhenSettled ?? true),
      },
      project: projectInfo(project),
      sources: [onceLoaded(project.source, checked)],
      reporters: [state],
      store: journal,
      // A resume lands where its run landed; a fresh start on the branch checked out now.
      resume: options.command === 'resume',
      // A role the config does not list starts no default (paid) agent unless `defaults` names one.
      ...(unlistedRole ? { unlistedRole } : {}),
    })
    const running = orchestrator
    control = await serveControl(controlSocketPath(paths.stateDir), async (request) => {
      if (request.command === 'rerun')
        await running.rerun(request.id, { withDependents: request.withDependents ?? false })
      else if (request.command === 'reset') await running.reset(request.id)
      else if (request.command === 'mark')
        await running.mark(request.id, request.status, { landed: request.landed ?? false })
      else if (request.command === 'land') return await running.land()
      else void running.stop({ remove: request.remove ?? false, finish: request.finish ?? false })
      return undefined
    })
    // The reporters are gone once the run stopped: what goes wrong while they close (one whose
    // onClose never finishes) has no console left to show it.
    let closing = false
    orchestrator.events.on('orchestrator:state', (e) => void (closing ||= e.to === 'stopped'))
    // With --watch, work that comes after a settle unsettles it.
    orchestrator.events.on('project:settled', () => void (settled = true))
    orchestrator.events.on('task:assigned', () => void (settled = false))
    // The console's last line says all is complete, but the run goes on: said once, after it.
    if ((options.watch || user.stopWhenSettled === false) && !options.quiet) {
      let said = false
      orchestrator.events.on('project:settled', () => {
        if (said) return
        said = true
        setImmediate(() =>
          process.stdout.write(
            '· still running: task files added or edited are picked up; `tanuki project stop` or Ctrl-C ends the run\n',
          ),
        )
      })
    }
    orchestrator.events.on('orchestrator:error', (e) => {
      if (closing) process.stderr.write(`tanuki: ${e.context}: ${e.message}\n`)
    })
    // Agents that share the folder, with nothing to land: said once, as the project loads.
    const shared = options.quiet
      ? undefined
      : await sharedWorkspaceNote(project.root, {
          ...project.config.resolved.land,
          file: project.config.file,
        })
    if (shared) {
      orchestrator.events.on('project:loaded', () => void process.stdout.write(`· ${shared}\n`))
    }
    // Complete tasks whose file was edited since they ran: the edit does not run them, said once.
    const edited = options.quiet ? undefined : editedNote(checked, journal.load())
    if (edited) orchestrator.events.on('project:loaded', () => void process.stdout.write(`! ${edited}\n`))
    process.on('SIGINT', onSignal)
    process.on('SIGTERM', onSignal)
    started = true
    const starting = orchestrator.start()
    // Closed while the project loaded: stopped before any agent is spawned.
    if (outputGone) void orchestrator.stop({ remove: false })
    await starting
    return await orchestrator.done()
  } finally {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
    stopWatchingOutput()
    await control?.close()
    await journal?.close().catch(() => {})
    await project.source.settled()
    rmSync(paths.stopRequest, { force: true })
    lock.release()
  }
}

/**
 * The file source, but its first `load()` answers with the tasks `checkTasks` just read: reading
 * and parsing every file twice was a third of the time to the first assignment with 10,000 tasks.
 * The scan also left the source knowing every file, which `update` and `watch` rely on.
 */
function onceLoaded(source: FileTaskSource, tasks: Task[]): TaskSource {
  let first: Task[] | undefined = tasks
  return {
    name: source.name,
    load: async () => {
      const loaded = first ?? (await source.load())
      first = undefined
      return loaded
    },
    update: (id, patch) => source.update(id, patch),
    watch: (listener) => source.watch(listener),
  }
}

export function readStopRequest(paths: StatePaths): StopRequest | undefined {
  if (!existsSync(paths.stopRequest)) return undefined
  try {
    return JSON.parse(readFileSync(paths.stopRequest, 'utf8')) as StopRequest
  } catch {
    return undefined
  }
}

/** The dashboard served with the run (`--ui`); its modules load only then. */
async function dashboardPlugin(
  ui: NonNullable<RunOptions['ui']>,
  project: Project,
  orchestrator: () => Orchestrator,
): Promise<TanukiPlugin> {
  const [{ dashboard }, { createRunSource }] = await Promise.all([
    import('@tanuki/plugin-ui'),
    import('./ui/sources.ts'),
  ])
  return dashboard({
    ...ui,
    source: () => createRunSource(project, orchestrator()),
    onListen: ({ url, host }) => process.stdout.write(dashboardBanner(url, host)),
  })
}

/**
 * Stops the agents' processes a killed run left running (their pid files in the state folder):
 * each as `default-1 (pid 123)`. Only while this process holds the project's lock.
 */
function reapKilledRun(info: ProjectInfo): string[] {
  const pids = new Map(leftovers(info).map(({ agent, pid }) => [agent, pid]))
  return reapLeftovers(info).map((agent) => (pids.has(agent) ? `${agent} (pid ${pids.get(agent)})` : agent))
}
