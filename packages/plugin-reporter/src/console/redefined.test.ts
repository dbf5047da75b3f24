import type { TanukiEvents } from '@tanuki/core'
import { describe, expect, it } from 'vitest'
import { colors } from '../format.ts'
import { RunModel } from '../model/index.ts'
import { describeEvent } from './lines.ts'

const plain = colors(false)

const redefined = (extra: Partial<TanukiEvents['task:redefined']> = {}): TanukiEvents['task:redefined'] => ({
  taskId: 'S-titleCase',
  title: 'Title case',
  role: 'default',
  priority: 'medium',
  dependsOn: [],
  at: 1,
  ...extra,
})

describe('an edit of a task', () => {
  it('of a running one is said once, with what it changes for the task', () => {
    const lines = describeEvent('task:redefined', redefined({ whileRunning: ['verify'] }), new RunModel(), plain)
    expect(lines).toEqual([
      {
        level: 'info',
        text: '↻ S-titleCase: verify changed while it runs; the new verify judges its tries from now on, the one under way too if it is not judged yet',
      },
    ])
    const body = describeEvent(
      'task:redefined',
      redefined({ whileRunning: ['body', 'max_iterations'] }),
      new RunModel(),
      plain,
    )
    expect(body.map((line) => line.text)).toEqual([
      '↻ S-titleCase: body, max_iterations changed while it runs; its next prompt has the new body; its tries are counted against the new max_iterations',
    ])
  })

  it('of one that does not run is not a line of its own: it is taken when it next runs', () => {
    expect(describeEvent('task:redefined', redefined(), new RunModel(), plain)).toEqual([])
  })

  it('of a complete one says once what changed since it ran, that it does not run again, and how to run it', () => {
    const lines = describeEvent(
      'task:redefined',
      redefined({ sinceComplete: ['title', 'verify'] }),
      new RunModel(),
      plain,
    )
    expect(lines).toEqual([
      {
        level: 'failure',
        text: '! S-titleCase is complete, and its title, verify changed since it ran: the edit does not run it again. To run it as it is now: `tanuki task rerun S-titleCase`',
      },
    ])
  })
})
