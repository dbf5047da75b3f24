import { describe, expect, it } from 'vitest'
import { VirtualClock, tick, until } from '../../test/fixtures/virtual-clock.ts'
import type { Agent, OutputChunk } from '../agent/types.ts'
import { isTanukiError } from '../errors.ts'
import { createTask } from '../task/parse.ts'
import type { CompletionCriteria } from '../task/types.ts'
import { createMemoryBackend, type MemoryBackend, type MemoryBackendOptions } from '../testing/memory-backend.ts'
import { Validator, type Validation } from '../validator/index.ts'
import { Runner, buildPrompt } from './index.ts'

const project = { root: '/project', name: 'project', stateDir: '/project/.tanuki' }

function task(completion: Partial<CompletionCriteria>, body = 'Write out.txt with the greeting.') {
  return createTask({ id: 'greet', title: 'Write the greeting', body, completion })
}

async function setup(options: MemoryBackendOptions = {}): Promise<{ backend: MemoryBackend; agent: Agent }> {
  const backend = createMemoryBackend(options)
  const agent = await backend.spawn({ name: 'w-1', role: 'default', options: {}, project })
  return { backend, agent }
}

/** Settles a promise into a value or its error, so a test can look at a rejection without `expect.rejects` timing. */
function settle<T>(promise: Promise<T>): { done: () => boolean; value: () => T | undefined; error: () => unknown } {
  let state: { value?: T; error?: unknown; done: boolean } = { done: false }
  promise.then(
    (value) => (state = { value, done: true }),
    (error: unknown) => (state = { error, done: true }),
  )
  return { done: () => state.done, value: () => state.value, error: () => state.error }
}

describe('buildPrompt', () => {
  it('has the title, the body, the try number and how completion is checked', () => {
    const prompt = buildPrompt(task({ verify: 'test -f out.txt', signal: 'GREETED', maxIterations: 4 }), 1)
    expect(prompt).toContain('# Write the greeting\n')
    expect(prompt).toContain('Task greet (try 1 of 4).')
    expect(prompt).toContain('Write out.txt with the greeting.')
    expect(prompt).toContain('Tanuki runs `test -f out.txt` in your working directory; it must exit with code 0.')
    expect(prompt).toContain('say `GREETED` in your final message')
    expect(prompt).not.toContain('Previous try')
  })

  it('leaves out what the task does not use', () => {
    const prompt = buildPrompt(task({ signal: 'S' }, '   \n'), 2)
    expect(prompt).not.toContain('Tanuki runs')
    expect(prompt).toBe(
      '# Write the greeting\n\nTask greet (try 2 of 30).\n\n## How this task is checked\n\n- When the work is done, say `S` in your final message (and not before).\n',
    )
  })

  it('carries the reason and the tail of the previous verify output', () => {
    const validation: Validation = {
      outcome: 'retry',
      reason: 'verify exited with code 1: npm test',
      verify: {
        command: 'npm test',
        exitCode: 1,
        output: '\nFAIL users.test.ts\n  expected 200, got 500\n',
        timedOut: false,
        durationMs: 5,
      },
    }
    const prompt = buildPrompt(task({ verify: 'npm test' }), 2, { iteration: 1, validation })
    expect(prompt).toContain('## Previous try (1) did not pass\n\nverify exited with code 1: npm test.')
    expect(prompt).toContain('`npm test` printed:\n\n```\nFAIL users.test.ts\n  expected 200, got 500\n```')
    expect(prompt.trimEnd().endsWith('Fix what it shows, then finish the task.')).toBe(true)
  })

  it('keeps only the last 4000 characters of a long verify output', () => {
    const output = `${'a'.repeat(10_000)}THE END`
    const validation: Validation = {
      outcome: 'retry',
      reason: 'r',
      verify: { command: 'c', exitCode: 1, output, timedOut: false, durationMs: 1 },
    }
    const prompt = buildPrompt(task({ verify: 'c' }), 2, { iteration: 1, validation })
    expect(prompt).toContain(`\`\`\`\n…${output.slice(-4000)}\n\`\`\``)
    expect(prompt).not.toContain('a'.repeat(4001))
  })

  it('shows no output block when verify printed nothing or did not run', () => {
    const silent: Validation = {
      outcome: 'retry',
      reason: 'r',
      verify: { command: 'c', exitCode: 1, output: '  \n', timedOut: false, durationMs: 1 },
    }
    expect(buildPrompt(task({ verify: 'c' }), 2, { iteration: 1, validation: silent })).not.toContain('printed')
    const noVerify: Validation = { outcome: 'retry', reason: 'signal "S" not in the agent\'s output' }
    const prompt = buildPrompt(task({ signal: 'S' }), 2, { iteration: 1, validation: noVerify })
    expect(prompt).toContain(`signal "S" not in the agent's output.`)
    expect(prompt).not.toContain('printed')
  })
})

describe('buildPrompt after a landing gate failed', () => {
  it('carries what the gate printed, and says so when it printed nothing, rather than an empty block', () => {
    const loud = buildPrompt(task({ verify: 'c' }), 2, undefined, [
      { kind: 'gate', command: 'npm test', exitCode: 1, output: 'FAIL a.test.ts\n' },
    ])
    expect(loud).toContain('`npm test` exited with 1 and printed:\n\n```\nFAIL a.test.ts\n```')
    const silent = buildPrompt(task({ verify: 'c' }), 2, undefined, [
      { kind: 'gate', command: 'test -f x', exitCode: 1, output: ' \n' },
    ])
    expect(silent).toContain(
      'On top of what has landed, `test -f x` exited with 1 (the command printed nothing).\n\nMake it pass combined',
    )
    expect(silent).not.toContain('```')
  })
})

describe('Runner', () => {
  it('a stop that comes while an iteration is granted (its budget reserved) starts no agent run', async () => {
    const { backend, agent } = await setup()
    const controller = new AbortController()
    const runner = new Runner({ validator: new Validator(), cooldownMs: 0 })
    const outcome = runner.run(task({ signal: 'GREETED' }), agent, {
      signal: controller.signal,
      hooks: {
        beforeIteration: async () => {
          await Promise.resolve()
          controller.abort('orchestrator stopping')
          return {}
        },
      },
    })
    await expect(outcome).rejects.toMatchObject({ code: 'TANUKI_ABORTED' })
    expect(backend.runs).toHaveLength(0)
  })

  it('runs the agent with the prompt and completes on the first passing try', async () => {
    const { backend, agent } = await setup()
    const runner = new Runner({ validator: new Validator(), cooldownMs: 0 })
    const outcome = await runner.run(task({ signal: 'GREETED' }), agent, { signal: new AbortController().signal })
    expect(outcome).toEqual({
      status: 'complete',
      iterations: 1,
      reason: 'signal "GREETED" found',
      validation: { outcome: 'complete', reason: 'signal "GREETED" found', signalFound: true },
    })
    expect(backend.runs).toHaveLength(1)
    expect(backend.runs[0]!.prompt).toBe(buildPrompt(task({ signal: 'GREETED' }), 1))
    expect(backend.runs[0]!.prompt).toContain('Write out.txt with the greeting.')
  })

  it('gives the second try what verify printed on the first', async () => {
    let checks = 0
    const { backend, agent } = await setup({
      exec: () =>
        ++checks === 1
          ? { exitCode: 1, output: 'FAIL: greeting is empty\n', timedOut: false }
          : { exitCode: 0, output: 'ok\n', timedOut: false },
    })
    const runner = new Runner({ validator: new Validator(), cooldownMs: 0 })
    const outcome = await runner.run(task({ verify: 'check' }), agent, { signal: new AbortController().signal })
    expect(outcome.status).toBe('complete')
    expect(outcome.iterations).toBe(2)
    expect(backend.runs.map((run) => run.iteration)).toEqual([1, 2])
    expect(backend.runs[0]!.prompt).not.toContain('FAIL: greeting is empty')
    expect(backend.runs[1]!.prompt).toContain('## Previous try (1) did not pass')
    expect(backend.runs[1]!.prompt).toContain('FAIL: greeting is empty')
    expect(backend.runs[1]!.prompt).toContain('Task greet (try 2 of 30).')
  })

  it('sends the task to review after max_iterations tries', async () => {
    const { backend, agent } = await setup({ script: () => ({ type: 'succeed', output: 'not yet' }) })
    const outcome = await new Runner({ validator: new Validator(), cooldownMs: 0 }).run(
      task({ signal: 'DONE', maxIterations: 3 }),
      agent,
      {
        signal: new AbortController().signal,
      },
    )
    expect(outcome.status).toBe('review')
    expect(outcome.iterations).toBe(3)
    expect(outcome.reason).toContain('no tries left (3)')
    expect(backend.runs).toHaveLength(3)
  })

  it('waits out an outage uncounted, but only sameFailureLimit times in a row for one task; then the tries count', async () => {
    const failure = { class: 'rate-limited' as const, cause: 'the API is unavailable (500): boom', outage: true }
    const { backend, agent } = await setup({ script: () => ({ type: 'fail', error: 'boom', failure }) })
    let parks = 0
    const outcome = await new Runner({ validator: new Validator(), cooldownMs: 0, sameFailureLimit: 3 }).run(
      task({ signal: 'DONE', maxIterations: 30 }),
      agent,
      { signal: new AbortController().signal, hooks: { onRateLimited: async () => void parks++ } },
    )
    // 3 outages waited out, then counted tries until the same failure 3 times in a row: review.
    expect(parks).toBe(3)
    expect(outcome).toMatchObject({ status: 'review', iterations: 3 })
    expect(outcome.reason).toContain("the API failed this task's request")
    expect(backend.runs).toHaveLength(6)
    // A plain limit is waited out every time (its reset comes).
    let limits = 0
    const limited = { class: 'rate-limited' as const, cause: 'usage limit' }
    const again = await setup({
      script: () =>
        limits < 5 ? { type: 'fail', error: 'limit', failure: limited } : { type: 'succeed', output: 'DONE' },
    })
    const done = await new Runner({ validator: new Validator(), cooldownMs: 0, sameFailureLimit: 3 }).run(
      task({ signal: 'DONE' }),
      again.agent,
      { signal: new AbortController().signal, hooks: { onRateLimited: async () => void limits++ } },
    )
    expect(done).toMatchObject({ status: 'complete', iterations: 1 })
    expect(again.backend.runs).toHaveLength(6)
  })

  it('sends a task without completion criteria to review after its first run without an error', async () => {
    let tries = 0
    const { backend, agent } = await setup({
      script: () => (++tries === 1 ? { type: 'fail', error: 'exit code 2' } : { type: 'succeed', output: 'done' }),
    })
    const open = createTask({ id: 'open', title: 'Tidy the docs' })
    const outcome = await new Runner({ validator: new Validator(), cooldownMs: 0 }).run(open, agent, {
      signal: new AbortController().signal,
    })
    expect(outcome.status).toBe('review')
    expect(outcome.iterations).toBe(2)
    expect(outcome.reason).toContain('a person reviews it')
    expect(backend.runs).toHaveLength(2)
    expect(backend.runs[0]!.prompt).toContain('Nothing is checked automatically')
  })

  it('stops at once with failed when verify cannot run', async () => {
    const { backend, agent } = await setup()
    const outcome = await new Runner({ validator: new Validator(), cooldownMs: 0 }).run(
      task({ verify: 'no-such-shell-command' }),
      agent,
      {
        signal: new AbortController().signal,
      },
    )
    expect(outcome.status).toBe('failed')
    expect(outcome.reason).toContain('verify could not run')
    expect(backend.runs).toHaveLength(1)
  })

  it('halts at once when verify cannot run where the agent works (exit 127): the task is not to blame', async () => {
    const { backend, agent } = await setup({
      exec: () => ({ exitCode: 127, output: 'sh: 1: pytest: not found\n', timedOut: false }),
    })
    const outcome = await new Runner({ validator: new Validator(), cooldownMs: 0 }).run(
      task({ verify: 'pytest -q', maxIterations: 5 }),
      agent,
      { signal: new AbortController().signal },
    )
    expect(outcome).toMatchObject({
      status: 'halted',
      iterations: 1,
      failure: {
        class: 'verify-could-not-run',
        unrunnable: { command: 'pytest -q', exitCode: 127, program: 'pytest' },
      },
    })
    expect(backend.runs).toHaveLength(1)
  })

  it('waits the cooldown on its clock between tries, doubling it after each failed try in a row', async () => {
    const clock = new VirtualClock()
    const { backend, agent } = await setup({
      script: ({ iteration }) => ({ type: 'succeed', output: iteration === 3 ? 'DONE' : 'working' }),
    })
    const runner = new Runner({ validator: new Validator(), cooldownMs: 1000, clock })
    const run = settle(runner.run(task({ signal: 'DONE' }), agent, { signal: new AbortController().signal }))
    await until(() => clock.pending().length > 0)
    expect(backend.runs).toHaveLength(1)
    expect(clock.pending()).toEqual([1000])
    clock.advance(999)
    for (let i = 0; i < 5; i++) await tick()
    expect(backend.runs).toHaveLength(1)
    clock.advance(1)
    await until(() => backend.runs.length === 2 && clock.pending().length > 0)
    expect(clock.pending()).toEqual([2000])
    clock.advance(1999)
    for (let i = 0; i < 5; i++) await tick()
    expect(backend.runs).toHaveLength(2)
    clock.advance(1)
    await until(run.done)
    expect(run.value()).toMatchObject({ status: 'complete', iterations: 3 })
    expect(backend.runs).toHaveLength(3)
  })

  it('reports each iteration through its hooks, with durations from its clock', async () => {
    const clock = new VirtualClock()
    const { agent } = await setup({
      script: ({ iteration }) => ({ type: 'succeed', output: iteration === 2 ? 'DONE' : 'half' }),
    })
    const events: string[] = []
    const chunks: OutputChunk[] = []
    const runner = new Runner({ validator: new Validator(), cooldownMs: 0, clock })
    await runner.run(task({ signal: 'DONE' }), agent, {
      signal: new AbortController().signal,
      hooks: {
        onIterationStart: (iteration, prompt) => events.push(`start ${iteration} ${prompt.includes('Previous try')}`),
        onOutput: (iteration, chunk) => (events.push(`output ${iteration}`), chunks.push(chunk)),
        onIterationEnd: (iteration, result, validation, durationMs) =>
          events.push(`end ${iteration} ${result.output} ${validation.outcome} ${durationMs}`),
      },
    })
    expect(events).toEqual([
      'start 1 false',
      'output 1',
      'end 1 half retry 0',
      'start 2 true',
      'output 2',
      'end 2 DONE complete 0',
    ])
    expect(chunks).toEqual([
      { stream: 'stdout', text: 'half' },
      { stream: 'stdout', text: 'DONE' },
    ])
  })

  it('counts an iteration that runs too long as a failed try', async () => {
    const clock = new VirtualClock()
    const { backend, agent } = await setup({
      script: ({ iteration }) => (iteration === 1 ? { type: 'hang' } : { type: 'succeed', output: 'DONE' }),
    })
    const ends: Validation[] = []
    const errors: (string | undefined)[] = []
    const runner = new Runner({ validator: new Validator(), cooldownMs: 0, iterationTimeoutMs: 5000, clock })
    const run = settle(
      runner.run(task({ signal: 'DONE' }), agent, {
        signal: new AbortController().signal,
        hooks: { onIterationEnd: (_i, result, validation) => (errors.push(result.error), ends.push(validation)) },
      }),
    )
    await until(() => backend.runs.length === 1)
    expect(clock.pending()).toEqual([5000])
    clock.advance(5000)
    await until(run.done)
    expect(run.error()).toBeUndefined()
    expect(run.value()).toMatchObject({ status: 'complete', iterations: 2 })
    expect(ends[0]).toEqual({
      outcome: 'retry',
      reason: 'iteration timed out after 5000 ms',
      failure: { class: 'timeout', cause: 'iteration timed out after 5000 ms' },
    })
    expect(errors).toEqual(['timed out', undefined])
    // The second iteration finished in time: its timer was cancelled.
    expect(clock.pending()).toEqual([])
  })

  it('sends a task whose last try times out to review', async () => {
    const clock = new VirtualClock()
    const { agent } = await setup({ script: () => ({ type: 'hang' }) })
    const runner = new Runner({ validator: new Validator(), cooldownMs: 0, iterationTimeoutMs: 100, clock })
    const run = settle(
      runner.run(task({ signal: 'DONE', maxIterations: 1 }), agent, { signal: new AbortController().signal }),
    )
    await until(() => clock.pending().length > 0)
    clock.advance(100)
    await until(run.done)
    expect(run.value()).toMatchObject({ status: 'review', iterations: 1, reason: 'iteration timed out after 100 ms' })
  })

  it('rejects with TANUKI_ABORTED when aborted mid-iteration', async () => {
    const { backend, agent } = await setup({ script: () => ({ type: 'hang' }) })
    const controller = new AbortController()
    const run = settle(
      new Runner({ validator: new Validator(), cooldownMs: 0 }).run(task({ signal: 'S' }), agent, {
        signal: controller.signal,
      }),
    )
    await until(() => backend.runs.length === 1)
    controller.abort('stopping')
    await until(run.done)
    expect(isTanukiError(run.error(), 'TANUKI_ABORTED')).toBe(true)
    expect((run.error() as Error).message).toBe('Aborted: stopping')
  })

  it('rejects with TANUKI_ABORTED when aborted during the cooldown, without another try', async () => {
    const clock = new VirtualClock()
    const { backend, agent } = await setup({ script: () => ({ type: 'succeed', output: 'no' }) })
    const controller = new AbortController()
    const run = settle(
      new Runner({ validator: new Validator(), cooldownMs: 1000, clock }).run(task({ signal: 'S' }), agent, {
        signal: controller.signal,
      }),
    )
    await until(() => clock.pending().length > 0)
    controller.abort()
    await until(run.done)
    expect(isTanukiError(run.error(), 'TANUKI_ABORTED')).toBe(true)
    expect(clock.pending()).toEqual([])
    expect(backend.runs).toHaveLength(1)
  })

  it('rejects at once when the signal is already aborted', async () => {
    const { backend, agent } = await setup()
    const controller = new AbortController()
    controller.abort()
    const error = await new Runner({ validator: new Validator() })
      .run(task({ signal: 'S' }), agent, { signal: controller.signal })
      .catch((e: unknown) => e)
    expect(isTanukiError(error, 'TANUKI_ABORTED')).toBe(true)
    expect(backend.runs).toHaveLength(0)
  })

  it('an abort wins over an iteration timeout', async () => {
    const clock = new VirtualClock()
    const { backend, agent } = await setup({ script: () => ({ type: 'hang' }) })
    const controller = new AbortController()
    const runner = new Runner({ validator: new Validator(), cooldownMs: 0, iterationTimeoutMs: 10, clock })
    const run = settle(runner.run(task({ signal: 'S' }), agent, { signal: controller.signal }))
    await until(() => backend.runs.length === 1)
    controller.abort('stop')
    clock.advance(10)
    await until(run.done)
    expect(isTanukiError(run.error(), 'TANUKI_ABORTED')).toBe(true)
  })

  it('passes an agent crash on to the caller', async () => {
    const { agent } = await setup({ script: () => ({ type: 'die', reason: 'segfault' }) })
    const error = await new Runner({ validator: new Validator(), cooldownMs: 0 })
      .run(task({ signal: 'S' }), agent, { signal: new AbortController().signal })
      .catch((e: unknown) => e)
    expect(isTanukiError(error, 'TANUKI_AGENT_CRASHED')).toBe(true)
    expect((error as Error).message).toBe('agent w-1 died: segfault')
  })

  it('passes a backend error on to the caller, as it was', async () => {
    const { agent } = await setup({ script: () => ({ type: 'throw', message: 'connection reset' }) })
    const error = await new Runner({ validator: new Validator(), cooldownMs: 0 })
      .run(task({ signal: 'S' }), agent, { signal: new AbortController().signal })
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(Error)
    expect(isTanukiError(error)).toBe(false)
    expect((error as Error).message).toBe('connection reset')
  })
})
