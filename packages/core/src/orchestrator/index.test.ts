import { afterEach, describe, expect, it } from 'vitest'
import type { BalancerStrategy } from '../balancer/index.ts'
import { TanukiError } from '../errors.ts'
import { definePlugin } from '../plugin/index.ts'
import type { Reporter } from '../reporter/types.ts'
import { createMemorySource } from '../source/memory.ts'
import type { TaskSource } from '../source/types.ts'
import { createTask } from '../task/parse.ts'
import type { TanukiEventName } from './events.ts'
import { harness, rejection, stopAll, tasks } from './test-harness.ts'

afterEach(stopAll)

describe('lifecycle', () => {
  it('goes stopped → starting → running → stopping → stopped and reports a settled run', async () => {
    const h = harness({ tasks: tasks({ id: 'a' }, { id: 'b', dependsOn: ['a'] }) })
    expect(h.orchestrator.state).toBe('stopped')
    await h.orchestrator.start()
    const summary = await h.orchestrator.done()

    expect(h.all('orchestrator:state').map((e) => `${e.from}>${e.to}`)).toEqual([
      'stopped>starting',
      'starting>running',
      'running>stopping',
      'stopping>stopped',
    ])
    expect(h.orchestrator.state).toBe('stopped')
    expect(summary.reason).toBe('settled')
    expect(summary.allComplete).toBe(true)
    expect(summary.progress).toMatchObject({ total: 2, complete: 2, percentage: 100 })
    expect(h.all('project:loaded')).toEqual([expect.objectContaining({ total: 2, ready: 1, recovered: [] })])
    expect(h.indexOf('project:settled')).toBeLessThan(h.indexOf('orchestrator:state', (e) => e.to === 'stopping'))
    // done() after the end answers at once with the same summary.
    expect(await h.orchestrator.done()).toEqual(summary)
  })

  it('refuses a second start', async () => {
    const h = harness({ tasks: tasks({ id: 'a' }) })
    await h.orchestrator.start()
    const error = await rejection(h.orchestrator.start())
    expect(error.code).toBe('TANUKI_ORCHESTRATOR_STATE')
    expect(error.message).toMatch(/already started/)
    await h.orchestrator.done()
    const again = await rejection(h.orchestrator.start())
    expect(again.code).toBe('TANUKI_ORCHESTRATOR_STATE')
    expect(h.backend.spawns).toEqual(['default-1'])
  })

  it("gives a task's whole spec, with the run's status, as a copy", async () => {
    const h = harness({ tasks: tasks({ id: 'a', body: 'Do a.', priority: 'high' }, { id: 'b', dependsOn: ['a'] }) })
    expect(h.orchestrator.spec('a')).toBeUndefined()
    await h.orchestrator.start()
    await h.orchestrator.done()
    const a = h.orchestrator.spec('a')!
    expect(a).toMatchObject({ id: 'a', body: 'Do a.', priority: 'high', status: 'complete' })
    expect(h.orchestrator.spec('b')).toMatchObject({ id: 'b', dependsOn: ['a'], status: 'complete' })
    a.dependsOn.push('x')
    a.title = 'changed'
    expect(h.orchestrator.spec('a')).toMatchObject({ dependsOn: [], title: 'Task a' })
    expect(h.orchestrator.spec('nope')).toBeUndefined()
  })

  it('stop() before start() and after the end does nothing', async () => {
    const h = harness({ tasks: tasks({ id: 'a' }) })
    await h.orchestrator.stop()
    expect(h.log).toEqual([])
    await h.orchestrator.start()
    await h.orchestrator.done()
    const events = h.log.length
    await h.orchestrator.stop()
    expect(h.log.length).toBe(events)
  })
})

describe('start refuses', () => {
  const refused = async (h: ReturnType<typeof harness>) => {
    const error = await rejection(h.orchestrator.start())
    expect(error).toBeInstanceOf(TanukiError)
    expect(h.backend.spawns).toEqual([])
    expect(h.orchestrator.state).toBe('stopped')
    expect(h.all('orchestrator:state').map((e) => e.to)).toEqual(['starting', 'stopped'])
    expect(h.all('task:assigned')).toEqual([])
    // done() does not hang after a refused start: it fails the same way.
    expect(await rejection(h.orchestrator.done())).toBe(error)
    return error
  }

  it('a project without tasks', async () => {
    const error = await refused(harness({ tasksDir: 'tasks/here' }))
    expect(error.code).toBe('TANUKI_NO_TASKS')
    expect(error.message).toContain('tasks/here')
  })

  it('invalid tasks from a source', async () => {
    const broken: TaskSource = {
      name: 'broken',
      load: () => Promise.reject(new TanukiError('TANUKI_TASK_INVALID', 'tasks/a.md: field "priority" is "urgent"')),
      update: () => Promise.resolve(),
    }
    const error = await refused(harness({}, { sources: [broken] }))
    expect(error.code).toBe('TANUKI_TASK_INVALID')
    expect(error.message).toContain('tasks/a.md')
  })

  it('invalid tasks in the config', async () => {
    const error = await refused(harness({ tasks: [{ id: 'a/b', title: 'bad id' }] }))
    expect(error.code).toBe('TANUKI_TASK_INVALID')
    expect(error.message).toContain('a/b')
  })

  it('the same id in two sources, naming both', async () => {
    const one = createMemorySource(
      [createTask({ id: 'a', title: 'A', completion: { signal: 'x' }, source: 'tasks/a.md' })],
      'files',
    )
    const two = createMemorySource(
      [createTask({ id: 'a', title: 'A again', completion: { signal: 'x' } })],
      'plugin-source',
    )
    const error = await refused(harness({}, { sources: [one, two] }))
    expect(error.code).toBe('TANUKI_TASK_DUPLICATE')
    expect(error.message).toContain('"a"')
    expect(error.message).toContain('tasks/a.md')
    expect(error.message).toContain('plugin-source')
  })

  it('a dependency cycle, with its path', async () => {
    const error = await refused(
      harness({
        tasks: tasks(
          { id: 'a', dependsOn: ['c'] },
          { id: 'b', dependsOn: ['a'] },
          { id: 'c', dependsOn: ['b'] },
          { id: 'free' },
        ),
      }),
    )
    expect(error.code).toBe('TANUKI_DEPENDENCY_CYCLE')
    const cycle = error.details?.cycle as string[]
    expect(cycle.length).toBe(4)
    expect(cycle[0]).toBe(cycle[3])
    expect(new Set(cycle)).toEqual(new Set(['a', 'b', 'c']))
    // Each step of the path is a depends_on edge: a → c, b → a, c → b.
    const edges = new Set(['a>c', 'b>a', 'c>b'])
    for (let i = 0; i < 3; i++) expect(edges.has(`${cycle[i]}>${cycle[i + 1]}`)).toBe(true)
    for (const id of ['a', 'b', 'c']) expect(error.message).toContain(id)
    expect(error.message).toContain('->')
  })

  it('an unknown balancer name, listing the known ones', async () => {
    const error = await refused(harness({ tasks: tasks({ id: 'a' }), balancer: 'fastest' }))
    expect(error.code).toBe('TANUKI_CONFIG_INVALID')
    expect(error.message).toContain('fastest')
    expect(error.message).toContain('least-loaded')
    expect(error.message).toContain('round-robin')
  })

  it('tears down the plugins already set up', async () => {
    const calls: string[] = []
    const plugin = definePlugin({
      name: 'p',
      setup: () => void calls.push('setup'),
      teardown: () => void calls.push('teardown'),
    })
    await refused(harness({ plugins: [plugin] }))
    expect(calls).toEqual(['setup', 'teardown'])
  })
})

describe('balancer', () => {
  const highestName: BalancerStrategy = {
    name: 'highest-name',
    select: (candidates) => [...candidates].sort((a, b) => b.name.localeCompare(a.name))[0],
  }
  // Agents are spawned for work that can start: three tasks bring up all three, and b, ready once
  // they are done, is assigned while every agent is idle, so the strategy chooses among all three.
  const warm = [{ id: 'w1' }, { id: 'w2' }, { id: 'w3' }]
  const fanIn = tasks(...warm, { id: 'b', dependsOn: ['w1', 'w2', 'w3'] })

  it('uses a strategy a plugin registered, by name', async () => {
    const plugin = definePlugin({ name: 'test:balancer', setup: (ctx) => ctx.registerBalancer(highestName) })
    const h = harness({ tasks: fanIn, agents: { default: { count: 3 } }, balancer: 'highest-name', plugins: [plugin] })
    await h.orchestrator.start()
    await h.orchestrator.done()
    expect(h.all('task:assigned').find((e) => e.taskId === 'b')?.agent).toBe('default-3')
  })

  it('takes a strategy object', async () => {
    const h = harness({ tasks: fanIn, agents: { default: { count: 3 } }, balancer: highestName })
    await h.orchestrator.start()
    await h.orchestrator.done()
    expect(h.all('task:assigned').find((e) => e.taskId === 'b')?.agent).toBe('default-3')
  })

  it('least-loaded (the default) gives c to an agent that has had fewer tasks than b’s', async () => {
    const h = harness({
      tasks: tasks(...warm, { id: 'b', dependsOn: ['w1', 'w2', 'w3'] }, { id: 'c', dependsOn: ['b'] }),
      agents: { default: { count: 3 } },
    })
    await h.orchestrator.start()
    await h.orchestrator.done()
    const agentOf = (id: string) => h.all('task:assigned').find((e) => e.taskId === id)?.agent
    expect(new Set(['w1', 'w2', 'w3'].map(agentOf)).size).toBe(3)
    expect(agentOf('c')).not.toBe(agentOf('b'))
  })

  it('round-robin by name takes the agents in turn', async () => {
    const h = harness({
      tasks: tasks(
        ...warm,
        { id: 'a', dependsOn: ['w1', 'w2', 'w3'] },
        { id: 'b', dependsOn: ['a'] },
        { id: 'c', dependsOn: ['b'] },
        { id: 'd', dependsOn: ['c'] },
      ),
      agents: { default: { count: 3 } },
      balancer: 'round-robin',
    })
    await h.orchestrator.start()
    await h.orchestrator.done()
    const chain = h.all('task:assigned').filter((e) => !e.taskId.startsWith('w'))
    expect(chain.map((e) => e.agent)).toEqual(['default-1', 'default-2', 'default-3', 'default-1'])
  })
})

describe('reporters', () => {
  it('a plugin reporter gets onEvent for every event, and the named hooks', async () => {
    const seen: TanukiEventName[] = []
    const hooks: string[] = []
    let closed = 0
    const reporter: Reporter = {
      name: 'test',
      onEvent: (name) => void seen.push(name),
      onTaskCompleted: (e) => void hooks.push(`completed ${e.taskId}`),
      onTaskAssigned: (e) => void hooks.push(`assigned ${e.taskId}`),
      onAgentSpawned: (e) => void hooks.push(`spawned ${e.agent}`),
      onProjectSettled: (e) => void hooks.push(`settled ${e.allComplete}`),
      onOrchestratorState: (e) => void hooks.push(`state ${e.to}`),
      onClose: () => void closed++,
    }
    const plugin = definePlugin({ name: 'test:reporter', setup: (ctx) => ctx.registerReporter(reporter) })
    const h = harness({ tasks: tasks({ id: 'a' }), plugins: [plugin] })
    await h.orchestrator.start()
    await h.orchestrator.done()

    expect(seen).toEqual(h.log.map((entry) => entry.name))
    expect(hooks).toEqual([
      'state starting',
      'state running',
      'spawned default-1',
      'assigned a',
      'completed a',
      'settled true',
      'state stopping',
      'state stopped',
    ])
    expect(closed).toBe(1)
  })

  it('a reporter that throws produces orchestrator:error and the run goes on', async () => {
    const thrower: Reporter = {
      name: 'thrower',
      onTaskAssigned: () => {
        throw new Error('disk full')
      },
      onTaskCompleted: () => Promise.reject(new Error('network down')),
      onOrchestratorError: () => {
        throw new Error('must not loop')
      },
      onClose: () => {
        throw new Error('cannot close')
      },
    }
    const names: TanukiEventName[] = []
    const quiet: Reporter = { name: 'quiet', onEvent: (name) => void names.push(name) }
    const h = harness({ tasks: tasks({ id: 'a' }, { id: 'b' }) }, { reporters: [thrower, quiet] })
    await h.orchestrator.start()
    const summary = await h.orchestrator.done()

    expect(summary.allComplete).toBe(true)
    const errors = h.all('orchestrator:error')
    expect(errors.filter((e) => e.context === 'reporter thrower on task:assigned').map((e) => e.message)).toEqual([
      'disk full',
      'disk full',
    ])
    expect(errors.filter((e) => e.context === 'reporter thrower on task:completed').map((e) => e.message)).toEqual([
      'network down',
      'network down',
    ])
    expect(errors.some((e) => e.context === 'closing reporter thrower' && e.message === 'cannot close')).toBe(true)
    expect(errors.some((e) => e.message === 'must not loop')).toBe(false)
    // The other reporter saw everything up to its close, errors included.
    expect(names).toEqual(h.log.slice(0, names.length).map((entry) => entry.name))
    expect(names).toContain('orchestrator:error')
  })
})

describe('plugins', () => {
  it('set up in order before the run and tear down in reverse after it', async () => {
    const calls: string[] = []
    const plugin = (name: string) =>
      definePlugin({
        name,
        setup: async () => void calls.push(`setup ${name}`),
        teardown: async () => void calls.push(`teardown ${name}`),
      })
    const h = harness({ tasks: tasks({ id: 'a' }), plugins: [plugin('one'), false, plugin('two'), plugin('three')] })
    h.orchestrator.events.on('orchestrator:state', (e) => calls.push(`state ${e.to}`))
    h.orchestrator.events.on('task:completed', (e) => calls.push(`completed ${e.taskId}`))
    await h.orchestrator.start()
    await h.orchestrator.done()
    expect(calls).toEqual([
      'state starting',
      'setup one',
      'setup two',
      'setup three',
      'state running',
      'completed a',
      'state stopping',
      'teardown three',
      'teardown two',
      'teardown one',
      'state stopped',
    ])
  })

  it('a plugin provides a task source, and statuses are written back to it', async () => {
    const source = createMemorySource(
      [createTask({ id: 'from-plugin', title: 'T', completion: { signal: 'DONE' } })],
      'plugin-tasks',
    )
    const h = harness({
      plugins: [definePlugin({ name: 'test:source', setup: (ctx) => ctx.registerTaskSource(source) })],
    })
    await h.orchestrator.start()
    const summary = await h.orchestrator.done()
    expect(summary.allComplete).toBe(true)
    expect(source.tasks.get('from-plugin')?.status).toBe('complete')
  })

  it('a teardown that fails is reported and the run still ends', async () => {
    const h = harness({
      tasks: tasks({ id: 'a' }),
      plugins: [definePlugin({ name: 'bad', teardown: () => Promise.reject(new Error('stuck')) })],
    })
    await h.orchestrator.start()
    const summary = await h.orchestrator.done()
    expect(summary.allComplete).toBe(true)
    expect(h.all('orchestrator:error')).toEqual([expect.objectContaining({ context: 'tearing down plugins' })])
    expect(h.all('orchestrator:error')[0]!.message).toContain('stuck')
  })
})
