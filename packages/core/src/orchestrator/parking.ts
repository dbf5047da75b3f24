import type { AgentFailure } from '../agent/types.ts'
import { abortError, type Clock } from '../clock.ts'
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

/** A park under way: its wake-up, and the tries waiting for it to lift. */
interface ActivePark extends Park {
  cancel: () => void
  waiters: Set<() => void>
}

/**
 * Usage and rate limits, per account: an account that hits one is parked until the limit resets
 * (when the agent said) or, when it did not, for 10 s·2ⁿ (at most 5 minutes), n the limits in a
 * row. While it is parked, no agent sharing the account takes work, and a park ends only at its
 * latest `until`. A limit met by a try that started before the account's latest park lifted is
 * that same limit (agents sharing an account meet it together): it does not raise n. Parks are
 * recorded in the journal, so a resume keeps the reset time.
 */
export class Parking {
  private readonly parks = new Map<string, ActivePark>()
  /** Limits in a row per account, for the backoff. */
  private readonly streak = new Map<string, number>()
  /** When the account's latest park lifts (or lifted): a try that started before met that limit. */
  private readonly lastUntil = new Map<string, number>()

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

  /**
   * Parks the agent's account after a limit met by a try that started at `startedAt`, and
   * resolves when the park lifts, however often it is extended meanwhile (or rejects when
   * `signal` aborts).
   */
  park(record: AgentRecord, failure: AgentFailure, signal: AbortSignal, startedAt: number): Promise<void> {
    const account = accountOf(record)
    const now = this.options.clock.now()
    const current = this.parks.get(account)
    const last = this.lastUntil.get(account)
    // Sent before the latest park lifted: the limit that park is for, not one more in a row.
    const same = last !== undefined && startedAt < last
    const streak = this.streak.get(account) ?? 0
    const n = same ? Math.max(1, streak) : streak + 1
    this.streak.set(account, n)
    const told =
      failure.resetAt !== undefined && failure.resetAt > now
        ? failure.resetAt
        : failure.retryAfterMs !== undefined
          ? now + failure.retryAfterMs
          : undefined
    const until = told ?? (same && current ? current.until : now + Math.min(FIRST_WAIT_MS * 2 ** (n - 1), MAX_WAIT_MS))
    if (!current || current.until < until) this.start(account, until, failure.cause)
    return this.lifted(account, signal)
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

  /** Lifts every park (the run is ending; the tries that waited on them were aborted). */
  close(): void {
    for (const park of this.parks.values()) park.cancel()
    this.parks.clear()
  }

  /** Resolves when the account's park lifts (at once when it is not parked), or rejects when `signal` aborts. */
  private lifted(account: string, signal: AbortSignal): Promise<void> {
    if (signal.aborted) return Promise.reject(abortError(signal))
    const park = this.parks.get(account)
    if (!park) return Promise.resolve()
    return new Promise((resolve, reject) => {
      const onAbort = (): void => {
        park.waiters.delete(done)
        reject(abortError(signal))
      }
      const done = (): void => {
        signal.removeEventListener('abort', onAbort)
        resolve()
      }
      park.waiters.add(done)
      signal.addEventListener('abort', onAbort, { once: true })
    })
  }

  private start(account: string, until: number, reason: string): void {
    const earlier = this.parks.get(account)
    // An extension: the earlier wake-up must not end the park, and its waiters wait on.
    earlier?.cancel()
    const cancel = this.options.clock.setTimeout(
      () => this.lift(account),
      Math.max(0, until - this.options.clock.now()),
    )
    this.parks.set(account, { until, reason, cancel, waiters: earlier?.waiters ?? new Set() })
    this.lastUntil.set(account, until)
    this.options.store.append({ t: 'park', key: account, until, reason })
    for (const record of this.sharing(account)) {
      this.options.bus.emit('agent:parked', { agent: record.name, role: record.role, account, until, reason })
    }
  }

  private lift(account: string): void {
    const park = this.parks.get(account)
    if (!park) return
    this.parks.delete(account)
    this.options.store.append({ t: 'unpark', key: account })
    for (const record of this.sharing(account)) {
      this.options.bus.emit('agent:resumed', { agent: record.name, role: record.role, account })
    }
    for (const done of park.waiters) done()
    this.options.onResume()
  }

  private *sharing(account: string): Iterable<AgentRecord> {
    for (const record of this.options.agents()) {
      if (accountOf(record) === account && record.status !== 'crashed' && record.status !== 'stopped') yield record
    }
  }
}
