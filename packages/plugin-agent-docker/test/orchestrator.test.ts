import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import {
  createOrchestrator,
  type Orchestrator,
  type ProjectInfo,
  type TanukiEventName,
  type UserConfig,
} from '@tanuki/core'
import type Docker from 'dockerode'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { dockerAgents } from '../src/index.ts'
import {
  TEST_IMAGE,
  problem,
  projectContainers,
  requireEngine,
  skipDocker,
  tempProject,
  until,
  agentWorktree,
} from './helpers.ts'

describe.skipIf(skipDocker)(
  `docker backend under the orchestrator${skipDocker ? ` (skipped: ${problem})` : ''}`,
  () => {
    let docker: Docker
    let project: ProjectInfo & { cleanup: () => Promise<void> }
    let orchestrator: Orchestrator | undefined

    beforeAll(async () => {
      docker = await requireEngine()
    }, 120_000)

    afterEach(async () => {
      await orchestrator?.stop({ remove: true })
      orchestrator = undefined
      await project?.cleanup()
    })

    const start = async (config: UserConfig): Promise<{ events: { name: TanukiEventName; data: unknown }[] }> => {
      orchestrator = createOrchestrator({
        config: {
          name: project.name,
          cooldownMs: 100,
          pollIntervalMs: 500,
          stopWhenSettled: false,
          plugins: [dockerAgents({ image: TEST_IMAGE, kind: 'shell', memory: '128m', cpus: 1 })],
          agents: { default: { backend: 'docker' } },
          ...config,
        },
        project: { root: project.root, name: project.name },
      })
      const events: { name: TanukiEventName; data: unknown }[] = []
      orchestrator.events.on('*', (name, data) => events.push({ name, data }))
      await orchestrator.start()
      return { events }
    }

    const settled = (o: Orchestrator): Promise<{ allComplete: boolean }> =>
      new Promise((done) => o.events.on('project:settled', (event) => done(event)))

    const worktreeFile = (agent: string, file: string): Promise<string> =>
      readFile(join(agentWorktree(project.root, agent), file), 'utf8')

    it('runs the work and its verify inside the container, then stop --remove leaves nothing', async () => {
      project = await tempProject('orch')
      const { events } = await start({
        tasks: [
          {
            id: 'T-1',
            title: 'Say where it runs',
            body: 'Write the hostname.\n\n```sh\ncat /etc/hostname > where.txt\nif [ -f /.dockerenv ]; then echo yes > dockerenv.txt; fi\n```\n',
            // Only true in the very container that ran the block: verify runs there too, and says so.
            completion: {
              verify: 'cat /etc/hostname > verified-in.txt && [ "$(cat /etc/hostname)" = "$(cat where.txt)" ]',
            },
          },
        ],
      })
      const summary = await settled(orchestrator!)
      expect(summary.allComplete).toBe(true)
      const [container] = await projectContainers(docker, project.root)
      expect(container).toBeDefined()
      const info = await docker.getContainer(container!.Id).inspect()
      expect(info.HostConfig.Memory).toBe(128 * 1024 * 1024)
      expect(info.HostConfig.NanoCpus).toBe(1e9)
      const hostname = info.Config.Hostname
      expect(await worktreeFile('default-1', 'where.txt')).toBe(`${hostname}\n`)
      expect(await worktreeFile('default-1', 'verified-in.txt')).toBe(`${hostname}\n`)
      expect(await worktreeFile('default-1', 'dockerenv.txt')).toBe('yes\n')
      // The project directory itself was not touched: the agent had only its worktree.
      expect(existsSync(join(project.root, 'where.txt'))).toBe(false)
      expect(
        events.some((e) => e.name === 'agent:spawned' && (e.data as { backend: string }).backend === 'docker'),
      ).toBe(true)

      await orchestrator!.stop({ remove: true })
      orchestrator = undefined
      expect(await projectContainers(docker, project.root)).toEqual([])
      expect(existsSync(agentWorktree(project.root, 'default-1'))).toBe(false)
    }, 120_000)

    it('reassigns the task of a container killed mid-task to a new container, where it completes', async () => {
      project = await tempProject('kill')
      const { events } = await start({
        tasks: [
          {
            id: 'T-1',
            title: 'Hang the first time',
            body: '```sh\nif [ ! -f first.txt ]; then cat /etc/hostname > first.txt; sleep 300; fi\ncat /etc/hostname > second.txt\n```\n',
            completion: { verify: 'test -f second.txt' },
          },
        ],
      })
      const done = settled(orchestrator!)
      await until(
        () => existsSync(join(agentWorktree(project.root, 'default-1'), 'first.txt')),
        60_000,
        'the first try to start',
      )
      const [victim] = await projectContainers(docker, project.root)
      await docker.getContainer(victim!.Id).kill()
      const summary = await done
      expect(summary.allComplete).toBe(true)
      const names = events.map((e) => e.name)
      expect(names).toContain('agent:crashed')
      expect(names).toContain('task:requeued')
      expect(names.filter((name) => name === 'agent:spawned')).toHaveLength(2)
      const first = await worktreeFile('default-1', 'first.txt')
      const second = await worktreeFile('default-1', 'second.txt')
      expect(second).not.toBe(first)
      const now = await projectContainers(docker, project.root)
      expect(now.map((c) => c.Id)).not.toContain(victim!.Id)
      expect(now).toHaveLength(1)
    }, 120_000)

    it("gives a dependent task, in another agent's container, the work of its dependency", async () => {
      project = await tempProject('deps')
      await start({
        agents: { maker: { backend: 'docker' }, checker: { backend: 'docker' } },
        tasks: [
          {
            id: 'MAKE',
            title: 'Make',
            role: 'maker',
            body: '```sh\necho made > made.txt\n```\n',
            completion: { verify: 'test -f made.txt' },
          },
          {
            id: 'CHECK',
            title: 'Check',
            role: 'checker',
            dependsOn: ['MAKE'],
            body: '```sh\ncat made.txt > checked.txt\n```\n',
            completion: { verify: 'grep -qx made checked.txt' },
          },
        ],
      })
      expect((await settled(orchestrator!)).allComplete).toBe(true)
      expect(await worktreeFile('checker-1', 'checked.txt')).toBe('made\n')
      expect(await projectContainers(docker, project.root)).toHaveLength(2)
    }, 120_000)
  },
)
