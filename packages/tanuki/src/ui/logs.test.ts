import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { createMemoryBackend, createOrchestrator, createTask } from '@tanuki/core'
import { statePaths } from '../paths.ts'
import { createStateReporter } from '../state.ts'
import { parseIterationLog, readIterations } from './logs.ts'

const dirs: string[] = []
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

describe('iteration logs, read back for the dashboard', () => {
  it('gives every iteration the state reporter wrote: prompt, output, outcome, reason, usage and verify', async () => {
    const root = mkdtempSync(join(tmpdir(), 'tanuki-ui-logs-'))
    dirs.push(root)
    const paths = statePaths(root)
    const backend = createMemoryBackend({
      script: ({ iteration }) =>
        iteration === 1
          ? { type: 'succeed', output: 'first try\n## Result: inside the output\n' }
          : { type: 'succeed', output: 'second try: DONE' },
      exec: () => ({ exitCode: 0, output: 'checked\n', timedOut: false }),
    })
    const state = createStateReporter({ paths, status: () => orchestrator.status(), onError: () => {} })
    const orchestrator = createOrchestrator({
      config: {
        cooldownMs: 0,
        tasks: [
          createTask({ id: 'a', title: 'A', body: 'Do A.', completion: { signal: 'DONE', verify: 'echo checked' } }),
        ],
      },
      backends: [backend],
      reporters: [state],
    })
    await orchestrator.start()
    await orchestrator.done()

    const iterations = readIterations(paths, 'a')
    expect(iterations).toHaveLength(2)
    const [first, second] = iterations
    expect(first).toMatchObject({ number: 1, iteration: 1, maxIterations: 30, outcome: 'retry' })
    expect(first!.agent).toMatch(/^default-/)
    expect(first!.prompt).toContain('Do A.')
    expect(first!.output).toContain('## Result: inside the output')
    expect(first!.reason).toMatch(/signal/)
    expect(second).toMatchObject({ number: 2, iteration: 2, outcome: 'complete' })
    expect(second!.output).toContain('second try: DONE')
    expect(second!.verify).toMatchObject({ command: 'echo checked', exitCode: 0 })
    expect(second!.verify!.output).toContain('checked')
    expect(Date.parse(second!.startedAt!)).not.toBeNaN()
  })

  it('reads the usage and a timed-out verify as the state reporter writes them', async () => {
    const root = mkdtempSync(join(tmpdir(), 'tanuki-ui-logs-'))
    dirs.push(root)
    const paths = statePaths(root)
    const state = createStateReporter({ paths, status: () => ({}) as never, onError: () => {} })
    const base = { taskId: 'b', agent: 'x-1', iteration: 1, maxIterations: 2 }
    state.onIterationStarted!({ ...base, prompt: 'Do B.', at: Date.UTC(2026, 0, 1) })
    state.onIterationOutput!({ ...base, stream: 'stdout', text: '{"type":"result","result":"ok"}\n' })
    state.onIterationFinished!({
      ...base,
      outcome: 'retry',
      reason: 'verify timed out',
      output: 'ok',
      usage: { inputTokens: 10, outputTokens: 5, costUsd: 0.002 },
      verify: { command: 'npm test', exitCode: null, output: 'still running\n', timedOut: true, durationMs: 9 },
      durationMs: 10,
      at: Date.UTC(2026, 0, 1, 0, 1),
    })
    await state.flush()
    expect(readIterations(paths, 'b')).toEqual([
      {
        number: 1,
        iteration: 1,
        maxIterations: 2,
        agent: 'x-1',
        startedAt: '2026-01-01T00:00:00.000Z',
        prompt: 'Do B.',
        output: '{"type":"result","result":"ok"}\n',
        outcome: 'retry',
        reason: 'verify timed out',
        usage: { inputTokens: 10, outputTokens: 5, costUsd: 0.002 },
        verify: { command: 'npm test', exitCode: null, timedOut: true, output: 'still running\n' },
      },
    ])
  })

  it('reads a log still being written: the output so far, no outcome yet', () => {
    const text =
      '# a — iteration 1/3 on default-1 at 2026-01-01T00:00:00.000Z\n\n## Prompt\n\nDo it.\n## Agent output\n\nworking…\n'
    expect(parseIterationLog(text, 1)).toEqual({
      number: 1,
      iteration: 1,
      maxIterations: 3,
      agent: 'default-1',
      startedAt: '2026-01-01T00:00:00.000Z',
      prompt: 'Do it.',
      output: 'working…\n',
    })
  })
})
