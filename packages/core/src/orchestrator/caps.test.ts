import { afterEach, describe, expect, it } from 'vitest'
import { createMemoryBackend, type MemoryBackendOptions } from '../testing/memory-backend.ts'
import type { UserConfig } from '../plugin/index.ts'
import { createOrchestrator, type Orchestrator } from './index.ts'
import { tasks } from './test-harness.ts'

const running: Orchestrator[] = []
afterEach(async () => {
  await Promise.allSettled(running.splice(0).map((o) => o.stop()))
})

/** Runs a config over memory backends, and tracks the most agents alive at once, in all and per backend. */
async function run(config: UserConfig, backends: MemoryBackendOptions[] = [{}]) {
  const orchestrator = createOrchestrator({
    config: { cooldownMs: 0, ...config },
    backends: backends.map((options) => createMemoryBackend(options)),
  })
  running.push(orchestrator)
  const alive = new Map<string, string>()
  const most: Record<string, number> = { total: 0 }
  const stopped: string[] = []
  orchestrator.events.on('agent:spawned', (e) => {
    alive.set(e.agent, e.backend)
    most.total = Math.max(most.total ?? 0, alive.size)
    const of = [...alive.values()].filter((b) => b === e.backend).length
    most[e.backend] = Math.max(most[e.backend] ?? 0, of)
  })
  orchestrator.events.on('agent:stopped', (e) => {
    alive.delete(e.agent)
    stopped.push(e.agent)
  })
  orchestrator.events.on('agent:crashed', (e) => void alive.delete(e.agent))
  await orchestrator.start()
  const summary = await orchestrator.done()
  return { summary, most, stopped }
}

const slow: MemoryBackendOptions['script'] = ({ task }) => ({
  type: 'succeed',
  output: task.completion.signal ?? '',
  delayMs: 5,
})

describe('maxAgents', () => {
  it('keeps the agents alive at once within the total, and every task still completes', async () => {
    const { summary, most } = await run(
      {
        maxAgents: 2,
        agents: { web: { count: 2 }, api: { count: 2 } },
        tasks: tasks(
          ...[1, 2, 3, 4].map((n) => ({ id: `w${n}`, role: 'web' })),
          ...[1, 2, 3, 4].map((n) => ({ id: `a${n}`, role: 'api' })),
        ),
      },
      [{ script: slow }],
    )
    expect(summary).toMatchObject({ allComplete: true, progress: { complete: 8 } })
    expect(most.total).toBe(2)
  })

  it('caps a backend beside the roles’ counts', async () => {
    const { summary, most } = await run(
      {
        maxAgents: { containers: 1 },
        agents: { web: { count: 3, backend: 'containers' }, api: { count: 2, backend: 'local' } },
        tasks: tasks(
          ...[1, 2, 3].map((n) => ({ id: `w${n}`, role: 'web' })),
          ...[1, 2].map((n) => ({ id: `a${n}`, role: 'api' })),
        ),
      },
      [
        { name: 'containers', script: slow },
        { name: 'local', script: slow },
      ],
    )
    expect(summary.allComplete).toBe(true)
    expect(most.containers).toBe(1)
    expect(most.local).toBe(2)
  })

  it('takes the place of an idle agent whose role has no work for a role whose work waits', async () => {
    const { summary, most, stopped } = await run(
      {
        maxAgents: 1,
        agents: { web: { count: 1 }, api: { count: 1 } },
        // The api work is ready only once the web work is done: web's agent is idle by then.
        tasks: tasks({ id: 'w1', role: 'web' }, { id: 'a1', role: 'api', dependsOn: ['w1'] }),
      },
      [{ script: slow }],
    )
    expect(summary.allComplete).toBe(true)
    expect(most.total).toBe(1)
    expect(stopped).toContain('web-1')
  })
})
