import { tellingLines } from '../output.ts'
import type { GateAloneVerdict, Lander, LandRequest } from './types.ts'

/** A gate that failed on a task's work: its command, and what the work was applied onto. */
export interface FailedGate {
  command: string
  /** `LandOutcome` gate-failed's `base`. */
  base?: string | undefined
}

export interface GateAloneOptions {
  /** `land.verify` of the config: the only command asked about on the base alone. */
  gate: string | undefined
  signal: AbortSignal
  /** Where the command runs, as for `LandRequest.exec`. */
  exec?: LandRequest['exec'] | undefined
}

/**
 * After a gate failed on a task's work: runs it once on what the work was applied onto, without
 * it (`Lander.gateAlone`), to find out whose the failure is. Only `land.verify`: a task's own
 * verify fails on the target alone for its work not being there. Undefined when there is nothing
 * to ask (a lander without `gateAlone`, no base, another command); resolves with undefined when
 * the lander could not tell. The merge queue of a run and `tanuki land` both decide with it.
 */
export function askGateAlone(
  lander: Pick<Lander, 'gateAlone'>,
  failed: FailedGate,
  options: GateAloneOptions,
): Promise<GateAloneVerdict | undefined> | undefined {
  if (!lander.gateAlone || failed.base === undefined || failed.command !== options.gate) return undefined
  const { signal, exec } = options
  return lander
    .gateAlone({ base: failed.base, command: failed.command, signal, ...(exec ? { exec } : {}) })
    .catch(() => undefined)
}

/**
 * What people are told when the target fails the gate by itself (a verdict that did not pass):
 * no agent is to blame, and what to do. `staysOn`: a run that stays on lands again by itself on
 * the next commit to the target.
 */
export function targetFailsNote(
  target: string,
  command: string,
  verdict: Pick<GateAloneVerdict, 'commit' | 'subject'>,
  staysOn = false,
): string {
  const subject = verdict.subject.length > 80 ? `${verdict.subject.slice(0, 79)}…` : verdict.subject
  return (
    `${target} fails \`${command}\` without any task's work (since commit ${verdict.commit.slice(0, 7)} '${subject}'), ` +
    `so no agent is sent back and nothing lands: fix ${target}, then \`tanuki land\`` +
    (staysOn ? ` (or the run lands again on the next commit to ${target})` : '')
  )
}

/** How many of what the gate printed are shown under the note (all are kept). */
export const TARGET_FAILS_SHOWN_LINES = 8

/**
 * What the gate printed on the target alone, as kept and shown: its telling lines (`tellingLines`,
 * bounded). Without them people are told the target fails, never why.
 */
export function targetFailsOutput(output: string): string[] {
  return tellingLines(output)
}

/**
 * The lines shown under the note, indented: the last few of the kept ones (`TARGET_FAILS_SHOWN_LINES`),
 * and where the rest is when there are more. Empty when the gate printed nothing.
 */
export function targetFailsShown(lines: readonly string[], rest?: string): string[] {
  if (lines.length === 0) return []
  const shown = lines.slice(-TARGET_FAILS_SHOWN_LINES)
  const more = lines.length > shown.length ? [rest ? `… (the rest: ${rest})` : '…'] : []
  return [...more, ...shown].map((line) => `    ${line}`)
}

/**
 * The note (`targetFailsNote`), and under it the last lines of what the gate printed on the target
 * alone (`targetFailsShown`; `rest`: where all of it is kept).
 */
export function targetFailsSaid(note: string, output: readonly string[], rest?: string): string {
  const shown = targetFailsShown(output, rest)
  return shown.length > 0 ? `${note}\n  What land.verify printed there:\n${shown.join('\n')}` : note
}
