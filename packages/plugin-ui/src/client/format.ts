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
