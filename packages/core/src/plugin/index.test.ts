import { describe, expect, it } from 'vitest'
import type { AgentBackend } from '../agent/types.ts'
import { leastLoaded, type BalancerStrategy } from '../balancer/index.ts'
import { TanukiError, isTanukiError } from '../errors.ts'
import type { Reporter } from '../reporter/types.ts'
import { createMemorySource } from '../source/memory.ts'
import { createMemoryBackend } from '../testing/memory-backend.ts'
import {
  checkConfig,
  defineConfig,
  definePlugin,
  resolveConfig,
  setupPlugins,
  type TanukiPlugin,
  type UserConfig,
} from './index.ts'
import { CONFIG_KEYS } from './schema.ts'

const project = { root: '/work/app', name: 'app', stateDir: '/work/app/.tanuki' }

function configError(config: unknown): TanukiError {
  try {
    resolveConfig(config as UserConfig)
  } catch (error) {
    if (isTanukiError(error, 'TANUKI_CONFIG_INVALID')) return error
    throw error
  }
  throw new Error('expected TANUKI_CONFIG_INVALID, the config was accepted')
}

describe('definePlugin and defineConfig', () => {
  it('return their input', () => {
    const plugin = { name: 'acme:thing', setup() {} }
    expect(definePlugin(plugin)).toBe(plugin)
    const config: UserConfig = { name: 'x', plugins: [plugin] }
    expect(defineConfig(config)).toBe(config)
  })
})

describe('resolveConfig', () => {
  it('fills in every default', () => {
    expect(resolveConfig()).toEqual({
      name: 'tanuki',
      tasks: [],
      agents: {},
      defaults: { count: 1 },
      balancer: 'least-loaded',
      plugins: [],
      cooldownMs: 1000,
      maxCooldownMs: 5 * 60_000,
      stallTimeoutMs: 10 * 60_000,
      sameFailureLimit: 3,
      maxAgents: {},
      retryLimit: 3,
      iterationTimeoutMs: 30 * 60_000,
      verifyTimeoutMs: 5 * 60_000,
      pollIntervalMs: 5000,
      stopWhenSettled: true,
      maxRespawns: 5,
      mirrorStatus: true,
      land: { enabled: true, auto: true, strategy: 'squash' },
    })
    expect(resolveConfig({}, 'my-folder').name).toBe('my-folder')
  })

  it('flattens nested plugin lists in order, skipping falsy entries at any depth', () => {
    const [a, b, c, d] = ['a', 'b', 'c', 'd'].map((name) => definePlugin({ name }))
    const useD = false as boolean
    const config = resolveConfig({ plugins: [a, [b, [null, c]], [], useD && d] })
    expect(config.plugins.map((plugin) => plugin.name)).toEqual(['a', 'b', 'c'])
  })

  it('keeps what the user set, and drops falsy plugins', () => {
    const plugin = definePlugin({ name: 'a:b' })
    const config = resolveConfig({
      name: 'shop',
      tasksDir: 'work/tasks',
      tasks: [{ id: 't', title: 'T', completion: { signal: 'S' } }],
      agents: { backend: { backend: 'docker', count: 3, image: 'node:20' } },
      defaults: { backend: 'process', model: 'opus' },
      balancer: leastLoaded,
      plugins: [false, plugin, null, undefined],
      cooldownMs: 0,
      retryLimit: 0,
      iterationTimeoutMs: 10,
      verifyTimeoutMs: 20,
      pollIntervalMs: 30,
      stopWhenSettled: false,
      maxRespawns: 1,
    })
    expect(config).toMatchObject({
      name: 'shop',
      tasksDir: 'work/tasks',
      agents: { backend: { backend: 'docker', count: 3, image: 'node:20' } },
      defaults: { backend: 'process', model: 'opus', count: 1 },
      balancer: leastLoaded,
      plugins: [plugin],
      cooldownMs: 0,
      retryLimit: 0,
      iterationTimeoutMs: 10,
      verifyTimeoutMs: 20,
      pollIntervalMs: 30,
      stopWhenSettled: false,
      maxRespawns: 1,
    })
    expect(config.tasks).toHaveLength(1)
    expect('tasksDir' in resolveConfig({})).toBe(false)
  })

  const invalid: [string, unknown, string][] = [
    ['(root)', null, 'must be an object'],
    ['(root)', [], 'must be an object'],
    ['name', { name: '' }, 'non-empty string'],
    ['name', { name: 3 }, 'non-empty string'],
    ['tasksDir', { tasksDir: ['a'] }, 'path string'],
    ['tasks', { tasks: { id: 'a' } }, 'list of tasks'],
    ['tasks', { tasks: './tasks' }, 'the folder of task files is `tasksDir: "./tasks"`'],
    ['agents', { agents: ['web'] }, 'must map role names'],
    ['agents', { agents: null }, 'must map role names'],
    ['agents.web', { agents: { web: 'docker' } }, 'must be an object'],
    ['agents.web.backend', { agents: { web: { backend: 1 } } }, 'backend name'],
    ['agents.web.count', { agents: { web: { count: -1 } } }, 'whole number'],
    ['agents.web.count', { agents: { web: { count: 1.5 } } }, 'whole number'],
    ['agents.web.count', { agents: { web: { count: '2' } } }, 'whole number'],
    ['defaults', { defaults: 'process' }, 'must be an object'],
    ['defaults.backend', { defaults: { backend: false } }, 'backend name'],
    ['defaults.count', { defaults: { count: -3 } }, 'whole number'],
    ['plugins', { plugins: { name: 'x' } }, 'list of plugins'],
    ['plugins[1]', { plugins: [{ name: 'ok' }, { setup() {} }] }, 'plugin object with a name'],
    ['plugins[0]', { plugins: ['tanuki:docker'] }, 'plugin object with a name'],
    ['balancer', { balancer: 7 }, 'strategy name'],
    ['balancer', { balancer: { name: 'x' } }, 'strategy name'],
    ['cooldownMs', { cooldownMs: -1 }, 'milliseconds'],
    ['iterationTimeoutMs', { iterationTimeoutMs: Infinity }, 'milliseconds'],
    ['verifyTimeoutMs', { verifyTimeoutMs: '5m' }, 'milliseconds'],
    ['pollIntervalMs', { pollIntervalMs: Number.NaN }, 'milliseconds'],
    ['stopWhenSettled', { stopWhenSettled: 'yes' }, 'true or false'],
    ['retryLimit', { retryLimit: 2.5 }, 'whole number'],
    ['maxRespawns', { maxRespawns: -1 }, 'whole number'],
  ]
  for (const [key, config, words] of invalid) {
    it(`names the key "${key}" when it is ${JSON.stringify(config) ?? String(config)}`, () => {
      const error = configError(config)
      expect(error.message).toContain(`config key "${key}"`)
      expect(error.message).toContain(words)
      expect(error.details.key).toBe(key)
    })
  }

  it('accepts remote with a redis URL, keeps its other keys for the plugin, and never echoes a password', () => {
    const remote = { redis: 'rediss://redis.internal:6380', stalledIntervalMs: 2000 }
    expect(resolveConfig({ remote }).remote).toEqual(remote)
    expect(resolveConfig({}).remote).toBeUndefined()
    expect(configError({ remote: 'redis://x' }).message).toContain('config key "remote" must be an object')
    const bad = configError({ remote: { redis: 'http://:hunter2@x:6379' } })
    expect(bad.message).toContain('config key "remote.redis" must be a redis:// or rediss:// URL')
    expect(bad.message).not.toContain('hunter2')
  })

  it.each([
    ['iterationTimeoutMs', { iterationTimeoutMs: 0 }, 'milliseconds > 0'],
    ['verifyTimeoutMs', { verifyTimeoutMs: 0 }, 'milliseconds > 0'],
    ['pollIntervalMs', { pollIntervalMs: 0 }, 'milliseconds > 0'],
    ['stallTimeoutMs', { stallTimeoutMs: 0 }, 'milliseconds > 0'],
    ['agents.web.count', { agents: { web: { count: -2 } } }, 'whole number ≥ 0'],
    ['agents.../../x', { agents: { '../../x': { count: 1 } } }, 'not a valid role'],
    ['agents..hidden', { agents: { '.hidden': {} } }, 'not starting with "."'],
    ['tasksDir', { tasksDir: '' }, 'path string'],
    ['mirrorStatus', { mirrorStatus: 'no' }, 'true or false'],
    ['land', { land: 'yes' }, 'must be false or { auto, into, strategy, verify, push, message }'],
    ['land.strategy', { land: { strategy: 'octopus' } }, 'must be "squash", "merge" or "rebase"'],
    ['land.into', { land: { into: '' } }, 'non-empty string'],
    ['land.verfy', { land: { verfy: 'npm test' } }, 'did you mean "verify"?'],
    ['land.message', { land: { message: '{title} ({ticket})' } }, 'names {ticket}, which is no placeholder'],
    ['land.message', { land: { message: 7 } }, 'must be a template string (`feat: {title}`) or a function'],
    ['land.message', { land: { message: '{summary}' } }, 'must say something besides {summary}'],
    ['budget', { budget: 'lots' }, '{ usd, tokens }'],
    ['agents.web.setup', { agents: { web: { setup: ['npm', 'ci'] } } }, 'must be a shell command (a non-empty string)'],
    ['defaults.setup', { defaults: { setup: '  ' } }, 'or false for none'],
    ['sameFailureLimit', { sameFailureLimit: -1 }, 'whole number'],
    ['plugins[1][0]', { plugins: [{ name: 'a' }, ['tanuki:docker']] }, 'plugin object with a name'],
  ])('refuses %s in %j', (key, config, words) => {
    const error = configError(config)
    expect(error.message).toContain(`config key "${key}"`)
    expect(error.message).toContain(words)
  })

  it('allows 0 agents for a role: it pauses the role on purpose', () => {
    expect(resolveConfig({ agents: { web: { count: 0 } } }).agents.web?.count).toBe(0)
  })

  it('refuses an unknown key, naming the key it most likely meant', () => {
    const error = configError({ agnets: { web: {} } })
    expect(error.message).toBe(
      `config key "agnets" is not a config key (did you mean "agents"?); known keys: ${CONFIG_KEYS.join(', ')}`,
    )
    expect(error.details.key).toBe('agnets')
    expect(configError({ colour: 'red' }).message).toContain('config key "colour" is not a config key; known keys')
  })

  it('takes land.message as a template or a function, passed on as written', () => {
    expect(resolveConfig({ land: { message: 'feat: {title}' } }).land.message).toBe('feat: {title}')
    const message = (task: { title: string }) => `fix: ${task.title}`
    expect(resolveConfig({ land: { message } }).land.message).toBe(message)
    expect(resolveConfig({}).land.message).toBeUndefined()
  })

  it('accepts every key the config has, in each of its shapes', () => {
    expect(() =>
      resolveConfig({
        maxCooldownMs: 60_000,
        land: { into: 'main' },
        budget: { usd: 10 },
        maxAgents: 4,
        stallTimeoutMs: 120_000,
        remote: { redis: 'redis://127.0.0.1:6379' },
        mirrorStatus: false,
        sameFailureLimit: 3,
        worktreesDir: '../worktrees',
        defaults: { setup: 'npm ci' },
        agents: { docs: { setup: false } },
      }),
    ).not.toThrow()
    expect(() =>
      resolveConfig({
        land: false,
        budget: { tokens: 5 },
        maxAgents: { total: 4, docker: 2 },
        remote: { redis: 'rediss://x:6380', tls: true },
      }),
    ).not.toThrow()
  })

  it('refuses budgets and caps that cannot be meant', () => {
    expect(configError({ budget: 5 as never }).message).toBe('config key "budget" must be { usd, tokens }, got 5')
    expect(configError({ budget: { usd: -1 } }).message).toBe('config key "budget.usd" must be a number ≥ 0, got -1')
    expect(configError({ agents: { web: { budget: { dollars: 1 } as never } } }).message).toContain(
      'config key "agents.web.budget',
    )
    expect(configError({ maxAgents: 0 }).message).toContain('config key "maxAgents" must be a whole number ≥ 1')
    expect(configError({ sameFailureLimit: 0 }).message).toBe(
      'config key "sameFailureLimit" must be a whole number ≥ 1, got 0',
    )
  })

  it('lists every problem at once', () => {
    const error = configError({ agnets: {}, cooldownMs: -1, agents: { web: { count: 1.5, backend: '' } } })
    expect(error.message.split('\n')[0]).toBe('4 problems in the config:')
    expect(error.details.problems).toEqual([
      'config key "agents.web.backend" must be a backend name, got ""',
      'config key "agents.web.count" must be a whole number ≥ 0, got 1.5',
      'config key "cooldownMs" must be a number of milliseconds ≥ 0, got -1',
      `config key "agnets" is not a config key (did you mean "agents"?); known keys: ${CONFIG_KEYS.join(', ')}`,
    ])
  })

  it('shows the offending value', () => {
    expect(configError({ cooldownMs: -5 }).message).toBe(
      'config key "cooldownMs" must be a number of milliseconds ≥ 0, got -5',
    )
  })
})

describe('checkConfig', () => {
  it('resolves a config without problems as resolveConfig does', () => {
    const config = { name: 'shop', agents: { web: { count: 2 } } }
    expect(checkConfig(config)).toEqual({ problems: [], resolved: resolveConfig(config) })
  })

  it('returns every problem, the error resolveConfig throws, and the config resolved from the rest', () => {
    const config = {
      agnets: {},
      cooldownMs: -1,
      balancer: 7,
      agents: { web: { count: 1.5, kind: 'shell', budget: { usd: -1, tokens: 10 } }, api: { kind: 'claude' } },
    }
    const { problems, error, resolved } = checkConfig(config, 'folder')
    expect(problems.map((p) => p.path)).toEqual([
      ['agents', 'web', 'count'],
      ['agents', 'web', 'budget', 'usd'],
      ['balancer'],
      ['cooldownMs'],
      ['agnets'],
    ])
    expect(error?.message).toBe(configError(config).message)
    expect(error?.details.problems).toEqual(configError(config).details.problems)
    // The rest stands: the roles keep their other options, the broken values get their defaults.
    expect(resolved).toMatchObject({
      name: 'folder',
      cooldownMs: 1000,
      balancer: 'least-loaded',
      agents: { web: { kind: 'shell', budget: { tokens: 10 } }, api: { kind: 'claude' } },
    })
    expect(resolved?.agents.web).not.toHaveProperty('count')
    // The config as written is left as it was.
    expect(config.agents.web.count).toBe(1.5)
  })

  it('leaves out a list with a bad entry whole, and a key that stays wrong without its value', () => {
    const named = { name: 'ok' }
    const { problems, resolved } = checkConfig({
      plugins: [named, [{ setup() {} }]],
      remote: { redis: 'http://x' },
      agents: { web: 'big', api: {} },
    })
    expect(problems.map((p) => p.key)).toEqual(['agents.web', 'remote.redis', 'plugins[1][0]'])
    expect(resolved?.plugins).toEqual([])
    expect(resolved?.remote).toBeUndefined()
    expect(resolved?.agents).toEqual({ api: {} })
  })

  it('resolves nothing from a config that is not an object', () => {
    const { problems, error, resolved } = checkConfig(42)
    expect(problems.map((p) => p.path)).toEqual([[]])
    expect(error?.code).toBe('TANUKI_CONFIG_INVALID')
    expect(resolved).toBeUndefined()
  })
})

describe('setupPlugins', () => {
  it('sets plugins up in order and collects what they register', async () => {
    const order: string[] = []
    const backend = createMemoryBackend({ name: 'mem' })
    const source = createMemorySource([])
    const reporter: Reporter = { name: 'quiet' }
    const strategy: BalancerStrategy = { name: 'first', select: (agents) => agents[0] }
    const seen: { name: string; project: string }[] = []
    const plugins: TanukiPlugin[] = [
      {
        name: 'one',
        setup(ctx) {
          order.push('one')
          seen.push({ name: ctx.config.name, project: ctx.project.root })
          ctx.registerBackend(backend)
          ctx.registerTaskSource(source)
        },
      },
      { name: 'no-setup' },
      {
        name: 'two',
        async setup(ctx) {
          await Promise.resolve()
          order.push('two')
          ctx.registerReporter(reporter)
          ctx.registerBalancer(strategy)
        },
      },
    ]
    const registry = await setupPlugins(resolveConfig({ name: 'shop', plugins }), project)
    expect(order).toEqual(['one', 'two'])
    expect(seen).toEqual([{ name: 'shop', project: '/work/app' }])
    expect(registry.backends.get('mem')).toBe(backend)
    expect(registry.sources).toEqual([source])
    expect(registry.reporters).toEqual([reporter])
    expect(registry.strategies.get('first')).toBe(strategy)
    await registry.teardown()
  })

  it('lets a later backend of the same name replace an earlier one', async () => {
    const first: AgentBackend = createMemoryBackend({ name: 'x' })
    const second: AgentBackend = createMemoryBackend({ name: 'x' })
    const registry = await setupPlugins(
      resolveConfig({
        plugins: [
          { name: 'a', setup: (ctx) => ctx.registerBackend(first) },
          { name: 'b', setup: (ctx) => ctx.registerBackend(second) },
        ],
      }),
      project,
    )
    expect(registry.backends.get('x')).toBe(second)
  })

  it('tears down in reverse order, once', async () => {
    const order: string[] = []
    const plugin = (name: string): TanukiPlugin => ({
      name,
      setup: () => {},
      teardown: async () => void order.push(name),
    })
    const registry = await setupPlugins(
      resolveConfig({ plugins: [plugin('a'), plugin('b'), { name: 'no-teardown' }, plugin('c')] }),
      project,
    )
    await registry.teardown()
    expect(order).toEqual(['c', 'b', 'a'])
    await registry.teardown()
    expect(order).toEqual(['c', 'b', 'a'])
  })

  it('runs every teardown even when one fails, and names the plugin', async () => {
    const order: string[] = []
    const registry = await setupPlugins(
      resolveConfig({
        plugins: [
          { name: 'a', teardown: () => void order.push('a') },
          {
            name: 'b',
            teardown: () => {
              throw new Error('socket busy')
            },
          },
          { name: 'c', teardown: () => void order.push('c') },
        ],
      }),
      project,
    )
    const error = await registry.teardown().catch((e: unknown) => e)
    expect(order).toEqual(['c', 'a'])
    expect(isTanukiError(error, 'TANUKI_PLUGIN_FAILED')).toBe(true)
    expect((error as Error).message).toBe('plugin "b" failed to tear down: socket busy')
    expect(((error as Error).cause as Error).message).toBe('socket busy')
  })

  it('collects several teardown errors into one AggregateError', async () => {
    const failing = (name: string): TanukiPlugin => ({
      name,
      teardown: async () => {
        throw new Error(`${name} broke`)
      },
    })
    const registry = await setupPlugins(
      resolveConfig({ plugins: [failing('a'), { name: 'ok' }, failing('b')] }),
      project,
    )
    const error = await registry.teardown().catch((e: unknown) => e)
    expect(error).toBeInstanceOf(AggregateError)
    expect((error as AggregateError).message).toBe('2 plugins failed to tear down')
    expect((error as AggregateError).errors.map((e: Error) => e.message)).toEqual([
      'plugin "b" failed to tear down: b broke',
      'plugin "a" failed to tear down: a broke',
    ])
  })

  it('tears down the plugins already set up when one fails, and names the failing plugin', async () => {
    const order: string[] = []
    const plugin = (name: string): TanukiPlugin => ({
      name,
      setup: () => void order.push(`setup ${name}`),
      teardown: () => void order.push(`teardown ${name}`),
    })
    const broken: TanukiPlugin = {
      name: 'acme:broken',
      setup: () => {
        throw new Error('missing API key')
      },
      teardown: () => void order.push('teardown acme:broken'),
    }
    const error = await setupPlugins(
      resolveConfig({ plugins: [plugin('a'), plugin('b'), broken, plugin('c')] }),
      project,
    ).catch((e: unknown) => e)
    expect(order).toEqual(['setup a', 'setup b', 'teardown b', 'teardown a'])
    expect(isTanukiError(error, 'TANUKI_PLUGIN_FAILED')).toBe(true)
    expect((error as Error).message).toBe('plugin "acme:broken" failed to set up: missing API key')
    expect(((error as Error).cause as Error).message).toBe('missing API key')
  })

  it('keeps a TanukiError from setup whole, and still tears down', async () => {
    const order: string[] = []
    const own = new TanukiError('TANUKI_DOCKER_UNAVAILABLE', 'No Docker engine at /var/run/docker.sock; start Docker')
    const error = await setupPlugins(
      resolveConfig({
        plugins: [
          { name: 'a', teardown: () => void order.push('a') },
          {
            name: 'tanuki:agent-docker',
            setup: () => {
              throw own
            },
          },
        ],
      }),
      project,
    ).catch((e: unknown) => e)
    expect(error).toBe(own)
    expect(order).toEqual(['a'])
  })

  it('reports the setup error even when a teardown after it fails too', async () => {
    const error = await setupPlugins(
      resolveConfig({
        plugins: [
          {
            name: 'a',
            teardown: () => {
              throw new Error('also broken')
            },
          },
          {
            name: 'b',
            setup: async () => {
              throw 'a string'
            },
          },
        ],
      }),
      project,
    ).catch((e: unknown) => e)
    expect((error as Error).message).toBe('plugin "b" failed to set up: a string')
  })
})
