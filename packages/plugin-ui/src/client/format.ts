import type { Spend } from '../types.ts'

/** Status names as people read them. */
export const STATUS_LABEL: Record<string, string> = {
  pending: 'pending',
  assigned: 'assigned',
  in_progress: 'in progress',
  review: 'review',
  complete: 'complete',
  failed: 'failed',
  blocked: 'blocked',
}

export function money(usd: number | undefined): string {
  if (usd === undefined) return '–'
  return usd >= 100 ? `$${usd.toFixed(0)}` : `$${usd.toFixed(usd >= 1 ? 2 : 4)}`
}

export function count(n: number | undefined): string {
  if (n === undefined) return '–'
  if (n >= 1_000_000) return `${(n / 1_000_000).toFixed(1)}M`
  if (n >= 10_000) return `${Math.round(n / 1000)}k`
  return n.toLocaleString('en')
}

/** "$0.0300 · 1,200 tokens"; `~` before a cost that is in part Tanuki's estimate. */
export function spendText(spend: Spend | undefined): string {
  if (!spend || (spend.usd === undefined && spend.tokens === undefined)) return 'no spend reported'
  return [
    spend.usd !== undefined && `${spend.estimated ? '~' : ''}${money(spend.usd)}`,
    spend.tokens !== undefined && `${count(spend.tokens)} tokens`,
  ]
    .filter(Boolean)
    .join(' · ')
}

/** "in 4 min", "12 s ago" */
export function relative(iso: string, now = Date.now()): string {
  const ms = Date.parse(iso) - now
  const abs = Math.abs(ms)
  const text =
    abs < 60_000
      ? `${Math.round(abs / 1000)} s`
      : abs < 3_600_000
        ? `${Math.round(abs / 60_000)} min`
        : `${(abs / 3_600_000).toFixed(1)} h`
  return ms >= 0 ? `in ${text}` : `${text} ago`
}

/**
 * The dashboard's one notation for a task's tries, in its list, lanes and pages: `#4` is its 4th
 * iteration over all its runs (the number of its log), so a task with 4 run shows `#4`. The try
 * under way adds how far it is in its run's `max_iterations`: `#2/5`, or `#4 (2/5 in this run)`
 * when an earlier run's tries came before (a rerun, an agent lost).
 */
export function iterationText(number: number, iteration?: number, max?: number): string {
  if (iteration === undefined || !max) return `#${number}`
  return iteration === number ? `#${number}/${max}` : `#${number} (${iteration}/${max} in this run)`
}

/** What `iterationText` says, in words, for a title attribute. */
export function iterationTitle(number: number, iteration?: number, max?: number): string {
  const all = `${number} iteration${number === 1 ? '' : 's'} over all its runs`
  return iteration === undefined || !max ? all : `iteration ${iteration} of at most ${max} in this run; ${all}`
}
