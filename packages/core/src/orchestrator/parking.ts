import type { AgentFailure } from '../agent/types.ts'
import { sleep, type Clock } from '../clock.ts'
import type { Park, RunStore } from '../state/types.ts'
import type { AgentRecord } from './agent-pool.ts'
import type { Bus } from './bus.ts'

/** First wait after a limit that says nothing of when it lifts; doubled each time in a row. */
const FIRST_WAIT_MS = 10_000
/** The longest such wait. */
const MAX_WAIT_MS = 5 * 60_000

export interface ParkingOptions {
  bus: Bus
  clock: Clock
  store: RunStore
  /** Every agent of the run, to park and resume those sharing an account. */
  agents: () => Iterable<AgentRecord>
  /** Parks lifted: agents may take work again. */
  onResume: () => void
}

/** The account an agent spends: what it parks on. */
export function accountOf(record: AgentRecord): string {
  return record.agent.account ?? record.name
}

/**
 * Usage and rate limits, per account: an account that hits one is parked until the limit resets
 * (when the agent said) or, when it did not, for 10 s·2ⁿ (at most 5 minutes), n the limits in a
 * row. While it is parked, no agent sharing the account takes work. Parks are recorded in the
 * journal, so a resume keeps the reset time.
 */
export class Parking {
  private readonly parks = new Map<string, Park & { cancel: () => void }>()
  /** Limits in a row per account, for the backoff. */
  private readonly streak = new Map<string, number>()

  constructor(private readonly options: ParkingOptions) {}

  /** Restores parks an earlier run recorded that have not lifted yet. */
  load(parks: Record<string, Park>): void {
    const now = this.options.clock.now()
    for (const [account, park] of Object.entries(parks)) {
      if (park.until > now) this.start(account, park.until, park.reason)
      else this.options.store.append({ t: 'unpark', key: account })
    }
  }

  /** When the account's park lifts, or undefined when it is not parked. */
  until(account: string): number | undefined {
    return this.parks.get(account)?.until
  }

  isParked(record: AgentRecord): boolean {
    return this.parks.has(accountOf(record))
  }

  /** Parks the agent's account after a limit, and resolves when it lifts (or rejects when `signal` aborts). */
  async park(record: AgentRecord, failure: AgentFailure, signal: AbortSignal): Promise<void> {
    const account = accountOf(record)
    const now = this.options.clock.now()
    const n = (this.streak.get(account) ?? 0) + 1
    this.streak.set(account, n)
    const until =
      failure.resetAt !== undefined && failure.resetAt > now
        ? failure.resetAt
        : now + (failure.retryAfterMs ?? Math.min(FIRST_WAIT_MS * 2 ** (n - 1), MAX_WAIT_MS))
    const current = this.parks.get(account)
    if (!current || current.until < until) this.start(account, until, failure.cause)
    await sleep(this.options.clock, Math.max(0, until - now), signal)
  }

  /** An agent came up on an account that is parked: it parks too, and says so. */
  joined(record: AgentRecord): void {
    const account = accountOf(record)
    const park = this.parks.get(account)
    if (park)
      this.options.bus.emit('agent:parked', {
        agent: record.name,
        role: record.role,
        account,
        until: park.until,
        reason: park.reason,
      })
  }

  /** An iteration on the account went through: the next limit starts the backoff over. */
  cleared(record: AgentRecord): void {
    this.streak.delete(accountOf(record))
  }

  /** Lifts every park (the run is ending). */
  close(): void {
    for (const park of this.parks.values()) park.cancel()
    this.parks.clear()
  }

  private start(account: string, until: number, reason: string): void {
    this.parks.get(account)?.cancel()
    const cancel = this.options.clock.setTimeout(
      () => this.lift(account),
      Math.max(0, until - this.options.clock.now()),
    )
    this.parks.set(account, { until, reason, cancel })
    this.options.store.append({ t: 'park', key: account, until, reason })
    for (const record of this.sharing(account)) {
      this.options.bus.emit('agent:parked', { agent: record.name, role: record.role, account, until, reason })
    }
  }

  private lift(account: string): void {
    if (!this.parks.delete(account)) return
    this.options.store.append({ t: 'unpark', key: account })
    for (const record of this.sharing(account)) {
      this.options.bus.emit('agent:resumed', { agent: record.name, role: record.role, account })
    }
    this.options.onResume()
  }

  private *sharing(account: string): Iterable<AgentRecord> {
    for (const record of this.options.agents()) {
      if (accountOf(record) === account && record.status !== 'crashed' && record.status !== 'stopped') yield record
    }
  }
}
