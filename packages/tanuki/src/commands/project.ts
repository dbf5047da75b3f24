import { spawn } from 'node:child_process'
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { hostname } from 'node:os'
import { dirname, isAbsolute } from 'node:path'
import { defineCommand } from 'citty'
import {
  TanukiError,
  backendRoles,
  errorMessage,
  isTanukiError,
  setupPlugins,
  noTriesLeftAfterCrash,
  type CleanupReport,
} from '@tanuki/core'
import { leftovers, reapLeftovers } from '@tanuki/plugin-agent-process'
import { readOwned } from '@tanuki/plugin-agent-process/kit'
import { formatStatus } from '@tanuki/plugin-reporter'
import { isAlive, readLock, runningOrchestrator } from '../lock.ts'
import { projectName } from '../paths.ts'
import { defaultPlugins } from '../plugins.ts'
import { checkProject, editedNote, goneNote, goneTasks, type CheckedProject } from '../check.ts'
import { controlSocketPath, sendControl } from '../control.ts'
import { openProject, projectInfo, readTasks, runProject, type Project, type StopRequest } from '../project.ts'
import { readJournal } from '../journal.ts'
import { landingOrder } from '../land.ts'
import { runExit } from '../run-exit.ts'
import { sharedWorkspaceNote } from '../shared-workspace.ts'
import { readJson, statusFromJournal, withJournal, type StatusDocument, type WorkerStatus } from '../state.ts'
import { common, printJson, checkedProjectRoot, sleep, table } from './shared.ts'
import { parsePort, uiArgs } from './ui-args.ts'

const output = {
  quiet: { type: 'boolean', description: 'Only print failures and the final summary' },
  verbose: {
    type: 'boolean',
    description: "Also print every iteration, the agents' output, and the whole run summary at the end",
  },
} as const

async function foreground(
  { project, tasks }: CheckedProject,
  command: 'start' | 'resume',
  args: { watch?: boolean; quiet?: boolean; verbose?: boolean; ui?: boolean; host?: string; port?: string },
): Promise<number> {
  const port = parsePort(args.port)
  const summary = await runProject(project, {
    command,
    tasks,
    ...(args.ui ? { ui: { ...(args.host ? { host: args.host } : {}), ...(port === undefined ? {} : { port }) } } : {}),
    ...(args.watch ? { watch: true } : {}),
    ...(args.quiet ? { quiet: true } : {}),
    ...(args.verbose ? { verbose: true } : {}),
  })
  const code = runExit(summary, undefined, project.config.file)
  if (code === 0) process.stdout.write(cleanupHint(project))
  return code
}

/**
 * After a run whose work all landed, the one line that says how to delete the agents' worktrees
 * it left (kept for a next run), when there are any: nothing at a run's end named
 * `tanuki project stop --remove`, and worktrees piled up in the state home.
 */
function cleanupHint(project: Project): string {
  const worktrees = Object.entries(readOwned(projectInfo(project)).worktrees).filter(
    ([path, entry]) => entry.kind === 'agent' && existsSync(path),
  )
  if (worktrees.length === 0) return ''
  const which = worktrees.length === 1 ? "The agent's worktree stays" : `The agents' ${worktrees.length} worktrees stay`
  return `${which} for a next run; \`tanuki project stop --remove\` deletes what Tanuki created.\n`
}

/** Starts the same command in the background, its output in `.tanuki/orchestrator.log`. */
async function detach(project: Project, command: 'start' | 'resume', rawArgs: string[]): Promise<number> {
  const running = runningOrchestrator(project.paths.lock)
  if (running) {
    process.stderr.write(
      `tanuki: an orchestrator (pid ${running.pid}) already runs this project; see \`tanuki project status\`.\n`,
    )
    return 1
  }
  mkdirSync(project.paths.stateDir, { recursive: true })
  const log0 = existsSync(project.paths.detachedLog) ? statSync(project.paths.detachedLog).size : 0
  const log = openSync(project.paths.detachedLog, 'a')
  // The same entry point this process was started from (bin/tanuki.js).
  const cli = process.argv[1]!
  // The same options, less --detach, and --cwd given once, as the folder it resolved to.
  const args = rawArgs.filter(
    (arg, i) =>
      arg !== '--detach' &&
      arg !== '-d' &&
      arg !== '--cwd' &&
      rawArgs[i - 1] !== '--cwd' &&
      !arg.startsWith('--cwd=') &&
      !arg.startsWith('--detach='),
  )
  const child = spawn(
    process.execPath,
    [...process.execArgv, cli, 'project', command, ...args, '--cwd', project.root],
    {
      detached: true,
      stdio: ['ignore', log, log],
      env: { ...process.env, TANUKI_DETACHED: '1' },
    },
  )
  closeSync(log)
  child.unref()
  let exited: number | null | undefined
  child.on('exit', (code) => (exited = code))
  for (let waited = 0; waited < 30_000; waited += 100) {
    if (readLock(project.paths.lock)?.pid === child.pid) {
      process.stdout.write(
        `Tanuki runs in the background (pid ${child.pid}).\n` +
          `  progress:  tanuki project status\n  stop:      tanuki project stop\n  output:    ${project.source.display(project.paths.detachedLog)}\n`,
      )
      if (args.includes('--ui')) process.stdout.write(await detachedDashboard(project.paths.detachedLog, log0))
      return 0
    }
    if (exited !== undefined) break
    await sleep(100)
  }
  process.stderr.write(
    `tanuki: the background run did not start (exit code ${exited ?? 'none yet'}); see ${project.paths.detachedLog}\n`,
  )
  return 1
}

/** The dashboard line a background run with `--ui` printed into its log (it listens as the run sets up). */
async function detachedDashboard(logFile: string, from: number): Promise<string> {
  for (let waited = 0; waited < 10_000; waited += 100) {
    const text = readFileSync(logFile).subarray(from).toString('utf8')
    const line = /^Dashboard: .*(\n {2}warning: .*)?$/m.exec(text)
    if (line) return `  ${line[0]}\n`
    await sleep(100)
  }
  return '  dashboard: its URL will be in the output file once it listens\n'
}

const start = defineCommand({
  meta: {
    name: 'start',
    description: "Run the project's tasks until every one is settled; exit 0 when all are complete",
  },
  args: {
    ...common,
    ...output,
    watch: { type: 'boolean', description: 'Keep running and pick up new tasks after everything is settled' },
    detach: {
      type: 'boolean',
      alias: 'd',
      description: 'Run in the background; watch it with `tanuki project status`',
    },
    ui: { type: 'boolean', description: 'Serve the web dashboard with the run (its URL is printed)' },
    ...uiArgs,
  },
  async run({ args, rawArgs }) {
    // Where work would land (a detached HEAD on a first run), before the run loads.
    const checked = await checkProject(checkedProjectRoot(args), { landing: true })
    return args.detach ? detach(checked.project, 'start', rawArgs) : foreground(checked, 'start', args)
  },
})

const resume = defineCommand({
  meta: {
    name: 'resume',
    description: 'Continue a stopped or crashed project: tasks in flight go back to pending, complete ones never rerun',
  },
  args: {
    ...common,
    ...output,
    watch: { type: 'boolean', description: 'Keep running after everything is settled' },
    detach: { type: 'boolean', alias: 'd', description: 'Run in the background' },
    ui: { type: 'boolean', description: 'Serve the web dashboard with the run (its URL is printed)' },
    ...uiArgs,
  },
  async run({ args, rawArgs }) {
    const checked = await checkProject(checkedProjectRoot(args))
    const { project } = checked
    const running = runningOrchestrator(project.paths.lock)
    if (running) {
      throw new TanukiError(
        'TANUKI_LOCKED',
        `An orchestrator (pid ${running.pid}) is running this project; nothing to resume. See \`tanuki project status\`.`,
      )
    }
    const recorded = withJournal(checked.tasks, readJournal(project.paths.journal).state)
    const cutOff = recorded.filter(({ task }) => task.status === 'assigned' || task.status === 'in_progress')
    // One whose last try the crash cut off had a try more already has none left: the run sends it
    // to review, saying why. (A last try cut off once gets one more.)
    const spent = (each: (typeof recorded)[number]): boolean =>
      noTriesLeftAfterCrash({ ...each.facts, task: each.task }) !== undefined
    const inFlight = cutOff.filter((each) => !spent(each)).map(({ task }) => task.id)
    const noneLeft = cutOff.filter(spent).map(({ task }) => task.id)
    const complete = recorded.filter(({ task }) => task.status === 'complete').length
    if (!args.quiet) {
      process.stdout.write(
        `Resuming: ${complete}/${recorded.length} complete` +
          (inFlight.length > 0 ? `; back to pending: ${inFlight.join(', ')}` : '') +
          (noneLeft.length > 0 ? `; no tries left, to review: ${noneLeft.join(', ')}` : '') +
          '\n',
      )
    }
    return args.detach ? detach(project, 'resume', rawArgs) : foreground(checked, 'resume', args)
  },
})

/** The status document: the running orchestrator's snapshot, or one built from the tasks' sources and the journal. */
export async function projectStatus(project: Project): Promise<StatusDocument & { problems?: string[] }> {
  const doc = await taskStatus(project)
  // Remote workers, as the run last saw them in Redis (a run refreshes the file every few seconds).
  const workers = readJson<WorkerStatus[]>(project.paths.workers)
  if (workers || project.config.resolved.remote) doc.workers = workers ?? []
  // A push that failed while the config pushed: nothing is pushed now, so nothing is missing.
  const { land } = project.config.resolved
  if (!land.enabled || !land.push) delete doc.pushFailed
  return doc
}

async function taskStatus(project: Project): Promise<StatusDocument & { problems?: string[] }> {
  const running = runningOrchestrator(project.paths.lock)
  const snapshot = readJson<StatusDocument>(project.paths.status)
  if (running && snapshot && snapshot.pid === running.pid) return snapshot
  // Every source's tasks: the files', the config's and the plugins'.
  const { tasks, errors } = await readTasks(project)
  const doc: StatusDocument & { problems?: string[] } = statusFromJournal(
    tasks,
    readJournal(project.paths.journal).state,
    project.paths,
  )
  if (running) {
    doc.status = 'starting'
    doc.pid = running.pid
  } else {
    // A run killed outright (`kill -9`) left its agents' processes running: not "stopped".
    // The agents' list is written as a run ends: one killed early may not have it.
    for (const { agent: name, pid } of leftovers(projectInfo(project))) {
      const known = doc.agents.find((agent) => agent.name === name)
      if (known) known.leftRunning = { pid }
      else {
        const task = doc.tasks.find((view) => view.assignedTo === name)
        doc.agents.push({
          name,
          role: task?.role ?? '',
          backend: 'process',
          status: 'stopped',
          ...(task ? { task: task.id } : {}),
          leftRunning: { pid },
        })
      }
    }
  }
  if (errors.length > 0) doc.problems = errors.map((error) => error.message)
  return doc
}

const status = defineCommand({
  meta: { name: 'status', description: 'Show tasks, progress and agents, while running or after' },
  args: { ...common, json: { type: 'boolean', description: 'Print the status as JSON (stable format)' } },
  async run({ args }) {
    // An empty folder is no project whose status is "not started, 0/0".
    const project = await openProject(checkedProjectRoot(args))
    const doc = await projectStatus(project)
    if (args.json) printJson(doc)
    else {
      process.stdout.write(formatStatus(doc, { color: Boolean(process.stdout.isTTY) && !process.env.NO_COLOR }) + '\n')
      if (doc.workers) process.stdout.write(formatWorkers(doc.workers))
      const shared = await sharedWorkspaceNote(project.root, {
        ...project.config.resolved.land,
        file: project.config.file,
      })
      if (shared) process.stdout.write(`\n· ${shared}\n`)
      const { state } = readJournal(project.paths.journal)
      const gone = goneNote(goneTasks(doc.tasks, state))
      if (gone) process.stdout.write(`\n· ${gone}\n`)
      const edited = editedNote((await readTasks(project)).tasks, state)
      if (edited) process.stdout.write(`\n! ${edited}\n`)
      for (const problem of doc.problems ?? []) process.stderr.write(`problem: ${problem}\n`)
    }
    return 0
  },
})

/** The remote workers, one line each, then their agents. */
function formatWorkers(workers: WorkerStatus[]): string {
  if (workers.length === 0)
    return '\nWorkers: none registered (start one with `tanuki worker` in a clone of the project)\n'
  const rows = [['WORKER', 'HOST', 'ROLES', 'AGENTS', 'BACKEND', 'LAST SEEN']]
  for (const worker of workers) {
    rows.push([
      worker.name,
      worker.host,
      worker.roles.length > 0 ? worker.roles.join(',') : 'any',
      `${worker.agents.length}/${worker.capacity}`,
      worker.backend,
      `${worker.lastSeen.slice(11, 19)}${worker.alive ? '' : ' (gone)'}`,
    ])
  }
  const agents = workers.flatMap((worker) =>
    worker.agents.map(
      (agent) => `  ${agent.name} (${agent.role}) on ${worker.name}${agent.task ? `: ${agent.task}` : ''}`,
    ),
  )
  return `\nWorkers:\n${table(rows)}\n${agents.length > 0 ? `${agents.join('\n')}\n` : ''}`
}

/**
 * Deletes what the agents left (worktrees, branches, containers), keeping work that has not landed
 * unless `force`. Every backend's cleanup runs, with no orchestrator.
 */
async function removeAgents(project: Project, force: boolean): Promise<CleanupReport> {
  const config = project.config.resolved
  const plugins = defaultPlugins(config.plugins, { reporters: false, remote: config.remote !== undefined })
  const info = projectInfo(project)
  const registry = await setupPlugins({ ...config, plugins }, info)
  const report: CleanupReport = { removed: [], kept: [], discarded: [] }
  try {
    for (const backend of registry.backends.values()) {
      // Each role's agents, wherever they run (a Docker role's own `host`).
      const roles = backendRoles(config, backend.name, registry.backends)
      const done = await backend.cleanup?.(info, { force, roles })
      if (!done) continue
      report.removed.push(...done.removed)
      for (const kept of done.kept) if (!report.kept.some((k) => k.name === kept.name)) report.kept.push(kept)
      report.discarded!.push(...(done.discarded ?? []))
    }
  } finally {
    await registry.teardown()
  }
  return report
}

/**
 * What the agents of other backends (Docker containers) that a killed run left running were doing
 * is stopped too, so they edit and spend no more: the names of those agents. A backend that cannot
 * say is reported, and the rest still stopped.
 */
async function stopLeftovers(project: Project): Promise<string[]> {
  const config = project.config.resolved
  const plugins = defaultPlugins(config.plugins, { reporters: false, remote: config.remote !== undefined })
  const info = projectInfo(project)
  let registry: Awaited<ReturnType<typeof setupPlugins>>
  try {
    registry = await setupPlugins({ ...config, plugins }, info)
  } catch (error) {
    // A plugin that cannot be set up here keeps no stop from stopping the processes it did.
    process.stderr.write(`tanuki: could not ask the backends what a killed run left running: ${errorMessage(error)}
`)
    return []
  }
  const stopped: string[] = []
  try {
    for (const backend of registry.backends.values()) {
      if (!backend.stopLeftovers) continue
      try {
        stopped.push(
          ...(await backend.stopLeftovers(info, { roles: backendRoles(config, backend.name, registry.backends) })),
        )
      } catch (error) {
        process.stderr.write(
          `tanuki: could not stop what agents of the ${backend.name} backend left running: ${errorMessage(error)}\n`,
        )
      }
    }
  } finally {
    await registry.teardown().catch(() => {})
  }
  return stopped
}

/** `a, b and c`, or the first three and how many more: a long list stays one short line. */
function some(names: readonly string[]): string {
  const shown = names.length > 4 ? [...names.slice(0, 3), `${names.length - 3} more`] : names
  return shown.length > 1 ? `${shown.slice(0, -1).join(', ')} and ${shown.at(-1)}` : (shown[0] ?? '')
}

/** `1 branch`, `2 branches`. */
function count(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`
}

/**
 * What was removed, by kind, in one line. Backends name folders by absolute path, branches and
 * refs with a `/`, containers by a plain name (see `CleanupReport.removed`).
 */
function removedLine(removed: readonly string[]): string {
  const worktrees = removed.filter((name) => isAbsolute(name))
  const branches = removed.filter((name) => !isAbsolute(name) && name.includes('/'))
  const containers = removed.filter((name) => !isAbsolute(name) && !name.includes('/'))
  const parts: string[] = []
  if (containers.length > 0) parts.push(`${count(containers.length, 'container')} (${some(containers)})`)
  if (worktrees.length > 0) {
    const folders = [...new Set(worktrees.map((path) => dirname(path)))]
    parts.push(
      `${count(worktrees.length, 'worktree')} (${folders.length === 1 ? `in ${folders[0]}` : some(worktrees)})`,
    )
  }
  if (branches.length > 0) parts.push(`${count(branches.length, 'branch', 'branches')} (${some(branches)})`)
  return `Removed ${some(parts)}.`
}

/** `1 commit (abc1234 fix the typo)`, `3 commits (the newest: abc1234 fix the typo)`. */
function commitsOf(commits: { count: number; sha: string; subject: string }): string {
  const newest = `${commits.sha} ${commits.subject}`
  return `${count(commits.count, 'commit')} (${commits.count === 1 ? newest : `the newest: ${newest}`})`
}

/**
 * What `stop --remove` removed and kept, for people: one line of what went, the kept work by task
 * with what to do about it, and the run's record, which stays.
 */
async function printCleanup(project: Project, report: CleanupReport): Promise<void> {
  const lines: string[] = []
  const kept = report.kept.filter((each) => each.tasks.length > 0)
  const byHand = report.kept.filter((each) => each.commits)
  const stuck = report.kept.filter((each) => each.tasks.length === 0 && !each.commits).map((each) => each.name)
  const discarded = [...new Set((report.discarded ?? []).flatMap((each) => each.tasks))].sort()
  if (report.removed.length > 0) lines.push(removedLine(report.removed))
  // Refs and branches deleted with --force are said by the lines below: "Nothing to remove." above them was false.
  else if (kept.length === 0 && byHand.length === 0 && stuck.length === 0 && (report.discarded ?? []).length === 0)
    lines.push('Nothing to remove.')
  if (discarded.length > 0) lines.push(`With --force, deleted the work of ${some(discarded)}, which had not landed.`)
  for (const each of report.discarded ?? [])
    if (each.commits) lines.push(`With --force, deleted ${each.name} with ${commitsOf(each.commits)}.`)
  // A person's own commits (or edits they left uncommitted, committed at removal): no task lands them.
  for (const each of byHand) {
    const { sha } = each.commits!
    lines.push(
      `Kept ${each.name}: it has ${commitsOf(each.commits!)} that no task's work holds and no other branch has ` +
        '(made by hand in its worktree, or left uncommitted there and committed at removal). ' +
        `To keep ${each.commits!.count === 1 ? 'it' : 'them'}: \`git branch my-fix ${sha}\` (or \`git merge ${sha}\` into your branch), ` +
        'then `tanuki project stop --remove` deletes the rest; to delete it anyway: `tanuki project stop --remove --force`.',
    )
  }
  const ids = [...new Set(kept.flatMap((each) => each.tasks))].sort()
  if (ids.length > 0) {
    const { statusOf, advice } = await keptAdvice(project, ids)
    lines.push(`Kept the work of ${count(ids.length, 'task')} whose commits are not on the target branch:`)
    const width = Math.max(...ids.map((id) => id.length))
    const statusWidth = Math.max(...ids.map((id) => statusOf(id).length))
    for (const id of ids) {
      const holders = kept.filter((each) => each.tasks.includes(id)).map((each) => each.name)
      // The task's refs are a second copy of what its agent's branch holds: named only when alone.
      const branches = holders.filter((name) => !name.endsWith('/…'))
      const where = branches.length > 0 ? `on ${branches.join(', ')}` : 'in its task refs'
      lines.push(`  ${id.padEnd(width)}  ${statusOf(id).padEnd(statusWidth)}  ${where}`)
    }
    lines.push(...advice, 'To delete the kept work anyway: `tanuki project stop --remove --force`.')
  }
  if (stuck.length > 0)
    lines.push(
      `Could not remove ${some(stuck)}: \`git worktree list\` and \`git branch\` show what is left; run \`tanuki project stop --remove\` again, or remove it by hand.`,
    )
  if (existsSync(project.paths.journal))
    lines.push(
      `The run's record stays in ${project.source.display(project.paths.stateDir)}/ (statuses, spend, logs): \`tanuki project status\` shows it, \`tanuki task rerun ID\` runs a task again.`,
    )
  process.stdout.write(`${lines.join('\n')}\n`)
}

/**
 * What to do about work kept for holding tasks' work that has not landed, as `tanuki land` would
 * treat each task: it lands complete work whose dependencies landed, and nothing of a task that is
 * not complete, is recorded as landed (by hand), or is no task any more. Advice to run it for those
 * would lead nowhere (it says "Nothing to land"). With each task's status, as the journal has it.
 */
async function keptAdvice(
  project: Project,
  ids: readonly string[],
): Promise<{ statusOf: (id: string) => string; advice: string[] }> {
  const recorded = withJournal((await readTasks(project)).tasks, readJournal(project.paths.journal).state)
  const byId = new Map(recorded.map((each) => [each.task.id, each]))
  const statusOf = (id: string): string => byId.get(id)?.task.status ?? 'gone'
  const order = new Set(
    landingOrder(
      recorded.map(({ task }) => task),
      new Map(recorded.map(({ task, facts }) => [task.id, facts])),
    ).map((task) => task.id),
  )
  const lands: string[] = []
  const waits: string[] = []
  const notComplete: string[] = []
  const landed: string[] = []
  const gone: string[] = []
  for (const id of ids) {
    const found = byId.get(id)
    if (!found) gone.push(id)
    else if (found.task.status !== 'complete') notComplete.push(id)
    else if (found.facts.landed) landed.push(id)
    else if (order.has(id)) lands.push(id)
    else waits.push(id)
  }
  /** `A is` or `A and B are`, and `its` or `their`. */
  const they = (list: readonly string[]) =>
    list.length === 1 ? { are: `${list[0]} is`, its: 'its' } : { are: `${some(list)} are`, its: 'their' }
  const advice: string[] = []
  if (lands.length > 0) advice.push(`\`tanuki land\` lands the work of ${some(lands)}.`)
  if (waits.length > 0)
    advice.push(
      `${they(waits).are} complete but wait${waits.length === 1 ? 's' : ''} for dependencies whose work has not landed: \`tanuki land\` lands ${they(waits).its} work after theirs.`,
    )
  if (notComplete.length > 0) {
    const mark =
      notComplete.length === 1 ? `\`tanuki task mark ${notComplete[0]} complete\`` : '`tanuki task mark ID complete`'
    advice.push(
      `${they(notComplete).are} not complete, so \`tanuki land\` will not land ${they(notComplete).its} work: ` +
        `to land ${notComplete.length === 1 ? 'it' : 'one'}, approve it with ${mark}, then run \`tanuki land\`.`,
    )
  }
  if (landed.length > 0)
    advice.push(
      `${they(landed).are} recorded as landed (by hand, or ${they(landed).its} landing was taken off the target since), so \`tanuki land\` will not land ${they(landed).its} work again.`,
    )
  if (gone.length > 0)
    advice.push(
      `${they(gone).are} no task of this project now, so \`tanuki land\` will not land ${they(gone).its} work.`,
    )
  return { statusOf, advice }
}

/**
 * Asks the orchestrator running this project to stop gracefully, as `project stop` does, without
 * waiting for it: returns its pid, or undefined when none runs. Throws when it runs on another host.
 */
export function requestStop(project: Project, request: StopRequest = { remove: false }): number | undefined {
  const running = runningOrchestrator(project.paths.lock)
  if (!running) return undefined
  if (running.host !== hostname()) {
    throw new TanukiError(
      'TANUKI_LOCKED',
      `The orchestrator of ${project.root} runs on ${running.host} (pid ${running.pid}); stop it there.`,
    )
  }
  writeFileSync(project.paths.stopRequest, JSON.stringify(request) + '\n')
  process.kill(running.pid, 'SIGTERM')
  return running.pid
}

/**
 * Asks the running orchestrator to stop once the tries under way end (`stop --finish`), through
 * its control socket, and waits for it to take the request. Each request is a message of its own:
 * two at the same instant both finish. (The stop request file is one slot and the signals are
 * counted apart: the first signal took the file, and the second, finding none, stopped the run
 * at once, cutting the tries short.) An orchestrator whose socket does not answer (one still
 * starting) is asked with the file and a signal.
 */
async function requestFinish(project: Project): Promise<void> {
  try {
    await sendControl(controlSocketPath(project.paths.stateDir), { command: 'stop', finish: true })
  } catch (error) {
    if (!isTanukiError(error, 'TANUKI_CONTROL_UNREACHABLE')) throw error
    requestStop(project, { remove: false, finish: true })
  }
}

const stop = defineCommand({
  meta: { name: 'stop', description: 'Stop the running orchestrator gracefully (from any terminal)' },
  args: {
    ...common,
    remove: {
      type: 'boolean',
      description: 'Also remove what the agents left: worktrees, branches and containers Tanuki created',
    },
    force: {
      type: 'boolean',
      description: 'With --remove: delete branches even when they hold work that has not landed',
    },
    finish: {
      type: 'boolean',
      description:
        'Let the tries under way end (judged, their work landed) before stopping: no task starts, no new try begins',
    },
  },
  async run({ args }) {
    const project = await openProject(checkedProjectRoot(args))
    const running = runningOrchestrator(project.paths.lock)
    if (running && running.host !== hostname()) {
      process.stderr.write(`tanuki: the orchestrator runs on ${running.host} (pid ${running.pid}); stop it there.\n`)
      return 1
    }
    if (args.finish) {
      if (args.remove) {
        throw new TanukiError(
          'TANUKI_USAGE',
          'tanuki project stop: --finish and --remove do not go together: `tanuki project stop --finish`, then, once it stopped, `tanuki project stop --remove`',
        )
      }
      if (!running) {
        process.stdout.write('No orchestrator is running for this project.\n')
        return 0
      }
      process.stdout.write(`Asking the orchestrator (pid ${running.pid}) to stop once the tries under way end…\n`)
      // A try may take minutes: the run says on its console when it stops; this does not wait.
      await requestFinish(project)
      process.stdout.write('It stops then: no task starts, no new try begins. `tanuki project stop` stops it now.\n')
      return 0
    }
    if (running) {
      requestStop(project, { remove: false })
      process.stdout.write(`Stopping the orchestrator (pid ${running.pid})…\n`)
      for (let waited = 0; isAlive(running.pid) && readLock(project.paths.lock)?.pid === running.pid; waited += 100) {
        if (waited >= 60_000) {
          process.stderr.write(
            `tanuki: pid ${running.pid} did not stop within 60 s; it may still be winding down its agents.\n`,
          )
          return 1
        }
        await sleep(100)
      }
      process.stdout.write(args.remove ? 'Stopped.\n' : 'Stopped. `tanuki project resume` continues.\n')
    } else {
      // A run killed outright (`kill -9`, a crash) leaves its agents' processes running, spending
      // and editing the worktrees: with no orchestrator to ask, they are stopped here.
      const reaped = [...reapLeftovers(projectInfo(project)), ...(await stopLeftovers(project))]
      const left = reaped.length > 0 ? `; stopped the agents a killed run left running: ${reaped.join(', ')}` : ''
      if (!args.remove) {
        process.stdout.write(`No orchestrator is running for this project${left}.\n`)
        return 0
      }
      if (left) process.stdout.write(`Stopped the agents a killed run left running: ${reaped.join(', ')}.\n`)
    }
    if (args.remove) await printCleanup(project, await removeAgents(project, Boolean(args.force)))
    return 0
  },
})

export const projectCommand = defineCommand({
  meta: { name: 'project', description: 'Run, watch, stop and resume the project' },
  subCommands: { start, status, stop, resume },
})
