import { describe, expect, it } from 'vitest'
import { VirtualClock, tick } from '../../test/fixtures/virtual-clock.ts'
import type { AgentFailure } from '../agent/types.ts'
import { createMemoryStore } from '../state/memory.ts'
import type { AgentRecord } from './agent-pool.ts'
import { createBus } from './bus.ts'
import { Parking } from './parking.ts'

const ACCOUNT = 'claude:ANTHROPIC_API_KEY'

/** Two agents of a role sharing one account, and the parking they report to. */
function setup() {
  const clock = new VirtualClock()
  const bus = createBus(clock)
  const store = createMemoryStore()
  const agents = ['ai-1', 'ai-2'].map(
    (name) => ({ name, role: 'claude', status: 'busy', agent: { account: ACCOUNT } }) as unknown as AgentRecord,
  )
  const events: { event: string; agent: string; at: number; until?: number }[] = []
  bus.events.on('agent:parked', (e) => void events.push({ event: 'parked', agent: e.agent, at: e.at, until: e.until }))
  bus.events.on('agent:resumed', (e) => void events.push({ event: 'resumed', agent: e.agent, at: e.at }))
  let resumes = 0
  const parking = new Parking({ bus, clock, store, agents: () => agents, onResume: () => resumes++ })
  const [ai1, ai2] = agents as [AgentRecord, AgentRecord]
  return { clock, store, parking, ai1, ai2, events, resumes: () => resumes }
}

const limit = (extra: Partial<AgentFailure> = {}): AgentFailure => ({
  class: 'rate-limited',
  cause: 'API Error: 429 rate limited',
  ...extra,
})

/** Whether a promise has settled yet. */
function settled(promise: Promise<unknown>): () => boolean {
  let done = false
  promise.then(
    () => (done = true),
    () => (done = true),
  )
  return () => done
}

describe('Parking', () => {
  it('a park extended by a later limit ends only at its latest until, with its agent:resumed', async () => {
    const { clock, parking, ai1, ai2, events } = setup()
    const t0 = clock.now()
    const signal = new AbortController().signal
    // ai-1 meets a limit that says nothing of when it lifts: 10 s.
    const first = settled(parking.park(ai1, limit(), signal, t0))
    expect(parking.until(ACCOUNT)).toBe(t0 + 10_000)
    // ai-2 meets one that says when it resets, later: the park is extended.
    clock.advance(5_000)
    const second = settled(parking.park(ai2, limit({ resetAt: t0 + 80_000 }), signal, t0 + 1_000))
    expect(parking.until(ACCOUNT)).toBe(t0 + 80_000)

    // When the first park would have ended, nothing ends: ai-1 still waits, and no one resumed.
    clock.advance(6_000)
    await tick()
    expect(first()).toBe(false)
    expect(events.filter((e) => e.event === 'resumed')).toEqual([])
    expect(parking.isParked(ai1)).toBe(true)

    clock.advance(69_000)
    await tick()
    expect(first()).toBe(true)
    expect(second()).toBe(true)
    expect(parking.isParked(ai1)).toBe(false)
    expect(events.filter((e) => e.event === 'resumed')).toEqual([
      { event: 'resumed', agent: 'ai-1', at: t0 + 80_000 },
      { event: 'resumed', agent: 'ai-2', at: t0 + 80_000 },
    ])
  })

  it('a try that waits on a park it did not extend resumes when the park lifts, not before', async () => {
    const { clock, parking, ai1, ai2 } = setup()
    const t0 = clock.now()
    const signal = new AbortController().signal
    const first = settled(parking.park(ai1, limit({ resetAt: t0 + 60_000 }), signal, t0))
    // A shorter limit of its own: the account stays parked until the longer one, and so does ai-2.
    const second = settled(parking.park(ai2, limit({ retryAfterMs: 5_000 }), signal, t0))
    clock.advance(5_000)
    await tick()
    expect(second()).toBe(false)
    clock.advance(55_000)
    await tick()
    expect([first(), second()]).toEqual([true, true])
  })

  it('a stop during a park ends the wait at once', async () => {
    const { parking, ai1, clock } = setup()
    const controller = new AbortController()
    const waiting = parking.park(ai1, limit(), controller.signal, clock.now())
    controller.abort('stopping')
    await expect(waiting).rejects.toMatchObject({ code: 'TANUKI_ABORTED' })
  })

  it('two agents of one account meeting one limit raise the backoff once, not once each', async () => {
    const { clock, store, parking, ai1, ai2, events } = setup()
    const signal = new AbortController().signal
    const t0 = clock.now()
    // Both tries started together; ai-1's 429 comes first and parks the account for 10 s.
    void parking.park(ai1, limit(), signal, t0)
    clock.advance(1_000)
    // ai-2's try started before that park: the same limit, no longer a wait.
    void parking.park(ai2, limit(), signal, t0)
    expect(parking.until(ACCOUNT)).toBe(t0 + 10_000)
    expect(store.records.filter((r) => r.t === 'park')).toHaveLength(1)

    // The park lifts; both try again, and both meet the limit again: one more in a row, 20 s.
    clock.advance(9_000)
    await tick()
    const t1 = clock.now()
    clock.advance(2_000)
    void parking.park(ai1, limit(), signal, t1)
    expect(parking.until(ACCOUNT)).toBe(t1 + 2_000 + 20_000)
    clock.advance(3_000)
    void parking.park(ai2, limit(), signal, t1)
    expect(parking.until(ACCOUNT)).toBe(t1 + 22_000)

    // A 429 for a try that started while the account was parked is that park's limit too.
    clock.advance(1_000)
    void parking.park(ai2, limit(), signal, t1 + 4_000)
    expect(parking.until(ACCOUNT)).toBe(t1 + 22_000)

    // Each park announced once per agent: two parks, two agents.
    expect(events.filter((e) => e.event === 'parked').map((e) => [e.agent, e.until])).toEqual([
      ['ai-1', t0 + 10_000],
      ['ai-2', t0 + 10_000],
      ['ai-1', t1 + 22_000],
      ['ai-2', t1 + 22_000],
    ])

    // After it lifts, a try that starts anew and meets the limit is the next in a row: 40 s.
    clock.advance(16_000)
    await tick()
    const t2 = clock.now()
    void parking.park(ai1, limit(), signal, t2)
    expect(parking.until(ACCOUNT)).toBe(t2 + 40_000)
  })

  it('a try that went through starts the backoff over', async () => {
    const { clock, parking, ai1 } = setup()
    const signal = new AbortController().signal
    void parking.park(ai1, limit(), signal, clock.now())
    clock.advance(10_000)
    await tick()
    parking.cleared(ai1)
    const t1 = clock.now()
    void parking.park(ai1, limit(), signal, t1)
    expect(parking.until(ACCOUNT)).toBe(t1 + 10_000)
  })
})
