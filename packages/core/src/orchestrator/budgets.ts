import type { AgentFailure, Usage } from '../agent/types.ts'
import type { ResolvedConfig } from '../plugin/index.ts'
import type { Spend } from '../state/types.ts'
import type { TaskRecord } from './task-table.ts'

/** A limit on spend: dollars, tokens, or both. */
export interface BudgetLimit {
  usd?: number
  tokens?: number
}

/** The run's budget (`budget`) and each role's (`agents.<role>.budget`), from the config. */
export function budgetLimits(config: ResolvedConfig): {
  run?: BudgetLimit
  roles: Record<string, BudgetLimit | undefined>
} {
  const roles: Record<string, BudgetLimit | undefined> = {}
  for (const [role, agents] of Object.entries(config.agents)) roles[role] = agents.budget as BudgetLimit | undefined
  return { ...(config.budget ? { run: config.budget } : {}), roles }
}

/** What an iteration holds of each budget while it runs. */
export interface Reservation {
  scopes: { key: string; usd: number; tokens: number }[]
  grant: { usd?: number; tokens?: number }
}

/** Tokens an iteration's usage counts against a budget: what went in and what came out. */
export function tokensOf(usage: Usage | undefined): number {
  return (usage?.inputTokens ?? 0) + (usage?.outputTokens ?? 0) + (usage?.cacheReadTokens ?? 0)
}

const add = (a: Spend | undefined, usd: number, tokens: number): Spend => ({
  usd: (a?.usd ?? 0) + usd,
  tokens: (a?.tokens ?? 0) + tokens,
})

const money = (usd: number): string => `$${usd.toFixed(usd < 1 ? 4 : 2)}`

/**
 * Budgets per task (front matter `budget`), per role (`agents.<role>.budget`) and per run
 * (`budget`). Before an iteration starts, a share of what remains of each budget that applies is
 * reserved for it (what remains, split among the agents that could spend it at once), and handed
 * to the agent to cap itself; when it ends, what it really spent replaces the reservation. So
 * agents running at once cannot overshoot a budget by more than their own granularity.
 */
export class Budgets {
  private readonly spent = new Map<string, Spend>()
  private readonly reserved = new Map<string, Spend>()
  /** The run's budget is spent: no iteration starts any more. */
  exhausted = false

  constructor(
    private readonly limits: { run?: BudgetLimit; roles: Record<string, BudgetLimit | undefined> },
    private readonly concurrency: (scope: 'run' | string) => number,
  ) {}

  /** Whether any budget applies to a task: without one, nothing is counted or reserved. */
  applies(record: TaskRecord): boolean {
    return Boolean(this.limits.run || this.limits.roles[record.task.role] || taskLimit(record))
  }

  /** Adds what a task spent in earlier runs (from the journal) to its role's and the run's totals. */
  load(records: Iterable<TaskRecord>): void {
    for (const record of records) {
      if (!record.spend) continue
      for (const key of ['run', `role:${record.task.role}`]) {
        this.spent.set(key, add(this.spent.get(key), record.spend.usd, record.spend.tokens))
      }
    }
  }

  /** What the whole run spent. */
  runSpend(): Spend {
    return this.spent.get('run') ?? { usd: 0, tokens: 0 }
  }

  /** Reserves a share of each budget for the next iteration of a task, or says which one is spent. */
  reserve(record: TaskRecord): Reservation | { stop: AgentFailure; halt: boolean } {
    const scopes: { key: string; limit: BudgetLimit; spent: Spend | undefined; name: string; share: number }[] = []
    const task = taskLimit(record)
    if (task)
      scopes.push({
        key: `task:${record.task.id}`,
        limit: task,
        spent: record.spend,
        name: `task ${record.task.id}`,
        share: 1,
      })
    const role = this.limits.roles[record.task.role]
    if (role) {
      const key = `role:${record.task.role}`
      scopes.push({
        key,
        limit: role,
        spent: this.spent.get(key),
        name: `role ${record.task.role}`,
        share: this.concurrency(record.task.role),
      })
    }
    if (this.limits.run)
      scopes.push({
        key: 'run',
        limit: this.limits.run,
        spent: this.spent.get('run'),
        name: 'run',
        share: this.concurrency('run'),
      })
    const reservation: Reservation = { scopes: [], grant: {} }
    for (const scope of scopes) {
      const held = this.reserved.get(scope.key)
      const left = {
        usd: scope.limit.usd === undefined ? Infinity : scope.limit.usd - (scope.spent?.usd ?? 0) - (held?.usd ?? 0),
        tokens:
          scope.limit.tokens === undefined
            ? Infinity
            : scope.limit.tokens - (scope.spent?.tokens ?? 0) - (held?.tokens ?? 0),
      }
      if (left.usd <= 0 || left.tokens <= 0) {
        const what =
          left.usd <= 0
            ? `${money(scope.spent?.usd ?? 0)} of ${money(scope.limit.usd!)}`
            : `${scope.spent?.tokens ?? 0} of ${scope.limit.tokens} tokens`
        const cause = `the ${scope.name} budget is spent (${what}${held && (held.usd || held.tokens) ? ', the rest reserved by iterations under way' : ''})`
        if (scope.key === 'run') this.exhausted = true
        return { stop: { class: 'budget', cause }, halt: scope.key === 'run' }
      }
      const usd = left.usd === Infinity ? undefined : left.usd / Math.max(1, scope.share)
      const tokens = left.tokens === Infinity ? undefined : Math.floor(left.tokens / Math.max(1, scope.share))
      if (usd !== undefined) reservation.grant.usd = Math.min(reservation.grant.usd ?? Infinity, usd)
      if (tokens !== undefined) reservation.grant.tokens = Math.min(reservation.grant.tokens ?? Infinity, tokens)
      reservation.scopes.push({ key: scope.key, usd: 0, tokens: 0 })
    }
    for (const scope of reservation.scopes) {
      scope.usd = reservation.grant.usd ?? 0
      scope.tokens = reservation.grant.tokens ?? 0
      this.reserved.set(scope.key, add(this.reserved.get(scope.key), scope.usd, scope.tokens))
    }
    return reservation
  }

  /** An iteration ended: its reservation is released and what it spent counted. */
  settle(record: TaskRecord, reservation: Reservation | undefined, usage: Usage | undefined): Spend {
    for (const scope of reservation?.scopes ?? []) {
      this.reserved.set(scope.key, add(this.reserved.get(scope.key), -scope.usd, -scope.tokens))
    }
    const usd = usage?.costUsd ?? 0
    const tokens = tokensOf(usage)
    for (const key of ['run', `role:${record.task.role}`]) this.spent.set(key, add(this.spent.get(key), usd, tokens))
    return add(record.spend, usd, tokens)
  }
}

/** The task's own budget, from its front matter (`budget: { usd, tokens }`). */
export function taskLimit(record: TaskRecord): BudgetLimit | undefined {
  const raw = (record.task as { budget?: unknown }).budget ?? record.task.extra.budget
  if (typeof raw !== 'object' || raw === null) return undefined
  const { usd, tokens } = raw as Record<string, unknown>
  const limit: BudgetLimit = {}
  if (typeof usd === 'number' && usd >= 0) limit.usd = usd
  if (typeof tokens === 'number' && tokens >= 0) limit.tokens = tokens
  return limit.usd === undefined && limit.tokens === undefined ? undefined : limit
}
