import { sleep } from '../clock.ts'
import { errorMessage } from '../errors.ts'
import { targetFailsSaid } from '../land/target-fails.ts'
import type { PluginRegistry } from '../plugin/index.ts'
import type { AgentPool } from './agent-pool.ts'
import type { StatusMirror } from './mirror.ts'
import type { RunContext, RunSummary } from './types.ts'
import type { VerifyHolds } from './verify-holds.ts'

/** How long a stop waits for aborted work to wind down before stopping agents under it. */
const STOP_GRACE_MS = 5000

/** What ending a run takes down, and records. */
export type WindDownContext = Pick<
  RunContext,
  'config' | 'table' | 'bus' | 'clock' | 'store' | 'budgets' | 'parking' | 'problems' | 'landing'
> & {
  readonly pool: AgentPool
  readonly holds: VerifyHolds
  readonly mirror: StatusMirror
  readonly registry: PluginRegistry | undefined
  /** The run state cannot be recorded: said once, as a problem of the run. */
  fatal(error: unknown): void
}

/**
 * Ends a run's work, in order: what runs is aborted and given a grace period to unwind, the merge
 * queue closes, agents stop (or are removed, with `remove`), parks lift, the end is recorded and
 * pending writes land, plugins tear down. Returns the run's summary.
 */
export async function windDown(
  ctx: WindDownContext,
  remove: boolean,
  reason: RunSummary['reason'],
): Promise<RunSummary> {
  const { table, clock, store, budgets, pool, problems } = ctx
  const running = [...table.values()].flatMap((record) => (record.running ? [record.running] : []))
  for (const record of table.values()) record.controller?.abort('orchestrator stopping')
  const grace = new AbortController()
  await Promise.race([Promise.allSettled(running), sleep(clock, STOP_GRACE_MS, grace.signal).catch(() => {})])
  grace.abort()
  // A settled run has nothing left to land; a stopped one aborts the landing under way (its
  // gate), and the next run or `tanuki land` takes it up.
  const landing = ctx.landing()
  await landing?.close(reason !== 'settled')
  await pool.stopAll(remove)
  await Promise.allSettled(running)
  if (remove) await pool.cleanup()
  ctx.parking.close()
  const progress = table.progress()
  // Complete work the queue was to land and did not (stopped first, or the lander failed on it).
  const unlanded =
    landing && ctx.config.land.auto && !landing.stopped && !landing.broken
      ? [...table.values()]
          // Whose landing was due: one that waits on a dependency not landed is that one's news.
          .filter(
            (record) =>
              record.task.status === 'complete' &&
              !record.landed &&
              landing.landsHere(record) &&
              record.task.dependsOn.every((dep) => table.dependencyLanded(dep)),
          )
          .sort((a, b) => (a.completedAt ?? 0) - (b.completedAt ?? 0))
          .map((record) => record.task.id)
      : []
  // Complete work a person lands (`land.auto: false`): nothing is wrong, but it is not delivered.
  const toLand =
    landing && !ctx.config.land.auto
      ? [...table.values()]
          .filter((record) => record.task.status === 'complete' && !record.landed && landing.landsHere(record))
          .sort((a, b) => (a.completedAt ?? 0) - (b.completedAt ?? 0))
          .map((record) => record.task.id)
      : []
  const settled = { failed: [] as string[], review: [] as string[] }
  for (const { task } of table.values())
    if (task.status === 'failed' || task.status === 'review') settled[task.status].push(task.id)
  const verifyBlocked = ctx.holds.blocked()
  // Work an earlier run did for another branch, which this run did not land on: it waits for it.
  const elsewhere = landing?.elsewhere() ?? []
  const allComplete = progress.total > 0 && progress.complete === progress.total
  if (budgets.exhausted && reason === 'settled') reason = 'budget'
  store.append({
    t: 'run',
    state: reason === 'settled' ? 'settled' : reason === 'budget' ? 'stopped' : reason,
    endedAt: clock.now(),
  })
  await table.settleWrites().catch((error: unknown) => ctx.fatal(error))
  for (const [id, why] of ctx.mirror.failures) problems.push(`the status of ${id} could not be written: ${why}`)
  await ctx.registry?.teardown().catch((error: unknown) => {
    ctx.bus.emit('orchestrator:error', { context: 'tearing down plugins', message: errorMessage(error) })
  })
  return {
    allComplete,
    reason,
    progress,
    problems: [...problems],
    spend: budgets.runSpend(),
    ...(landing?.stopped || landing?.broken
      ? { landingStopped: landing.stopped ?? targetFailsSaid(landing.broken!.note, landing.broken!.output) }
      : {}),
    ...(landing?.held ? { heldBack: { target: landing.target ?? '', ...landing.held } } : {}),
    ...(unlanded.length > 0 ? { unlanded } : {}),
    ...(toLand.length > 0 ? { toLand } : {}),
    ...(settled.failed.length + settled.review.length > 0 ? { settled } : {}),
    ...(verifyBlocked.length > 0 ? { verifyBlocked } : {}),
    ...(elsewhere.length > 0 ? { elsewhere } : {}),
    ...(landing?.pushFailed ? { pushFailed: landing.pushFailed } : {}),
  }
}
