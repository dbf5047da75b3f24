import {
  createTask,
  isTanukiError,
  type Agent,
  type AgentBackend,
  type AgentExit,
  type Awaitable,
  type OutputChunk,
  type ProjectInfo,
  type Task,
} from '@tanuki/core'
import { afterEach, describe, expect, it } from 'vitest'

/** What one contract check asks an agent to do in an iteration. */
export interface ContractScript {
  /** A line the agent prints on stdout. */
  print: string
  /** A file the agent writes in its workspace: `[path, content]`. */
  write?: [path: string, content: string]
  /** After printing (and writing), never finish until aborted or killed. */
  hang?: boolean
}

/** How to run the agent backend contract against one backend. */
export interface AgentBackendContract {
  /** Shown in the test names. */
  name: string
  /** A fresh backend for each check. */
  backend(): Awaitable<AgentBackend>
  /** A fresh project for each check (a git repository in a temp folder…); `cleanup` runs after it. */
  project(): Awaitable<ProjectInfo & { cleanup?(): Awaitable<void> }>
  /** The role's options for the agents it spawns, e.g. `{ kind: 'shell' }`. */
  roleOptions?: Record<string, unknown>
  /**
   * The task that makes an agent of this backend do what the script says. Default: a task whose
   * body is one `sh` block (what the `shell` kind runs).
   */
  task?(script: ContractScript): Task
  /**
   * Kills an agent from outside, as a crash would (`kill -9` of its process, `docker kill`). The
   * crash checks are skipped without it.
   */
  kill?(agent: Agent): Awaitable<void>
  /** Per check. Default 60 s. */
  timeoutMs?: number
}

/** Single-quotes a word for sh. */
const quote = (word: string): string => `'${word.replace(/'/g, `'\\''`)}'`

/** The default `task`: the script as one `sh` block. */
export function shellContractTask(script: ContractScript): Task {
  const lines = [`printf '%s\\n' ${quote(script.print)}`]
  if (script.write) lines.push(`printf '%s' ${quote(script.write[1])} > ${quote(script.write[0])}`)
  if (script.hang) lines.push('sleep 600')
  return createTask({
    id: 'CONTRACT-1',
    title: 'Contract check',
    body: `Do this:\n\n\`\`\`sh\n${lines.join('\n')}\n\`\`\`\n`,
    completion: { signal: script.print },
  })
}

/** Polls until `check` holds, or fails naming `what`. */
async function until(check: () => Awaitable<boolean>, what: string, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((done) => setTimeout(done, 50))
  }
}

/** What a promise settles with: its value, or the error it rejects with. */
function settled<T>(promise: Promise<T>): Promise<{ value?: T; error?: unknown }> {
  return promise.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  )
}

/**
 * The agent backend contract, written once and run against every backend: spawning, an
 * iteration's streamed output, `exec` in the same workspace with its exit code, output and
 * timeout, abort, `stop` and `remove` as expected exits heard once, and a crash from outside as
 * an unexpected one that rejects the run in progress. Call it at the top level of a test file.
 *
 * @example
 * describeAgentBackend({
 *   name: 'process',
 *   backend: () => createProcessBackend({ kind: 'shell' }),
 *   project: () => ({ root: repo, name: 'demo', stateDir: join(repo, '.tanuki') }),
 *   kill: (agent) => process.kill(-(agent as ProcessAgent).pid!, 'SIGKILL'),
 * })
 */
export function describeAgentBackend(contract: AgentBackendContract): void {
  const timeout = contract.timeoutMs ?? 60_000
  const makeTask = contract.task ?? shellContractTask
  const cleanups: (() => Awaitable<void>)[] = []

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
  })

  /** A spawned agent of role `contract`, removed after the check. */
  const spawn = async (name = 'contract-1'): Promise<{ agent: Agent; backend: AgentBackend }> => {
    const project = await contract.project()
    if (project.cleanup) cleanups.push(() => project.cleanup!())
    const backend = await contract.backend()
    const agent = await backend.spawn({ name, role: 'contract', options: contract.roleOptions ?? {}, project })
    cleanups.push(() => agent.remove().catch(() => {}))
    return { agent, backend }
  }

  const run = (agent: Agent, script: ContractScript, signal = new AbortController().signal, chunks?: OutputChunk[]) =>
    agent.run({
      prompt: `Print ${script.print}`,
      task: makeTask(script),
      iteration: 1,
      signal,
      ...(chunks ? { onOutput: (chunk: OutputChunk) => chunks.push(chunk) } : {}),
    })

  describe(`agent backend contract: ${contract.name}`, () => {
    it(
      'spawns an agent with the requested name and role, under the backend’s name',
      async () => {
        const { agent, backend } = await spawn('contract-7')
        expect(agent.name).toBe('contract-7')
        expect(agent.role).toBe('contract')
        expect(agent.backend).toBe(backend.name)
      },
      timeout,
    )

    it(
      'runs an iteration, streaming its output, and exec sees its work in the same workspace',
      async () => {
        const { agent } = await spawn()
        const chunks: OutputChunk[] = []
        const result = await run(agent, { print: 'CONTRACT_OK', write: ['contract.txt', 'hello'] }, undefined, chunks)
        expect(result.output).toContain('CONTRACT_OK')
        expect(chunks.map((chunk) => chunk.text).join('')).toContain('CONTRACT_OK')
        const read = await agent.exec('cat contract.txt')
        expect(read).toMatchObject({ exitCode: 0, timedOut: false })
        expect(read.output).toContain('hello')
        expect(read.durationMs).toBeGreaterThanOrEqual(0)
      },
      timeout,
    )

    it(
      'exec reports exit codes and output, and kills a command past its timeout',
      async () => {
        const { agent } = await spawn()
        const failed = await agent.exec('echo to-stderr >&2; exit 3')
        expect(failed.exitCode).toBe(3)
        expect(failed.output).toContain('to-stderr')
        const slow = await agent.exec('sleep 30', { timeoutMs: 300 })
        expect(slow).toMatchObject({ exitCode: null, timedOut: true })
      },
      timeout,
    )

    it(
      'an aborted iteration rejects with TANUKI_ABORTED, and the agent takes the next one',
      async () => {
        const { agent } = await spawn()
        const controller = new AbortController()
        const chunks: OutputChunk[] = []
        const outcome = settled(run(agent, { print: 'CONTRACT_HANG', hang: true }, controller.signal, chunks))
        await until(() => chunks.some((chunk) => chunk.text.includes('CONTRACT_HANG')), 'the iteration to start')
        controller.abort('test')
        const { error } = await outcome
        expect(isTanukiError(error, 'TANUKI_ABORTED')).toBe(true)
        expect((await run(agent, { print: 'CONTRACT_AGAIN' })).output).toContain('CONTRACT_AGAIN')
      },
      timeout,
    )

    it(
      'stop() is an expected exit, heard once, and the agent takes no more work',
      async () => {
        const { agent } = await spawn()
        const exits: AgentExit[] = []
        agent.onExit((exit) => exits.push(exit))
        await agent.stop()
        await agent.stop()
        await until(() => exits.length > 0, 'onExit')
        expect(exits).toHaveLength(1)
        expect(exits[0]!.expected).toBe(true)
        const { error } = await settled(run(agent, { print: 'CONTRACT_LATE' }))
        expect(error).toBeDefined()
      },
      timeout,
    )

    it(
      'remove() ends the agent as expected and can run after a stop',
      async () => {
        const { agent } = await spawn()
        const exits: AgentExit[] = []
        agent.onExit((exit) => exits.push(exit))
        await agent.stop()
        await agent.remove()
        expect(exits.map((exit) => exit.expected)).toEqual([true])
      },
      timeout,
    )

    it.skipIf(!contract.kill)(
      'an agent killed from outside is an unexpected exit, and its iteration rejects with TANUKI_AGENT_CRASHED',
      async () => {
        const { agent } = await spawn()
        const exits: AgentExit[] = []
        agent.onExit((exit) => exits.push(exit))
        const chunks: OutputChunk[] = []
        const outcome = settled(run(agent, { print: 'CONTRACT_VICTIM', hang: true }, undefined, chunks))
        await until(() => chunks.some((chunk) => chunk.text.includes('CONTRACT_VICTIM')), 'the iteration to start')
        await contract.kill!(agent)
        const { error } = await outcome
        expect(isTanukiError(error, 'TANUKI_AGENT_CRASHED')).toBe(true)
        await until(() => exits.length > 0, 'onExit')
        expect(exits).toHaveLength(1)
        expect(exits[0]!.expected).toBe(false)
        expect(exits[0]!.reason.length).toBeGreaterThan(0)
      },
      timeout,
    )
  })
}
