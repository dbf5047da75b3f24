import {
  Resolver,
  TanukiError,
  checkRolePrograms,
  checkRoles,
  closestName,
  combineErrors,
  createTask,
  cycleError,
  didYouMean,
  errorMessage,
  isTanukiError,
  roleBackendName,
  roleConfig,
  setupPlugins,
  type AgentBackend,
  type ConfigProblem,
  type ProjectInfo,
  type ResolvedConfig,
  type RoleConfig,
  type RunState,
  changedSince,
  type Task,
  type TaskRunState,
  type UserConfig,
} from '@tanuki/core'
import { createGitLander, gitRepository } from '@tanuki/plugin-agent-process/kit'
import { checkConfigFile, readConfigFile, type ConfigFile, type LoadedConfig } from './config.ts'
import { FileTaskSource } from './file-source.ts'
import { readJournal } from './journal.ts'
import { statePaths, type StatePaths } from './paths.ts'
import { hiddenTaskNotes } from './task-folders.ts'
import { unlistedRoles } from './unlisted-roles.ts'
import { defaultPlugins } from './plugins.ts'
import { loadSources, tracePlugins } from './plugin-sources.ts'
import type { Project } from './project.ts'
import { unusedLandSettings } from './shared-workspace.ts'

function asTanukiError(error: unknown, code: 'TANUKI_CONFIG_INVALID' | 'TANUKI_TASK_INVALID'): TanukiError {
  return isTanukiError(error) ? error : new TanukiError(code, errorMessage(error), { cause: error })
}

/** What the tasks of a project are, and every problem with them. */
export interface TaskCheck {
  /** The tasks that are valid on their own: from the task files, then from the config. */
  tasks: Task[]
  /** The tasks of plugins' sources that were accepted (a duplicate id is not). */
  pluginTasks: Task[]
  errors: TanukiError[]
}

/**
 * Reads and checks every task before anything runs or is written: each invalid file, each
 * invalid task in the config, duplicate ids, and, unless `graph` is false, unknown dependencies
 * and a cycle. A dependency on a task whose file is gone but which `journal` (its path) records as
 * complete is no problem: the run counts it done (`goneTasks`).
 */
export function checkProjectTasks(
  source: FileTaskSource,
  config: ConfigFile,
  scanned = source.scan(),
  fromPlugins: readonly Task[] = [],
  { graph = true, journal }: { graph?: boolean; journal?: string } = {},
): TaskCheck {
  const { tasks: fromFiles, errors } = scanned
  const fromConfig: Task[] = []
  const inputs = Array.isArray(config.user.tasks) ? config.user.tasks : []
  const where = config.file ?? 'config'
  inputs.forEach((input, i) => {
    try {
      fromConfig.push(createTask({ ...input, source: `${where} (tasks[${i}])` }))
    } catch (error) {
      errors.push(asTanukiError(error, 'TANUKI_TASK_INVALID'))
    }
  })
  const seen = new Map(fromFiles.map((task) => [task.id, task.source]))
  const tasks = [...fromFiles]
  // Plugin sources' tasks are checked with the others (ids, dependencies, cycles); the run loads them itself.
  const plugged: Task[] = []
  const isPlugged = new Set(fromPlugins)
  for (const task of [...fromConfig, ...fromPlugins]) {
    const other = seen.get(task.id)
    if (other !== undefined) {
      errors.push(
        new TanukiError(
          'TANUKI_TASK_DUPLICATE',
          `Task id "${task.id}" is used twice: ${other} and ${task.source}. Give one of them another id.`,
          { details: { id: task.id, sources: [other, task.source] } },
        ),
      )
      continue
    }
    seen.set(task.id, task.source)
    if (isPlugged.has(task)) plugged.push(task)
    else tasks.push(task)
  }
  if (!graph) return { tasks, pluginTasks: plugged, errors }
  /** The ids the invalid task files give, gathered only once a dependency is missing. */
  let invalidFiles: Map<string, string> | undefined
  /** The tasks the journal has complete, read only once a dependency is missing. */
  let completed: ReadonlySet<string> | undefined
  // Near misses are looked for among every id: for the first few missing ones only, so that a
  // project of 100,000 tasks whose dependencies all went missing is not refused slowly.
  let guesses = 20
  // An invalid file's dependencies too, when they are fine themselves: every problem in one pass.
  const invalid = errors.flatMap(({ code, details }) =>
    code === 'TANUKI_TASK_INVALID' && typeof details.source === 'string' && Array.isArray(details.dependsOn)
      ? [{ source: details.source, dependsOn: details.dependsOn as string[] }]
      : [],
  )
  for (const task of [...tasks, ...plugged, ...invalid]) {
    for (const dep of task.dependsOn) {
      if (seen.has(dep)) continue
      completed ??= journal === undefined ? new Set() : completedIds(journal)
      if (completed.has(dep)) continue
      invalidFiles ??= idsOfInvalidFiles(errors)
      const file = invalidFiles.get(dep)
      const guess = file === undefined && guesses-- > 0 ? didYouMean(dep, seen.keys()) : ''
      errors.push(
        new TanukiError(
          'TANUKI_TASK_INVALID',
          file === undefined
            ? `${task.source}: field "depends_on" names "${dep}", but no task has that id${guess}. Fix the id or add the task.`
            : `${task.source}: field "depends_on" names "${dep}", whose file ${file} is invalid (its problem is listed too). Fix that file.`,
          { details: { source: task.source, field: 'depends_on', value: dep, ...(file ? { invalidFile: file } : {}) } },
        ),
      )
    }
  }
  // A task without dependencies is in no cycle, and a cycle never passes through one: the graph
  // of the others alone finds the same cycle (a big project's tasks mostly have none).
  const deps = new Resolver([...tasks, ...plugged].filter((task) => task.dependsOn.length > 0))
  // Every cycle that shares no task with one already named, so that a person fixes them in one
  // pass: each found is taken out of the graph and the rest searched again.
  for (let cycle = deps.findCycle(); cycle; cycle = deps.findCycle()) {
    errors.push(cycleError(cycle))
    for (const id of cycle) deps.remove(id)
  }
  return { tasks, pluginTasks: plugged, errors }
}

/** The tasks a journal records as complete. */
function completedIds(journal: string): Set<string> {
  const { tasks } = readJournal(journal).state
  return new Set(Object.keys(tasks).filter((id) => tasks[id]!.status === 'complete'))
}

/**
 * The tasks that completed and whose file is gone since (a person tidied up done work), which a
 * task among `tasks` depends on: the run counts them done. From what the journal recorded.
 */
export function goneTasks(
  tasks: readonly Pick<Task, 'id' | 'dependsOn'>[],
  state: RunState,
): { id: string; state: TaskRunState; dependents: string[] }[] {
  const here = new Set(tasks.map((task) => task.id))
  const gone = new Map<string, string[]>()
  for (const task of tasks) {
    for (const dep of task.dependsOn) {
      if (here.has(dep) || state.tasks[dep]?.status !== 'complete') continue
      const dependents = gone.get(dep)
      if (dependents) dependents.push(task.id)
      else gone.set(dep, [task.id])
    }
  }
  return [...gone].map(([id, dependents]) => ({ id, state: state.tasks[id]!, dependents }))
}

/** One note of the tasks `goneTasks` found: their work is done, their files gone, their dependents run. */
export function goneNote(gone: ReturnType<typeof goneTasks>): string | undefined {
  if (gone.length === 0) return undefined
  const named = gone.slice(0, 5).map(({ id, state }) => {
    const landed =
      state.landed && !state.landed.empty && state.landed.commit !== 'by hand'
        ? `, landed ${state.landed.commit.slice(0, 12)}`
        : ''
    return `${id} (complete${landed})`
  })
  const more = gone.length > 5 ? `, and ${gone.length - 5} more` : ''
  const dependents = [...new Set(gone.flatMap((each) => each.dependents))]
  const its = gone.length === 1 ? 'its file is' : 'their files are'
  return (
    `${named.join(', ')}${more}: ${its} gone, but the journal has the work done, so ${dependents.slice(0, 5).join(', ')}${dependents.length > 5 ? ', …' : ''} ` +
    `${dependents.length === 1 ? 'counts' : 'count'} ${gone.length === 1 ? 'it' : 'them'} complete. ` +
    `To run ${gone.length === 1 ? 'it' : 'one'} again, restore its file and \`tanuki task rerun ${gone.length === 1 ? gone[0]!.id : 'ID'}\`.`
  )
}

/**
 * One note of the tasks among `tasks` that the journal has complete and whose spec changed since
 * they ran (`TaskRunState.ran`): the edit does not run them again; `tanuki task rerun` does.
 */
export function editedNote(tasks: readonly Task[], state: RunState): string | undefined {
  const edited = tasks.flatMap((task) => {
    const saved = state.tasks[task.id]
    const fields = saved?.status === 'complete' ? changedSince(task, saved.ran) : []
    return fields.length > 0 ? [`${task.id} (${fields.join(', ')})`] : []
  })
  if (edited.length === 0) return undefined
  const shown = edited.length > 5 ? `${edited.slice(0, 5).join(', ')} and ${edited.length - 5} more` : edited.join(', ')
  const one = edited.length === 1
  return (
    `${shown}: ${one ? 'complete, and its file changed' : 'complete, and their files changed'} since ${one ? 'it' : 'they'} ran: ` +
    `the edit does not run ${one ? 'it' : 'them'} again. To run ${one ? 'it' : 'one'} as it is now: \`tanuki task rerun ${one ? tasks.find((task) => edited[0]!.startsWith(`${task.id} (`))!.id : 'ID'}\`.`
  )
}

/**
 * The id each invalid task file gives (parsing says it in `details.id` when the id itself is
 * fine), by id: so a task that depends on it is told the file is the problem, not that no task
 * has that id.
 */
function idsOfInvalidFiles(errors: readonly TanukiError[]): Map<string, string> {
  const ids = new Map<string, string>()
  for (const { code, details } of errors) {
    if (code !== 'TANUKI_TASK_INVALID' || typeof details.id !== 'string' || typeof details.source !== 'string') continue
    if (!ids.has(details.id)) ids.set(details.id, details.source)
  }
  return ids
}

/** A project checked from end to end, ready to run. */
export interface CheckedProject {
  project: Project
  /** The task files' and the config's tasks. */
  tasks: Task[]
  /** Tasks from plugins' sources, checked with the others; the run loads them from their sources. */
  pluginTasks: Task[]
  /** Things worth knowing that are not problems (tasks a person will review). */
  notes: string[]
}

/**
 * Checks everything a run depends on, in one pass, before anything runs or is written: the
 * config file (every key), every task file and config task, the graph, and, through the plugins,
 * every role a task or the config names (its backend exists; the backend accepts its kind,
 * command, image…). Throws one `TanukiError` listing every problem (`details.problems`), each
 * naming its file or key; `TANUKI_NO_TASKS` when there is nothing to run. With `landing`, also
 * where work would land (`task validate`, `project start`: refused before the run loads). With
 * `unlistedRoles`, also a task's role that `agents` does not list when `defaults` names no agent
 * (`task validate`; a run pauses such a role instead, see `unlistedRoleRule`). With `programs`,
 * also that the program each role's agents would start is on this machine
 * (`AgentBackend.checkPrograms`; `task validate`: a run pauses a role whose program is missing,
 * and its `setup` may install it in the agent's workspace).
 */
export async function checkProject(
  root: string,
  options: { landing?: boolean; unlistedRoles?: boolean; programs?: boolean } = {},
): Promise<CheckedProject> {
  const paths = statePaths(root)
  const errors: TanukiError[] = []
  /** Roles not in `agents` that run on `defaults`, as the config says they may. */
  const roleNotes: string[] = []
  let file: ConfigFile = { user: {} }
  // The config as far as it could be read: with problems in its keys, the rest of it, so the
  // checks after the schema's (each role's backend) report in the same pass.
  let config: LoadedConfig | undefined
  let problems: ConfigProblem[] = []
  try {
    file = await readConfigFile(paths.root)
    const checked = checkConfigFile(file, paths.root)
    config = checked.config
    problems = checked.problems
    if (checked.error) errors.push(checked.error)
  } catch (error) {
    errors.push(asTanukiError(error, 'TANUKI_CONFIG_INVALID'))
  }
  const doubt = inDoubt(problems, file.user)
  // The tasks are checked even when the config is not, so one pass names every problem.
  const tasksDir = typeof file.user.tasksDir === 'string' && file.user.tasksDir !== '' ? file.user.tasksDir : undefined
  const source = new FileTaskSource({
    root: paths.root,
    cacheFile: paths.taskCache,
    tempDir: paths.temp,
    ...(tasksDir ? { tasksDir } : {}),
  })
  const scanned = await source.scanAsync()
  const fromPlugins: Task[] = []
  let tasks: Task[] = []

  if (config && !doubt.backends) {
    const resolved = config.resolved
    const info: ProjectInfo = {
      root: paths.root,
      name: resolved.name,
      stateDir: paths.stateDir,
      ...(file.file ? { configFile: file.file } : {}),
    }
    try {
      const traced = tracePlugins(
        defaultPlugins(resolved.plugins, { reporters: false, lander: false, remote: resolved.remote !== undefined }),
      )
      const registry = await setupPlugins({ ...resolved, plugins: traced.plugins }, info)
      try {
        // Tasks from plugins' sources (a tracker, a database) are the project's tasks too.
        const loaded = await loadSources(registry.sources, traced.ownerOf)
        fromPlugins.push(...loaded.tasks)
        errors.push(...loaded.errors)
        const checked = checkProjectTasks(source, file, scanned, fromPlugins, { journal: paths.journal })
        tasks = checked.tasks
        errors.push(...checked.errors)
        const roles = [
          ...Object.keys(resolved.agents),
          ...tasks.map((task) => task.role),
          ...fromPlugins.map((task) => task.role),
        ].filter((role) => !doubt.role(role))
        const found = await checkRoles({
          config: resolved,
          backends: registry.backends,
          strategies: registry.strategies,
          project: info,
          roles,
        })
        if (options.programs) {
          // A backend looks only at options it accepts: what it refuses is said once, above.
          const programs = await checkRolePrograms({
            config: resolved,
            backends: registry.backends,
            project: info,
            roles,
          })
          found.push(...programs.problems)
          roleNotes.push(...programs.notes)
        }
        const judged = [...tasks, ...fromPlugins].filter((task) => !doubt.role(task.role))
        found.push(...unpricedBudgets(resolved, judged, registry.backends, info, doubt))
        // The roles as written, those left out for a problem too: a task's role near one is a near miss all the same.
        const written = Object.keys(file.user.agents ?? {})
        const misspelt = misspeltRoles(resolved, judged, written)
        errors.push(...misspelt)
        // A role far from every listed one: with `defaults` naming no agent, a run leaves its tasks
        // waiting rather than start the default (paid) agent; `task validate` names each.
        const near = new Set(misspelt.map((error) => String(error.details.value)))
        const unlisted = unlistedRoles(
          resolved,
          file.user,
          config.file,
          judged,
          (role) => near.has(role),
          (role) => {
            // As a run judges it (the agent pool): a paid agent, or one whose backend cannot say.
            const options = roleConfig(resolved, role)
            const backend = registry.backends.get(roleBackendName(options, registry.backends))
            return !backend?.reportsSpend || backend.reportsSpend({ role, options, project: info }) !== undefined
          },
        )
        if (options.unlistedRoles) errors.push(...unlisted.problems)
        roleNotes.push(...unlisted.notes)
        // A task file added or edited during the run is held to the same rule.
        source.judgeChanges((task) => misspeltRoles(resolved, [task], written)[0])
        // Tanuki's own lander, unless a plugin brings one. A start asks too, though the run asks
        // git again as it prepares the landing: refused before the run loads, nothing is recorded.
        if (options.landing && !registry.lander && resolved.land.enabled)
          errors.push(...(await landingProblems(info, resolved, paths)))
        const where = config.file ?? 'config'
        errors.push(
          ...found.map((error) =>
            // A problem of the project's folder (`details.root`: not committed), not of the config.
            error.details.root !== undefined
              ? error
              : new TanukiError(error.code, `${where}: ${error.message}${pluginHint(error)}`, {
                  cause: error,
                  details: error.details,
                }),
          ),
        )
      } finally {
        await registry.teardown().catch(() => {})
      }
    } catch (error) {
      errors.push(asTanukiError(error, 'TANUKI_CONFIG_INVALID'))
    }
  }

  if (!config || doubt.backends) {
    const checked = checkProjectTasks(source, file, scanned, [], { journal: paths.journal })
    tasks = checked.tasks
    errors.push(...checked.errors)
  }
  if (errors.length > 0) throw combineErrors(errors, 'in the project')
  // Task files in a default folder that is not read (an empty .tanuki/tasks/ hides tasks/): said,
  // rather than sending the person to `tanuki init` for a sample.
  // The folder read was just listed: whether it holds any file is known.
  const hidden = hiddenTaskNotes(paths.root, file, scanned.tasks.length + scanned.errors.length)
  if (tasks.length === 0 && fromPlugins.length === 0) throw noTasks(source, hidden)
  const open = [...tasks, ...fromPlugins]
    .filter((task) => !task.completion.verify && !task.completion.signal)
    .map((task) => task.id)
  // Tasks whose files are gone after they completed, that others depend on: they count as done.
  const { state } = readJournal(paths.journal)
  const gone = goneNote(goneTasks([...tasks, ...fromPlugins], state))
  const edited = editedNote([...tasks, ...fromPlugins], state)
  const notes = [
    ...(gone ? [gone] : []),
    ...(edited ? [edited] : []),
    ...(open.length > 0
      ? [
          `${open.length === 1 ? 'task' : `${open.length} tasks`} without completion criteria, reviewed by a person after one agent run without an error: ${open.join(', ')}`,
        ]
      : []),
    ...roleNotes,
    ...hidden,
  ]
  // Where nothing lands, a gate or a push the config sets would be skipped without a word.
  const unused = config ? await unusedLandSettings(paths.root, { ...config.resolved.land, file: file.file }) : undefined
  if (unused) notes.push(unused)
  return { project: { root: paths.root, paths, config: config!, source }, tasks, pluginTasks: fromPlugins, notes }
}

/**
 * What `project start` would refuse about where work lands (a target that is not a branch, a
 * detached HEAD), asked of git without writing anything. Outside a git repository nothing lands,
 * in a run as here.
 */
async function landingProblems(info: ProjectInfo, resolved: ResolvedConfig, paths: StatePaths): Promise<TanukiError[]> {
  if (!(await gitRepository(info.root))) return []
  const target = readJournal(paths.journal).state.run.target
  try {
    // As `project start` would: on the branch checked out, the recorded one on a detached HEAD.
    await createGitLander({ project: info, land: resolved.land }).inspect({
      ...(target === undefined ? {} : { target }),
      fresh: true,
    })
    return []
  } catch (error) {
    return [asTanukiError(error, 'TANUKI_CONFIG_INVALID')]
  }
}

/**
 * `TANUKI_NO_TASKS`: what to do, which is not `tanuki init` when task files sit in a folder that
 * is not read (`hidden`, from `taskFolders`).
 */
export function noTasks(source: FileTaskSource, hidden: readonly string[]): TanukiError {
  return new TanukiError(
    'TANUKI_NO_TASKS',
    `No task files in ${source.display(source.dir)}. ` +
      (hidden.length > 0 ? hidden.join(' ') : 'Run `tanuki init` for a sample, or add Markdown task files there.'),
  )
}

/** What the plugins' checks cannot judge after the schema's problems. */
interface InDoubt {
  /** Which backends exist (`plugins` or `remote` is wrong): no plugin check is made. */
  backends: boolean
  /** A role whose options could not be read: its backend is not asked about it. */
  role(role: string): boolean
}

/**
 * What the schema's problems leave in doubt, so that the checks after it report news, not
 * follow-ons of a problem already listed: every role when `agents` or `defaults` is not an
 * object; a role whose entry is not an object or whose `backend` is wrong; with `defaults.backend`
 * wrong, every role without a backend of its own.
 */
function inDoubt(problems: readonly ConfigProblem[], user: UserConfig): InDoubt {
  let backends = false
  let every = false
  let withoutBackend = false
  const roles = new Set<string>()
  for (const { path } of problems) {
    const [key, role, option] = path
    if (key === 'plugins' || key === 'remote') backends = true
    else if ((key === 'agents' || key === 'defaults') && role === undefined) every = true
    else if (key === 'agents' && typeof role === 'string' && (option === undefined || option === 'backend')) {
      roles.add(role)
    } else if (key === 'defaults' && role === 'backend') withoutBackend = true
  }
  const agents: Record<string, unknown> = typeof user.agents === 'object' && user.agents !== null ? user.agents : {}
  const ownBackend = (role: string): boolean => (agents[role] as RoleConfig | undefined)?.backend !== undefined
  return { backends, role: (role) => every || roles.has(role) || (withoutBackend && !ownBackend(role)) }
}

/** Backends of Tanuki's own plugins that a config must add itself: what to write for each. */
const PLUGIN_OF_BACKEND: Record<string, { name: string; from: string }> = {
  docker: { name: 'dockerAgents', from: '@tanuki/plugin-agent-docker' },
}

/** For a backend of one of Tanuki's own plugins that is not in `plugins`: the lines that add it. */
function pluginHint(error: TanukiError): string {
  const plugin = error.code === 'TANUKI_BACKEND_UNKNOWN' ? PLUGIN_OF_BACKEND[String(error.details?.value)] : undefined
  return plugin
    ? ` The ${String(error.details?.value)} backend comes with ${plugin.from}: add \`import { ${plugin.name} } from '${plugin.from}'\` ` +
        `to the config and \`${plugin.name}()\` to its \`plugins\`.`
    : ''
}

/**
 * A task's role that is not in `agents` but a near miss of one there (`writter` for `writer`):
 * it would get agents of `defaults` (by default Claude Code, a paid agent) instead of the role's.
 * A role far from every listed one is taken as meant: `defaults` serves roles not listed. Short
 * roles are judged as typed words: `doc` for `docs` and `qe` for `qa` are near misses too (a
 * beginning is not: `be` beside `backend`).
 */
function misspeltRoles(config: ResolvedConfig, tasks: readonly Task[], written: readonly string[]): TanukiError[] {
  const listed = [...new Set([...Object.keys(config.agents), ...written])]
  const problems: TanukiError[] = []
  const seen = new Set<string>()
  for (const task of tasks) {
    if (config.agents[task.role] || seen.has(task.role)) continue
    seen.add(task.role)
    // Roles are short words people type (`qa`, `doc`, `api`): one slip counts at any length, but
    // not a beginning (`be` beside `backend` may be a role of its own, served by `defaults`).
    const meant = closestName(task.role, listed, { typed: true, beginnings: false })
    if (!meant) continue
    problems.push(
      new TanukiError(
        'TANUKI_TASK_INVALID',
        `${task.source ?? task.id}: field "role": "${task.role}" is not a role in agents (did you mean "${meant}"?). ` +
          `Its tasks would get agents of \`defaults\` instead. Fix the role, or add agents.${task.role} to the config.`,
        { details: { source: task.source, field: 'role', value: task.role } },
      ),
    )
  }
  return problems
}

/** A `usd` figure in a budget as the config or a task's front matter gives it. */
const usdOf = (budget: unknown): number | undefined => {
  const usd = typeof budget === 'object' && budget !== null ? (budget as { usd?: unknown }).usd : undefined
  return typeof usd === 'number' ? usd : undefined
}

/**
 * A `usd` budget over a role whose agents report tokens but no dollars (codex without `price`,
 * as its backend says: `AgentBackend.reportsSpend`): that role's spend would never count against
 * it, and the budget would not stop what it is there to stop. One problem per role, naming the
 * budget and the fix. The budgets are those core applies: the run's, `agents.<role>.budget`, and
 * each task's.
 */
function unpricedBudgets(
  config: ResolvedConfig,
  tasks: readonly Task[],
  backends: ReadonlyMap<string, AgentBackend>,
  project: ProjectInfo,
  doubt: InDoubt,
): TanukiError[] {
  const problems: TanukiError[] = []
  const roles = new Set([...Object.keys(config.agents), ...tasks.map((task) => task.role)])
  for (const role of roles) {
    if (doubt.role(role)) continue
    const options = roleConfig(config, role)
    const backend = backends.get(roleBackendName(options, backends))
    if (backend?.reportsSpend?.({ role, options, project }) !== 'tokens') continue
    const task = tasks.find(
      (each) => each.role === role && usdOf((each as { budget?: unknown }).budget ?? each.extra.budget) !== undefined,
    )
    const budget =
      usdOf(config.budget) !== undefined
        ? "the run's budget.usd"
        : usdOf(config.agents[role]?.budget) !== undefined
          ? `agents.${role}.budget.usd`
          : task
            ? `the budget.usd of task ${task.id}${task.source ? `, in ${task.source},` : ''}`
            : undefined
    if (!budget) continue
    const where = config.agents[role] ? `agents.${role}` : 'defaults'
    problems.push(
      new TanukiError(
        'TANUKI_CONFIG_INVALID',
        `${config.agents[role] ? `agents.${role}` : `role "${role}" (from defaults)`}: ${budget} would not count this role's spend: its agents report tokens, not dollars. ` +
          `Set ${where}.price to the model's USD per million tokens ({ input, output, cachedInput }), or budget it in tokens only.`,
        { details: { key: `${where}.price`, role } },
      ),
    )
  }
  return problems
}
