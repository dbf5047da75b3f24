/**
 * @tanuki/plugin-reporter — how a run shows: a live console view (plain lines off a terminal), an
 * NDJSON event log, a Markdown summary, JUnit XML, and the status table of `tanuki project status`.
 *
 * @example
 * // tanuki.config.ts
 * import { defineConfig } from '@tanuki/core'
 * import { consoleReporter, ndjsonReporter, summaryReporter, junitReporter } from '@tanuki/plugin-reporter'
 *
 * export default defineConfig({
 *   plugins: [consoleReporter({ verbose: true }), ndjsonReporter(), summaryReporter(), junitReporter({ path: 'reports/junit.xml' })],
 * })
 */
import type { TanukiPlugin } from '@tanuki/core'
import { consoleReporter, type ConsoleReporterOptions } from './console/index.ts'
import { junitReporter, type JunitReporterOptions } from './junit/index.ts'
import { ndjsonReporter, type NdjsonReporterOptions } from './ndjson/index.ts'
import { summaryReporter, type SummaryReporterOptions } from './summary/index.ts'

export {
  consoleReporter,
  createConsoleReporter,
  type ConsoleReporterOptions,
  type ConsoleStream,
} from './console/index.ts'
export {
  describeEvent,
  ParksSaid,
  restoredText,
  settledLine,
  shortCause,
  type EventLine,
  type LineLevel,
} from './console/lines.ts'
export { renderFrame, type FrameOptions } from './console/live.ts'
export { ndjsonReporter, createNdjsonReporter, type NdjsonReporterOptions } from './ndjson/index.ts'
export { summaryReporter, createSummaryReporter, renderSummary, type SummaryReporterOptions } from './summary/index.ts'
export { renderBrief, type BriefOptions } from './summary/brief.ts'
export { junitReporter, createJunitReporter, renderJunit, xmlEscape, type JunitReporterOptions } from './junit/index.ts'
export { formatStatus, type StatusInput, type FormatStatusOptions } from './status/index.ts'
export {
  RunModel,
  ModelFeed,
  sharedFeed,
  STATUS_ORDER,
  type TaskState,
  type AgentState,
  type VerifyRecord,
} from './model/index.ts'
export { reporterPath } from './files.ts'
export {
  notLandedGroups,
  settledAdvice,
  statusPhrase,
  waitsForLine,
  type LandingTask,
  type NotLandedGroups,
} from './format.ts'

/** Options of `reporters()`: one key per reporter; `false` leaves it out. */
export interface ReportersOptions {
  /** Default on. */
  console?: ConsoleReporterOptions | boolean
  /** Default on. */
  ndjson?: NdjsonReporterOptions | boolean
  /** Default on. */
  summary?: SummaryReporterOptions | boolean
  /** Default off. */
  junit?: JunitReporterOptions | boolean
}

/**
 * The usual set of reporter plugins in one call: console, NDJSON log and summary (JUnit on request).
 *
 * @example
 * export default defineConfig({ plugins: [reporters({ junit: true, summary: { stream: false } })] })
 */
export function reporters(options: ReportersOptions = {}): TanukiPlugin[] {
  const pick = <T>(value: T | boolean | undefined, byDefault: boolean): T | undefined =>
    value === false || (value === undefined && !byDefault)
      ? undefined
      : value === true || value === undefined
        ? ({} as T)
        : value
  const plugins: TanukiPlugin[] = []
  const console = pick(options.console, true)
  if (console) plugins.push(consoleReporter(console))
  const ndjson = pick(options.ndjson, true)
  if (ndjson) plugins.push(ndjsonReporter(ndjson))
  const summary = pick(options.summary, true)
  if (summary) plugins.push(summaryReporter(summary))
  const junit = pick(options.junit, false)
  if (junit) plugins.push(junitReporter(junit))
  return plugins
}
