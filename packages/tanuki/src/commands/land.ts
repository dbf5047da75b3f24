import { TanukiError, notPushedNote, targetFailsSaid } from '@tanuki/core'
import { waitsForLine } from '@tanuki/plugin-reporter'
import { defineCommand } from 'citty'
import { landProject, type LandReport } from '../land.ts'
import { openProject } from '../project.ts'
import { common, printJson, checkedProjectRoot } from './shared.ts'

export const landCommand = defineCommand({
  meta: {
    name: 'land',
    description:
      'Land what is complete and not yet landed (or only the tasks named, after what they depend on): one commit per task on your branch, in dependency order, gated by verify',
  },
  args: {
    ...common,
    ids: {
      type: 'positional',
      required: false,
      description: 'Land only these tasks, and the complete work they depend on that has not landed (it lands first)',
      valueHint: 'ID...',
    },
    into: {
      type: 'string',
      description: "The branch to land on, for the work done for it (default: land.into, else the run's target)",
      valueHint: 'BRANCH',
    },
    'dry-run': {
      type: 'boolean',
      description: 'List what would land, in order, with the conflicts it would meet; change nothing',
    },
    json: { type: 'boolean', description: 'Print the report as JSON' },
  },
  async run({ args }) {
    const project = await openProject(checkedProjectRoot(args))
    // citty keeps every positional in `_`; `ids` is only the first.
    const only = args._.map(String)
    const report = await landProject(project, {
      ...(only.length > 0 ? { only } : {}),
      ...(args.into ? { into: args.into } : {}),
      ...(args['dry-run'] ? { dryRun: true } : {}),
    })
    // Work that could not land, or that waits for a target that could not move, is not delivered.
    // A dry run delivers nothing and fails nothing: what it predicts is in its report.
    // So is landed work the remote the config pushes to (`land.push`) lacks.
    const code =
      !report.plan && (report.failed.length > 0 || report.stopped || report.held.length > 0 || report.pushFailed)
        ? 1
        : 0
    // An error is said as every command says one (on stderr, exit 1), after the report.
    // What the gate printed on the target alone, under its message: why the target fails.
    const error = report.error
    const failed = error
      ? new TanukiError(
          error.code as `TANUKI_${string}`,
          error.output ? targetFailsSaid(error.message, error.output, project.paths.targetFails) : error.message,
        )
      : undefined
    if (args.json) {
      printJson(report)
      if (failed) throw failed
      return code
    }
    const lines: string[] = []
    if (report.noRepository === 'none')
      lines.push(
        `Nothing to land: ${project.root} is not a git repository, so its agents work in the folder itself and their work is there already. ` +
          'To land each task on a branch instead, make it one: `git init`, then commit what should be in it.',
      )
    if (report.noRepository === 'no-commit')
      lines.push(
        `Nothing to land: the git repository of ${project.root} has no commit yet, so its agents work in the folder itself and their work is there already. ` +
          'To land each task on a branch instead, commit what should be in it first.',
      )
    if (report.viaRunning) lines.push('The running orchestrator landed what could land; see `tanuki project status`.')
    /** A task settled with nothing to land, as the landing says it (and the dry run predicts it). */
    const nothingToLand = ({ taskId, reason }: LandReport['nothingToLand'][number]) =>
      `nothing to land for ${taskId} (${reason === 'no-work' ? 'no work was recorded' : `its work is already on ${report.target}`})`
    if (report.plan) {
      if (report.plan.length > 0) lines.push(`Would land on ${report.target}, in this order:`)
      else if (report.nothingToLand.length === 0)
        lines.push(`Nothing ${report.held.length > 0 ? 'new ' : ''}to land on ${report.target}.`)
      for (const step of report.plan) {
        lines.push(`  ${step.taskId}${step.conflicts.length > 0 ? `  conflicts in ${step.conflicts.join(', ')}` : ''}`)
      }
      lines.push(...report.nothingToLand.map(nothingToLand))
    } else if (!report.viaRunning && !report.noRepository) {
      const settled = report.landed.length + report.nothingToLand.length + report.caughtUp.length
      if (settled + report.failed.length === 0 && !report.stopped && !failed)
        lines.push(`Nothing to land on ${report.target}.`)
      for (const { taskId, commit } of report.caughtUp)
        lines.push(
          `landed ${taskId} on ${report.target} as ${commit.slice(0, 12)} (it waited on the integration branch)`,
        )
      for (const { taskId, commit, moved, accepted } of report.landed)
        lines.push(
          (moved
            ? `landed ${taskId} on ${report.target} as ${commit.slice(0, 12)}`
            : `landed ${taskId} on the integration branch as ${commit.slice(0, 12)}; ${report.target} has not moved to it yet (see the note)`) +
            // Said, for its own verify did not run on the landed work.
            (accepted ? ' (accepted by hand: its verify was not run again)' : ''),
        )
      // Counted as landed for their dependents, but nothing of theirs reached the target.
      lines.push(...report.nothingToLand.map(nothingToLand))
      for (const { taskId, reason, work, next } of report.failed)
        lines.push(
          `not landed: ${taskId}: ${reason}; ${next ?? '`tanuki project resume` sends it back to an agent'}` +
            // A conflict a person may settle themselves, as the README says: where the work is.
            (work
              ? `, or merge it yourself (\`git cherry-pick ${work}\`, resolve, commit), then \`tanuki task mark ${taskId} complete --landed\``
              : ''),
        )
    }
    if (report.held.length > 0) {
      // A dry run moves nothing: without a note, nothing stops `tanuki land` from moving the target.
      const next = failed
        ? ' (see the error)'
        : report.plan && report.notes.length === 0
          ? `; \`tanuki land\` moves ${report.target} to it`
          : ' (see the note)'
      lines.push(`not on ${report.target} yet: ${report.held.join(', ')}, on the integration branch${next}`)
    }
    if (report.stopped) lines.push(`landing stopped: ${report.stopped}`)
    // The target failing the gate by itself is no failed landing: the work waits for a fix of it.
    const held =
      report.error?.code === 'TANUKI_LAND_TARGET_FAILS' ? `${report.target} fails the gate by itself` : undefined
    for (const { taskId, on } of report.waiting)
      lines.push(
        `waiting: ${taskId} (${on.length > 0 ? `on ${on.join(', ')}` : report.stopped ? 'landing stopped' : (held ?? (failed ? 'landing failed' : 'on a dependency'))})`,
      )
    for (const { target, tasks } of report.elsewhere ?? []) lines.push(waitsForLine(target, tasks))
    for (const note of report.notes) lines.push(`note: ${note}`)
    if (report.pushFailed) lines.push(`not pushed: ${notPushedNote(report.pushFailed)}.`)
    if (report.pushed) lines.push(`pushed ${report.pushed.branch} to ${report.pushed.remote}`)
    if (lines.length > 0) process.stdout.write(`${lines.join('\n')}\n`)
    if (failed) throw failed
    return code
  },
})
