import { afterEach, describe, expect, it } from 'vitest'
import type { Agent, AgentBackend } from '../agent/types.ts'
import { createMemoryBackend } from '../testing/memory-backend.ts'
import { createOrchestrator } from './index.ts'
import { harness, pinnedWallClock, stopAll, tasks } from './test-harness.ts'

afterEach(stopAll)

/** A backend whose spawns wait until the test opens the gate. */
function gatedBackend(): { backend: AgentBackend; open: () => void } {
  const inner = createMemoryBackend()
  let open!: () => void
  const gate = new Promise<void>((resolve) => (open = resolve))
  return {
    open,
    backend: {
      name: 'memory',
      async spawn(request): Promise<Agent> {
        await gate
        return inner.spawn(request)
      },
    },
  }
}

describe('queue after initialisation', () => {
  it('holds every ready task, by role, before agents are up', async () => {
    const { backend, open } = gatedBackend()
    const orchestrator = createOrchestrator({
      config: {
        cooldownMs: 0,
        tasks: tasks(
          { id: 'a', role: 'api' },
          { id: 'b', role: 'api' },
          { id: 'c', role: 'web' },
          { id: 'd', role: 'web', dependsOn: ['c'] },
        ),
      },
      backends: [backend],
    })
    const seen: string[] = []
    let loaded: { ready: number } | undefined
    orchestrator.events.on('*', (name, e) => {
      seen.push(name)
      if (name === 'project:loaded') loaded = e as typeof loaded
    })
    await orchestrator.start()
    const status = orchestrator.status()
    expect(status.state).toBe('running')
    expect(status.queue).toEqual({ size: 3, byRole: { api: 2, web: 1 } })
    // The tasks ready at load are told once, by project:loaded, not by a task:queued each.
    expect(loaded?.ready).toBe(3)
    expect(seen).not.toContain('task:queued')
    expect(status.agents).toEqual([])
    expect(status.progress).toMatchObject({ total: 4, pending: 4, inProgress: 0, complete: 0, percentage: 0 })
    open()
    const summary = await orchestrator.done()
    expect(summary.allComplete).toBe(true)
    expect(orchestrator.status().queue).toEqual({ size: 0, byRole: {} })
  })

  it('keeps the tasks of a role with 0 agents queued, and the rest of the run settles', async () => {
    const h = harness({
      tasks: tasks({ id: 'a', role: 'paused' }, { id: 'b', role: 'paused', priority: 'high' }, { id: 'c' }),
      agents: { paused: { count: 0 } },
    })
    await h.orchestrator.start()
    expect(h.orchestrator.status().queue).toEqual({ size: 2, byRole: { paused: 2 } })
    const summary = await h.orchestrator.done()
    expect(summary).toMatchObject({ reason: 'settled', allComplete: false })
    expect(summary.progress).toMatchObject({ complete: 1, pending: 2, failed: 0 })
    expect(h.backend.spawns).toEqual(['default-1'])
    expect(h.orchestrator.task('a')?.status).toBe('pending')
  })
})

describe('assignment', () => {
  it('gives each task to an idle agent of its role, using every agent of the role', async () => {
    const running = new Map<string, string>()
    let release!: () => void
    const allBusy = new Promise<void>((resolve) => (release = resolve))
    const h = harness(
      {
        tasks: tasks(
          { id: 'api-1', role: 'api' },
          { id: 'api-2', role: 'api' },
          { id: 'api-3', role: 'api' },
          { id: 'web-1', role: 'web' },
          { id: 'web-2', role: 'web' },
          { id: 'docs-1', role: 'docs' },
        ),
        agents: { api: { count: 3 }, web: { count: 2 } },
      },
      {
        backend: {
          // Each task waits until six runs are under way at once, so every agent must get one.
          script: async ({ agent, task }) => {
            running.set(task.id, agent)
            if (running.size === 6) release()
            await allBusy
            return { type: 'succeed', output: 'DONE' }
          },
        },
      },
    )
    await h.orchestrator.start()
    const summary = await h.orchestrator.done()
    expect(summary.allComplete).toBe(true)
    for (const [taskId, agent] of running) expect(agent.replace(/-\d+$/, '')).toBe(taskId.replace(/-\d+$/, ''))
    expect(new Set(running.values())).toEqual(new Set(['api-1', 'api-2', 'api-3', 'web-1', 'web-2', 'docs-1']))
    expect([...h.backend.spawns].sort()).toEqual(['api-1', 'api-2', 'api-3', 'docs-1', 'web-1', 'web-2'])
    for (const e of h.all('task:assigned')) expect(e.role).toBe(h.orchestrator.task(e.taskId)!.role)
  })

  it('spawns a role’s agents once it has a task that can start, not while all its tasks wait for others', async () => {
    const h = harness({
      agents: { api: { count: 2 } },
      tasks: tasks(
        { id: 'schema' },
        { id: 'endpoint', role: 'api', dependsOn: ['schema'] },
        { id: 'client', role: 'api', dependsOn: ['schema'] },
      ),
    })
    await h.orchestrator.start()
    // Only the role with work that can start has agents; api's would sit idle (a container each).
    expect(h.backend.spawns).toEqual(['default-1'])
    await h.orchestrator.done()
    expect([...h.backend.spawns].sort()).toEqual(['api-1', 'api-2', 'default-1'])
    const spawned = h.indexOf('agent:spawned', (e) => e.role === 'api')
    expect(spawned).toBeGreaterThan(h.indexOf('task:completed', (e) => e.taskId === 'schema'))
    expect(h.orchestrator.task('endpoint')?.status).toBe('complete')
  })

  it('spawns no more agents than the role has tasks that can start: one ready task, one agent of three', async () => {
    // A resume with one task left: dev-2 and dev-3 would sit idle (a container or a paid session each).
    const h = harness({
      agents: { dev: { count: 3 } },
      tasks: tasks({ id: 'done', role: 'dev', status: 'complete' }, { id: 'last', role: 'dev' }),
    })
    await h.orchestrator.start()
    const summary = await h.orchestrator.done()
    expect(summary.allComplete).toBe(true)
    expect(h.backend.spawns).toEqual(['dev-1'])
  })

  it('spawns more agents as work that can start grows, up to the role’s count', async () => {
    const h = harness({
      agents: { dev: { count: 3 } },
      tasks: tasks(
        { id: 'base', role: 'dev' },
        { id: 'one', role: 'dev', dependsOn: ['base'] },
        { id: 'two', role: 'dev', dependsOn: ['base'] },
        { id: 'three', role: 'dev', dependsOn: ['base'] },
        { id: 'four', role: 'dev', dependsOn: ['base'] },
      ),
    })
    await h.orchestrator.start()
    expect(h.backend.spawns).toEqual(['dev-1'])
    const summary = await h.orchestrator.done()
    expect(summary.allComplete).toBe(true)
    // Four tasks ready at once: base's agent takes one, and the role grows to its count of three.
    expect(h.backend.spawns).toEqual(['dev-1', 'dev-2', 'dev-3'])
    const completed = h.indexOf('task:completed', (e) => e.taskId === 'base')
    expect(h.indexOf('agent:spawned', (e) => e.agent === 'dev-2')).toBeGreaterThan(completed)
    expect(h.indexOf('agent:spawned', (e) => e.agent === 'dev-3')).toBeGreaterThan(completed)
  })

  it('a completion that readies one task spawns no agent: the finished task’s agent takes it', async () => {
    const h = harness({
      agents: { dev: { count: 3 } },
      tasks: tasks({ id: 'a', role: 'dev' }, { id: 'b', role: 'dev', dependsOn: ['a'] }),
    })
    await h.orchestrator.start()
    await h.orchestrator.done()
    expect(h.backend.spawns).toEqual(['dev-1'])
    expect(h.all('task:assigned').map((e) => e.agent)).toEqual(['dev-1', 'dev-1'])
  })

  it('a task queued again after a lost attempt goes back to its agent: no agent is spawned for it', async () => {
    let throws = 0
    const h = harness(
      { agents: { dev: { count: 3 } }, tasks: tasks({ id: 'a', role: 'dev' }) },
      {
        backend: {
          script: () =>
            ++throws <= 1 ? { type: 'throw', message: 'connection reset' } : { type: 'succeed', output: 'DONE' },
        },
      },
    )
    await h.orchestrator.start()
    await h.orchestrator.done()
    expect(h.orchestrator.task('a')).toMatchObject({ status: 'complete', attempts: 1 })
    expect(h.backend.spawns).toEqual(['dev-1'])
  })

  it('uses the defaults for roles the config does not name', async () => {
    const h = harness({ tasks: tasks({ id: 'a', role: 'x' }, { id: 'b', role: 'x' }), defaults: { count: 2 } })
    await h.orchestrator.start()
    await h.orchestrator.done()
    expect([...h.backend.spawns].sort()).toEqual(['x-1', 'x-2'])
  })
})

describe('completion table', () => {
  it('all complete', async () => {
    const h = harness({
      tasks: tasks({ id: 'a', role: 'r1' }, { id: 'b', role: 'r2', dependsOn: ['a'] }, { id: 'c', role: 'r1' }),
    })
    await h.orchestrator.start()
    await h.orchestrator.done()
    const progress = h.orchestrator.progress()
    expect(progress).toMatchObject({
      total: 3,
      complete: 3,
      pending: 0,
      inProgress: 0,
      failed: 0,
      review: 0,
      blocked: 0,
      percentage: 100,
    })
    expect(progress.byStatus).toEqual({
      pending: 0,
      assigned: 0,
      in_progress: 0,
      review: 0,
      complete: 3,
      failed: 0,
      blocked: 0,
    })
    expect(progress.byRole).toEqual({ r1: { complete: 2, total: 2 }, r2: { complete: 1, total: 1 } })
    const status = h.orchestrator.status()
    expect(status.state).toBe('stopped')
    expect(status.tasks.map((t) => [t.id, t.status, t.iterations])).toEqual([
      ['a', 'complete', 1],
      ['b', 'complete', 1],
      ['c', 'complete', 1],
    ])
    expect(status.agents.map((a) => [a.name, a.status])).toEqual([
      ['r1-1', 'stopped'],
      ['r2-1', 'stopped'],
    ])
  })

  it('some in progress, some pending: counts, queue, agents and what each runs, uptime', async () => {
    const clock = pinnedWallClock(1_000_000)
    const h = harness(
      {
        tasks: tasks(
          { id: 'done-1', role: 'r1', priority: 'critical' },
          { id: 'hang-1', role: 'r1', priority: 'high' },
          { id: 'waits', role: 'r1' },
          { id: 'after-hang', role: 'r2', dependsOn: ['hang-1'] },
          { id: 'done-2', role: 'r2' },
        ),
        stopWhenSettled: false,
      },
      {
        clock,
        backend: {
          script: ({ task }) => (task.id.startsWith('hang') ? { type: 'hang' } : { type: 'succeed', output: 'DONE' }),
        },
      },
    )
    await h.orchestrator.start()
    await h.when('task:completed', (e) => e.taskId === 'done-1')
    await h.when('task:completed', (e) => e.taskId === 'done-2')
    await h.when('iteration:started', (e) => e.taskId === 'hang-1')
    clock.time += 4_000

    const progress = h.orchestrator.progress()
    expect(progress).toMatchObject({ total: 5, complete: 2, inProgress: 1, pending: 2, failed: 0, percentage: 40 })
    expect(progress.byStatus).toMatchObject({ in_progress: 1, assigned: 0, pending: 2, complete: 2 })
    expect(progress.byRole).toEqual({
      r1: { complete: 1, in_progress: 1, pending: 1, total: 3 },
      r2: { complete: 1, pending: 1, total: 2 },
    })
    const status = h.orchestrator.status()
    expect(status.state).toBe('running')
    expect(status.startedAt).toBe(1_000_000)
    expect(status.uptimeMs).toBe(4_000)
    expect(status.queue).toEqual({ size: 1, byRole: { r1: 1 } })
    expect(status.agents).toEqual([
      {
        name: 'r1-1',
        role: 'r1',
        backend: 'memory',
        status: 'busy',
        task: 'hang-1',
        workspace: 'memory:r1-1',
        assigned: 2,
      },
      { name: 'r2-1', role: 'r2', backend: 'memory', status: 'idle', workspace: 'memory:r2-1', assigned: 1 },
    ])
    const view = (id: string) => status.tasks.find((t) => t.id === id)!
    expect(view('hang-1')).toMatchObject({ status: 'in_progress', assignedTo: 'r1-1', iterations: 1, attempts: 0 })
    expect(view('after-hang')).toMatchObject({
      status: 'pending',
      blockers: [{ id: 'hang-1', reason: 'incomplete', status: 'in_progress' }],
    })
    expect(view('waits')).toMatchObject({ status: 'pending', role: 'r1', priority: 'medium', dependsOn: [] })
    expect(view('waits').blockers).toBeUndefined()
    expect(h.orchestrator.task('nope')).toBeUndefined()

    await h.orchestrator.stop()
    expect(h.orchestrator.progress()).toMatchObject({ complete: 2, inProgress: 0, pending: 3 })
  })
})

describe('order', () => {
  it('one agent takes critical before high before medium before low, FIFO within a priority', async () => {
    const h = harness({
      tasks: tasks(
        { id: 'low-1', priority: 'low' },
        { id: 'medium-1' },
        { id: 'critical-1', priority: 'critical' },
        { id: 'high-1', priority: 'high' },
        { id: 'low-2', priority: 'low' },
        { id: 'critical-2', priority: 'critical' },
        { id: 'medium-2', priority: 'medium' },
        { id: 'high-2', priority: 'high' },
      ),
    })
    await h.orchestrator.start()
    await h.orchestrator.done()
    expect(h.backend.runs.map((run) => run.taskId)).toEqual([
      'critical-1',
      'critical-2',
      'high-1',
      'high-2',
      'medium-1',
      'medium-2',
      'low-1',
      'low-2',
    ])
  })

  it('a dependent never starts before its dependencies complete', async () => {
    const h = harness(
      {
        tasks: tasks(
          { id: 'd', dependsOn: ['b', 'c'] },
          { id: 'c', dependsOn: ['a'], role: 'other' },
          { id: 'b', dependsOn: ['a'] },
          { id: 'a', priority: 'low' },
          { id: 'e', dependsOn: ['d'], priority: 'critical' },
        ),
        agents: { default: { count: 2 } },
      },
      { backend: { script: () => ({ type: 'succeed', output: 'DONE', delayMs: 1 }) } },
    )
    await h.orchestrator.start()
    const summary = await h.orchestrator.done()
    expect(summary.allComplete).toBe(true)
    const started = (id: string) => h.indexOf('iteration:started', (e) => e.taskId === id)
    const completed = (id: string) => h.indexOf('task:completed', (e) => e.taskId === id)
    for (const [task, deps] of [
      ['b', ['a']],
      ['c', ['a']],
      ['d', ['b', 'c']],
      ['e', ['d']],
    ] as const) {
      for (const dep of deps) expect(completed(dep)).toBeLessThan(started(task))
    }
  })

  it('dependents a completion made ready are assigned at once, not at the next poll', async () => {
    const h = harness({
      tasks: tasks(
        { id: 'a' },
        { id: 'b', dependsOn: ['a'], role: 'other' },
        { id: 'c', dependsOn: ['a'] },
        { id: 'd', dependsOn: ['b', 'c'] },
      ),
      pollIntervalMs: 1e9,
    })
    await h.orchestrator.start()
    const summary = await h.orchestrator.done()
    expect(summary.allComplete).toBe(true)
    // Between a's completion and b's and c's assignment nothing else completes or settles.
    const names = h.log.map((entry) => entry.name)
    const from = h.indexOf('task:completed', (e) => e.taskId === 'a')
    const toB = h.indexOf('task:assigned', (e) => e.taskId === 'b')
    const toC = h.indexOf('task:assigned', (e) => e.taskId === 'c')
    expect(from).toBeGreaterThan(-1)
    for (const to of [toB, toC]) {
      expect(to).toBeGreaterThan(from)
      expect(names.slice(from + 1, to)).not.toContain('task:completed')
    }
    expect(h.indexOf('task:queued', (e) => e.taskId === 'b')).toBeGreaterThan(from)
  })
})
