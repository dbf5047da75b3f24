import type { TanukiEventName, TanukiEvents } from '@tanuki/core'
import { describe, expect, it } from 'vitest'
import { colors } from '../format.ts'
import { RunModel } from '../model/index.ts'
import { renderSummary } from '../summary/index.ts'
import { describeEvent } from './lines.ts'

const plain = colors(false)
const CAUSE = 'could not start no-such-agent: "no-such-agent" was not found'

/** A run whose only try never started: its agent's command is missing. */
function failedStart(): { model: RunModel; finished: TanukiEvents['iteration:finished'] } {
  const model = new RunModel()
  const feed = <E extends TanukiEventName>(name: E, event: TanukiEvents[E]): void => model.apply(name, event)
  feed('project:loaded', {
    total: 1,
    ready: 1,
    recovered: [],
    tasks: [{ id: 'T-1', title: 'Task T-1', role: 'dev', priority: 'medium', status: 'pending', dependsOn: [] }],
    at: 1,
  })
  feed('iteration:started', { taskId: 'T-1', agent: 'dev-1', iteration: 1, maxIterations: 30, prompt: 'p', at: 2 })
  const finished: TanukiEvents['iteration:finished'] = {
    taskId: 'T-1',
    agent: 'dev-1',
    iteration: 1,
    maxIterations: 30,
    outcome: 'retry',
    reason: CAUSE,
    output: '',
    exitCode: 127,
    failure: { class: 'could-not-start', cause: CAUSE },
    durationMs: 125,
    at: 3,
  }
  feed('iteration:finished', finished)
  return { model, finished }
}

describe('an agent that could not start', () => {
  it('the console says the agent could not start and that no iteration ran, not "iteration 1/30: retry"', () => {
    const { model, finished } = failedStart()
    // `--verbose` shows the try's start first: it says the iteration is starting, not that it started.
    const started = { taskId: 'T-1', agent: 'dev-1', iteration: 1, maxIterations: 30, prompt: 'p', at: 2 }
    expect(describeEvent('iteration:started', started, model, plain).map((line) => line.text)).toEqual([
      '… T-1 iteration 1/30 starting on dev-1',
    ])
    expect(describeEvent('iteration:finished', finished, model, plain).map((line) => line.text)).toEqual([
      `… T-1: agent dev-1 could not start, no iteration ran [could-not-start] — ${CAUSE} (125ms)`,
    ])
  })

  it('is not counted as an iteration in the model or the summary', () => {
    const { model } = failedStart()
    expect(model.tasks.get('T-1')?.iterations).toBe(0)
    expect(renderSummary(model)).toContain('| T-1 | Task T-1 | dev | pending | — | 0 |')
  })
})
