import { mkdirSync, renameSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import { readJson } from './state.ts'

/**
 * What `tanuki land` found the last time the target failed `land.verify` by itself: the base the
 * gate ran on alone (a commit), the command, and the target's newest commit, named to people.
 * Kept in the state folder (`StatePaths.targetFails`) between calls: each call runs in its own
 * process, and would otherwise run the gate twice again (on the first task's work, then alone).
 */
export interface TargetFailsRecord {
  base: string
  command: string
  commit: string
  subject: string
  /** What the gate printed there: its telling lines (`targetFailsOutput`), bounded. */
  output: string[]
}

/**
 * The verdict kept for `command`, if the last `tanuki land` found the target failing it by itself;
 * it holds only while the base (`TargetFailsRecord.base`) is still where landings start: a new
 * commit on the target makes another base. Undefined for another command, or an unreadable file.
 */
export function readTargetFails(path: string, command: string | undefined): TargetFailsRecord | undefined {
  if (command === undefined) return undefined
  const kept = readJson<Partial<TargetFailsRecord>>(path)
  if (kept?.command !== command) return undefined
  const { base, commit, subject } = kept
  if (typeof base !== 'string' || typeof commit !== 'string' || typeof subject !== 'string') return undefined
  // A verdict kept before its output was: the gate's words are unknown, not a reason to rerun it.
  const output = Array.isArray(kept.output) ? kept.output.filter((line) => typeof line === 'string') : []
  return { base, command, commit, subject, output }
}

/** Keeps the verdict for the next `tanuki land` (it replaces the one kept before). */
export function writeTargetFails(path: string, record: TargetFailsRecord): void {
  mkdirSync(dirname(path), { recursive: true })
  const temp = `${path}.${process.pid}.tmp`
  writeFileSync(temp, `${JSON.stringify(record)}\n`)
  renameSync(temp, path)
}
