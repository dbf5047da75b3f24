import { TanukiError } from '../errors.ts'
import type { Task } from '../task/types.ts'

/** What a strategy knows of an agent it may choose. */
export interface AgentCandidate {
  /** Unique agent name, e.g. `backend-1`. */
  name: string
  role: string
  /** Tasks this agent has been given so far. */
  assigned: number
  /** When the agent last finished a task (clock ms), or 0. */
  lastFinishedAt: number
}

/**
 * Chooses which idle agent takes a task. Strategies are plain objects, so a plugin can register
 * its own through `ctx.registerBalancer`.
 *
 * @example
 * const newest: BalancerStrategy = { name: 'newest', select: (agents) => agents.at(-1) }
 */
export interface BalancerStrategy {
  /** The name used in the config's `balancer` option. */
  name: string
  /** Picks one of `candidates` (all idle and of the task's role, never empty) or `undefined` to wait. */
  select(candidates: readonly AgentCandidate[], task: Task): AgentCandidate | undefined
}

/** The agent given the fewest tasks so far; ties go to the one idle the longest. */
export const leastLoaded: BalancerStrategy = {
  name: 'least-loaded',
  select(candidates) {
    let best: AgentCandidate | undefined
    for (const agent of candidates) {
      if (
        !best ||
        agent.assigned < best.assigned ||
        (agent.assigned === best.assigned && agent.lastFinishedAt < best.lastFinishedAt)
      ) {
        best = agent
      }
    }
    return best
  },
}

/** Takes turns in name order within each role, skipping agents that are busy. */
export function roundRobin(): BalancerStrategy {
  const last = new Map<string, string>()
  return {
    name: 'round-robin',
    select(candidates, task) {
      if (candidates.length === 0) return undefined
      const sorted = [...candidates].sort((a, b) => a.name.localeCompare(b.name, undefined, { numeric: true }))
      const previous = last.get(task.role)
      const next =
        sorted.find(
          (agent) => previous === undefined || agent.name.localeCompare(previous, undefined, { numeric: true }) > 0,
        ) ?? sorted[0]!
      last.set(task.role, next.name)
      return next
    },
  }
}

/** The strategies available by name without a plugin. */
export function builtinStrategies(): BalancerStrategy[] {
  return [leastLoaded, roundRobin()]
}

/** The strategy the config's `balancer` asks for: itself, or one by name, built in or registered by a plugin. */
export function resolveStrategy(
  wanted: string | BalancerStrategy,
  registered: ReadonlyMap<string, BalancerStrategy>,
): BalancerStrategy {
  if (typeof wanted !== 'string') return wanted
  const strategies = new Map(builtinStrategies().map((s) => [s.name, s]))
  for (const [name, strategy] of registered) strategies.set(name, strategy)
  const strategy = strategies.get(wanted)
  if (!strategy) {
    throw new TanukiError(
      'TANUKI_CONFIG_INVALID',
      `config key "balancer" is "${wanted}"; known strategies: ${[...strategies.keys()].join(', ')}`,
      { details: { key: 'balancer', value: wanted } },
    )
  }
  return strategy
}

/**
 * Hands tasks to idle agents of their role through a strategy.
 *
 * @example
 * const balancer = new Balancer(leastLoaded)
 * const agent = balancer.pick(task, idleAgentsOfRole)
 */
export class Balancer {
  constructor(readonly strategy: BalancerStrategy = leastLoaded) {}

  /** The agent to run `task`, or `undefined` when none is idle (or the strategy declines). */
  pick(task: Task, idle: readonly AgentCandidate[]): AgentCandidate | undefined {
    if (idle.length === 0) return undefined
    const chosen = this.strategy.select(idle, task)
    // A custom strategy may only choose among the candidates it was given.
    return chosen && idle.includes(chosen) ? chosen : undefined
  }
}
