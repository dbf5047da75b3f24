import { describe, expect, it } from 'vitest'
import { createTask } from '../task/parse.ts'
import {
  Balancer,
  builtinStrategies,
  leastLoaded,
  roundRobin,
  type AgentCandidate,
  type BalancerStrategy,
} from './index.ts'

const task = (role = 'backend') => createTask({ id: `t-${role}`, title: 'T', role, completion: { signal: 'S' } })
const agent = (name: string, assigned = 0, lastFinishedAt = 0, role = 'backend'): AgentCandidate => ({
  name,
  role,
  assigned,
  lastFinishedAt,
})

describe('leastLoaded', () => {
  it('picks the agent given the fewest tasks', () => {
    const agents = [agent('a-1', 3), agent('a-2', 1), agent('a-3', 2)]
    expect(leastLoaded.select(agents, task())?.name).toBe('a-2')
  })

  it('breaks ties by the agent idle the longest', () => {
    const agents = [agent('a-1', 1, 500), agent('a-2', 1, 100), agent('a-3', 1, 300), agent('a-4', 2, 0)]
    expect(leastLoaded.select(agents, task())?.name).toBe('a-2')
  })

  it('keeps the first of equal candidates', () => {
    expect(leastLoaded.select([agent('x'), agent('y')], task())?.name).toBe('x')
    expect(leastLoaded.select([], task())).toBeUndefined()
  })
})

describe('roundRobin', () => {
  it('takes turns in numeric-aware name order', () => {
    const strategy = roundRobin()
    const agents = [agent('b-10'), agent('b-2'), agent('b-1')]
    const picks = Array.from({ length: 7 }, () => strategy.select(agents, task())!.name)
    expect(picks).toEqual(['b-1', 'b-2', 'b-10', 'b-1', 'b-2', 'b-10', 'b-1'])
  })

  it('skips agents that are busy (not among the candidates)', () => {
    const strategy = roundRobin()
    expect(strategy.select([agent('b-1'), agent('b-2'), agent('b-3')], task())?.name).toBe('b-1')
    // b-2 is busy now: its turn passes to b-3.
    expect(strategy.select([agent('b-1'), agent('b-3')], task())?.name).toBe('b-3')
    expect(strategy.select([agent('b-1'), agent('b-2'), agent('b-3')], task())?.name).toBe('b-1')
    // Only the one that just ran is free: it runs again.
    expect(strategy.select([agent('b-1')], task())?.name).toBe('b-1')
  })

  it('keeps a separate turn per role', () => {
    const strategy = roundRobin()
    const backend = [agent('b-1'), agent('b-2')]
    const frontend = [agent('f-1', 0, 0, 'frontend'), agent('f-2', 0, 0, 'frontend')]
    expect(strategy.select(backend, task('backend'))?.name).toBe('b-1')
    expect(strategy.select(frontend, task('frontend'))?.name).toBe('f-1')
    expect(strategy.select(backend, task('backend'))?.name).toBe('b-2')
    expect(strategy.select(frontend, task('frontend'))?.name).toBe('f-2')
  })

  it('gives each call of roundRobin() its own turns, and declines with no candidates', () => {
    const one = roundRobin()
    const two = roundRobin()
    one.select([agent('b-1'), agent('b-2')], task())
    expect(two.select([agent('b-1'), agent('b-2')], task())?.name).toBe('b-1')
    expect(one.select([], task())).toBeUndefined()
  })
})

describe('builtinStrategies', () => {
  it('offers least-loaded and round-robin by name', () => {
    expect(builtinStrategies().map((strategy) => strategy.name)).toEqual(['least-loaded', 'round-robin'])
  })
})

describe('Balancer', () => {
  it('uses least-loaded by default', () => {
    const balancer = new Balancer()
    expect(balancer.strategy).toBe(leastLoaded)
    expect(balancer.pick(task(), [agent('a', 2), agent('b', 0)])?.name).toBe('b')
  })

  it('returns undefined when no agent is idle, without asking the strategy', () => {
    let asked = 0
    const balancer = new Balancer({ name: 'count', select: (agents) => (asked++, agents[0]) })
    expect(balancer.pick(task(), [])).toBeUndefined()
    expect(asked).toBe(0)
  })

  it('runs a custom strategy with the task', () => {
    const byTag: BalancerStrategy = {
      name: 'newest',
      select: (agents, t) => (t.role === 'backend' ? agents.at(-1) : agents[0]),
    }
    const balancer = new Balancer(byTag)
    const idle = [agent('a'), agent('b'), agent('c')]
    expect(balancer.pick(task('backend'), idle)?.name).toBe('c')
    expect(balancer.pick(task('web'), idle)?.name).toBe('a')
  })

  it('ignores a choice that is not one of the candidates', () => {
    const idle = [agent('a'), agent('b')]
    const stranger = new Balancer({ name: 'stranger', select: () => agent('z') })
    expect(stranger.pick(task(), idle)).toBeUndefined()
    // A copy of a candidate is not the candidate either: the orchestrator matches by identity.
    const copy = new Balancer({ name: 'copy', select: (agents) => ({ ...agents[0]! }) })
    expect(copy.pick(task(), idle)).toBeUndefined()
    const wait = new Balancer({ name: 'wait', select: () => undefined })
    expect(wait.pick(task(), idle)).toBeUndefined()
  })
})
