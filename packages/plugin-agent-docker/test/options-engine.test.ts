import { execFile } from 'node:child_process'
import { existsSync, statSync } from 'node:fs'
import { chmod, chown, mkdir, mkdtemp, realpath, rm, writeFile } from 'node:fs/promises'
import { hostname, tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import { promisify } from 'node:util'
import { createTask, blamesConfig, isTanukiError, type ProjectInfo } from '@tanuki/core'
import type Docker from 'dockerode'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createDockerBackend, type DockerAgent, type DockerBackend } from '../src/index.ts'
import {
  TEST_IMAGE,
  problem,
  projectContainers,
  requireEngine,
  skipDocker,
  tempProject,
  agentWorktree,
} from './helpers.ts'

const git = (cwd: string, ...args: string[]) => promisify(execFile)('git', args, { cwd })

/** The `network`, `user` and `mounts` options, checked against what the engine really did. */
describe.skipIf(skipDocker)(
  `docker backend options on a real engine${skipDocker ? ` (skipped: ${problem})` : ''}`,
  () => {
    let docker: Docker
    let project: (ProjectInfo & { cleanup: () => Promise<void> }) | undefined
    let backend: DockerBackend
    const agents: DockerAgent[] = []
    const networks: string[] = []
    const dirs: string[] = []

    beforeAll(async () => {
      docker = await requireEngine()
    }, 120_000)

    afterEach(async () => {
      await Promise.allSettled(agents.splice(0).map((agent) => agent.remove()))
      await project?.cleanup()
      project = undefined
      for (const name of networks.splice(0))
        await docker
          .getNetwork(name)
          .remove()
          .catch(() => {})
      for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true })
    })

    afterAll(async () => {
      await project?.cleanup()
    })

    const spawn = async (options: Record<string, unknown>, name = 'worker-1'): Promise<DockerAgent> => {
      const agent = await backend.spawn({
        name,
        role: 'worker',
        options: { kind: 'shell', image: TEST_IMAGE, ...options },
        project: project!,
      })
      agents.push(agent)
      return agent
    }

    const run = (agent: DockerAgent, script: string) =>
      agent.run({
        prompt: 'p',
        task: createTask({
          id: 'T-1',
          title: 'task T-1',
          body: `\`\`\`sh\n${script}\n\`\`\``,
          completion: { signal: 'DONE' },
        }),
        iteration: 1,
        signal: new AbortController().signal,
      })

    const networkExists = async (name: string): Promise<boolean> =>
      docker
        .getNetwork(name)
        .inspect()
        .then(
          () => true,
          () => false,
        )

    it('creates a missing network, attaches the container, and cleanup removes only the networks it created', async () => {
      project = await tempProject('network')
      const created = `tanuki-test-net-${project.name}`
      const existing = `tanuki-test-own-${project.name}`
      networks.push(created, existing)
      expect(await networkExists(created)).toBe(false)
      // A network of the user's, made before Tanuki ran: it must survive cleanup.
      await docker.createNetwork({ Name: existing, Driver: 'bridge' })
      backend = createDockerBackend()

      const a = await spawn({ network: created }, 'worker-1')
      const b = await spawn({ network: existing }, 'worker-2')
      const info = await docker.getNetwork(created).inspect()
      expect(info).toMatchObject({ Name: created, Driver: 'bridge', Labels: { 'dev.tanuki.project': project.root } })
      const attachedA = (await docker.getContainer(a.containerId).inspect()).NetworkSettings.Networks
      const attachedB = (await docker.getContainer(b.containerId).inspect()).NetworkSettings.Networks
      expect(Object.keys(attachedA)).toEqual([created])
      expect(Object.keys(attachedB)).toEqual([existing])
      // The container really has an address on that network's subnet.
      const subnet = String(info.IPAM?.Config?.[0]?.Subnet)
      expect(subnet).toMatch(/^[\d.]+\/\d+$/)
      const address = attachedA[created]!.IPAddress
      expect(address).not.toBe('')
      expect((await a.exec('ip -4 -o addr show eth0')).output).toContain(`${address}/${subnet.split('/')[1]}`)

      await backend.cleanup(project)
      expect(await networkExists(created)).toBe(false)
      expect(await networkExists(existing)).toBe(true)
    }, 60_000)

    it('refuses, at spawn, a user that cannot write the workspace', async () => {
      project = await tempProject('user-refused')
      backend = createDockerBackend()
      const worktree = agentWorktree(project.root, 'worker-1')
      // The worktree belongs to whoever runs tanuki: uid 1234 cannot write it. Every iteration would fail.
      const refused = await spawn({ user: '1234:1234' }).catch((error: unknown) => error)
      expect(isTanukiError(refused, 'TANUKI_AGENT_SPAWN_FAILED')).toBe(true)
      // The role's configuration is to blame: the orchestrator pauses the role instead of failing its tasks.
      expect(blamesConfig(refused)).toBe(true)
      const owner = `${process.getuid!()}:${process.getgid!()}`
      expect((refused as Error).message).toContain(
        `runs as user "1234:1234" (docker backend option "user"), which cannot write its workspace ${worktree} (owned by ${owner},`,
      )
      expect(await projectContainers(docker, project.root)).toEqual([])
    }, 60_000)

    // Giving another uid write access to the worktree (keeping its owner, for git) takes root.
    it.skipIf(process.getuid?.() !== 0)(
      'runs steps and verify commands as the configured user, whose files the host sees as theirs',
      async () => {
        project = await tempProject('user')
        backend = createDockerBackend()
        const worktree = agentWorktree(project.root, 'worker-1')
        // Spawned once as the image's user to make the worktree, whose directory is then opened to
        // group 1234 so the agent can create files in it. The owner stays root: git on the host
        // refuses a worktree owned by another user ("dubious ownership").
        await (await spawn({})).stop()
        await chown(worktree, 0, 1234)
        await chmod(worktree, 0o775)
        const agent = await spawn({ user: '1234:1234' })
        expect((await docker.getContainer(agent.containerId).inspect()).Config.User).toBe('1234:1234')
        const result = await run(agent, 'id -u > uid.txt\nid -g >> uid.txt\necho DONE')
        expect(result.exitCode).toBe(0)
        expect((await agent.exec('id -u; id -g; cat uid.txt')).output).toBe('1234\n1234\n1234\n1234\n')
        const written = statSync(join(worktree, 'uid.txt'))
        expect([written.uid, written.gid]).toEqual([1234, 1234])
        // ...and the host committed it as usual.
        const { stdout } = await git(worktree, 'show', '--name-only', '--format=%s', 'HEAD')
        expect(stdout).toBe('tanuki(worker-1): T-1 iteration 1: task T-1\n\nuid.txt\n')
      },
      60_000,
    )

    it('mounts extra host paths, read-only when asked, and nothing else of the host', async () => {
      project = await tempProject('mounts')
      // A parent with a sibling: only the mounted directory may be visible, not what lies beside it.
      const parent = await realpath(await mkdtemp(join(tmpdir(), 'tanuki-docker-mount-')))
      dirs.push(parent)
      const data = join(parent, 'data')
      await mkdir(data)
      await writeFile(join(data, 'input.txt'), 'from the host\n')
      await writeFile(join(parent, 'sibling.txt'), 'not for the agent\n')
      backend = createDockerBackend()
      const agent = await spawn({ mounts: [{ source: data, target: '/data', readOnly: true }] })
      const info = await docker.getContainer(agent.containerId).inspect()

      const result = await run(agent, 'cat /data/input.txt > copy.txt\necho DONE')
      expect(result.exitCode).toBe(0)
      expect((await agent.exec('cat copy.txt')).output).toBe('from the host\n')
      const write = await agent.exec('echo changed > /data/input.txt')
      expect(write.exitCode).not.toBe(0)
      expect(write.output).toMatch(/read-only/i)
      const touch = await agent.exec('touch /data/new.txt')
      expect(touch.exitCode).not.toBe(0)
      expect(existsSync(join(data, 'new.txt'))).toBe(false)

      // Nothing else of the host: the container's own hostname; neither the mount's parent nor its sibling.
      expect((await agent.exec('cat /etc/hostname')).output).toBe(`${info.Config.Hostname}\n`)
      expect(info.Config.Hostname).not.toBe(hostname())
      expect((await agent.exec('ls -A /data')).output).toBe('input.txt\n')
      for (const path of [parent, join(parent, 'sibling.txt'), '/sibling.txt', `/${basename(parent)}`]) {
        expect((await agent.exec(`test -e ${path}`)).exitCode, path).toBe(1)
      }
      // The sibling's content is nowhere in the container's filesystem (devices and kernel views
      // aside), while the same search does find the mounted file and the agent's copy of it.
      const search = await agent.exec(
        "for d in /*; do case $d in /proc|/sys|/dev) ;; *) grep -rlF -e 'not for the agent' -e 'from the host' $d 2>/dev/null;; esac; done",
        { timeoutMs: 20_000 },
      )
      expect(search.output.trim().split('\n').sort()).toEqual(['/data/input.txt', '/workspace/copy.txt'])
      expect(info.HostConfig.Binds).toEqual([
        `${agentWorktree(project.root, 'worker-1')}:/workspace`,
        `${data}:/data:ro`,
      ])
    }, 60_000)
  },
)
