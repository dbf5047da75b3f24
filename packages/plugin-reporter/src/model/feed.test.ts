import { describe, expect, it } from 'vitest'
import { definePlugin, hookName, resolveConfig, setupPlugins, type PluginContext } from '@tanuki/core'
import { loadFixture } from '../../test/support.ts'
import { consoleReporter } from '../console/index.ts'
import { junitReporter } from '../junit/index.ts'
import { summaryReporter } from '../summary/index.ts'
import { ModelFeed, RunModel, sharedFeed } from './index.ts'

/** A stream that keeps nothing. */
const sink = { write: () => true }

describe('ModelFeed', () => {
  it('folds each event once, however many reporters of the run share it', async () => {
    const events = loadFixture()
    const alone = new RunModel()
    for (const { name, payload } of events) alone.apply(name, payload as never)
    // The console's, the summary's and JUnit's plugins, set up together, get one feed.
    let run: PluginContext['config'] | undefined
    const config = resolveConfig({
      plugins: [
        consoleReporter({ stream: sink, mode: 'plain' }),
        summaryReporter({ stream: false, path: false }),
        junitReporter({ path: '/dev/null' }),
        definePlugin({ name: 'test:peek', setup: (ctx) => void (run = ctx.config) }),
      ],
    })
    const { reporters } = await setupPlugins(config, { name: 'feed', root: process.cwd(), stateDir: '.tanuki' })
    expect(reporters).toHaveLength(3)
    // As the orchestrator does: every reporter gets an event (`onEvent`, then its hook) before the next.
    for (const { name, payload } of events) {
      for (const reporter of reporters) {
        reporter.onEvent?.(name, payload as never)
        ;(reporter[hookName(name)] as ((event: unknown) => void) | undefined)?.call(reporter, payload)
      }
    }
    // Folded three times, the usage would be summed three times, the requeues counted three times.
    const shared = sharedFeed(run!)
    expect(shared.model.usage()).toEqual(alone.usage())
    expect([...shared.model.tasks.values()]).toEqual([...alone.tasks.values()])
    expect([...shared.model.tasks.values()].some((task) => task.requeues > 0)).toBe(true)
  })

  it('a feed is shared by its key only, and each setup of the plugins has a key of its own', async () => {
    const keys: object[] = []
    const config = resolveConfig({
      plugins: [definePlugin({ name: 'test:peek', setup: (ctx) => void keys.push(ctx.config) })],
    })
    await setupPlugins(config, { name: 'a', root: process.cwd(), stateDir: '.tanuki' })
    await setupPlugins(config, { name: 'a', root: process.cwd(), stateDir: '.tanuki' })
    expect(sharedFeed(keys[0]!)).not.toBe(sharedFeed(keys[1]!))
    expect(sharedFeed(keys[0]!)).toBe(sharedFeed(keys[0]!))
    expect(new ModelFeed().model).not.toBe(new ModelFeed().model)
  })
})

describe('the iterations a task keeps', () => {
  it('a task sent back to pending takes the count its status event carries: a try a stop cut short is not one', () => {
    const model = new RunModel()
    model.apply('iteration:started', {
      taskId: 'T-1',
      agent: 'dev-1',
      iteration: 1,
      maxIterations: 1,
      prompt: 'p',
      at: 2,
    })
    expect(model.tasks.get('T-1')?.iterations).toBe(1)
    model.apply('task:status', {
      taskId: 'T-1',
      from: 'in_progress',
      to: 'pending',
      reason: 'run stopped; it will start over',
      iterations: 0,
      at: 3,
    })
    expect(model.tasks.get('T-1')?.iterations).toBe(0)
    // Events of older cores carry none: the count stands.
    model.apply('iteration:started', {
      taskId: 'T-1',
      agent: 'dev-1',
      iteration: 1,
      maxIterations: 1,
      prompt: 'p',
      at: 4,
    })
    model.apply('task:status', { taskId: 'T-1', from: 'in_progress', to: 'pending', at: 5 })
    expect(model.tasks.get('T-1')?.iterations).toBe(1)
  })
})
