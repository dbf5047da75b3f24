/** What the CLI benches share: figures as text, and what a run left in its events log and /proc. */
import { readFileSync } from 'node:fs'
import { loadavg } from 'node:os'
import { join } from 'node:path'

export const ms = (value: number): string =>
  Number.isFinite(value) ? `${value.toLocaleString('en', { maximumFractionDigits: value < 10 ? 1 : 0 })} ms` : '—'
export const mb = (kb: number): string => `${(kb / 1024).toFixed(0)} MB`
export const ratio = (value: number): string => `${value.toFixed(2)}×`
export const verdict = (ok: boolean): string => (ok ? 'meets' : 'MISSES')
export const median = (values: number[]): number => {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b)
  if (sorted.length === 0) return Number.NaN
  const mid = sorted.length >> 1
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}
export const spread = (values: number[], show: (v: number) => string): string =>
  values.length > 1 ? ` (${values.map(show).join(', ')})` : ''
export const load = (): string =>
  loadavg()
    .map((n) => n.toFixed(1))
    .join(' / ')

export interface Event {
  event: string
  at: number
  [key: string]: unknown
}

export function readEvents(dir: string): Event[] {
  let text: string
  try {
    text = readFileSync(join(dir, '.tanuki', 'events.ndjson'), 'utf8')
  } catch {
    return []
  }
  const events: Event[] = []
  for (const line of text.split('\n')) {
    if (!line) continue
    try {
      events.push(JSON.parse(line) as Event)
    } catch {
      // A line cut short by the kill that ended the run.
    }
  }
  return events
}

/** Peak resident set (VmHWM) of a process, in kB, from /proc; undefined once it is gone. */
export function peakRss(pid: number): number | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8')
    return Number(/^VmHWM:\s+(\d+) kB/m.exec(status)?.[1] ?? 0)
  } catch {
    return undefined
  }
}
