import { afterEach, describe, expect, it } from 'vitest'
import type { Agent, AgentBackend } from '../agent/types.ts'
import type { BalancerStrategy } from '../balancer/index.ts'
import { createMemorySource } from '../source/memory.ts'
import { createTask } from '../task/parse.ts'
import type { Task } from '../task/types.ts'
import { createMemoryBackend, type MemoryBackend } from '../testing/memory-backend.ts'
import type { UserConfig } from '../plugin/index.ts'
import { createOrchestrator, type Orchestrator } from './index.ts'
import { tasks } from './test-harness.ts'

const started: Orchestrator[] = []
afterEach(async () => {
  await Promise.all(started.splice(0).map((o) => o.stop()))
})

/** A backend over the memory one whose agents get task hooks and can fail to stop. */
function hookedBackend(options: {
  calls: string[]
  endTask?: (task: Task, status: string) => void
  stop?: () => void
  cleanup?: () => void
}): { backend: AgentBackend; inner: MemoryBackend } {
  const inner = createMemoryBackend()
  const backend: AgentBackend = {
    name: 'hooked',
    async spawn(request): Promise<Agent> {
      const agent = await inner.spawn(request)
      return {
        name: agent.name,
        role: agent.role,
        backend: 'hooked',
        run: (r) => agent.run(r),
        exec: (command, o) => agent.exec(command, o),
        onExit: (listener) => agent.onExit(listener),
        remove: () => agent.remove(),
        async stop() {
          await agent.stop()
          options.stop?.()
        },
        async beginTask(task) {
          options.calls.push(`begin ${task.id}`)
        },
        async endTask(task, { status }) {
          options.calls.push(`end ${task.id} ${status}`)
          options.endTask?.(task, status)
        },
      }
    },
    async cleanup() {
      options.cleanup?.()
    },
  }
  return { backend, inner }
}

function run(backend: AgentBackend, config: UserConfig = {}, source = createMemorySource([])): Orchestrator {
  const orchestrator = createOrchestrator({
    config: { cooldownMs: 0, ...config },
    backends: [backend],
    sources: [source],
  })
  started.push(orchestrator)
  return orchestrator
}

describe('task hooks of agents', () => {
  it('begin before the first iteration, end before the status is recorded and dependents start', async () => {
    const calls: string[] = []
    const { backend } = hookedBackend({ calls })
    const orchestrator = run(backend, { tasks: tasks({ id: 'a' }, { id: 'b', dependsOn: ['a'] }) })
    orchestrator.events.on('iteration:started', (e) => calls.push(`iteration ${e.taskId}`))
    orchestrator.events.on('task:completed', (e) => calls.push(`completed ${e.taskId}`))
    await orchestrator.start()
    await orchestrator.done()
    expect(calls).toEqual([
      'begin a',
      'iteration a',
      'end a complete',
      'completed a',
      'begin b',
      'iteration b',
      'end b complete',
      'completed b',
    ])
  })

  it('work that passed but cannot be published goes to review; an end error on other outcomes is reported', async () => {
    const calls: string[] = []
    const { backend } = hookedBackend({
      calls,
      endTask: () => {
        throw new Error('merge conflict in src/app.ts')
      },
    })
    const orchestrator = run(backend, {
      tasks: tasks({ id: 'a' }, { id: 'b', dependsOn: ['a'] }, { id: 'c', completion: { verify: 'no-such-tool' } }),
    })
    const errors: string[] = []
    orchestrator.events.on('orchestrator:error', (e) => errors.push(`${e.context}: ${e.message}`))
    await orchestrator.start()
    await orchestrator.done()
    expect(orchestrator.task('a')).toMatchObject({ status: 'review' })
    expect(orchestrator.task('a')?.reason).toBe(
      'passed, but its work could not be published: merge conflict in src/app.ts',
    )
    expect(orchestrator.task('b')?.status).toBe('pending')
    expect(orchestrator.task('c')?.status).toBe('failed')
    expect(errors).toEqual(['ending c on default-1: merge conflict in src/app.ts'])
  })
})

describe('shutdown troubles', () => {
  it('a backend that fails to clean up is reported; the stop completes', async () => {
    const { backend } = hookedBackend({
      calls: [],
      cleanup: () => {
        throw new Error('volume busy')
      },
    })
    const orchestrator = run(backend, { tasks: tasks({ id: 'a' }), stopWhenSettled: false })
    const errors: string[] = []
    orchestrator.events.on('orchestrator:error', (e) => errors.push(`${e.context}: ${e.message}`))
    const settled = new Promise<void>((resolve) => orchestrator.events.on('project:settled', () => resolve()))
    await orchestrator.start()
    await settled
    await orchestrator.stop({ remove: true })
    expect(errors).toEqual(['cleaning up backend hooked: volume busy'])
    expect(orchestrator.state).toBe('stopped')
  })

  it('a stop error from the agent is reported', async () => {
    const calls: string[] = []
    const { backend } = hookedBackend({ calls })
    const failing: AgentBackend = {
      name: 'hooked',
      async spawn(request) {
        const agent = await backend.spawn(request)
        return { ...agent, stop: () => Promise.reject(new Error('container will not die')) }
      },
    }
    const orchestrator = run(failing, { tasks: tasks({ id: 'a' }) })
    const errors: string[] = []
    orchestrator.events.on('orchestrator:error', (e) => errors.push(`${e.context}: ${e.message}`))
    await orchestrator.start()
    const summary = await orchestrator.done()
    expect(summary.allComplete).toBe(true)
    expect(errors).toEqual(['stopping agent default-1: container will not die'])
  })
})

describe('the safety-net poll', () => {
  it('hands out work a strategy declined once it accepts', async () => {
    let accept = false
    const shy: BalancerStrategy = { name: 'shy', select: (candidates) => (accept ? candidates[0] : undefined) }
    const backend = createMemoryBackend()
    const source = createMemorySource([createTask({ id: 'a', title: 'A', completion: { signal: 'DONE' } })])
    const orchestrator = run(backend, { balancer: shy, pollIntervalMs: 1 }, source)
    const spawned = new Promise<void>((resolve) => orchestrator.events.on('agent:spawned', () => resolve()))
    await orchestrator.start()
    await spawned
    expect(orchestrator.status().queue.size).toBe(1)
    accept = true
    const summary = await orchestrator.done()
    expect(summary.allComplete).toBe(true)
  })
})

describe('spawns that wait', () => {
  it('are told to give up when the run stops, and a stop does not wait for them', async () => {
    const signals: AbortSignal[] = []
    // A backend whose agents wait for a machine to take them, which never comes.
    const waiting: AgentBackend = {
      name: 'waiting',
      spawn: (request) =>
        new Promise<Agent>((_, reject) => {
          signals.push(request.signal!)
          request.signal!.addEventListener('abort', () => reject(new Error('gave up')), { once: true })
        }),
    }
    const orchestrator = run(waiting, { tasks: tasks({ id: 'a' }) })
    const failed: string[] = []
    orchestrator.events.on('agent:spawn-failed', (e) => failed.push(e.message))
    await orchestrator.start()
    expect(signals).toHaveLength(1)
    expect(signals[0]!.aborted).toBe(false)
    await orchestrator.stop()
    expect(signals[0]!.aborted).toBe(true)
    // Called off by the stop: no failure to report.
    expect(failed).toEqual([])
    expect(orchestrator.task('a')?.status).toBe('pending')
  })
})
