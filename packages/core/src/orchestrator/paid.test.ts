import { afterEach, describe, expect, it } from 'vitest'
import { createMemorySource } from '../source/memory.ts'
import { createMemoryStore } from '../state/memory.ts'
import { replay } from '../state/replay.ts'
import { createTask } from '../task/parse.ts'
import type { MemoryAction } from '../testing/memory-backend.ts'
import { harness, stopAll, tasks } from './test-harness.ts'

afterEach(stopAll)

describe('every failure classified', () => {
  it('an agent that cannot start pauses its role once; its tasks wait unharmed and the others run', async () => {
    const h = harness(
      {
        agents: { writer: { count: 1 }, reader: { count: 1 } },
        tasks: tasks({ id: 'w1', role: 'writer' }, { id: 'w2', role: 'writer' }, { id: 'r1', role: 'reader' }),
      },
      {
        backend: {
          script: ({ role, task }): MemoryAction =>
            role === 'writer'
              ? {
                  type: 'fail',
                  error: 'claude: command not found',
                  failure: {
                    class: 'could-not-start',
                    config: true,
                    cause: '"claude" was not found; set agents.writer.bin',
                  },
                }
              : { type: 'succeed', output: task.completion.signal ?? '' },
        },
      },
    )
    await h.orchestrator.start()
    const summary = await h.orchestrator.done()
    expect(summary.allComplete).toBe(false)
    expect(summary.problems).toEqual(['role "writer" is paused: "claude" was not found; set agents.writer.bin'])
    expect(h.all('role:paused')).toEqual([
      { role: 'writer', cause: '"claude" was not found; set agents.writer.bin', at: expect.any(Number) },
    ])
    // One try, then nothing more of that role: no try counted, nothing failed.
    expect(h.backend.runs.filter((run) => run.agent.startsWith('writer'))).toHaveLength(1)
    expect(h.orchestrator.task('w1')).toMatchObject({
      status: 'pending',
      attempts: 0,
      // Nothing ran: not an iteration (status --json, the journal).
      iterations: 0,
      lastError: { class: 'could-not-start' },
    })
    expect(h.orchestrator.task('w2')?.status).toBe('pending')
    expect(h.orchestrator.task('r1')?.status).toBe('complete')
    expect(h.all('iteration:finished')[0]?.failure).toEqual({
      class: 'could-not-start',
      cause: '"claude" was not found; set agents.writer.bin',
    })
  })

  it('a verify that cannot run (exit 127) ends the task after one iteration, saying why; it waits for the fix', async () => {
    const h = harness(
      { tasks: tasks({ id: 'a', completion: { verify: 'node --test', maxIterations: 5 } }) },
      { backend: { exec: () => ({ exitCode: 127, output: 'sh: node: not found\n', timedOut: false }) } },
    )
    await h.orchestrator.start()
    await h.orchestrator.done()
    expect(h.backend.runs).toHaveLength(1)
    expect(h.orchestrator.task('a')).toMatchObject({
      status: 'pending',
      // The agent ran: its try is counted.
      iterations: 1,
      lastError: {
        class: 'verify-could-not-run',
        cause: 'verify could not run (exit 127: sh: node: not found): node --test',
      },
    })
    expect(h.all('task:failed')).toEqual([])
  })

  it('the same failure three tries in a row goes to review with its cause', async () => {
    const h = harness(
      { tasks: tasks({ id: 'a', completion: { verify: 'false', maxIterations: 10 } }) },
      { backend: { exec: () => ({ exitCode: 1, output: 'expected 2, got 3\n', timedOut: false }) } },
    )
    await h.orchestrator.start()
    await h.orchestrator.done()
    expect(h.backend.runs).toHaveLength(3)
    expect(h.orchestrator.task('a')?.reason).toBe(
      'the same failure 3 tries in a row (verify-failed): verify exited with code 1: false',
    )
    expect(h.orchestrator.task('a')?.status).toBe('review')
  })

  it('verify output that differs only in its timings and timestamps is the same failure', async () => {
    // What test runners and npm print: a duration, a clock time, a dated log file, each new every
    // run. Without looking past them, no failure was ever "the same": every try was spent.
    let run = 0
    const output = (): string => {
      run++
      const ms = 100 + run * 37
      return [
        `FAIL src/a.test.ts > adds (${ms}ms)`,
        `  expected 2, got 3`,
        ` Test Files  1 failed (1)`,
        `   Start at  16:0${run}:1${run}`,
        `   Duration  ${(ms / 100).toFixed(2)}s (transform ${ms}ms, setup 0ms)`,
        `1 failed in 0.${run}2s`,
        `npm error A complete log of this run can be found in: /root/.npm/_logs/2026-11-30T16_17_2${run}_52${run}Z-debug-0.log`,
        `[2026-11-30T16:17:2${run}.52${run}Z] done`,
      ].join('\n')
    }
    const h = harness(
      { tasks: tasks({ id: 'a', completion: { verify: 'npm test', maxIterations: 10 } }) },
      { backend: { exec: () => ({ exitCode: 1, output: output(), timedOut: false }) } },
    )
    await h.orchestrator.start()
    await h.orchestrator.done()
    expect(h.backend.runs).toHaveLength(3)
    expect(h.orchestrator.task('a')).toMatchObject({ status: 'review', iterations: 3 })
  })

  it('verify output whose counts change is not the same failure: the agent is getting somewhere', async () => {
    let failing = 6
    const h = harness(
      { tasks: tasks({ id: 'a', completion: { verify: 'npm test', maxIterations: 5 } }) },
      {
        backend: {
          exec: () => ({ exitCode: 1, output: `${--failing} tests failed, 10 passed\n`, timedOut: false }),
        },
      },
    )
    await h.orchestrator.start()
    await h.orchestrator.done()
    expect(h.backend.runs).toHaveLength(5)
  })

  it('a silent agent is ended as stalled', async () => {
    let tries = 0
    const h = harness(
      { stallTimeoutMs: 50, tasks: tasks({ id: 'a' }) },
      {
        backend: {
          script: ({ task }) =>
            ++tries === 1 ? { type: 'hang' } : { type: 'succeed', output: task.completion.signal ?? '' },
        },
      },
    )
    await h.orchestrator.start()
    await h.orchestrator.done()
    expect(h.all('iteration:finished').map((e) => e.failure?.class)).toEqual(['stalled', undefined])
    expect(h.orchestrator.task('a')?.status).toBe('complete')
  })
})

describe('usage and rate limits: park, do not fail', () => {
  it('parks every agent of the account until the limit resets; the limited try is not counted', async () => {
    let limited = 1
    const h = harness(
      {
        agents: { default: { count: 2 } },
        // One try each: the limited try must not use it up.
        tasks: tasks(
          { id: 'a', completion: { signal: 'DONE', maxIterations: 1 } },
          { id: 'b', completion: { signal: 'DONE', maxIterations: 1 } },
        ),
      },
      {
        backend: {
          account: () => 'claude:ANTHROPIC_API_KEY',
          script: ({ task }): MemoryAction =>
            task.id === 'a' && limited-- > 0
              ? {
                  type: 'fail',
                  error: '429',
                  failure: { class: 'rate-limited', cause: 'API Error (429)', retryAfterMs: 80 },
                }
              : { type: 'succeed', output: 'DONE', delayMs: 5 },
        },
      },
    )
    await h.orchestrator.start()
    const parked = await h.when('agent:parked')
    expect(parked).toMatchObject({ account: 'claude:ANTHROPIC_API_KEY', reason: 'API Error (429)' })
    // Both agents share the account: both park, and status says until when.
    const agents = h.orchestrator.status().agents
    expect(agents.every((agent) => agent.parkedUntil !== undefined)).toBe(true)
    const summary = await h.orchestrator.done()
    expect(summary.allComplete).toBe(true)
    expect(
      h
        .all('agent:parked')
        .map((e) => e.agent)
        .sort(),
    ).toEqual(['default-1', 'default-2'])
    expect(
      h
        .all('agent:resumed')
        .map((e) => e.agent)
        .sort(),
    ).toEqual(['default-1', 'default-2'])
    // The limited try ran again as the same iteration.
    expect(h.backend.runs.filter((run) => run.taskId === 'a').map((run) => run.iteration)).toEqual([1, 1])
    expect(h.orchestrator.task('a')).toMatchObject({ status: 'complete', iterations: 1 })
  })

  it('a resume keeps a park that has not lifted yet', async () => {
    const store = createMemoryStore()
    const until = Date.now() + 60_000
    store.append({ t: 'park', key: 'shared', until, reason: 'usage limit' })
    const h = harness(
      { stopWhenSettled: false, tasks: tasks({ id: 'a' }) },
      { store, backend: { account: () => 'shared' } },
    )
    await h.orchestrator.start()
    await h.when('agent:parked')
    await new Promise((resolve) => setTimeout(resolve, 30))
    expect(h.backend.runs).toEqual([])
    expect(h.orchestrator.status().agents[0]?.parkedUntil).toBe(new Date(until).toISOString())
    // A stop during a park is immediate.
    await h.orchestrator.stop()
    expect((await h.orchestrator.done()).reason).toBe('stopped')
  })
})

describe('budgets', () => {
  const spending = (usd: number, tokens = 100): MemoryAction => ({
    type: 'succeed',
    output: 'not yet',
    usage: { costUsd: usd, inputTokens: tokens, outputTokens: 0 },
  })

  it('a task over its budget goes to review with the reason budget; no further iteration starts', async () => {
    const source = createMemorySource([
      createTask({
        id: 'a',
        title: 'A',
        completion: { signal: 'DONE', maxIterations: 10 },
        extra: { budget: { usd: 0.5 } },
      }),
    ])
    const h = harness({}, { sources: [source], backend: { script: () => spending(0.3) } })
    await h.orchestrator.start()
    await h.orchestrator.done()
    expect(h.backend.runs).toHaveLength(2)
    // Each iteration was handed what remained, for the agent to cap itself.
    expect(h.backend.runs.map((run) => run.budget?.usd)).toEqual([0.5, expect.closeTo(0.2, 6)])
    expect(h.orchestrator.task('a')).toMatchObject({
      status: 'review',
      lastError: { class: 'budget' },
      spend: { usd: expect.closeTo(0.6, 6), tokens: 200 },
    })
    expect(h.orchestrator.task('a')?.reason).toContain('the task a budget is spent')
  })

  it('a run budget shared by 4 agents at once is overshot by at most one iteration each, and ends the run', async () => {
    const h = harness(
      {
        budget: { usd: 1 },
        // Tries never pass here; what stops them must be the budget.
        sameFailureLimit: 1000,
        agents: { default: { count: 4 } },
        tasks: tasks(
          ...Array.from({ length: 8 }, (_, i) => ({ id: `t${i}`, completion: { signal: 'DONE', maxIterations: 50 } })),
        ),
      },
      {
        backend: {
          // Each agent spends what it was handed, and a little more (its own granularity).
          script: ({ budget }) => ({ ...spending((budget?.usd ?? 0) + 0.01), delayMs: 5 }),
        },
      },
    )
    await h.orchestrator.start()
    const summary = await h.orchestrator.done()
    expect(summary.reason).toBe('budget')
    expect(summary.allComplete).toBe(false)
    expect(summary.spend.usd).toBeGreaterThan(1)
    expect(summary.spend.usd).toBeLessThanOrEqual(1 + 4 * 0.01 + 1e-9)
    // Tasks never got a budget of their own, so nothing is in review: they wait for more budget.
    expect(summary.progress.review).toBe(0)
  })

  it('a try a person stops (rerun, reset) gives back what it held of the budget', async () => {
    let tries = 0
    const h = harness(
      { budget: { tokens: 1000 }, tasks: tasks({ id: 'a' }) },
      {
        backend: {
          script: (): MemoryAction =>
            ++tries === 1
              ? { type: 'hang' }
              : { type: 'succeed', output: 'DONE', usage: { costUsd: 0.1, inputTokens: 250, outputTokens: 0 } },
        },
      },
    )
    await h.orchestrator.start()
    await h.when('iteration:started')
    await h.orchestrator.rerun('a')
    const summary = await h.orchestrator.done()
    expect(summary).toMatchObject({ reason: 'settled', allComplete: true })
    // Held by the stopped try, the whole budget would seem spoken for: the next try could not start.
    expect(h.backend.runs.map((run) => run.budget)).toEqual([{ tokens: 1000 }, { tokens: 1000 }])
  })

  it('what a try spent before it timed out counts: the budget stops the task', async () => {
    const source = createMemorySource([
      createTask({
        id: 'a',
        title: 'A',
        completion: { signal: 'DONE', maxIterations: 10 },
        extra: { budget: { usd: 0.5 } },
      }),
    ])
    const h = harness(
      { iterationTimeoutMs: 20, sameFailureLimit: 100 },
      // Each try spends $0.30 (its agent says so as it is stopped), then never finishes.
      { sources: [source], backend: { script: () => ({ type: 'hang', usage: { costUsd: 0.3, inputTokens: 100 } }) } },
    )
    await h.orchestrator.start()
    await h.orchestrator.done()
    expect(h.backend.runs).toHaveLength(2)
    expect(h.all('iteration:finished').map((event) => event.usage?.costUsd)).toEqual([0.3, 0.3])
    expect(h.orchestrator.task('a')).toMatchObject({
      status: 'review',
      lastError: { class: 'budget' },
      spend: { usd: expect.closeTo(0.6, 6), tokens: 200 },
    })
  })

  it('what a try spent before a stop or a crash cut it short is spent: on the task and the run', async () => {
    const store = createMemoryStore()
    let tries = 0
    const h = harness(
      { budget: { usd: 10 }, tasks: tasks({ id: 'a' }) },
      {
        store,
        backend: {
          script: (): MemoryAction =>
            ++tries === 1
              ? { type: 'die', delayMs: 5, usage: { costUsd: 0.25, inputTokens: 100 } }
              : { type: 'hang', usage: { costUsd: 0.5, inputTokens: 200 } },
        },
      },
    )
    await h.orchestrator.start()
    // The second try, on the agent that replaced the one that died.
    let started = 0
    await h.when('iteration:started', () => ++started === 2)
    await new Promise((resolve) => setTimeout(resolve, 5))
    await h.orchestrator.stop()
    const summary = await h.orchestrator.done()
    expect(summary.reason).toBe('stopped')
    expect(summary.spend).toEqual({ usd: 0.75, tokens: 300 })
    expect(store.state.tasks.a?.spend).toEqual({ usd: 0.75, tokens: 300 })
    expect(store.state.run.spend).toEqual({ usd: 0.75, tokens: 300 })
    // No `iteration:finished` tells what those tries spent: the status change that ended each does.
    expect(h.all('iteration:finished')).toEqual([])
    const ended = h.all('task:status').filter((change) => change.usage)
    expect(ended).toMatchObject([
      { from: 'in_progress', to: 'pending', reason: expect.stringContaining('crashed'), usage: { costUsd: 0.25 } },
      { from: 'in_progress', to: 'pending', reason: 'run stopped; it will start over', usage: { costUsd: 0.5 } },
    ])
  })

  it("a person's command that cuts a try short tells what it spent, marked as Tanuki's estimate", async () => {
    const h = harness(
      { tasks: tasks({ id: 'a' }) },
      { backend: { script: () => ({ type: 'hang', usage: { costUsd: 0.4, inputTokens: 100, estimated: true } }) } },
    )
    await h.orchestrator.start()
    await h.when('iteration:started')
    // The agent has begun (and spent) before the person's command comes.
    await new Promise((resolve) => setTimeout(resolve, 5))
    await h.orchestrator.mark('a', 'failed')
    expect(await h.when('task:status', (change) => change.to === 'failed')).toMatchObject({
      from: 'in_progress',
      usage: { costUsd: 0.4, inputTokens: 100, estimated: true },
    })
  })

  it('spend is recorded per iteration and survives a resume', async () => {
    const store = createMemoryStore()
    const first = harness(
      { budget: { tokens: 1000 }, tasks: tasks({ id: 'a' }) },
      { store, backend: { script: () => ({ ...spending(0.1, 250), output: 'DONE' }) } },
    )
    await first.orchestrator.start()
    await first.orchestrator.done()
    expect(store.state.tasks.a?.spend).toEqual({ usd: 0.1, tokens: 250 })
    expect(store.state.run.spend).toEqual({ usd: 0.1, tokens: 250 })
    const second = harness(
      { budget: { tokens: 1000 }, tasks: tasks({ id: 'a' }, { id: 'b' }) },
      { store, backend: { script: () => ({ ...spending(0.1, 250), output: 'DONE' }) } },
    )
    await second.orchestrator.start()
    const summary = await second.orchestrator.done()
    expect(summary.spend).toEqual({ usd: expect.closeTo(0.2, 6), tokens: 500 })
    // b was handed what the run had left after a's earlier spend.
    expect(second.backend.runs[0]?.budget).toEqual({ tokens: 750 })
  })
})

describe('a verify that cannot run where the agents work', () => {
  /** Verify as a machine without `pytset` runs it: that one is not found, everything else passes. */
  const noPytset = (command: string) =>
    command.startsWith('pytset')
      ? { exitCode: 127, output: 'collecting…\nsh: 1: pytset: not found\n', timedOut: false }
      : { exitCode: 0, output: '', timedOut: false }
  const cause =
    'verify `pytset -q` cannot run on this machine for role "default" (exit 127: sh: 1: pytset: not found). ' +
    '`pytset` was not found there: install it (or put it on PATH), or correct the verify in the task files that give it; ' +
    'then `tanuki project resume`'

  it('runs one agent for the tasks sharing it: the others wait, unharmed, and the rest goes on', async () => {
    const h = harness(
      {
        tasks: tasks(
          { id: 'a', priority: 'critical', completion: { verify: 'pytset -q' } },
          { id: 'b', completion: { verify: 'pytset -q' } },
          { id: 'c', completion: { verify: 'pytset -q' } },
          // A per-task difference: its verify runs, so it runs.
          { id: 'typo-free', priority: 'low', completion: { verify: 'pytest -q' } },
          // Ready only once typo-free completes, after the verify was found not to run.
          { id: 'later', priority: 'low', dependsOn: ['typo-free'], completion: { verify: 'pytset -q' } },
          { id: 'after-a', dependsOn: ['a'] },
        ),
      },
      { backend: { exec: noPytset } },
    )
    await h.orchestrator.start()
    const summary = await h.orchestrator.done()

    // One paid run met the wall; the tasks behind it were not given an agent.
    expect(h.backend.runs.map((run) => run.taskId)).toEqual(['a', 'typo-free'])
    expect(summary).toMatchObject({ reason: 'settled', allComplete: false })
    expect(h.orchestrator.task('a')).toMatchObject({
      status: 'pending',
      iterations: 1,
      reason: `waits: ${cause}`,
      lastError: { class: 'verify-could-not-run' },
    })
    for (const id of ['b', 'c', 'later']) {
      expect(h.orchestrator.task(id)).toMatchObject({
        status: 'pending',
        iterations: 0,
        attempts: 0,
        reason: `waits: ${cause}`,
      })
    }
    expect(h.orchestrator.task('typo-free')?.status).toBe('complete')
    expect(h.orchestrator.task('after-a')?.status).toBe('pending')
    expect(h.all('task:failed')).toEqual([])
    expect(h.all('verify:blocked')).toEqual([
      {
        role: 'default',
        command: 'pytset -q',
        taskId: 'a',
        // The ones it held from the queue; `later` was not ready yet.
        tasks: ['a', 'b', 'c'],
        program: 'pytset',
        cause,
        at: expect.any(Number),
      },
    ])
    expect(summary.verifyBlocked).toEqual([
      {
        role: 'default',
        command: 'pytset -q',
        cause,
        tasks: ['a', 'b', 'c', 'later'],
        sources: ['tanuki.config (tasks)'],
      },
    ])
  })

  it('is met once per role: a role with its own sandbox tries for itself', async () => {
    const h = harness(
      {
        agents: { api: { count: 1 } },
        tasks: tasks(
          { id: 'a', completion: { verify: 'pytset' } },
          { id: 'b', completion: { verify: 'pytset' } },
          { id: 'x', role: 'api', completion: { verify: 'pytset' } },
          { id: 'y', role: 'api', completion: { verify: 'pytset' } },
        ),
      },
      { backend: { exec: noPytset } },
    )
    await h.orchestrator.start()
    const summary = await h.orchestrator.done()
    expect(h.backend.runs.map((run) => run.taskId).sort()).toEqual(['a', 'x'])
    expect(summary.verifyBlocked?.map((blocked) => [blocked.role, blocked.tasks])).toEqual([
      ['default', ['a', 'b']],
      ['api', ['x', 'y']],
    ])
  })

  it('says to make a program outside the workspace executable when it is not (exit 126)', async () => {
    const h = harness(
      {
        tasks: tasks(
          { id: 'a', completion: { verify: '/opt/qa/check.sh' } },
          { id: 'b', completion: { verify: '/opt/qa/check.sh' } },
        ),
      },
      {
        backend: {
          exec: () => ({ exitCode: 126, output: 'sh: 1: /opt/qa/check.sh: Permission denied\n', timedOut: false }),
        },
      },
    )
    await h.orchestrator.start()
    const summary = await h.orchestrator.done()
    expect(h.backend.runs).toHaveLength(1)
    expect(summary.verifyBlocked?.[0]?.cause).toBe(
      'verify `/opt/qa/check.sh` cannot run on this machine for role "default" (exit 126: sh: 1: /opt/qa/check.sh: Permission denied). ' +
        '`/opt/qa/check.sh` cannot be executed there: make it executable, or correct the verify in the task files that give it; ' +
        'then `tanuki project resume`',
    )
  })

  it('a task whose verify a person corrects during the run is given an agent at once', async () => {
    const typo = (id: string, verify = 'pytset -q') =>
      createTask({ id, title: `Task ${id}`, completion: { verify }, ...(id === 'a' ? { priority: 'critical' } : {}) })
    const source = createMemorySource([typo('a'), typo('b'), typo('c')])
    const h = harness({ stopWhenSettled: false }, { sources: [source], backend: { exec: noPytset } })
    await h.orchestrator.start()
    await h.when('verify:blocked')
    await h.when('task:status', (e) => e.taskId === 'a' && e.to === 'pending')
    expect(h.backend.runs.map((run) => run.taskId)).toEqual(['a'])
    source.change({ type: 'changed', task: typo('b', 'pytest -q') })
    await h.when('task:completed', (e) => e.taskId === 'b')
    // c still has the verify that cannot run: it waits.
    expect(h.backend.runs.map((run) => run.taskId)).toEqual(['a', 'b'])
    expect(h.orchestrator.task('c')).toMatchObject({ status: 'pending', reason: `waits: ${inWatch('a')}` })
  })

  /** Why they wait in a run that stays on, where `project resume` is refused: a rerun tries it again. */
  const inWatch = (id: string) =>
    cause.replace('`tanuki project resume`', `\`tanuki task rerun ${id}\` (or of another task that waits for it)`)

  /** A run that stays on (`--watch`) over tasks a, b, c sharing `pytset -q`, until a person installs it. */
  async function heldInWatch() {
    const machine = { installed: false }
    const h = harness(
      {
        stopWhenSettled: false,
        tasks: tasks(
          { id: 'a', priority: 'critical', completion: { verify: 'pytset -q' } },
          { id: 'b', completion: { verify: 'pytset -q' } },
          { id: 'c', completion: { verify: 'pytset -q' } },
        ),
      },
      {
        backend: {
          exec: (command) => (machine.installed ? { exitCode: 0, output: '', timedOut: false } : noPytset(command)),
        },
      },
    )
    await h.orchestrator.start()
    await h.when('project:settled')
    expect(h.backend.runs.map((run) => run.taskId)).toEqual(['a'])
    for (const id of ['a', 'b', 'c']) {
      expect(h.orchestrator.task(id)).toMatchObject({ status: 'pending', reason: `waits: ${inWatch('a')}` })
    }
    /** Resolves when the run has nothing more to do again, after a person's command. */
    const settledAgain = () => {
      const before = h.all('project:settled').length
      return h.when('project:settled', () => h.all('project:settled').length > before)
    }
    return { h, machine, settledAgain }
  }

  it('in a run that stays on, a rerun of a held task after the fix runs every task the verify held', async () => {
    const { h, machine, settledAgain } = await heldInWatch()
    machine.installed = true
    const settled = settledAgain()
    await h.orchestrator.rerun('b')
    await settled
    expect(h.all('verify:unblocked')).toEqual([
      { role: 'default', command: 'pytset -q', taskId: 'b', tasks: ['a', 'c'], at: expect.any(Number) },
    ])
    for (const id of ['a', 'b', 'c']) expect(h.orchestrator.task(id)?.status).toBe('complete')
    expect(h.backend.runs.map((run) => run.taskId).sort()).toEqual(['a', 'a', 'b', 'c'])
  })

  it('a run that stayed on, stopped while they wait, says a resume tries it again: the rerun needs a run', async () => {
    const { h } = await heldInWatch()
    await h.orchestrator.stop()
    const summary = await h.orchestrator.done()
    expect(summary.verifyBlocked).toEqual([
      expect.objectContaining({ command: 'pytset -q', cause, tasks: ['a', 'b', 'c'] }),
    ])
    for (const id of ['a', 'b', 'c']) expect(h.orchestrator.task(id)?.reason).toBe(`waits: ${cause}`)
  })

  it('in a run that stays on, a reset of a held task whose verify still cannot run costs no paid try: they wait again', async () => {
    const { h, settledAgain } = await heldInWatch()
    const settled = settledAgain()
    await h.orchestrator.reset('c')
    await settled
    // c alone was given an agent, which ran the verify before working: it still could not run.
    expect(h.backend.runs.map((run) => run.taskId)).toEqual(['a'])
    expect(h.all('task:assigned').map((e) => e.taskId)).toEqual(['a', 'c'])
    expect(h.all('verify:blocked').map((e) => e.tasks)).toEqual([
      ['a', 'b', 'c'],
      ['c', 'a', 'b'],
    ])
    expect(h.all('verify:unblocked')).toEqual([])
    for (const id of ['a', 'b', 'c']) {
      expect(h.orchestrator.task(id)).toMatchObject({ status: 'pending', reason: `waits: ${inWatch('c')}` })
    }
    expect(h.orchestrator.task('c')).toMatchObject({ iterations: 0, lastError: { class: 'verify-could-not-run' } })
  })

  it('in a run that stays on with an agent per task, a rerun before the fix starts one task, which pays nothing', async () => {
    const machine = { installed: false }
    const h = harness(
      {
        stopWhenSettled: false,
        agents: { default: { count: 3 } },
        tasks: tasks(
          { id: 'a', completion: { verify: 'pytset -q' } },
          { id: 'b', completion: { verify: 'pytset -q' } },
          { id: 'c', completion: { verify: 'pytset -q' } },
        ),
      },
      {
        backend: {
          exec: (command) => (machine.installed ? { exitCode: 0, output: '', timedOut: false } : noPytset(command)),
        },
      },
    )
    await h.orchestrator.start()
    await h.when('project:settled')
    // Three agents took the three tasks at once: each paid before the first met the wall.
    const before = h.backend.runs.length
    const settledAgain = (): Promise<unknown> => {
      const count = h.all('project:settled').length
      return h.when('project:settled', () => h.all('project:settled').length > count)
    }
    let settled = settledAgain()
    await h.orchestrator.rerun('b')
    await settled
    expect(h.backend.runs.length).toBe(before)
    for (const id of ['a', 'b', 'c']) expect(h.orchestrator.task(id)?.status).toBe('pending')

    // Fixed: the rerun's task tries it, then the others start.
    machine.installed = true
    settled = settledAgain()
    await h.orchestrator.rerun('a')
    await settled
    expect(
      h.backend.runs
        .slice(before)
        .map((run) => run.taskId)
        .sort(),
    ).toEqual(['a', 'b', 'c'])
    expect(h.all('verify:unblocked')).toEqual([
      { role: 'default', command: 'pytset -q', taskId: 'a', tasks: ['b', 'c'], at: expect.any(Number) },
    ])
    for (const id of ['a', 'b', 'c']) expect(h.orchestrator.task(id)?.status).toBe('complete')
  })

  it('a program a script inside the verify runs (vitest under `npm test`) holds nothing: the agent may install it', async () => {
    /** `npm test` in a workspace whose dependencies are not installed: its script's `vitest` is missing. */
    const npmTest = (command: string, files: Map<string, string>) =>
      command === 'npm test' && !files.has('node_modules/.bin/vitest')
        ? { exitCode: 127, output: '\n> app@1.0.0 test\n> vitest run\n\nsh: 1: vitest: not found\n', timedOut: false }
        : { exitCode: 0, output: '', timedOut: false }
    const h = harness(
      {
        tasks: tasks(
          { id: 'a', priority: 'critical', completion: { verify: 'npm test' } },
          { id: 'b', completion: { verify: 'npm test' } },
        ),
      },
      {
        backend: {
          exec: npmTest,
          // The agent installs the dependencies once the verify's output tells it they are missing.
          script: ({ prompt }): MemoryAction =>
            prompt.includes('It runs `vitest`, which was not found')
              ? { type: 'succeed', files: { 'node_modules/.bin/vitest': '#!/bin/sh' } }
              : { type: 'succeed' },
        },
      },
    )
    await h.orchestrator.start()
    const summary = await h.orchestrator.done()
    expect(summary).toMatchObject({ allComplete: true })
    expect(summary.verifyBlocked).toBeUndefined()
    expect(h.all('verify:blocked')).toEqual([])
    // a's first try met the missing runner, its second installed it; b found it installed.
    expect(h.backend.runs.map((run) => [run.taskId, run.iteration])).toEqual([
      ['a', 1],
      ['a', 2],
      ['b', 1],
    ])
    expect(h.all('iteration:finished').find((e) => e.taskId === 'a')?.failure).toEqual({
      class: 'verify-failed',
      cause:
        'verify exited with code 127: npm test. It runs `vitest`, which was not found (sh: 1: vitest: not found): ' +
        "install it where the verify runs (a fresh workspace has none of the project's dependencies until they are installed)",
    })
  })

  it('a missing program a script inside the verify runs costs each task at most the same-failure limit of tries', async () => {
    const h = harness(
      {
        sameFailureLimit: 2,
        tasks: tasks(
          { id: 'a', completion: { verify: 'npm test', maxIterations: 10 } },
          { id: 'b', completion: { verify: 'npm test', maxIterations: 10 } },
        ),
      },
      {
        backend: {
          exec: () => ({ exitCode: 127, output: '> vitest run\nsh: 1: vitest: not found\n', timedOut: false }),
        },
      },
    )
    await h.orchestrator.start()
    await h.orchestrator.done()
    expect(h.backend.runs.map((run) => run.taskId).sort()).toEqual(['a', 'a', 'b', 'b'])
    for (const id of ['a', 'b']) {
      expect(h.orchestrator.task(id)).toMatchObject({ status: 'review', iterations: 2 })
    }
  })

  it('a 126/127 whose output does not say which program holds the tasks with that verify, as the verify’s own', async () => {
    const h = harness(
      {
        tasks: tasks(
          { id: 'a', priority: 'critical', completion: { verify: 'timeout 300 pytset', maxIterations: 5 } },
          { id: 'b', completion: { verify: 'timeout 300 pytset', maxIterations: 5 } },
        ),
      },
      { backend: { exec: () => ({ exitCode: 127, output: 'the runner gave up\n', timedOut: false }) } },
    )
    await h.orchestrator.start()
    await h.orchestrator.done()
    // One paid run; neither task is failed (settled): both wait for the fix and a resume.
    expect(h.backend.runs.map((run) => run.taskId)).toEqual(['a'])
    expect(h.all('verify:blocked')).toMatchObject([{ command: 'timeout 300 pytset', tasks: ['a', 'b'] }])
    for (const id of ['a', 'b']) expect(h.orchestrator.task(id)?.status).toBe('pending')
  })

  /**
   * A run where task a's verify `pytset -q` could not run after its only try (max_iterations 1),
   * then a resume after the fix, whose verify exits `exitCode`; `done` lists in order what the
   * resume ran: the verify (`verify`) and agents' tries (`try N`).
   */
  async function heldOnLastTry(exitCode: number) {
    const store = createMemoryStore()
    const spec = tasks({ id: 'a', completion: { verify: 'pytset -q', maxIterations: 1 } })
    const first = harness({ tasks: spec }, { store, backend: { exec: noPytset } })
    await first.orchestrator.start()
    await first.orchestrator.done()
    const done: string[] = []
    const second = harness(
      { tasks: spec },
      {
        store,
        backend: {
          exec: () => {
            done.push('verify')
            return { exitCode, output: exitCode === 0 ? '' : '1 failed\n', timedOut: false }
          },
          script: ({ iteration }): MemoryAction => {
            done.push(`try ${iteration}`)
            return { type: 'succeed' }
          },
        },
      },
    )
    return { store, first, second, done }
  }

  it('a verify that could not run after the last try holds the task; after the fix, a resume runs the verify first', async () => {
    const { store, first, second, done } = await heldOnLastTry(0)
    expect(first.backend.runs).toHaveLength(1)
    // Not to review: its try had no verdict, and tries again costs nothing.
    expect(store.state.tasks.a).toMatchObject({ status: 'pending', iterations: 1, heldBy: 'pytset -q' })
    await second.orchestrator.start()
    expect(await second.orchestrator.done()).toMatchObject({ allComplete: true })
    expect(done[0]).toBe('verify')
  })

  it('after the fix, the verify judges the work of the last try it could not: complete, with no agent paid', async () => {
    const { store, second, done } = await heldOnLastTry(0)
    await second.orchestrator.start()
    expect(await second.orchestrator.done()).toMatchObject({ allComplete: true })
    expect(done).toEqual(['verify'])
    expect(store.state.tasks.a).toMatchObject({
      status: 'complete',
      iterations: 1,
      reason: 'verify passed: pytset -q (on the work of its last try, which it could not judge then)',
    })
    expect(store.state.tasks.a?.heldBy).toBeUndefined()
  })

  it('after the fix, a verify that fails on the work of the last try is no verdict: the last try runs again', async () => {
    // The work it saw may not be that try's (another agent's workspace): a try, judged as any, decides.
    const { store, second, done } = await heldOnLastTry(1)
    await second.orchestrator.start()
    await second.orchestrator.done()
    expect(done).toEqual(['verify', 'try 1', 'verify'])
    expect(store.state.tasks.a).toMatchObject({
      status: 'review',
      iterations: 2,
      reason: 'verify exited with code 1: pytset -q; no tries left (1)',
    })
  })

  it('a resume after the fix runs every task that waited', async () => {
    const store = createMemoryStore()
    const spec = tasks(
      { id: 'a', priority: 'critical', completion: { verify: 'pytset -q' } },
      { id: 'b', completion: { verify: 'pytset -q' } },
      { id: 'after-a', dependsOn: ['a'] },
    )
    const first = harness({ tasks: spec }, { store, backend: { exec: noPytset } })
    await first.orchestrator.start()
    await first.orchestrator.done()
    expect(store.state.tasks.b).toMatchObject({ status: 'pending', reason: `waits: ${cause}`, heldBy: 'pytset -q' })

    // `pytset` installed: every verify runs.
    const second = harness(
      { tasks: spec },
      { store, backend: { exec: () => ({ exitCode: 0, output: '', timedOut: false }) } },
    )
    await second.orchestrator.start()
    // What the last run waited for is its news, not this one's: b waits for a to try the verify.
    expect(second.orchestrator.task('b')?.reason).toBe(
      'waits: verify `pytset -q` could not run for role "default" when it was last tried; ' +
        'it is tried again first where a starts, before its agent works, and the others start once it runs',
    )
    const summary = await second.orchestrator.done()
    expect(summary).toMatchObject({ allComplete: true })
    expect(summary.verifyBlocked).toBeUndefined()
    expect(second.backend.runs.map((run) => run.taskId).sort()).toEqual(['a', 'after-a', 'b'])
    expect(second.all('verify:unblocked')).toEqual([
      { role: 'default', command: 'pytset -q', taskId: 'a', tasks: ['b'], at: expect.any(Number) },
    ])
    // a's try in the first run stays counted; the hold is over.
    expect(second.orchestrator.task('a')?.iterations).toBe(2)
    expect(store.state.tasks.b?.heldBy).toBeUndefined()
  })

  it('a resume without the fix runs the verify once, before any agent works: they wait again, nothing paid', async () => {
    const store = createMemoryStore()
    const spec = tasks(
      { id: 'a', priority: 'critical', completion: { verify: 'pytset -q' } },
      { id: 'b', completion: { verify: 'pytset -q' } },
      { id: 'c', completion: { verify: 'pytset -q' } },
      { id: 'other', completion: { verify: 'true' } },
    )
    const first = harness({ tasks: spec }, { store, backend: { exec: noPytset } })
    await first.orchestrator.start()
    await first.orchestrator.done()
    expect(first.backend.runs.map((run) => run.taskId)).toEqual(['a', 'other'])

    const second = harness({ tasks: spec }, { store, backend: { exec: noPytset } })
    await second.orchestrator.start()
    const summary = await second.orchestrator.done()
    expect(second.backend.runs).toEqual([])
    // One of them was given an agent, to run the verify; the others were not.
    expect(second.all('task:assigned').map((e) => e.taskId)).toEqual(['a'])
    expect(second.all('verify:blocked')).toEqual([
      expect.objectContaining({ command: 'pytset -q', taskId: 'a', tasks: ['a', 'b', 'c'], cause }),
    ])
    expect(summary.verifyBlocked).toEqual([
      expect.objectContaining({ command: 'pytset -q', cause, tasks: ['a', 'b', 'c'] }),
    ])
    for (const id of ['a', 'b', 'c']) {
      expect(second.orchestrator.task(id)).toMatchObject({ status: 'pending', reason: `waits: ${cause}` })
    }
    expect(second.orchestrator.task('a')?.iterations).toBe(1)

    // A third resume, fixed this time, runs them all.
    const third = harness(
      { tasks: spec },
      { store, backend: { exec: () => ({ exitCode: 0, output: '', timedOut: false }) } },
    )
    await third.orchestrator.start()
    expect(await third.orchestrator.done()).toMatchObject({ allComplete: true })
    expect(third.backend.runs.map((run) => run.taskId).sort()).toEqual(['a', 'b', 'c'])
  })

  it('the task that was to try a held verify again, settled by a person before it starts, gives way to another', async () => {
    const store = createMemoryStore(
      replay([
        { t: 'run', target: 'main' },
        { t: 'task', id: 'a', status: 'pending', heldBy: 'pytset -q' },
        { t: 'task', id: 'b', status: 'pending', heldBy: 'pytset -q' },
      ]),
    )
    const h = harness(
      {
        stopWhenSettled: false,
        tasks: tasks(
          { id: 'busy', priority: 'critical' },
          { id: 'a', completion: { verify: 'pytset -q' } },
          { id: 'b', completion: { verify: 'pytset -q' } },
        ),
      },
      {
        store,
        backend: {
          // The role's one agent is busy with another task while a waits its turn to try the verify.
          script: ({ task }) => (task.id === 'busy' ? { type: 'hang' } : { type: 'succeed' }),
          exec: () => ({ exitCode: 0, output: '', timedOut: false }),
        },
      },
    )
    await h.orchestrator.start()
    await h.when('task:assigned', (e) => e.taskId === 'busy')
    expect(h.orchestrator.task('b')?.reason).toContain('it is tried again first where a starts')
    await h.orchestrator.mark('a', 'complete')
    await h.orchestrator.mark('busy', 'complete')
    // b tries it instead, finds it runs, and its agent works.
    await h.when('task:completed', (e) => e.taskId === 'b')
    expect(h.backend.runs.map((run) => run.taskId)).toContain('b')
  })

  it('the task that was to try a held verify again, given another verify by a person, gives way to another', async () => {
    const store = createMemoryStore(
      replay([
        { t: 'task', id: 'a', status: 'pending', heldBy: 'pytset -q' },
        { t: 'task', id: 'b', status: 'pending', heldBy: 'pytset -q' },
      ]),
    )
    const spec = (id: string, verify: string, priority?: 'critical') =>
      createTask({ id, title: id, completion: { verify }, ...(priority ? { priority } : {}) })
    const source = createMemorySource([
      spec('busy', 'true', 'critical'),
      spec('a', 'pytset -q'),
      spec('b', 'pytset -q'),
    ])
    const h = harness(
      { stopWhenSettled: false },
      {
        store,
        sources: [source],
        backend: {
          script: ({ task }) => (task.id === 'busy' ? { type: 'hang' } : { type: 'succeed' }),
          exec: () => ({ exitCode: 0, output: '', timedOut: false }),
        },
      },
    )
    await h.orchestrator.start()
    await h.when('task:assigned', (e) => e.taskId === 'busy')
    source.change({ type: 'changed', task: spec('a', 'make check') })
    await h.orchestrator.mark('busy', 'complete')
    await h.when('task:completed', (e) => e.taskId === 'b')
    await h.when('task:completed', (e) => e.taskId === 'a')
  })

  it('a task whose verify a person corrected after the run that held it starts as any other', async () => {
    const store = createMemoryStore()
    const spec = (verify: string) =>
      tasks({ id: 'a', priority: 'critical', completion: { verify: 'pytset -q' } }, { id: 'b', completion: { verify } })
    const first = harness({ tasks: spec('pytset -q') }, { store, backend: { exec: noPytset } })
    await first.orchestrator.start()
    await first.orchestrator.done()
    const second = harness({ tasks: spec('pytest -q') }, { store, backend: { exec: noPytset } })
    await second.orchestrator.start()
    await second.orchestrator.done()
    expect(second.backend.runs.map((run) => run.taskId)).toEqual(['b'])
    expect(second.orchestrator.task('b')?.status).toBe('complete')
  })
})

describe('a verify whose program is missing, looked for before any agent works', () => {
  /** A machine without `pytset`: the verify fails as a shell would, were it run. */
  const noPytset = (command: string) =>
    command.startsWith('pytset')
      ? { exitCode: 127, output: 'sh: 1: pytset: not found\n', timedOut: false }
      : { exitCode: 0, output: '', timedOut: false }
  const cause =
    'verify `pytset -q` cannot run on this machine for role "default" (looked for before any agent worked: ' +
    '`command -v pytset` found nothing). `pytset` was not found there: install it (or put it on PATH), or correct ' +
    'the verify in the task files that give it; then `tanuki project resume`'
  const paidFor = (h: ReturnType<typeof harness>): string[] => h.backend.runs.map((run) => run.taskId).sort()

  it('costs no paid try, however many agents start at once: the tasks wait, saying why, and the rest goes on', async () => {
    const h = harness(
      {
        agents: { default: { count: 3 } },
        tasks: tasks(
          { id: 'a', completion: { verify: 'pytset -q' } },
          { id: 'b', completion: { verify: 'pytset -q' } },
          { id: 'c', completion: { verify: 'pytset -q' } },
          { id: 'd', completion: { verify: 'pytset -q' } },
          { id: 'typo-free', priority: 'low', completion: { verify: 'pytest -q' } },
        ),
      },
      { backend: { exec: noPytset, missingPrograms: ['pytset'] } },
    )
    await h.orchestrator.start()
    const summary = await h.orchestrator.done()

    expect(paidFor(h)).toEqual(['typo-free'])
    for (const id of ['a', 'b', 'c', 'd']) {
      expect(h.orchestrator.task(id)).toMatchObject({
        status: 'pending',
        iterations: 0,
        attempts: 0,
        reason: `waits: ${cause}`,
      })
    }
    expect(h.orchestrator.task('typo-free')?.status).toBe('complete')
    expect(h.all('task:failed')).toEqual([])
    expect(h.all('verify:blocked')).toHaveLength(1)
    expect(h.all('verify:blocked')[0]).toMatchObject({
      role: 'default',
      command: 'pytset -q',
      program: 'pytset',
      cause,
    })
    expect(summary.verifyBlocked).toEqual([
      {
        role: 'default',
        command: 'pytset -q',
        cause,
        tasks: ['a', 'b', 'c', 'd'],
        sources: ['tanuki.config (tasks)'],
      },
    ])
  })

  it('looks for a program found outside the workspace once per role, not once per task', async () => {
    const h = harness(
      {
        agents: { api: { count: 1 } },
        tasks: tasks(
          { id: 'a', completion: { verify: 'pytest -q' } },
          { id: 'b', completion: { verify: 'pytest tests/b.py' } },
          { id: 'c', completion: { verify: 'cd api && CI=1 pytest' } },
          { id: 'x', role: 'api', completion: { verify: 'pytest -q' } },
          { id: 'y', role: 'api', completion: { verify: 'pytest -q' } },
        ),
      },
      { backend: { exec: () => ({ exitCode: 0, output: '', timedOut: false }) } },
    )
    await h.orchestrator.start()
    expect(await h.orchestrator.done()).toMatchObject({ allComplete: true })
    expect(h.backend.probes.map(({ program, agent }) => `${agent}:${program}`).sort()).toEqual([
      'api-1:pytest',
      'default-1:pytest',
    ])
  })

  it('holds nothing for a program the verify names in the workspace: the agent writes it', async () => {
    const h = harness(
      {
        tasks: tasks({ id: 'script', completion: { verify: './run_tests.sh', maxIterations: 2 } }),
      },
      {
        backend: {
          missingPrograms: ['./run_tests.sh'],
          script: () => ({ type: 'succeed', files: { './run_tests.sh': '#!/bin/sh\n' } }),
          exec: (command, files) =>
            files.has(command)
              ? { exitCode: 0, output: '', timedOut: false }
              : { exitCode: 127, output: `sh: 1: ${command}: not found\n`, timedOut: false },
        },
      },
    )
    await h.orchestrator.start()
    expect(await h.orchestrator.done()).toMatchObject({ allComplete: true })
    expect(h.backend.probes).toEqual([])
    expect(h.orchestrator.task('script')?.iterations).toBe(1)
  })

  it('a task whose verify a person corrects is given an agent at once; a resume after the fix runs the others', async () => {
    const store = createMemoryStore()
    const typo = (id: string, verify = 'pytset -q') => createTask({ id, title: `Task ${id}`, completion: { verify } })
    const source = createMemorySource([typo('a'), typo('b'), typo('c')])
    const first = harness(
      { stopWhenSettled: false },
      { store, sources: [source], backend: { exec: noPytset, missingPrograms: ['pytset'] } },
    )
    await first.orchestrator.start()
    await first.when('verify:blocked')
    source.change({ type: 'changed', task: typo('b', 'pytest -q') })
    await first.when('task:completed', (e) => e.taskId === 'b')
    expect(paidFor(first)).toEqual(['b'])
    await first.orchestrator.stop()

    // `pytset` installed: the resume runs the verify held once, before any agent works, then all.
    const second = harness(
      { tasks: [] },
      {
        store,
        sources: [createMemorySource([typo('a'), typo('b', 'pytest -q'), typo('c')])],
        backend: { exec: () => ({ exitCode: 0, output: '', timedOut: false }) },
      },
    )
    await second.orchestrator.start()
    expect(await second.orchestrator.done()).toMatchObject({ allComplete: true })
    expect(paidFor(second)).toEqual(['a', 'c'])
    expect(second.all('verify:unblocked')).toHaveLength(1)
  })
})
