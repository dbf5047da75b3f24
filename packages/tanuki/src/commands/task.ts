import { existsSync, readdirSync } from 'node:fs'
import { defineCommand } from 'citty'
import { TanukiError, changedSince, combineErrors, overruledStatus, type Task, type TaskRunState } from '@tanuki/core'
import { restoredText, settledAdvice } from '@tanuki/plugin-reporter'
import { runningOrchestrator } from '../lock.ts'
import { isIterationLog, iterationLog, taskLogDir } from '../paths.ts'
import { checkProject, editedNote, goneNote, goneTasks } from '../check.ts'
import { originLabel, sourceFailures } from '../plugin-sources.ts'
import { openProject, recordedTasks, taskNotFound, type Project } from '../project.ts'
import { readJournal } from '../journal.ts'
import { recordedGraph } from '../state.ts'
import { applyTaskCommand, type TaskCommandResult } from '../task-commands.ts'
import { hiddenTaskNotes } from '../task-folders.ts'
import { lastFailedVerify, lastLanding, taskWork } from '../task-work.ts'
import { common, dependenciesCell, printJson, checkedProjectRoot, table } from './shared.ts'

const list = defineCommand({
  meta: { name: 'list', description: 'List the tasks with their status, role, priority and dependencies' },
  args: { ...common, json: { type: 'boolean', description: 'Print as JSON' } },
  async run({ args }) {
    const project = await openProject(checkedProjectRoot(args))
    const { tasks, plugins, errors } = await recordedTasks(project)
    if (args.json) {
      const entries = tasks.map(({ body: _body, ...task }) => {
        const origin = plugins.get(task.id)
        return origin ? { ...task, plugin: { name: origin.plugin, source: origin.source } } : task
      })
      printJson(entries)
    } else if (tasks.length === 0 && errors.length === 0) {
      // Task files in a folder that is not read (an empty .tanuki/tasks/ hides tasks/) are named:
      // `tanuki init` would only add a sample beside them.
      const hidden = hiddenTaskNotes(project.root, project.config, 0)
      process.stdout.write(
        `No tasks in ${project.source.display(project.source.dir)}. ${hidden.length > 0 ? hidden.join(' ') : '`tanuki init` writes a sample.'}\n`,
      )
    } else {
      // Where each task comes from, once some are not task files: the config's, or a plugin's.
      const sources = tasks.some((task) => project.source.pathOf(task.id) === undefined)
      const rows = [['ID', 'STATUS', 'ROLE', 'PRIORITY', 'DEPENDS ON', ...(sources ? ['SOURCE'] : []), 'TITLE']]
      for (const task of tasks) {
        const origin = plugins.get(task.id)
        const source = origin ? `plugin ${originLabel(origin)}` : (task.source ?? '-')
        rows.push([
          task.id,
          task.status,
          task.role,
          task.priority,
          dependenciesCell(task.dependsOn),
          ...(sources ? [source] : []),
          task.title,
        ])
      }
      // A terminal's width, when it has one (an unsized pseudo-terminal says 0): titles are cut to it.
      process.stdout.write(table(rows, process.stdout.columns || undefined) + '\n')
      const { state } = readJournal(project.paths.journal)
      for (const note of [goneNote(goneTasks(tasks, state)), editedNote(tasks, state)])
        if (note) process.stdout.write(`note: ${note}\n`)
    }
    for (const error of errors) process.stderr.write(`problem: ${error.message}\n`)
    return errors.length > 0 ? 1 : 0
  },
})

/**
 * `task show` of a task no source has, which the journal knows: its file is gone (a person deleted
 * it), its record is all there is. A complete one still counts for the tasks that depend on it.
 */
function goneTask(project: Project, id: string, saved: TaskRunState, tasks: readonly Task[]): string[] {
  const dependents = tasks.filter((task) => task.dependsOn.includes(id)).map((task) => task.id)
  const lines = [
    `${id}: (its task file is gone; this is what the journal recorded of it)`,
    `  file:        none in ${project.source.display(project.source.dir)}`,
    `  status:      ${saved.status}`,
  ]
  if (saved.iterations > 0) lines.push(`  iterations:  ${saved.iterations}`)
  if (saved.reason) lines.push(`  reason:      ${saved.reason}`)
  if (saved.completedAt !== undefined) lines.push(`  completed:   ${new Date(saved.completedAt).toISOString()}`)
  if (saved.landed) lines.push(`  landed:      ${saved.landed.commit.slice(0, 12)}`)
  if (dependents.length > 0) {
    lines.push(
      saved.status === 'complete'
        ? `  dependents:  ${dependents.join(', ')} (they count it complete)`
        : `  dependents:  ${dependents.join(', ')} (blocked: it is not complete and has no file)`,
    )
  }
  lines.push(
    `  next:        ${saved.status === 'complete' ? 'its work is done; to run it again, ' : 'to run it, '}restore its file ` +
      `(\`git restore\` or \`git checkout\` it) and \`tanuki task rerun ${id}\``,
  )
  const logDir = taskLogDir(project.paths, id)
  if (existsSync(logDir) && readdirSync(logDir).some(isIterationLog)) lines.push(`  logs:        \`tanuki logs ${id}\``)
  return lines
}

/** Lines of a command's output, set off under a `task show` field. */
const quoted = (lines: string[]): string[] =>
  (lines.length > 0 ? lines : ['(no output)']).map((line) => `    |${line && ` ${line}`}`)

const show = defineCommand({
  meta: { name: 'show', description: 'Show one task: its fields, what blocks it, its body and logs' },
  args: { ...common, id: { type: 'positional', description: 'Task id', required: true } },
  async run({ args }) {
    const project = await openProject(checkedProjectRoot(args))
    const { tasks, facts, plugins, errors } = await recordedTasks(project)
    const task = tasks.find((t) => t.id === args.id)
    const { state } = readJournal(project.paths.journal)
    if (!task) {
      const saved = state.tasks[args.id]
      if (!saved) throw taskNotFound(project, args.id, errors)
      process.stdout.write(goneTask(project, args.id, saved, tasks).join('\n') + '\n')
      return 0
    }
    const blockers = recordedGraph(tasks, state).blockers(task.id)
    const origin = plugins.get(task.id)
    const lines = [
      `${task.id}: ${task.title}`,
      ...(origin
        ? [
            `  plugin:      ${origin.plugin}, task source "${origin.source}"`,
            // What the plugin says of it, unless it said nothing (createTask's default).
            ...(task.source && task.source !== `task ${task.id}` ? [`  source:      ${task.source}`] : []),
          ]
        : [`  file:        ${task.source}`]),
      `  status:      ${task.status}${task.assignedTo ? ` (agent ${task.assignedTo})` : ''}`,
      `  role:        ${task.role}`,
      `  priority:    ${task.priority}`,
      `  depends on:  ${task.dependsOn.join(', ') || '-'}`,
      `  verify:      ${task.completion.verify ?? '-'}`,
      `  signal:      ${task.completion.signal ?? '-'}`,
      `  max tries:   ${task.completion.maxIterations}`,
    ]
    if (task.tags.length > 0) lines.push(`  tags:        ${task.tags.join(', ')}`)
    const known = facts.get(task.id)
    // Rerun: its tries in this run (what max tries bounds), and every one it took.
    if (known?.iterations) {
      const earlier = known.triesFrom ?? 0
      // Past max tries only by running a last try without a verdict once more: `4` beside
      // `max tries: 3` read as a bug.
      const max = task.completion.maxIterations
      const spent = known.iterations - earlier
      const tries =
        spent > max
          ? `${max}/${max} +${spent - max} again (a last try without a verdict, cut off by a crash or a lost agent, ran once more)`
          : String(spent)
      lines.push(
        `  iterations:  ${earlier > 0 ? `${tries} (${known.iterations} in all, with its earlier runs)` : tries}`,
      )
    }
    if (known?.reason) lines.push(`  reason:      ${known.reason}`)
    if (known?.lastError) lines.push(`  last error:  ${known.lastError.class}: ${known.lastError.cause}`)
    if (known?.landed) lines.push(`  landed:      ${known.landed.commit.slice(0, 12)}`)
    // What the person's mark changed: its landing is gated by land.verify alone.
    if (task.status === 'complete' && known?.accepted && task.completion.verify)
      lines.push(
        `  accepted:    by hand (\`tanuki task mark ${task.id} complete\`): its landing does not run its verify again, only land.verify if the config sets one`,
      )
    // What is shown is the file as it is now: say when that is not what ran.
    const changed = task.status === 'complete' ? changedSince(task, state.tasks[task.id]?.ran) : []
    if (changed.length > 0)
      lines.push(
        `  changed:     ${changed.join(', ')} since it completed: what is shown is not what ran; the edit does not run it again (\`tanuki task rerun ${task.id}\` does)`,
      )
    // Settled without completing: nothing runs it again until a person says so (not a resume).
    if (task.status === 'failed' || task.status === 'review') {
      lines.push(`  next:        ${settledAdvice(task.id)}; \`tanuki project resume\` does not run it again`)
      // What a person reviews before saying so: where the agent left its work, and how to see it.
      const work = await (await taskWork(project))(task.id)
      if (work) {
        lines.push(
          `  work:        ${work.tip} (its last iteration), started from ${work.base}: ${work.changed || 'no changes'}`,
          `    see it:    git diff ${work.base} ${work.tip}`,
          `               git log ${work.base}..${work.tip}`,
          `    accept it: \`tanuki task mark ${task.id} complete\`, then \`tanuki land\` puts it on your branch` +
            // Its verify failing is why it is here: the landing of accepted work does not run it.
            (task.completion.verify ? ' without running its verify again (land.verify still gates it)' : ''),
        )
      }
    }
    if (blockers.length > 0)
      lines.push(
        `  blocked by:  ${blockers.map((b) => `${b.id} (${b.reason}${b.status ? `: ${b.status}` : ''})`).join(', ')}`,
      )
    const logDir = taskLogDir(project.paths, task.id)
    if (existsSync(logDir)) {
      const files = readdirSync(logDir)
      const logs = files.filter(isIterationLog)
      if (logs.length > 0)
        lines.push(
          `  logs:        ${logs.length} iteration(s), latest ${project.source.display(iterationLog(project.paths, task.id, logs.length))}`,
        )
      // No iteration ran (its role's setup failed): what the setup printed is all there is.
      else if (files.length > 0)
        lines.push(`  logs:        its setup's, in ${project.source.display(logDir)} (\`tanuki logs ${task.id}\`)`)
    }
    // Why its verify failed, not only that it did: the lines naming the error, and the end.
    const verify = task.status === 'complete' ? undefined : lastFailedVerify(project.paths, task.id)
    if (verify) {
      const where = `${project.source.display(verify.log)}, \`tanuki logs ${task.id}\``
      // A silent check (`test -f x`) is said in words, as the agent's next prompt says it.
      if (verify.lines.length === 0)
        lines.push(`  last verify: ${verify.what} (the command printed nothing; log: ${where})`)
      else lines.push(`  last verify: ${verify.what}; what it printed (all of it: ${where}):`, ...quoted(verify.lines))
    }
    // Why its complete work did not land: the gate's output is only in the journal and a next prompt.
    const landing = lastLanding(known?.feedback)
    if (landing?.lines.length === 0) lines.push(`  last landing: ${landing.what}`)
    else if (landing) lines.push(`  last landing: ${landing.what}:`, ...quoted(landing.lines))
    lines.push('', task.body.trim())
    process.stdout.write(lines.join('\n') + '\n')
    // The task is shown as it is, but what blocks it may be in a source that could not be read.
    for (const error of sourceFailures(errors)) process.stderr.write(`problem: ${error.message}\n`)
    return 0
  },
})

const graph = defineCommand({
  meta: { name: 'graph', description: 'Show the dependency graph, by level (or as Mermaid)' },
  args: { ...common, mermaid: { type: 'boolean', description: 'Print Mermaid flowchart text' } },
  async run({ args }) {
    const project = await openProject(checkedProjectRoot(args))
    // A graph with a task missing (a source failed, a file does not parse) would be wrong: refused.
    const { tasks, plugins, errors } = await recordedTasks(project, { graph: true })
    if (errors.length > 0) throw combineErrors(errors, 'in the tasks')
    if (tasks.length === 0) {
      throw new TanukiError(
        'TANUKI_NO_TASKS',
        `No tasks in ${project.source.display(project.source.dir)}. Run \`tanuki init\` for a sample, or add Markdown task files there.`,
      )
    }
    const byId = new Map(tasks.map((task) => [task.id, task]))
    const resolver = recordedGraph(tasks, readJournal(project.paths.journal).state)
    if (args.mermaid) {
      process.stdout.write(resolver.toMermaid((id) => `${id}: ${byId.get(id)?.title ?? ''}`) + '\n')
      return 0
    }
    const lines: string[] = []
    resolver.levels().forEach((level, i) => {
      lines.push(`level ${i}`)
      for (const id of level) {
        const task = byId.get(id)!
        const origin = plugins.get(id)
        const from = origin ? ` from ${originLabel(origin)}` : ''
        const deps = task.dependsOn.length > 0 ? `  <- ${task.dependsOn.join(', ')}` : ''
        lines.push(`  [${task.status}] ${id} (${task.role})${from}${deps}`)
      }
    })
    process.stdout.write(lines.join('\n') + '\n')
    return 0
  },
})

const validate = defineCommand({
  meta: {
    name: 'validate',
    description:
      "Check the config, every task file, id, dependency, the graph and each role's agents; exit 1 on any problem",
  },
  args: { ...common },
  async run({ args }) {
    const { project, tasks, pluginTasks, notes } = await checkProject(checkedProjectRoot(args), {
      landing: true,
      unlistedRoles: true,
      programs: true,
    })
    process.stdout.write(
      `${tasks.length} task${tasks.length === 1 ? '' : 's'} OK in ${project.source.display(project.source.dir)}` +
        (pluginTasks.length > 0 ? `, and ${pluginTasks.length} from plugins' task sources` : '') +
        (project.config.file ? ` (config: ${project.config.file})` : ' (no config file: defaults)') +
        '\n',
    )
    for (const note of [...notes, ...copiedStatusNotes(project, tasks), ...overruledStatusNotes(project, tasks)])
      process.stdout.write(`note: ${note}\n`)
    return 0
  },
})

/**
 * Task files new to a project that has run, whose front matter says they are settled: a run takes
 * such a status as it is (a teammate's finished work must not run again) and does not run them.
 * Most often a copy of a finished task's file, which carries its `status: complete`.
 */
function copiedStatusNotes(project: Project, tasks: readonly Task[]): string[] {
  const { state } = readJournal(project.paths.journal)
  if (state.run.startedAt === undefined) return []
  return tasks
    .filter((task) => SETTLED.has(task.status) && state.tasks[task.id] === undefined)
    .map(
      (task) =>
        `${task.source ?? task.id} is new and says \`status: ${task.status}\`: a run takes it as it is and does not run it. ` +
        `A copy of another task's file? Set \`status: pending\` in it, or run \`tanuki task rerun ${task.id}\`.`,
    )
}

const SETTLED: ReadonlySet<string> = new Set(['complete', 'failed', 'review'])

/**
 * Task files whose `status` says otherwise than the journal (a person typed one to rerun a task, or
 * a checkout changed it): a run goes by the journal and writes the file back. One note for them
 * all. Not while a run is on (its mirror may not have caught up, and it tells of them itself), nor
 * with the mirror off, nor for a file that lagged behind a run that crashed with its task in flight.
 */
function overruledStatusNotes(project: Project, tasks: readonly Task[]): string[] {
  if (!project.config.resolved.mirrorStatus || runningOrchestrator(project.paths.lock)) return []
  const { state } = readJournal(project.paths.journal)
  const overruled = tasks.flatMap((task) => {
    const status = state.tasks[task.id]?.status
    if (status === undefined || !overruledStatus(task.status, status)) return []
    return [{ taskId: task.id, ...(task.source ? { file: task.source } : {}), fileStatus: task.status, status }]
  })
  return overruled.length > 0 ? [restoredText(overruled, undefined, false)] : []
}

function report(result: TaskCommandResult, what: string): number {
  const where = result.via === 'running' ? 'the running orchestrator took it' : 'recorded for the next run'
  process.stdout.write(`${what}: ${result.ids.join(', ')} (${where}).\n`)
  for (const note of result.notes ?? []) process.stdout.write(`${note}.\n`)
  return 0
}

const id = { type: 'positional', description: 'Task id', required: true } as const

const rerun = defineCommand({
  meta: {
    name: 'rerun',
    description:
      'Run a task again with a fresh set of tries, as its file now defines it (stopping it if it runs), keeping its history; --with-dependents reruns what builds on it too',
  },
  args: {
    ...common,
    id,
    'with-dependents': { type: 'boolean', description: 'Also rerun every task that depends on it, directly or not' },
  },
  async run({ args }) {
    const project = await openProject(checkedProjectRoot(args))
    const result = await applyTaskCommand(project, {
      command: 'rerun',
      id: args.id,
      withDependents: Boolean(args['with-dependents']),
    })
    return report(result, 'Back to pending')
  },
})

const reset = defineCommand({
  meta: { name: 'reset', description: 'Start a task over: back to pending, its iterations and last failure cleared' },
  args: { ...common, id },
  async run({ args }) {
    const project = await openProject(checkedProjectRoot(args))
    return report(await applyTaskCommand(project, { command: 'reset', id: args.id }), 'Reset')
  },
})

const mark = defineCommand({
  meta: { name: 'mark', description: 'Settle a task by hand: complete (its dependents may start) or failed' },
  args: {
    ...common,
    id,
    status: { type: 'positional', description: 'complete or failed', required: true },
    landed: {
      type: 'boolean',
      description:
        'With complete: its work is on your branch already (you landed it, or resolved its conflict, by hand), so Tanuki does not land it',
    },
  },
  async run({ args }) {
    if (args.status !== 'complete' && args.status !== 'failed') {
      throw new TanukiError(
        'TANUKI_TASK_STATUS',
        `A task can be marked complete or failed, not "${args.status}". To run it again: \`tanuki task rerun ${args.id}\`.`,
      )
    }
    if (args.landed && args.status !== 'complete') {
      throw new TanukiError(
        'TANUKI_TASK_STATUS',
        `Only a task marked complete can be --landed: \`tanuki task mark ${args.id} complete --landed\`.`,
      )
    }
    const project = await openProject(checkedProjectRoot(args))
    return report(
      await applyTaskCommand(project, {
        command: 'mark',
        id: args.id,
        status: args.status,
        ...(args.landed ? { landed: true } : {}),
      }),
      args.landed ? 'Marked complete and landed by hand' : `Marked ${args.status}`,
    )
  },
})

export const taskCommand = defineCommand({
  meta: { name: 'task', description: 'Inspect and check tasks; rerun, reset or mark one by hand' },
  subCommands: { list, show, graph, validate, rerun, reset, mark },
})
