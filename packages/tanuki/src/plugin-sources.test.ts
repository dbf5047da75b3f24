import { describe, expect, it } from 'vitest'
import { TanukiError, createTask, resolveConfig, type TanukiPlugin } from '@tanuki/core'
import { readPluginTasks } from './plugin-sources.ts'

const project = { root: '/nowhere', name: 'p', stateDir: '/nowhere/.tanuki' }

describe('readPluginTasks', () => {
  it('names the plugin and source of each task, and of each source that fails, keeping the others', async () => {
    const torn: string[] = []
    const tracker: TanukiPlugin = {
      name: 'acme:tracker',
      setup(ctx) {
        ctx.registerTaskSource({
          name: 'bugs',
          load: async () => [createTask({ id: 'B-1', title: 'Bug' })],
          update() {},
        })
        ctx.registerTaskSource({
          name: 'epics',
          load: () => Promise.reject(new Error('the tracker is down (503)')),
          update() {},
        })
      },
      teardown: () => void torn.push('acme:tracker'),
    }
    const sheet: TanukiPlugin = {
      name: 'acme:sheet',
      setup(ctx) {
        ctx.registerTaskSource({
          name: 'acme:sheet',
          load: async () => [createTask({ id: 'S-1', title: 'Row' })],
          update() {},
        })
      },
      teardown: () => void torn.push('acme:sheet'),
    }
    const read = await readPluginTasks(resolveConfig({ plugins: [tracker, sheet] }), project, 'tanuki.config.mjs')
    expect(read.tasks.map((task) => [task.id, read.origins.get(task)])).toEqual([
      ['B-1', { plugin: 'acme:tracker', source: 'bugs' }],
      ['S-1', { plugin: 'acme:sheet', source: 'acme:sheet' }],
    ])
    expect(read.errors.map((error) => error.message)).toEqual([
      'task source "epics" of plugin "acme:tracker": the tracker is down (503). Its tasks are left out until it loads; ' +
        'fix what it says, or take the plugin out of `plugins` in tanuki.config.mjs.',
    ])
    expect(read.errors[0]!.details).toEqual({ plugin: 'acme:tracker', source: 'epics' })
    // Set up only to be read: torn down again, in reverse.
    expect(torn).toEqual(['acme:sheet', 'acme:tracker'])
  })

  it('names the plugin whose setup threw, even when its own error does not', async () => {
    const broken: TanukiPlugin = {
      name: 'acme:tracker',
      setup() {
        throw new TanukiError('TANUKI_CONFIG_INVALID', 'ACME_TOKEN is not set')
      },
    }
    const read = await readPluginTasks(resolveConfig({ plugins: [broken] }), project)
    expect(read.tasks).toEqual([])
    expect(read.errors).toHaveLength(1)
    expect(read.errors[0]!.code).toBe('TANUKI_PLUGIN_FAILED')
    expect(read.errors[0]!.message).toMatch(
      /^plugin "acme:tracker" failed to set up: ACME_TOKEN is not set\. The tasks of plugins' task sources are left out until it does; /,
    )
  })
})
