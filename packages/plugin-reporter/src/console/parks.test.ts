import { stripVTControlCharacters } from 'node:util'
import type { TanukiEvents } from '@tanuki/core'
import { describe, expect, it } from 'vitest'
import { FakePipe, replay } from '../../test/support.ts'
import { formatTime } from '../format.ts'
import { shortCause } from './lines.ts'
import { createConsoleReporter } from './index.ts'

const ACCOUNT = 'claude:ANTHROPIC_API_KEY'
/** What Claude Code says of a 429 it gives up on: the API's whole message. */
const CAUSE =
  'API Error: Request rejected (429) · This request would exceed the rate limit for your organization of 50,000 ' +
  'input tokens per minute. For details, refer to: https://docs.claude.com/en/api/rate-limits. You can see the ' +
  'response headers for current usage. Please reduce the prompt length or the maximum '

describe('console reporter: usage and rate limits', () => {
  it('says a park once for the account, with the API message once and shortened, and when every agent waits', async () => {
    const pipe = new FakePipe()
    const at = Date.UTC(2026, 10, 30, 23, 55, 38)
    const first = at + 10_000
    const later = at + 90_000
    const tried = (taskId: string, agent: string, when: number) => [
      {
        name: 'iteration:started' as const,
        payload: { taskId, agent, iteration: 1, maxIterations: 30, prompt: 'p', at: when - 3_000 },
      },
      {
        name: 'iteration:finished' as const,
        payload: {
          taskId,
          agent,
          iteration: 1,
          maxIterations: 30,
          outcome: 'retry' as const,
          reason: CAUSE,
          output: '',
          exitCode: 1,
          failure: { class: 'rate-limited' as const, cause: CAUSE },
          durationMs: 3_000,
          at: when,
        },
      },
    ]
    // Parking announces a park to every agent of the account: one event each.
    const parked = (until: number, when: number) =>
      ['ai-1', 'ai-2'].map((agent) => ({
        name: 'agent:parked' as const,
        payload: { agent, role: 'claude', account: ACCOUNT, until, reason: CAUSE, at: when },
      }))
    const resumed = (when: number) =>
      ['ai-1', 'ai-2'].map((agent) => ({
        name: 'agent:resumed' as const,
        payload: { agent, role: 'claude', account: ACCOUNT, at: when },
      }))
    const events: { name: keyof TanukiEvents; payload: unknown }[] = [
      {
        name: 'project:loaded',
        payload: {
          total: 2,
          ready: 2,
          recovered: [],
          tasks: ['A-1', 'B-2'].map((id) => ({
            id,
            title: id,
            role: 'claude',
            priority: 'medium',
            status: 'pending',
            dependsOn: [],
          })),
          at,
        },
      },
      { name: 'agent:spawned', payload: { agent: 'ai-1', role: 'claude', backend: 'process', at } },
      { name: 'agent:spawned', payload: { agent: 'ai-2', role: 'claude', backend: 'process', at } },
      ...tried('B-2', 'ai-2', at),
      ...parked(first, at),
      // ai-1's try was in flight: the same limit, no new park.
      ...tried('A-1', 'ai-1', at + 500),
      // The park is extended (a later reset): said again, with the new time.
      ...parked(later, at + 5_000),
      // A park the console said already (an agent that came up on the account): nothing new.
      ...parked(later, at + 6_000).slice(0, 1),
      ...resumed(later),
    ]
    await replay(createConsoleReporter({ stream: pipe, env: {} }), events as never)
    const lines = stripVTControlCharacters(pipe.output)
      .trimEnd()
      .split('\n')
      .map((line) => line.replace(/^\d\d:\d\d:\d\d /, ''))
      .filter((line) => /park|resum|rate|429/.test(line))
    const short =
      'API Error: Request rejected (429) · This request would exceed the rate limit for your organization of 50,000 input tokens per minute.'
    expect(lines).toEqual([
      `⏸ agents on ${ACCOUNT} parked until ${formatTime(first)}: ${short}`,
      `⏸ every agent is parked; work resumes at ${formatTime(first)}`,
      `⏸ agents on ${ACCOUNT} parked until ${formatTime(later)}: ${short}`,
      `⏸ every agent is parked; work resumes at ${formatTime(later)}`,
      `▶ agents on ${ACCOUNT} resumed`,
    ])
  })

  it('an agent with an account of its own is named, and a short cause is quoted whole', async () => {
    const pipe = new FakePipe()
    const at = Date.UTC(2026, 10, 30, 12, 0, 0)
    await replay(createConsoleReporter({ stream: pipe, env: {} }), [
      { name: 'agent:spawned', payload: { agent: 'sh-1', role: 'sh', backend: 'process', at } },
      {
        name: 'agent:parked',
        payload: { agent: 'sh-1', role: 'sh', account: 'sh-1', until: at + 60_000, reason: 'usage limit', at },
      },
      { name: 'agent:resumed', payload: { agent: 'sh-1', role: 'sh', account: 'sh-1', at: at + 60_000 } },
    ])
    const lines = stripVTControlCharacters(pipe.output)
      .trimEnd()
      .split('\n')
      .map((line) => line.replace(/^\d\d:\d\d:\d\d /, ''))
      .filter((line) => /park|resum/.test(line))
    expect(lines).toEqual([
      `⏸ agent sh-1 parked until ${formatTime(at + 60_000)}: usage limit`,
      `⏸ every agent is parked; work resumes at ${formatTime(at + 60_000)}`,
      '▶ agent sh-1 resumed',
    ])
  })

  it('shortCause cuts a paragraph at its first sentence, or at a word', () => {
    expect(shortCause('usage limit')).toBe('usage limit')
    const cut = shortCause(`${'word '.repeat(60)}end`, 40)
    expect(cut).toBe('word word word word word word word word…')
    expect(cut.length).toBeLessThanOrEqual(40)
  })
})
