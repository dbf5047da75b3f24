// The process backend with `session: true`: commands start from one long-lived shell per agent,
// and everything an agent promises (output, stdin, crashes, aborts, stops) holds as without it.
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import {
  createMemorySource,
  createOrchestrator,
  createTask,
  isTanukiError,
  type AgentExit,
  type OutputChunk,
  type RunRequest,
  type TaskInput,
} from '@tanuki/core'
import { afterEach, describe, expect, it } from 'vitest'
import { gitRepo, isAlive, project, removeTempDirs, tempDir, waitFor } from '../test/support/repo.ts'
import type { ProcessAgent } from './agent.ts'
import { createProcessBackend } from './backend.ts'
import { readPidFile } from './kit/pid-file.ts'

const spawned: ProcessAgent[] = []
afterEach(async () => {
  for (const agent of spawned.splice(0)) await agent.stop()
  removeTempDirs()
})

const fence = '```'
const task = (input: Partial<TaskInput> & { body?: string }) =>
  createTask({ id: 'T-1', title: 'A task', completion: { signal: 'DONE' }, ...input })
const request = (input: Partial<RunRequest> & { task: RunRequest['task'] }): RunRequest => ({
  prompt: 'the prompt',
  iteration: 1,
  signal: new AbortController().signal,
  ...input,
})

async function spawn(root: string, role: Record<string, unknown>) {
  const backend = createProcessBackend({ killGraceMs: 300, session: true })
  const agent = (await backend.spawn({
    name: 'worker-1',
    role: 'worker',
    options: role,
    project: project(root),
  })) as ProcessAgent
  spawned.push(agent)
  return agent
}

describe('process backend with session: true', () => {
  it('runs shell blocks and commands (prompt on stdin) in the worktree, from one shell', async () => {
    const root = gitRepo()
    const agent = await spawn(root, { kind: 'shell' })
    const chunks: OutputChunk[] = []
    const body = `${fence}sh\necho "$TANUKI_TASK_ID" > where.txt; pwd\n${fence}\n${fence}sh\necho DONE\n${fence}`
    const result = await agent.run(request({ task: task({ body }), onOutput: (chunk) => chunks.push(chunk) }))
    expect(result).toMatchObject({ exitCode: 0, output: `${agent.workspace}\nDONE\n` })
    expect(readFileSync(join(agent.workspace, 'where.txt'), 'utf8')).toBe('T-1\n')
    expect((await agent.exec('test -f where.txt')).exitCode).toBe(0)

    const command = await spawn(tempDir(), {
      kind: 'command',
      command: ['sh', '-c', 'cat; echo " DONE"'],
      workspace: 'shared',
    })
    const echoed = await command.run(request({ task: task({}), prompt: 'a prompt' }))
    expect(echoed.output).toBe('a prompt DONE\n')
  })

  it('a command killed from outside is a crash; an abort is an abort; stop ends the shell', async () => {
    const root = gitRepo()
    const agent = await spawn(root, { kind: 'shell' })
    const exits: AgentExit[] = []
    agent.onExit((exit) => exits.push(exit))
    const hang = task({ body: `${fence}sh\nsleep 1000\n${fence}` })

    const controller = new AbortController()
    const aborted = agent.run(request({ task: hang, signal: controller.signal }))
    await waitFor(() => agent.pid !== undefined, 5000, 'the pid')
    controller.abort()
    const abortError = await aborted.catch((e: unknown) => e)
    expect(isTanukiError(abortError, 'TANUKI_ABORTED')).toBe(true)
    expect(agent.state).toBe('alive')

    const crashed = agent.run(request({ task: hang }))
    await waitFor(() => agent.pid !== undefined, 5000, 'the pid')
    const pid = Number(readFileSync(join(root, '.tanuki', 'pids', 'worker-1.pid'), 'utf8'))
    process.kill(pid, 'SIGKILL')
    const crashError = await crashed.catch((e: unknown) => e)
    expect(isTanukiError(crashError, 'TANUKI_AGENT_CRASHED')).toBe(true)
    expect(exits).toEqual([expect.objectContaining({ expected: false })])
  })

  it('stop() during a run is an abort and leaves no process behind', async () => {
    const agent = await spawn(gitRepo(), { kind: 'shell' })
    const running = agent.run(request({ task: task({ body: `${fence}sh\nsleep 1000\n${fence}` }) }))
    await waitFor(() => agent.pid !== undefined, 5000, 'the pid')
    const pid = agent.pid!
    await agent.stop()
    const error = await running.catch((e: unknown) => e)
    expect(isTanukiError(error, 'TANUKI_ABORTED')).toBe(true)
    await waitFor(() => !isAlive(pid), 5000, 'the command to die')
  })

  it.each(['bash', 'sh'])(
    'a program that is not installed is a start that failed, not an iteration that printed nothing (%s)',
    async (shell) => {
      for (const program of ['no-such-agent-program', '/no/such/agent-program']) {
        const agent = await spawn(tempDir(), {
          kind: 'command',
          command: [program],
          workspace: 'shared',
          session: shell,
        })
        const result = await agent.run(request({ task: task({}) }))
        expect(result.exitCode).toBe(127)
        expect(result.failure).toMatchObject({ class: 'could-not-start', config: true })
        expect(result.failure?.cause).toContain(`could not start ${program}: not found`)
        await agent.stop()
      }
    },
  )

  it("writes the running command's pid file from the shell, and says which values session takes", async () => {
    const root = tempDir()
    const agent = await spawn(root, { kind: 'command', command: ['sleep', '1000'], workspace: 'shared' })
    const running = agent.run(request({ task: task({}) }))
    await waitFor(() => agent.pid !== undefined, 5000, 'the pid')
    const pidFile = join(root, '.tanuki', 'pids', 'worker-1.pid')
    await waitFor(() => readPidFile(pidFile) === agent.pid, 5000, 'the pid file')
    await agent.stop()
    await running.catch(() => {})
    // Its shell, killed, could not empty it: the agent removes it.
    await waitFor(() => !existsSync(pidFile), 5000, 'the pid file to go')
    await expect(spawn(root, { kind: 'command', command: ['true'], session: 'zsh' })).rejects.toThrow(
      /agents\.worker\.session must be true, false, 'bash' or 'sh', got "zsh"/,
    )
    await expect(
      spawn(root, { kind: 'command', command: ['true'], session: 'bash', env: { PATH: '/nowhere' } }),
    ).rejects.toThrow(
      /agents\.worker\.session asks for bash, which is not on the agents' PATH\. Install bash, or set it/,
    )
  })

  it('runs a project through the orchestrator', async () => {
    const root = gitRepo()
    const tasks = Array.from({ length: 12 }, (_, i) =>
      createTask({
        id: `S-${i}`,
        title: `step ${i}`,
        dependsOn: i > 0 ? [`S-${i - 1}`] : [],
        completion: { verify: `test -f s${i}.txt` },
        body: `${fence}sh\ntouch s${i}.txt\n${fence}`,
      }),
    )
    const orchestrator = createOrchestrator({
      config: { cooldownMs: 0, defaults: { backend: 'process', kind: 'shell', session: true, count: 2 } },
      project: project(root),
      sources: [createMemorySource(tasks)],
      backends: [createProcessBackend({ killGraceMs: 300 })],
    })
    await orchestrator.start()
    expect(await orchestrator.done()).toMatchObject({ allComplete: true })
    // Twelve tasks in a chain, each a commit and a merge: seconds on a busy machine.
  }, 60_000)
})
