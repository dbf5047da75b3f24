import { isAbsolute, relative } from 'node:path'
import { definePlugin, notPushedNote, type Reporter, type TanukiPlugin } from '@tanuki/core'
import { ensureWritable, reporterPath, writeReport } from '../files.ts'
import {
  causeThenResume,
  clause,
  colors,
  formatCost,
  formatDuration,
  formatTokens,
  iterationsTaken,
  plural,
  tail,
  useColor,
  waitsForLine,
} from '../format.ts'
import { STATUS_ORDER, reportAtEnd, sharedFeed, type ModelFeed, type RunModel } from '../model/index.ts'
import { renderBrief } from './brief.ts'
import { outcomeOf, waitingOn } from './words.ts'

export interface SummaryReporterOptions {
  /** The Markdown file. Relative paths are taken from the project's root. Default `<stateDir>/summary.md`; `false` writes no file. */
  path?: string | false
  /** Where the run's end is also printed (see `full`). Default `process.stdout`; `false` prints nothing. */
  stream?: { write(text: string): unknown; isTTY?: boolean } | false
  /**
   * Print the whole report to `stream`, as the file has it. Default: only when there is no file;
   * otherwise `stream` gets the brief (`renderBrief`): the counts, time and spend, one line per
   * task that needs a person, and where the file is. The CLI's `--verbose` sets it.
   */
  full?: boolean
  /** Colour the brief. Default: off when `NO_COLOR` is set, else on for a terminal (or with `FORCE_COLOR`). */
  color?: boolean
  /** Lines of verify output (or agent output) kept for each failure. Default 20. */
  tailLines?: number
  /** The report's heading. Default `Tanuki run summary` (the plugin adds the project's name). */
  title?: string
}

/** A table cell: pipes escaped, on one line. */
function cell(text: string): string {
  return text
    .replace(/\\/g, '\\\\')
    .replace(/\|/g, '\\|')
    .replace(/\s*\n\s*/g, ' ')
}

/** A fenced code block whose fence no run of backticks inside can close. */
function codeBlock(text: string, lang = 'text'): string {
  const longest = Math.max(0, ...[...text.matchAll(/`+/g)].map((m) => m[0].length))
  const fence = '`'.repeat(Math.max(3, longest + 1))
  return `${fence}${lang}\n${text}\n${fence}`
}

/**
 * The run as a Markdown report: the outcome, a table of every task (status, iterations, duration,
 * agent, tokens, cost) and a section per failure or review with the tail of its verify output;
 * last, the landed work that waits for the target, when it could not move forward.
 */
export function renderSummary(model: RunModel, options: { title?: string; tailLines?: number } = {}): string {
  const lines: string[] = []
  const counts = model.counts()
  const progress = model.progress()
  const tailLines = options.tailLines ?? 20
  lines.push(`# ${options.title ?? 'Tanuki run summary'}`, '')
  const rest = (['failed', 'review', 'blocked', 'pending', 'in_progress', 'assigned'] as const)
    .filter((status) => counts[status] > 0)
    .map((status) => `${counts[status]} ${status.replace('_', ' ')}`)
  const held = model.heldBack()
  const target = held?.target ?? 'the target'
  const outcome = `**${outcomeOf(model)}**`
  lines.push(
    `${outcome} ${progress.complete} of ${plural(progress.total, 'task')} complete (${progress.percentage}%)${rest.length > 0 ? `; ${rest.join(', ')}` : ''}.`,
    '',
  )
  const facts: string[] = []
  if (model.startedAt !== undefined && model.endedAt !== undefined) {
    facts.push(
      `Started ${new Date(model.startedAt).toISOString()}, took ${formatDuration(model.endedAt - model.startedAt)}.`,
    )
  }
  const usage = model.usage()
  if (formatTokens(usage)) facts.push(`Tokens: ${formatTokens(usage)}.`)
  if (formatCost(usage))
    facts.push(
      `Cost: ${formatCost(usage)}${usage?.estimated ? " (~: in part Tanuki's estimate at list prices, for tries cut off before the agent reported its bill)" : ''}.`,
    )
  const landed = model.landedCount()
  if (landed > 0) facts.push(`Landed: ${plural(landed, 'task')}.`)
  const empty = model.nothingToLandCount()
  if (empty > 0) facts.push(`Nothing to land: ${plural(empty, 'task')} (no work recorded, or none new).`)
  const earlier = model.landedEarlierCount()
  if (earlier > 0) facts.push(`Landed in an earlier run: ${plural(earlier, 'task')}.`)
  if (facts.length > 0) lines.push(facts.join(' '), '')

  if (model.pausedRoles.size > 0) {
    lines.push('## Paused roles', '')
    for (const [role, cause] of model.pausedRoles) {
      const { text, ownFix } = causeThenResume(cause)
      lines.push(`- **${role}**: ${text}. Its tasks wait${ownFix ? '' : '; fix it, then `tanuki project resume`'}.`)
    }
    lines.push('')
  }

  if (model.blockedVerifies.length > 0) {
    lines.push('## Verify that cannot run', '')
    for (const blocked of model.blockedVerifies) {
      lines.push(
        `- ${clause(blocked.cause)}. The tasks of role **${blocked.role}** with this verify wait, unharmed (${blocked.taskId} met it).`,
      )
    }
    lines.push('')
  }

  const tasks = [...model.tasks.values()].sort(
    (a, b) => STATUS_ORDER.indexOf(b.status) - STATUS_ORDER.indexOf(a.status) || a.id.localeCompare(b.id),
  )
  lines.push('## Tasks', '')
  lines.push('| Task | Title | Role | Status | Landed | Iterations | Duration | Agent | Tokens | Cost |')
  lines.push('| --- | --- | --- | --- | --- | ---: | ---: | --- | ---: | ---: |')
  for (const task of tasks) {
    const row = [
      task.id,
      task.title ?? '',
      task.role ?? '',
      task.status,
      task.landed?.empty
        ? `nothing to land${task.landed.earlier ? ' (earlier run)' : ''}`
        : task.landed
          ? `${task.landed.commit.slice(0, 10)}${task.landed.earlier ? ' (earlier run)' : task.landed.moved ? '' : ' (integration branch)'}`
          : '—',
      String(task.iterations),
      task.durationMs === undefined ? '—' : formatDuration(task.durationMs),
      task.agent ?? '—',
      formatTokens(task.usage) ?? '—',
      formatCost(task.usage) ?? '—',
    ]
    lines.push(`| ${row.map(cell).join(' | ')} |`)
  }
  lines.push('')

  const troubled = tasks.filter((task) => task.status === 'failed' || task.status === 'review')
  if (troubled.length > 0) {
    lines.push('## Failures and reviews', '')
    for (const task of troubled) {
      lines.push(`### ${task.id}: ${task.status}`, '')
      lines.push(
        `${task.status === 'review' ? 'Needs review' : 'Failed'} after ${iterationsTaken(task.iterations, task.attemptIteration, task.againTries)}${task.agent ? ` on ${task.agent}` : ''}: ${task.reason ?? 'no reason given'}`,
        '',
      )
      if (task.lastFailure) lines.push(`Cause: **${task.lastFailure.class}**: ${task.lastFailure.cause}`, '')
      if (task.lastVerify) {
        const how = task.lastVerify.timedOut ? 'timed out' : `exited with code ${task.lastVerify.exitCode}`
        lines.push(`Last verify \`${task.lastVerify.command.replace(/`/g, "'")}\` ${how}; its output ends with:`, '')
        lines.push(codeBlock(tail(task.lastVerify.output, tailLines) || '(no output)'), '')
      } else if (task.lastOutput !== undefined) {
        lines.push('No verify ran to the end; the agent output ends with:', '')
        lines.push(codeBlock(tail(task.lastOutput, tailLines) || '(no output)'), '')
      }
    }
  }

  const landing = tasks.filter((task) => task.conflicts?.length || task.landFailed)
  if (landing.length > 0) {
    lines.push('## Landing', '')
    for (const task of landing) {
      for (const conflict of task.conflicts ?? []) {
        lines.push(
          `- **${task.id}**: conflict in ${conflict.files.map((f) => `\`${f}\``).join(', ')} ${conflict.landing ? 'with' : 'bringing in'} ${conflict.what}`,
        )
      }
      if (task.landFailed) {
        lines.push(
          `- **${task.id}**: \`${task.landFailed.command.replace(/`/g, "'")}\` exited ${task.landFailed.exitCode ?? 'without a code'} on the combined work`,
        )
      }
    }
    lines.push('')
  }

  const waiting = tasks.filter((task) => task.status === 'blocked' || task.status === 'pending')
  if (waiting.length > 0) {
    lines.push('## Blocked and waiting', '')
    for (const task of waiting) lines.push(`- **${task.id}** (${task.status}): ${waitingOn(task, model)}`)
    lines.push('')
  }

  // Work an earlier run did for another branch, which this run did not land here.
  for (const { target: other, tasks: ids } of model.elsewhere) {
    lines.push(`## Waiting for ${other}`, '', waitsForLine(other, ids), '')
  }
  // Landed, but not delivered where the config says: the remote lacks it.
  if (model.pushFailed) lines.push(`## Not pushed`, '', `${clause(notPushedNote(model.pushFailed))}.`, '')
  // Last, so it is the run's last word on a terminal: what keeps the work from the target, and what to do.
  if (held) {
    lines.push(`## Waiting for ${target}`, '')
    lines.push(
      `${held.tasks.map((id) => `**${id}**`).join(', ')} landed on the integration branch, not on ${target}` +
        `${held.note ? `: ${held.note}` : '.'}`,
      '',
    )
  }
  return lines.join('\n')
}

/** A file's path as the person who ran the command finds it: from where they are, when it is below. */
function shownPath(path: string): string {
  const from = relative(process.cwd(), path)
  return from && !from.startsWith('..') && !isAbsolute(from) ? from : path
}

/**
 * At the end of a run (when it settles, or when it is stopped first), writes the Markdown report
 * once, to a file, and the brief of it (or, with `full` or no file, the report) to the terminal.
 *
 * @example
 * const reporter = createSummaryReporter({ path: 'summary.md', stream: process.stdout })
 */
export function createSummaryReporter(options: SummaryReporterOptions = {}, feed?: ModelFeed): Reporter {
  return reportAtEnd(
    'summary',
    (model) => {
      const text = renderSummary(model, options)
      if (options.path) writeReport(options.path, text, 'summary')
      const stream = options.stream === undefined ? process.stdout : options.stream
      if (!stream) return
      // At 300 tasks the whole report is hundreds of lines that push what needs a person off the
      // screen: the console gets what needs them, the file keeps every task.
      if (options.full ?? !options.path) stream.write(`\n${text}`)
      else
        stream.write(
          renderBrief(model, {
            ...(options.title ? { title: options.title } : {}),
            file: shownPath(options.path),
            colors: colors(useColor(options.color, stream, process.env)),
          }),
        )
    },
    feed,
  )
}

/**
 * The Markdown summary as a plugin.
 *
 * @example
 * export default defineConfig({ plugins: [summaryReporter({ path: 'reports/run.md', stream: false })] })
 */
export function summaryReporter(options: SummaryReporterOptions = {}): TanukiPlugin {
  return definePlugin({
    name: 'tanuki:reporter-summary',
    setup(ctx) {
      const path = options.path === false ? false : reporterPath(ctx.project, options.path, 'summary.md')
      if (path) ensureWritable(path, 'summary')
      ctx.registerReporter(
        createSummaryReporter(
          { title: `Tanuki run summary: ${ctx.project.name}`, ...options, path },
          sharedFeed(ctx.config),
        ),
      )
    },
  })
}
