import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { blamesConfig, isTanukiError, createTask, type OutputChunk, type ProjectInfo } from '@tanuki/core'
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
  until,
  agentWorktree,
} from './helpers.ts'

describe.skipIf(skipDocker)(`docker backend on a real engine${skipDocker ? ` (skipped: ${problem})` : ''}`, () => {
  let docker: Docker
  let project: ProjectInfo & { cleanup: () => Promise<void> }
  let backend: DockerBackend
  const agents: DockerAgent[] = []

  beforeAll(async () => {
    docker = await requireEngine()
  }, 120_000)

  afterEach(async () => {
    await Promise.allSettled(agents.splice(0).map((agent) => agent.remove()))
    await project?.cleanup()
  })

  const spawn = async (options: Record<string, unknown> = {}, name = 'worker-1'): Promise<DockerAgent> => {
    const agent = await backend.spawn({
      name,
      role: 'worker',
      options: { kind: 'shell', image: TEST_IMAGE, ...options },
      project,
    })
    agents.push(agent)
    return agent
  }

  const task = (body: string, id = 'T-1') =>
    createTask({ id, title: `task ${id}`, body, completion: { signal: 'DONE' } })

  it('runs iterations and commands inside its container, in the mounted worktree', async () => {
    project = await tempProject('run')
    backend = createDockerBackend()
    const agent = await spawn()
    const chunks: OutputChunk[] = []
    const result = await agent.run({
      prompt: 'p',
      task: task('```sh\ncat /etc/hostname > where.txt\necho out; echo err >&2\necho DONE\n```'),
      iteration: 1,
      signal: new AbortController().signal,
      onOutput: (chunk) => chunks.push(chunk),
    })
    const info = await docker.getContainer(agent.containerId).inspect()
    expect(result.exitCode).toBe(0)
    expect(result.output).toContain('DONE')
    // stdout and stderr arrive demultiplexed.
    expect(
      chunks
        .filter((c) => c.stream === 'stdout')
        .map((c) => c.text)
        .join(''),
    ).toBe('out\nDONE\n')
    expect(
      chunks
        .filter((c) => c.stream === 'stderr')
        .map((c) => c.text)
        .join(''),
    ).toBe('err\n')
    const verify = await agent.exec('pwd; cat where.txt; cat /etc/hostname')
    expect(verify).toMatchObject({ exitCode: 0, timedOut: false })
    expect(verify.output).toBe(`/workspace\n${info.Config.Hostname}\n${info.Config.Hostname}\n`)
    expect(info.Config.Hostname).not.toBe('')
    // The worktree on the host holds what the container wrote; the project directory does not.
    const worktree = agentWorktree(project.root, 'worker-1')
    expect(info.HostConfig.Binds).toEqual([`${worktree}:/workspace`])
    expect(info.Config.Labels).toMatchObject({
      'dev.tanuki.project': project.root,
      'dev.tanuki.agent': 'worker-1',
      'dev.tanuki.role': 'worker',
    })
  }, 60_000)

  it('applies memory and CPU limits, and lets in only the allowed environment', async () => {
    project = await tempProject('limits')
    backend = createDockerBackend({ passEnv: ['TANUKI_TEST_ALLOWED', 'TANUKI_TEST_UNSET'] })
    process.env.TANUKI_TEST_ALLOWED = 'allowed-value'
    process.env.TANUKI_TEST_SECRET = 'secret-value'
    try {
      const agent = await spawn({ memory: '96m', cpus: 0.5, env: { EXPLICIT: 'explicit-value' } })
      const info = await docker.getContainer(agent.containerId).inspect()
      expect(info.HostConfig.Memory).toBe(96 * 1024 * 1024)
      expect(info.HostConfig.NanoCpus).toBe(500_000_000)
      const limit = await agent.exec(
        'cat /sys/fs/cgroup/memory.max 2>/dev/null || cat /sys/fs/cgroup/memory/memory.limit_in_bytes',
      )
      expect(limit.output.trim()).toBe(String(96 * 1024 * 1024))
      const env = await agent.exec('env')
      const names = env.output
        .trim()
        .split('\n')
        .map((line) => line.split('=')[0])
      expect(env.output).toContain('TANUKI_TEST_ALLOWED=allowed-value')
      expect(env.output).toContain('EXPLICIT=explicit-value')
      expect(env.output).not.toContain('secret-value')
      expect(names).not.toContain('TANUKI_TEST_SECRET')
      expect(names).not.toContain('TANUKI_TEST_UNSET')
      // Nothing else of the host: only what the image and the engine set, and Tanuki's own.
      const allowed = new Set([
        'PATH',
        'HOSTNAME',
        'HOME',
        'PWD',
        'SHLVL',
        'TANUKI_TEST_ALLOWED',
        'EXPLICIT',
        'TANUKI_AGENT',
        'TANUKI_ROLE',
        'TANUKI_WORKSPACE',
      ])
      expect(names.filter((name) => !allowed.has(name!))).toEqual([])
    } finally {
      delete process.env.TANUKI_TEST_ALLOWED
      delete process.env.TANUKI_TEST_SECRET
    }
  }, 60_000)

  it('gives the prompt on stdin to a command agent', async () => {
    project = await tempProject('stdin')
    backend = createDockerBackend()
    const agent = await spawn({ kind: 'command', command: ['sh', '-c', 'cat; echo; echo DONE'] })
    const result = await agent.run({
      prompt: 'hello from stdin',
      task: task('no blocks'),
      iteration: 1,
      signal: new AbortController().signal,
    })
    expect(result.output).toContain('hello from stdin')
    expect(result.exitCode).toBe(0)
  }, 60_000)

  it('aborts a hanging iteration by killing its processes in the container', async () => {
    project = await tempProject('abort')
    backend = createDockerBackend()
    const agent = await spawn()
    const controller = new AbortController()
    const running = agent.run({
      prompt: 'p',
      task: task('```sh\necho started\nsleep 300\n```'),
      iteration: 1,
      signal: controller.signal,
      onOutput: () => {},
    })
    await until(async () => (await agent.exec('ps')).output.includes('sleep 300'), 20_000, 'the block to start')
    controller.abort('test')
    await expect(running).rejects.toMatchObject({ code: 'TANUKI_ABORTED' })
    const ps = await agent.exec('ps')
    expect(ps.output).not.toContain('sleep 300')
  }, 60_000)

  it('runs a one-off command in a container of the role’s shape on a host folder, and removes it', async () => {
    project = await tempProject('exec-in')
    backend = createDockerBackend({ memory: '96m' })
    const dir = join(project.root, 'combined')
    await mkdir(dir)
    await writeFile(join(dir, 'work.txt'), 'landed\n')
    const chunks: string[] = []
    const result = await backend.execIn({
      project,
      role: 'worker',
      options: { kind: 'shell', image: TEST_IMAGE, env: { GREETING: 'hello' } },
      dir,
      command: 'cat work.txt; echo "$GREETING $TANUKI_TASK_ID"; test -f /.dockerenv && cat /etc/hostname > host.txt',
      env: { TANUKI_TASK_ID: 'T-9' },
      onOutput: (chunk) => chunks.push(chunk.text),
    })
    expect(result).toMatchObject({ exitCode: 0, timedOut: false, output: 'landed\nhello T-9\n' })
    expect(chunks.join('')).toBe(result.output)
    // It ran in a container (not on this host), which is gone now.
    expect((await readFile(join(dir, 'host.txt'), 'utf8')).trim()).not.toBe(
      (await readFile('/etc/hostname', 'utf8')).trim(),
    )
    expect(await projectContainers(docker, project.root)).toEqual([])
    // Its timeout holds, and a failing command says so.
    const slow = await backend.execIn({
      project,
      role: 'worker',
      options: { image: TEST_IMAGE },
      dir,
      command: 'sleep 300',
      timeoutMs: 500,
    })
    expect(slow).toMatchObject({ exitCode: null, timedOut: true })
    const failing = await backend.execIn({
      project,
      role: 'worker',
      options: { image: TEST_IMAGE },
      dir,
      command: 'exit 3',
    })
    expect(failing.exitCode).toBe(3)
    expect(await projectContainers(docker, project.root)).toEqual([])
  }, 60_000)

  it('given the worktree a folder is in (`top`), mounts all of it and runs in that folder: a gate sees the files above', async () => {
    project = await tempProject('exec-in-top')
    backend = createDockerBackend()
    // The integration worktree of a monorepo whose project is services/api.
    const top = join(project.root, 'integration')
    const dir = join(top, 'services', 'api')
    await mkdir(join(top, 'shared'), { recursive: true })
    await mkdir(dir, { recursive: true })
    await writeFile(join(top, 'shared', 'lint.conf'), 'strict\n')
    await writeFile(join(dir, 'work.txt'), 'landed\n')
    const result = await backend.execIn({
      project,
      role: 'worker',
      options: { image: TEST_IMAGE },
      dir,
      top,
      command: 'pwd; cat work.txt ../../shared/lint.conf',
    })
    expect(result).toMatchObject({ exitCode: 0, output: '/workspace/services/api\nlanded\nstrict\n' })
    expect(await projectContainers(docker, project.root)).toEqual([])
  }, 60_000)

  it('kills a verify command that runs past its timeout', async () => {
    project = await tempProject('timeout')
    backend = createDockerBackend()
    const agent = await spawn()
    const result = await agent.exec('sleep 300', { timeoutMs: 500 })
    expect(result).toMatchObject({ exitCode: null, timedOut: true })
    expect((await agent.exec('ps')).output).not.toContain('sleep 300')
  }, 60_000)

  it('reports a container killed from outside as a crash, and the run rejects', async () => {
    project = await tempProject('crash')
    backend = createDockerBackend()
    const agent = await spawn()
    const exits: { reason: string; expected: boolean }[] = []
    agent.onExit((exit) => exits.push(exit))
    const running = agent.run({
      prompt: 'p',
      task: task('```sh\nsleep 300\n```'),
      iteration: 1,
      signal: new AbortController().signal,
    })
    // Handled from the start: the run may reject before the engine has answered the kill.
    const failure = running.then(
      () => undefined,
      (error: unknown) => error,
    )
    await until(async () => (await agent.exec('ps')).output.includes('sleep 300'), 20_000, 'the block to start')
    await docker.getContainer(agent.containerId).kill()
    expect(await failure).toMatchObject({ code: 'TANUKI_AGENT_CRASHED' })
    await until(() => exits.length > 0, 10_000, 'onExit')
    expect(exits).toHaveLength(1)
    expect(exits[0]!.expected).toBe(false)
    expect(exits[0]!.reason).toContain('exited with code 137')
    await expect(agent.exec('true')).rejects.toMatchObject({ code: 'TANUKI_AGENT_CRASHED' })
  }, 60_000)

  it('tells a command killed by a signal from a container that died', async () => {
    project = await tempProject('signal')
    backend = createDockerBackend()
    const agent = await spawn()
    const exits: unknown[] = []
    agent.onExit((exit) => exits.push(exit))
    const result = await agent.run({
      prompt: 'p',
      task: task('```sh\nkill -KILL $$\n```'),
      iteration: 1,
      signal: new AbortController().signal,
    })
    expect(result).toMatchObject({ exitCode: 137, error: expect.stringContaining('exited with code 137') })
    expect(exits).toEqual([])
    expect((await agent.exec('echo alive')).output).toBe('alive\n')
  }, 60_000)

  it('reuses a running container left by an orchestrator that died, and replaces one whose config changed', async () => {
    project = await tempProject('reuse')
    backend = createDockerBackend()
    const first = await spawn()
    // The orchestrator dies mid-iteration: its command goes on running in the container.
    const orphan = first.run({
      prompt: 'p',
      task: task('```sh\nsleep 300\n```'),
      iteration: 1,
      signal: new AbortController().signal,
    })
    await until(async () => (await first.exec('ps')).output.includes('sleep 300'), 20_000, 'the block to start')
    // A new backend, as after a restart of the orchestrator: the container is found by name and labels.
    backend = createDockerBackend()
    const again = await spawn()
    expect(again.containerId).toBe(first.containerId)
    // ...and what the dead orchestrator left running there is gone.
    expect((await again.exec('ps')).output).not.toContain('sleep 300')
    await expect(orphan).resolves.toMatchObject({ exitCode: 137 })
    const changed = await spawn({ memory: '128m' })
    expect(changed.containerId).not.toBe(first.containerId)
    const left = await projectContainers(docker, project.root)
    expect(left.map((c) => c.Id)).toEqual([changed.containerId])
  }, 60_000)

  it('stop() stops the container; cleanup() removes every container of the project and the worktrees', async () => {
    project = await tempProject('cleanup')
    backend = createDockerBackend()
    const a = await spawn({}, 'worker-1')
    await spawn({}, 'worker-2')
    const exits: boolean[] = []
    a.onExit((exit) => exits.push(exit.expected))
    await a.stop()
    expect(exits).toEqual([true])
    expect((await docker.getContainer(a.containerId).inspect()).State.Running).toBe(false)
    expect(await projectContainers(docker, project.root)).toHaveLength(2)
    await backend.cleanup(project)
    expect(await projectContainers(docker, project.root)).toEqual([])
    const { existsSync } = await import('node:fs')
    expect(existsSync(agentWorktree(project.root, 'worker-1'))).toBe(false)
  }, 60_000)

  it('cleanup() keeps the worktrees when an engine a role uses cannot be reached, removing what it can', async () => {
    project = await tempProject('cleanup-unreached')
    backend = createDockerBackend()
    await spawn({}, 'worker-1')
    // The options of the project's two Docker roles: one on this engine, one on an engine not running.
    const roles = [
      { kind: 'shell', image: TEST_IMAGE },
      { kind: 'shell', image: TEST_IMAGE, host: 'unix:///nonexistent/tanuki-test.sock' },
    ]
    const error = await backend.cleanup(project, { roles }).then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(error).toMatchObject({ code: 'TANUKI_DOCKER_UNAVAILABLE' })
    expect(String((error as Error).message)).toContain("The agents' worktrees are kept")
    // The reachable engine's container is gone; the worktree a far container might still use is not.
    expect(await projectContainers(docker, project.root)).toEqual([])
    const { existsSync } = await import('node:fs')
    expect(existsSync(agentWorktree(project.root, 'worker-1'))).toBe(true)
  }, 60_000)

  it('builds its image from a Dockerfile and a context', async () => {
    project = await tempProject('build')
    const context = join(project.root, 'image')
    await mkdir(context)
    await writeFile(join(context, 'Dockerfile'), `FROM ${TEST_IMAGE}\nCOPY greeting.txt /greeting.txt\n`)
    await writeFile(join(context, 'greeting.txt'), 'built here\n')
    const tag = `tanuki-test-built-${project.name}:latest`
    backend = createDockerBackend({ build: { context: 'image' }, image: tag })
    try {
      const agent = await spawn({ image: tag })
      expect((await agent.exec('cat /greeting.txt')).output).toBe('built here\n')
      await agent.remove()
    } finally {
      await docker
        .getImage(tag)
        .remove({ force: true })
        .catch(() => {})
    }
  }, 120_000)

  it('says which image is missing and how to get it when it cannot be pulled', async () => {
    project = await tempProject('noimage')
    backend = createDockerBackend()
    const error = await spawn({ image: 'tanuki-no-such-image:never' }).catch((e: unknown) => e)
    expect(isTanukiError(error, 'TANUKI_IMAGE_UNAVAILABLE')).toBe(true)
    expect((error as Error).message).toMatch(
      /"tanuki-no-such-image:never" is not present locally and could not be pulled/,
    )
    expect((error as Error).message).toContain('docker build -t tanuki-no-such-image:never')
  }, 60_000)

  afterAll(async () => {
    await project?.cleanup()
  })
})

describe('docker backend without an engine', () => {
  it('says which socket it tried and how to start an engine', async () => {
    const saved = process.env.DOCKER_HOST
    process.env.DOCKER_HOST = 'unix:///tmp/tanuki-no-such-docker.sock'
    try {
      const backend = createDockerBackend({ image: TEST_IMAGE, kind: 'shell' })
      const error = await backend
        .spawn({
          name: 'a-1',
          role: 'a',
          options: {},
          project: { root: '/tmp/none', name: 'none', stateDir: '/tmp/none/.tanuki' },
        })
        .catch((e: unknown) => e)
      expect(isTanukiError(error, 'TANUKI_DOCKER_UNAVAILABLE')).toBe(true)
      // Its roles wait for the engine rather than fail their tasks.
      expect(blamesConfig(error)).toBe(true)
      const message = (error as Error).message
      expect(message).toContain('No Docker engine is reachable at unix:///tmp/tanuki-no-such-docker.sock')
      expect(message).toContain('systemctl start docker')
      expect(message).toContain('DOCKER_HOST')
    } finally {
      if (saved === undefined) delete process.env.DOCKER_HOST
      else process.env.DOCKER_HOST = saved
    }
  })

  it('names the option that is wrong', () => {
    const backend = createDockerBackend()
    return expect(
      backend.spawn({
        name: 'a-1',
        role: 'a',
        options: { image: TEST_IMAGE, memory: 'lots' },
        project: { root: '/tmp/none', name: 'none', stateDir: '/tmp/none/.tanuki' },
      }),
    ).rejects.toMatchObject({
      code: 'TANUKI_CONFIG_INVALID',
      message: expect.stringContaining('"memory"'),
    })
  })
})
