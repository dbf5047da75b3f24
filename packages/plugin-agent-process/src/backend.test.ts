import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import {
  createTask,
  isTanukiError,
  preflightProbe,
  readProbe,
  type AgentExit,
  type OutputChunk,
  type RunRequest,
  type TaskInput,
} from '@tanuki/core'
import { afterEach, describe, expect, it } from 'vitest'
import {
  git,
  gitRepo,
  initRepo,
  isAlive,
  project,
  readPids,
  removeTempDirs,
  tempDir,
  waitFor,
} from '../test/support/repo.ts'
import type { ProcessAgent } from './agent.ts'
import { createProcessBackend, type ProcessBackendOptions } from './backend.ts'

const spawned: ProcessAgent[] = []

afterEach(async () => {
  for (const agent of spawned.splice(0)) await agent.stop()
  removeTempDirs()
})

const fence = '```'

function task(input: Partial<TaskInput> & { body?: string }) {
  return createTask({ id: 'T-1', title: 'A task', completion: { signal: 'DONE' }, ...input })
}

function request(input: Partial<RunRequest> & { task: RunRequest['task'] }): RunRequest {
  return { prompt: 'the prompt', iteration: 1, signal: new AbortController().signal, ...input }
}

async function spawn(
  root: string,
  role: Record<string, unknown>,
  options: ProcessBackendOptions = {},
  name = 'worker-1',
) {
  const backend = createProcessBackend({ killGraceMs: 500, ...options })
  const agent = (await backend.spawn({ name, role: 'worker', options: role, project: project(root) })) as ProcessAgent
  spawned.push(agent)
  return { backend, agent }
}

describe('shell kind', () => {
  it("runs the sh and bash blocks in order in the agent's worktree, and verify sees their work there", async () => {
    const root = gitRepo()
    const { agent } = await spawn(root, { kind: 'shell' })
    expect(agent.workspaceMode).toBe('worktree')
    expect(agent.branch).toBe('tanuki/worker-1')
    const body = [
      'First:',
      `${fence}sh`,
      'echo one >> order.txt; pwd',
      fence,
      'Not run:',
      `${fence}js`,
      'console.log("no")',
      fence,
      `${fence}bash`,
      'words=(two three); echo "${words[@]}" >> order.txt; echo DONE',
      fence,
    ].join('\n')
    const chunks: OutputChunk[] = []
    const result = await agent.run(request({ task: task({ body }), onOutput: (chunk) => chunks.push(chunk) }))
    expect(result.error).toBeUndefined()
    expect(result.exitCode).toBe(0)
    expect(result.output).toBe(`${agent.workspace}\nDONE\n`)
    expect(chunks.map((c) => c.text).join('')).toBe(result.output)
    expect(readFileSync(join(agent.workspace, 'order.txt'), 'utf8')).toBe('one\ntwo three\n')
    expect(existsSync(join(root, 'order.txt'))).toBe(false)

    expect((await agent.exec('test -f order.txt')).exitCode).toBe(0)
    expect(
      (await (await spawn(root, { kind: 'shell', workspace: 'shared' }, {}, 'other')).agent.exec('test -f order.txt'))
        .exitCode,
    ).toBe(1)
    // The iteration's work is committed on the agent's branch, tied to its task.
    expect(git(agent.workspace, 'log', '-1', '--format=%B')).toContain('Tanuki-Task: T-1')
    expect(git(agent.workspace, 'show', '--name-only', '--format=', 'HEAD')).toBe('order.txt')
  })

  it('stops at the first failing block, naming it', async () => {
    const root = gitRepo()
    const { agent } = await spawn(root, { kind: 'shell' })
    const body = [
      `${fence}sh`,
      'echo before',
      'false',
      'echo after',
      fence,
      '',
      `${fence}sh`,
      'touch never.txt',
      fence,
    ].join('\n')
    const result = await agent.run(request({ task: task({ body }) }))
    expect(result.output).toBe('before\n')
    expect(result.exitCode).toBe(1)
    expect(result.error).toBe('sh block at line 1 exited with code 1')
    expect(existsSync(join(agent.workspace, 'never.txt'))).toBe(false)
  })

  it('gives an error result for a task without a shell block', async () => {
    const { agent } = await spawn(tempDir(), { kind: 'shell' })
    const result = await agent.run(request({ task: task({ body: 'Just words.' }) }))
    expect(result.output).toBe('')
    expect(result.error).toContain('task T-1 has no sh/bash code block')
  })

  it('passes the task and agent to the blocks through the environment', async () => {
    const { agent } = await spawn(tempDir(), { kind: 'shell', env: { EXTRA: 'yes' } }, { env: { BASE: 'base' } })
    const body = [
      `${fence}sh`,
      'echo "$TANUKI_AGENT $TANUKI_ROLE $TANUKI_TASK_ID $TANUKI_ITERATION $EXTRA $BASE"',
      fence,
    ].join('\n')
    const result = await agent.run(request({ task: task({ body }), iteration: 2 }))
    expect(result.output).toBe('worker-1 worker T-1 2 yes base\n')
  })
})

describe('command kind', () => {
  it('gives the prompt on stdin and in {prompt}', async () => {
    const root = tempDir()
    const { agent } = await spawn(root, {
      kind: 'command',
      command: ['sh', '-c', 'echo "arg: $1"; echo "stdin: $(cat)"; exit 4', 'sh', 'say {prompt}!'],
    })
    expect(agent.workspaceMode).toBe('shared')
    const result = await agent.run(request({ task: task({}), prompt: 'hello' }))
    expect(result.output).toBe('arg: say hello!\nstdin: hello\n')
    expect(result.exitCode).toBe(4)
    expect(result.error).toBe('command sh exited with code 4')
  })

  it('keeps stdin empty with promptVia: arg', async () => {
    const { agent } = await spawn(tempDir(), {
      kind: 'command',
      command: ['sh', '-c', 'echo "[$(cat)] $1"', 'sh', '{prompt}'],
      promptVia: 'arg',
    })
    const result = await agent.run(request({ task: task({}), prompt: 'hi' }))
    expect(result).toMatchObject({ output: '[] hi\n', exitCode: 0 })
  })

  it('refuses a role without a command at spawn, naming the role', async () => {
    const error = await spawn(tempDir(), { kind: 'command' }).catch((e: unknown) => e)
    expect(isTanukiError(error, 'TANUKI_CONFIG_INVALID')).toBe(true)
    expect((error as Error).message).toMatch(/^agents\.worker: kind "command" needs "command"/)
  })

  it('says, as a start that failed, that the program is missing', async () => {
    const { agent } = await spawn(tempDir(), { kind: 'command', command: ['tanuki-missing-agent'] })
    const result = await agent.run(request({ task: task({}) }))
    expect(result.failure).toMatchObject({ class: 'could-not-start', config: true })
    expect(result.failure?.cause).toMatch(
      /: could not start tanuki-missing-agent: "tanuki-missing-agent" was not found\. Install it, or set agents\.worker\.command to the program to run\.$/,
    )
    expect(agent.state).toBe('alive')
  })

  it('says how to fix a program that is not executable, instead of to install it', async () => {
    const dir = tempDir()
    const script = join(dir, 'agent.sh')
    writeFileSync(script, '#!/bin/sh\necho DONE\n', { mode: 0o644 })
    const { agent } = await spawn(dir, { kind: 'command', command: [script] })
    const result = await agent.run(request({ task: task({}) }))
    expect(result.failure).toMatchObject({ class: 'could-not-start', config: true })
    expect(result.failure?.cause).toContain(
      `: could not start ${script}: "${script}" is not executable (\`chmod +x ${script}\`, or run it through its interpreter).`,
    )
    expect(result.failure?.cause).not.toContain('Install it')
  })
})

describe('a program in the project folder that agents in worktrees do not have', () => {
  const uncommitted = () => {
    const root = gitRepo()
    writeFileSync(join(root, 'agent.sh'), '#!/bin/sh\necho DONE\n', { mode: 0o755 })
    return root
  }
  const notCommitted =
    '"./agent.sh" is in the project folder but not committed, and agents work in git worktrees made from commits: ' +
    'commit it (`git add ./agent.sh && git commit`), or give its absolute path'

  it('a run says the script is not committed, not to install it', async () => {
    const { agent } = await spawn(uncommitted(), { kind: 'command', command: ['./agent.sh'] })
    expect(agent.workspaceMode).toBe('worktree')
    const result = await agent.run(request({ task: task({}) }))
    expect(result.failure).toMatchObject({ class: 'could-not-start', config: true })
    expect(result.failure?.cause).toContain(`could not start ./agent.sh: "./agent.sh" was not found. ${notCommitted}.`)
    expect(result.failure?.cause).not.toContain('Install it')
  })

  it('`task validate` refuses it, and takes it once committed, or in a shared workspace', async () => {
    const root = uncommitted()
    const check = (role: Record<string, unknown>) =>
      createProcessBackend().checkPrograms!({ role: 'dev', options: role, project: project(root) })
    const role = { kind: 'command', command: ['./agent.sh'] }
    const found = await check(role)
    expect(found.problems.map((problem) => problem.message)).toEqual([`agents.dev.command[0]: ${notCommitted}`])
    expect(await check({ ...role, setup: 'make agent.sh' })).toEqual({
      problems: [],
      notes: [`agents.dev.command[0]: ${notCommitted}, unless the role's setup makes it.`],
    })
    expect(await check({ ...role, workspace: 'shared' })).toEqual({ problems: [], notes: [] })
    expect((await check({ kind: 'command', command: ['../agent.sh'] })).problems[0]?.message).toBe(
      `agents.dev.command[0]: "../agent.sh" is not a file (looked for ${join(root, '..', 'agent.sh')}): fix the path, or create the file`,
    )
    git(root, 'add', 'agent.sh')
    git(root, 'commit', '-q', '-m', 'agent')
    expect(await check(role)).toEqual({ problems: [], notes: [] })
  })

  it('refuses a relative path that leads out of the repository', async () => {
    const outer = tempDir()
    writeFileSync(join(outer, 'agent.sh'), '#!/bin/sh\n', { mode: 0o755 })
    const root = join(outer, 'repo')
    mkdirSync(root)
    initRepo(root)
    const found = await createProcessBackend().checkPrograms!({
      role: 'dev',
      options: { kind: 'command', command: ['../agent.sh'] },
      project: project(root),
    })
    expect(found.problems.map((problem) => problem.message)).toEqual([
      'agents.dev.command[0]: "../agent.sh" is outside the git repository, so from an agent\'s worktree the path leads elsewhere: give its absolute path',
    ])
  })
})

describe('validateRole: a role is checked before anything runs', () => {
  const check = (role: Record<string, unknown>, options: ProcessBackendOptions = {}) => {
    const root = tempDir()
    return Promise.resolve()
      .then(() => createProcessBackend(options).validateRole!({ role: 'qa', options: role, project: project(root) }))
      .then(
        () => undefined,
        (error: unknown) => error as Error & { code: string },
      )
  }

  it.each([
    [
      { kind: 'cluade' },
      'agents.qa: "kind" is "cluade", not an agent kind (did you mean "claude"?); use one of: claude, codex, command, shell',
    ],
    [{ kind: 'command' }, 'agents.qa: kind "command" needs "command"'],
    [{ kind: 'command', command: ['x'], promptVia: 'pipe' }, '"promptVia" must be "stdin" or "arg"'],
    [
      { kind: 'command', command: ['aider', '--yes'], promptVia: 'arg' },
      'agents.qa: "promptVia" is "arg", but no element of "command" holds {prompt}, so the agent would never get the prompt. Put {prompt} where the program takes it, e.g. ["aider","--yes","{prompt}"]',
    ],
    [{ kind: 'shell', comand: ['x'] }, 'agents.qa.comand is not an option (did you mean "command"?)'],
    [{ kind: 'shell', setpu: 'npm ci' }, 'agents.qa.setpu is not an option (did you mean "setup"?)'],
    [{ kind: 'shell', workspace: 'tmp' }, 'agents.qa.workspace must be one of auto, worktree, shared'],
    [{ kind: 'shell', env: { A: 1 } }, 'agents.qa.env must map variable names to strings'],
  ])('refuses %j', async (role, words) => {
    const error = await check(role)
    expect(error?.code).toBe('TANUKI_CONFIG_INVALID')
    expect(error?.message).toContain(words)
  })

  it('accepts a good role, the plugin’s own options under it, and keys that are not near misses', async () => {
    expect(await check({ kind: 'shell', count: 0, notes: 'mine' })).toBeUndefined()
    expect(await check({ kind: 'shell', setup: 'npm ci' })).toBeUndefined()
    expect(await check({ command: ['my-agent'] }, { kind: 'command' })).toBeUndefined()
    expect(await check({}, { kind: 'bogus' as 'shell' })).toMatchObject({ code: 'TANUKI_CONFIG_INVALID' })
  })

  it('spawns nothing and writes nothing', async () => {
    const root = tempDir()
    const backend = createProcessBackend()
    await backend.validateRole!({ role: 'qa', options: { kind: 'shell' }, project: project(root) })
    expect(backend.agents.size).toBe(0)
    expect(existsSync(join(root, '.tanuki'))).toBe(false)
  })
})

describe("a verify's pre-flight probe, in the agent's shell", () => {
  it('finds a program on PATH, misses a typo, and is unsure where the workspace may provide it', async () => {
    const root = gitRepo()
    const bin = tempDir()
    writeFileSync(join(bin, 'tanuki-probe-tool'), '#!/bin/sh\nexit 0\n', { mode: 0o755 })
    writeFileSync(join(bin, 'tanuki-probe-plain'), 'not executable\n', { mode: 0o644 })
    const PATH = `${bin}:/usr/bin:/bin`
    const { agent } = await spawn(root, { kind: 'shell', env: { PATH } })
    const probe = async (program: string) => readProbe(await agent.exec(preflightProbe(program)))
    expect(await probe('tanuki-probe-tool')).toBe('found')
    expect(await probe('sh')).toBe('found')
    expect(await probe('cd')).toBe('found')
    expect(await probe('tanuki-probe-typo')).toBe('missing')
    expect(await probe('/nowhere/tanuki-probe-typo')).toBe('missing')
    // A file of that name that cannot run: the verify's own run says so (exit 126).
    expect(await probe('tanuki-probe-plain')).toBe('unsure')
    // A name with a quote in it is one word to the shell, not a command.
    expect(await probe("it's; touch pwned")).toBe('missing')
    expect(existsSync(join(agent.workspace, 'pwned'))).toBe(false)

    // node_modules/.bin on PATH (relative, or absolute in the worktree): the agent may install it there.
    const { agent: relative } = await spawn(
      root,
      { kind: 'shell', env: { PATH: `node_modules/.bin:${PATH}` } },
      {},
      'rel',
    )
    expect(readProbe(await relative.exec(preflightProbe('tanuki-probe-typo')))).toBe('unsure')
    const { agent: inside } = await spawn(root, { kind: 'shell' }, {}, 'inside')
    const here = `${inside.workspace}/node_modules/.bin`
    expect(readProbe(await inside.exec(`PATH=${here}:${PATH}; ${preflightProbe('tanuki-probe-typo')}`))).toBe('unsure')
    await inside.exec(`mkdir -p ${here} && cp ${bin}/tanuki-probe-tool ${here}/tanuki-probe-local`)
    expect(readProbe(await inside.exec(`PATH=${here}:${PATH}; ${preflightProbe('tanuki-probe-local')}`))).toBe(
      'found-here',
    )
  })
})

describe('shared workspace', () => {
  it('logs once that agents share the project directory', async () => {
    const root = tempDir()
    const notes: string[] = []
    const backend = createProcessBackend({ kind: 'shell', log: (message) => notes.push(message) })
    for (const name of ['a', 'b'])
      spawned.push((await backend.spawn({ name, role: 'r', options: {}, project: project(root) })) as ProcessAgent)
    expect(spawned.map((agent) => agent.workspace)).toEqual([root, root])
    expect(notes).toHaveLength(1)
    expect(notes[0]).toContain('workspace "shared"')
    expect(spawned[0]!.note).toBe(notes[0])
  })
})

describe('stopping and crashes', () => {
  const tree = [
    `${fence}sh`,
    'sleep 1000 & echo $! > pids',
    'sleep 1000 & echo $! >> pids',
    'echo started',
    'wait',
    fence,
  ].join('\n')

  it('abort kills the whole process tree and rejects with TANUKI_ABORTED', async () => {
    const { agent } = await spawn(tempDir(), { kind: 'shell' })
    const exits: AgentExit[] = []
    agent.onExit((exit) => exits.push(exit))
    const controller = new AbortController()
    const running = agent.run(
      request({
        task: task({ body: tree }),
        signal: controller.signal,
        onOutput: (c) => c.text.includes('started') && controller.abort('timeout'),
      }),
    )
    const error = await running.catch((e: unknown) => e)
    expect(isTanukiError(error, 'TANUKI_ABORTED')).toBe(true)
    const pids = readPids(join(agent.workspace, 'pids'))
    await waitFor(() => pids.every((pid) => !isAlive(pid)), 5000, 'the sleeps to die')
    // An aborted iteration is not the agent's end: it takes the next one.
    expect(exits).toEqual([])
    expect(agent.state).toBe('alive')
    const next = await agent.run(request({ task: task({ body: `${fence}sh\necho again\n${fence}` }) }))
    expect(next.output).toBe('again\n')
  })

  it('an external SIGKILL of the running process is a crash', async () => {
    const root = gitRepo()
    const events: { pid: number; state: string }[] = []
    const { agent } = await spawn(
      root,
      { kind: 'shell' },
      { onProcess: ({ pid, state }) => events.push({ pid, state }) },
    )
    const exits: AgentExit[] = []
    agent.onExit((exit) => exits.push(exit))
    const pidFile = join(root, '.tanuki', 'pids', 'worker-1.pid')
    const running = agent.run(
      request({
        task: task({ body: tree }),
        onOutput: (chunk) => {
          if (!chunk.text.includes('started')) return
          // What a person (or the OOM killer) would do, found where a person would look.
          const pid = Number(readFileSync(pidFile, 'utf8'))
          expect(pid).toBe(agent.pid)
          process.kill(pid, 'SIGKILL')
        },
      }),
    )
    const error = await running.catch((e: unknown) => e)
    expect(isTanukiError(error, 'TANUKI_AGENT_CRASHED')).toBe(true)
    expect((error as Error).message).toContain('killed by SIGKILL')
    expect(exits).toHaveLength(1)
    expect(exits[0]).toMatchObject({ expected: false })
    expect(agent.state).toBe('crashed')
    expect(events.map((e) => e.state)).toEqual(['started', 'ended'])
    // Blank: its process ended.
    expect(readFileSync(pidFile, 'utf8').trim()).toBe('')
    const pids = readPids(join(agent.workspace, 'pids'))
    await waitFor(() => pids.every((pid) => !isAlive(pid)), 5000, 'the orphaned sleeps to die')
    await expect(agent.run(request({ task: task({ body: tree }) }))).rejects.toMatchObject({
      code: 'TANUKI_AGENT_CRASHED',
    })
  })

  it('stop() during a run kills the tree, rejects the run with TANUKI_ABORTED and is an expected exit', async () => {
    const { agent } = await spawn(tempDir(), { kind: 'shell' })
    const exits: AgentExit[] = []
    agent.onExit((exit) => exits.push(exit))
    let started!: () => void
    const ready = new Promise<void>((resolve) => (started = resolve))
    const running = agent.run(
      request({ task: task({ body: tree }), onOutput: (c) => c.text.includes('started') && started() }),
    )
    await ready
    const pid = agent.pid!
    await agent.stop()
    await expect(running).rejects.toMatchObject({ code: 'TANUKI_ABORTED' })
    expect(exits).toEqual([{ reason: 'stopped', expected: true }])
    expect(isAlive(pid)).toBe(false)
    const pids = readPids(join(agent.workspace, 'pids'))
    await waitFor(() => pids.every((p) => !isAlive(p)), 5000, 'the sleeps to die')
  })

  it('reaps a process a previous orchestrator left running, found through its pid file', async () => {
    const root = gitRepo()
    const { agent } = await spawn(root, { kind: 'shell' }, { killGraceMs: 500 })
    const running = agent.run(request({ task: task({ body: tree }) }))
    await waitFor(
      () => agent.pid !== undefined && existsSync(join(agent.workspace, 'pids')),
      5000,
      'the block to start',
    )
    const leftover = agent.pid!
    // A new backend (a resumed project) spawns the same agent name while the old process still runs.
    await spawn(root, { kind: 'shell' }, {}, 'worker-1')
    const error = await running.catch((e: unknown) => e)
    expect(isTanukiError(error, 'TANUKI_AGENT_CRASHED')).toBe(true)
    expect(isAlive(leftover)).toBe(false)
  })
})

describe('remove and cleanup', () => {
  it('remove() deletes the worktree, and the branch unless it holds an edit of no task; a respawn before that reuses them', async () => {
    const root = gitRepo()
    const { agent } = await spawn(root, { kind: 'shell' })
    writeFileSync(join(agent.workspace, 'keep.txt'), 'x')
    await agent.stop()
    const { agent: again } = await spawn(root, { kind: 'shell' })
    expect(again.workspace).toBe(agent.workspace)
    expect(readFileSync(join(again.workspace, 'keep.txt'), 'utf8')).toBe('x')
    // keep.txt is no task's work: remove() commits it on the branch and keeps the branch for it.
    await again.remove()
    expect(existsSync(again.workspace)).toBe(false)
    expect(git(root, 'show', 'tanuki/worker-1:keep.txt')).toBe('x')
    // A workspace with nothing of anyone's in it goes with its branch.
    const { agent: clean } = await spawn(root, { kind: 'shell' }, {}, 'worker-2')
    await clean.remove()
    expect(existsSync(clean.workspace)).toBe(false)
    expect(git(root, 'branch', '--list', 'tanuki/worker-2')).toBe('')
  })

  it('cleanup(project) removes the worktrees of agents it never spawned', async () => {
    const root = gitRepo()
    const { agent } = await spawn(root, { kind: 'shell' })
    await agent.stop()
    const fresh = createProcessBackend()
    await fresh.cleanup(project(root))
    expect(existsSync(agent.workspace)).toBe(false)
    expect(git(root, 'branch', '--list', 'tanuki/*')).toBe('')
    expect(git(root, 'status', '--porcelain', '--', '.', ':!.tanuki')).toBe('')
  })
})
