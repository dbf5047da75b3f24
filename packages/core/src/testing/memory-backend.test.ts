import { describe, expect, it } from 'vitest'
import { tick } from '../../test/fixtures/virtual-clock.ts'
import type { Agent, AgentExit, OutputChunk, RunResult } from '../agent/types.ts'
import { isTanukiError } from '../errors.ts'
import { createTask } from '../task/parse.ts'
import { createMemoryBackend, type MemoryAction, type MemoryBackendOptions } from './memory-backend.ts'

const project = { root: '/p', name: 'p', stateDir: '/p/.tanuki' }
const task = createTask({ id: 'a', title: 'A', completion: { signal: 'A_DONE' } })

async function spawn(options: MemoryBackendOptions = {}, name = 'w-1') {
  const backend = createMemoryBackend(options)
  const agent = await backend.spawn({ name, role: 'default', options: {}, project })
  return { backend, agent: backend.agents.get(name)!, spawned: agent }
}

function run(
  agent: Agent,
  signal = new AbortController().signal,
  onOutput?: (chunk: OutputChunk) => void,
): Promise<RunResult> {
  return agent.run({ prompt: 'p', task, iteration: 1, signal, ...(onOutput ? { onOutput } : {}) })
}

const scripted = (action: MemoryAction): MemoryBackendOptions => ({ script: () => action })

describe('createMemoryBackend', () => {
  it('spawns named agents and records spawns', async () => {
    const { backend, agent, spawned } = await spawn()
    expect(backend.name).toBe('memory')
    expect(createMemoryBackend({ name: 'other' }).name).toBe('other')
    expect(spawned).toBe(agent)
    expect(agent).toMatchObject({
      name: 'w-1',
      role: 'default',
      backend: 'memory',
      workspace: 'memory:w-1',
      alive: true,
    })
    expect(backend.spawns).toEqual(['w-1'])
  })

  it('refuses to spawn when told to', async () => {
    const backend = createMemoryBackend({ refuseSpawn: (name) => (name === 'bad' ? 'no room for bad' : undefined) })
    const error = await backend.spawn({ name: 'bad', role: 'r', options: {}, project }).catch((e: unknown) => e)
    expect(isTanukiError(error, 'TANUKI_AGENT_SPAWN_FAILED')).toBe(true)
    expect((error as Error).message).toBe('no room for bad')
    await backend.spawn({ name: 'good', role: 'r', options: {}, project })
    expect(backend.spawns).toEqual(['good'])
  })

  it('prints the task signal by default, streaming it', async () => {
    const { backend, agent } = await spawn()
    const chunks: OutputChunk[] = []
    expect(await run(agent, undefined, (chunk) => chunks.push(chunk))).toEqual({ output: 'A_DONE', exitCode: 0 })
    expect(chunks).toEqual([{ stream: 'stdout', text: 'A_DONE' }])
    expect(backend.runs).toEqual([{ agent: 'w-1', taskId: 'a', iteration: 1, prompt: 'p' }])
  })

  it('succeeds writing files, after a delay if asked', async () => {
    const { backend, agent } = await spawn(scripted({ type: 'succeed', files: { 'x.txt': 'hi' }, delayMs: 5 }))
    expect(await run(agent)).toEqual({ output: '', exitCode: 0 })
    expect(backend.files.get('x.txt')).toBe('hi')
    expect((await agent.exec('test -f x.txt')).exitCode).toBe(0)
  })

  it('fails with the agent’s own error', async () => {
    const { agent } = await spawn(scripted({ type: 'fail', error: 'refused', output: 'sorry' }))
    expect(await run(agent)).toEqual({ output: 'sorry', exitCode: 1, error: 'refused' })
    const { agent: bare } = await spawn(scripted({ type: 'fail', error: 'x' }))
    expect((await run(bare)).output).toBe('')
  })

  it('throws what the script says', async () => {
    const { agent } = await spawn(scripted({ type: 'throw', message: 'socket closed' }))
    expect(((await run(agent).catch((e: unknown) => e)) as Error).message).toBe('socket closed')
  })

  it('hangs until aborted, then rejects with TANUKI_ABORTED', async () => {
    const { agent } = await spawn(scripted({ type: 'hang' }))
    const controller = new AbortController()
    let settled = false
    const result = run(agent, controller.signal)
      .catch((e: unknown) => e)
      .finally(() => (settled = true))
    await tick()
    expect(settled).toBe(false)
    controller.abort('enough')
    const error = await result
    expect(isTanukiError(error, 'TANUKI_ABORTED')).toBe(true)
    expect(agent.alive).toBe(true)
  })

  it('dies mid-run: the run rejects with TANUKI_AGENT_CRASHED and exit listeners hear it', async () => {
    const { agent } = await spawn(scripted({ type: 'die', reason: 'oom' }))
    const exits: AgentExit[] = []
    agent.onExit((exit) => exits.push(exit))
    const error = await run(agent).catch((e: unknown) => e)
    expect(isTanukiError(error, 'TANUKI_AGENT_CRASHED')).toBe(true)
    expect((error as Error).message).toBe('agent w-1 died: oom')
    expect(exits).toEqual([{ reason: 'oom', expected: false }])
    expect(agent.alive).toBe(false)
    // A dead agent can neither run nor exec.
    expect(isTanukiError(await run(agent).catch((e: unknown) => e), 'TANUKI_AGENT_CRASHED')).toBe(true)
    expect(isTanukiError(await agent.exec('true').catch((e: unknown) => e), 'TANUKI_AGENT_CRASHED')).toBe(true)
  })

  it('can be killed from outside while it works', async () => {
    const { agent } = await spawn(scripted({ type: 'hang' }))
    const exits: AgentExit[] = []
    const unsubscribe = agent.onExit((exit) => exits.push(exit))
    const result = run(agent).catch((e: unknown) => e)
    await tick()
    agent.kill()
    agent.kill('again')
    expect(((await result) as Error).message).toBe('agent w-1 died: killed')
    expect(exits).toEqual([{ reason: 'killed', expected: false }])
    unsubscribe()
  })

  it('reports stop and remove as expected exits, once', async () => {
    const { agent } = await spawn()
    const exits: AgentExit[] = []
    agent.onExit((exit) => exits.push(exit))
    await agent.stop()
    await agent.remove()
    expect(exits).toEqual([{ reason: 'stopped', expected: true }])
    const { agent: other } = await spawn()
    const seen: AgentExit[] = []
    const unsubscribe = other.onExit((exit) => seen.push(exit))
    unsubscribe()
    await other.remove()
    expect(seen).toEqual([])
    expect(other.alive).toBe(false)
  })

  it('gives isolated agents their own workspace, cleared on remove', async () => {
    const backend = createMemoryBackend({
      isolated: true,
      script: ({ agent }) => ({ type: 'succeed', files: { [`${agent}.txt`]: agent } }),
    })
    const one = await backend.spawn({ name: 'one', role: 'r', options: {}, project })
    const two = await backend.spawn({ name: 'two', role: 'r', options: {}, project })
    await run(one)
    await run(two)
    expect((await one.exec('test -f one.txt')).exitCode).toBe(0)
    expect((await one.exec('test -f two.txt')).exitCode).toBe(1)
    expect([...backend.files.keys()]).toEqual(['two.txt'])
    await two.remove()
    expect(backend.files.size).toBe(0)
  })

  it('clears every workspace on cleanup and records it', async () => {
    const { backend, agent } = await spawn(scripted({ type: 'succeed', files: { f: '1' } }))
    await run(agent)
    await backend.cleanup!(project)
    expect(backend.files.size).toBe(0)
    expect(backend.cleanups).toEqual([project])
  })

  it('runs the default verify commands', async () => {
    const { agent } = await spawn()
    expect((await agent.exec('true')).exitCode).toBe(0)
    expect((await agent.exec(' false ')).exitCode).toBe(1)
    expect((await agent.exec('exit 7')).exitCode).toBe(7)
    expect(await agent.exec('test -f nope')).toMatchObject({
      exitCode: 1,
      output: 'nope: no such file\n',
      timedOut: false,
    })
    expect(await agent.exec('sleep 1')).toMatchObject({ exitCode: 0, timedOut: false })
    expect(await agent.exec('sleep 60000', { timeoutMs: 5 })).toMatchObject({ exitCode: null, timedOut: true })
    const error = await agent.exec('rm -rf /').catch((e: unknown) => e)
    expect(isTanukiError(error, 'TANUKI_VERIFY_FAILED')).toBe(true)
  })

  it('stops a verify command when the caller aborts, without calling it a timeout', async () => {
    const { agent } = await spawn()
    const controller = new AbortController()
    const pending = agent.exec('sleep 60000', { signal: controller.signal })
    await tick()
    controller.abort()
    expect(await pending).toMatchObject({ exitCode: null, timedOut: false })
  })

  it('uses a custom exec with the agent’s files', async () => {
    const seen: string[] = []
    const { agent } = await spawn({
      exec: (command, files) => (seen.push(`${command}:${files.size}`), { exitCode: 0, output: 'ok', timedOut: false }),
    })
    expect(await agent.exec('anything')).toMatchObject({ exitCode: 0, output: 'ok' })
    expect(seen).toEqual(['anything:0'])
  })

  it('does not resolve a run whose agent died during the script’s delay', async () => {
    const { agent } = await spawn(scripted({ type: 'succeed', output: 'late', delayMs: 20 }))
    const result = run(agent).catch((e: unknown) => e)
    await tick()
    agent.kill('gone')
    expect(((await result) as Error).message).toBe('agent w-1 died: gone')
  })
})
