import type { TanukiEvents } from '@tanuki/core'
import { describe, expect, it } from 'vitest'
import { colors } from '../format.ts'
import { RunModel } from '../model/index.ts'
import { describeEvent } from './lines.ts'

const plain = colors(false)

const started = (extra: Partial<TanukiEvents['iteration:started']> = {}): TanukiEvents['iteration:started'] => ({
  taskId: 'T-1',
  agent: 'default-1',
  iteration: 3,
  maxIterations: 3,
  prompt: 'p',
  at: 1,
  ...extra,
})

const said = (event: TanukiEvents['iteration:started']) =>
  describeEvent('iteration:started', event, new RunModel(), plain).map((line) => [line.level, line.text])

describe('a last try run once more', () => {
  it('says one line why try 3/3 runs again', () => {
    expect(said(started({ again: 'crash' }))).toEqual([
      ['info', '↻ T-1: its last try (3/3) was cut off (the run crashed or was killed); running it once more'],
      ['detail', '… T-1 iteration 3/3 starting on default-1'],
    ])
    expect(said(started({ again: 'lost' }))[0]).toEqual([
      'info',
      '↻ T-1: its last try (3/3) was cut off (its agent was lost); running it once more',
    ])
  })

  it('says nothing more of a try that is not run again', () => {
    expect(said(started())).toEqual([['detail', '… T-1 iteration 3/3 starting on default-1']])
  })

  it('its end counts the tries of this run as max_iterations and those run again, not 3 of 4', () => {
    const ended = (iterations: number): string => {
      const model = new RunModel()
      model.apply('iteration:started', started({ again: 'crash' }))
      const review: TanukiEvents['task:review'] = { taskId: 'T-1', agent: 'default-1', reason: 'r', iterations, at: 2 }
      return describeEvent('task:review', review, model, plain)[0]!.text
    }
    expect(ended(4)).toBe('! T-1 needs review after 3 iterations +1 again: r')
    // Rerun after 4 earlier tries.
    expect(ended(8)).toBe('! T-1 needs review after 3 iterations +1 again (8 in all, with its earlier runs): r')
  })
})
