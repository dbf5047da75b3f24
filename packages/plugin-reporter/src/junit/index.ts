import { definePlugin, type Reporter, type TanukiPlugin } from '@tanuki/core'
import { ensureWritable, reporterPath, writeReport } from '../files.ts'
import { emptyWhy, tail } from '../format.ts'
import { reportAtEnd, sharedFeed, type ModelFeed, type RunModel, type TaskState } from '../model/index.ts'

export interface JunitReporterOptions {
  /** The XML file. Relative paths are taken from the project's root. Default `<stateDir>/junit.xml`. */
  path?: string
  /** Name of the `<testsuites>` element. Default `tanuki` (the plugin uses the project's name). */
  name?: string
  /** Lines of verify output kept in each failure. Default 50. */
  tailLines?: number
}

/** Escapes text for XML content and attribute values; drops characters XML 1.0 cannot hold. */
export function xmlEscape(text: string): string {
  return (
    text
      // eslint-disable-next-line no-control-regex
      .replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g, '')
      .replace(/&/g, '&amp;')
      .replace(/</g, '&lt;')
      .replace(/>/g, '&gt;')
      .replace(/"/g, '&quot;')
      .replace(/'/g, '&apos;')
  )
}

function attrs(values: Record<string, string | number>): string {
  return Object.entries(values)
    .map(([key, value]) => ` ${key}="${xmlEscape(String(value))}"`)
    .join('')
}

function seconds(ms: number | undefined): string {
  return ((ms ?? 0) / 1000).toFixed(3)
}

/** What a task is in JUnit's terms. */
function verdict(task: TaskState): 'passed' | 'failure' | 'error' | 'skipped' {
  if (task.status === 'complete') return 'passed'
  // Review: the verify ran and kept failing — an assertion that did not hold.
  if (task.status === 'review') return 'failure'
  // Failed: verify could not run or agents kept dying — the test could not be run properly.
  if (task.status === 'failed') return 'error'
  return 'skipped'
}

function details(task: TaskState, tailLines: number): string {
  const parts = [task.reason ?? '']
  if (task.lastVerify) {
    parts.push(
      `verify: ${task.lastVerify.command} (exit ${task.lastVerify.exitCode}${task.lastVerify.timedOut ? ', timed out' : ''})`,
    )
    parts.push(tail(task.lastVerify.output, tailLines))
  } else if (task.lastOutput) {
    parts.push(`agent output:\n${tail(task.lastOutput, tailLines)}`)
  }
  return parts.filter(Boolean).join('\n')
}

/**
 * The run as JUnit XML: a `<testsuite>` per role, a `<testcase>` per task. Tasks in review are
 * `<failure>`s, failed tasks `<error>`s, tasks that never ran (blocked, pending) `<skipped>`. A
 * task's properties say where its work is: `landed` (the commit on the target), `waiting` (on the
 * integration branch, for a target that could not move forward, and why), or `nothing-to-land`
 * (no work was recorded for it, or its work added nothing).
 */
export function renderJunit(model: RunModel, options: { name?: string; tailLines?: number } = {}): string {
  const tailLines = options.tailLines ?? 50
  const byRole = new Map<string, TaskState[]>()
  for (const task of model.tasks.values()) {
    const role = task.role ?? 'default'
    byRole.set(role, [...(byRole.get(role) ?? []), task])
  }
  const totals = { tests: 0, failures: 0, errors: 0, skipped: 0, ms: 0 }
  const suites: string[] = []
  const timestamp = new Date(model.startedAt ?? Date.now()).toISOString().replace(/\.\d+Z$/, '')
  const held = model.heldBack()
  const target = held?.target ?? 'the target'
  const note = held?.note ? `: ${held.note}` : ''
  for (const [role, tasks] of [...byRole.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    const counts = { tests: tasks.length, failures: 0, errors: 0, skipped: 0, ms: 0 }
    const cases: string[] = []
    for (const task of tasks.sort((a, b) => a.id.localeCompare(b.id))) {
      const kind = verdict(task)
      counts.ms += task.durationMs ?? 0
      const open = `    <testcase${attrs({ name: task.title ? `${task.id}: ${task.title}` : task.id, classname: role, time: seconds(task.durationMs) })}`
      const props = `      <properties>${(
        [
          ['status', task.status],
          ['iterations', String(task.iterations)],
          ...(task.agent ? [['agent', task.agent]] : []),
          // Nothing of it landed: no commit to name as its landing.
          ...(task.landed?.empty ? [['nothing-to-land', emptyWhy(task.landed.empty, model.target)]] : []),
          ...(task.landed?.moved && !task.landed.empty ? [['landed', task.landed.commit]] : []),
          // On the integration branch only: the target could not move forward to it.
          ...(task.landed && !task.landed.moved && !task.landed.empty
            ? [['waiting', `for ${target} on the integration branch as ${task.landed.commit}${note}`]]
            : []),
          ...(task.conflicts?.length ? [['conflicts', task.conflicts.flatMap((c) => c.files).join(' ')]] : []),
        ] as [string, string][]
      )
        .map(([name, value]) => `<property${attrs({ name, value })}/>`)
        .join('')}</properties>`
      if (kind === 'passed') {
        cases.push(`${open}>\n${props}\n    </testcase>`)
        continue
      }
      let body: string
      if (kind === 'skipped') {
        counts.skipped++
        const why = task.blockers?.length
          ? `blocked by ${task.blockers.map((b) => b.id).join(', ')}`
          : `${task.status}: ${task.reason ?? 'did not run'}`
        body = `      <skipped${attrs({ message: why })}/>`
      } else {
        counts[kind === 'failure' ? 'failures' : 'errors']++
        // The failure's class is its type (`verify-failed`, `could-not-start`…), as a test framework's exception class.
        const type = task.lastFailure?.class ?? task.status
        body = `      <${kind}${attrs({ message: task.reason ?? task.status, type })}>${xmlEscape(details(task, tailLines))}</${kind}>`
      }
      cases.push(`${open}>\n${props}\n${body}\n    </testcase>`)
    }
    for (const key of ['tests', 'failures', 'errors', 'skipped', 'ms'] as const) totals[key] += counts[key]
    suites.push(
      `  <testsuite${attrs({ name: role, tests: counts.tests, failures: counts.failures, errors: counts.errors, skipped: counts.skipped, time: seconds(counts.ms), timestamp })}>\n${cases.join('\n')}\n  </testsuite>`,
    )
  }
  const wall =
    model.startedAt !== undefined && model.endedAt !== undefined ? model.endedAt - model.startedAt : totals.ms
  const root = attrs({
    name: options.name ?? 'tanuki',
    tests: totals.tests,
    failures: totals.failures,
    errors: totals.errors,
    skipped: totals.skipped,
    time: seconds(wall),
  })
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites${root}>\n${suites.join('\n')}\n</testsuites>\n`
}

/**
 * Writes a JUnit XML file once the run ends, for CI systems that show test results.
 *
 * @example
 * const reporter = createJunitReporter({ path: 'reports/junit.xml' })
 */
export function createJunitReporter(options: JunitReporterOptions & { path: string }, feed?: ModelFeed): Reporter {
  return reportAtEnd('junit', (model) => writeReport(options.path, renderJunit(model, options), 'junit'), feed)
}

/**
 * JUnit XML as a plugin.
 *
 * @example
 * export default defineConfig({ plugins: [junitReporter({ path: 'reports/junit.xml' })] })
 */
export function junitReporter(options: JunitReporterOptions = {}): TanukiPlugin {
  return definePlugin({
    name: 'tanuki:reporter-junit',
    setup(ctx) {
      const path = reporterPath(ctx.project, options.path, 'junit.xml')
      ensureWritable(path, 'junit')
      ctx.registerReporter(createJunitReporter({ name: ctx.project.name, ...options, path }, sharedFeed(ctx.config)))
    },
  })
}
