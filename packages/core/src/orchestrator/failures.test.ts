import { afterEach, describe, expect, it } from 'vitest'
import { TanukiError } from '../errors.ts'
import { createMemorySource } from '../source/memory.ts'
import { createTask } from '../task/parse.ts'
import type { MemoryAction } from '../testing/memory-backend.ts'
import { harness, stopAll, tasks } from './test-harness.ts'

afterEach(stopAll)

describe('spawn failures', () => {
  it('are reported, the other roles go on, and the unservable role fails its tasks naming the role', async () => {
    const h = harness(
      {
        tasks: tasks(
          { id: 'ok-1', role: 'good' },
          { id: 'ok-2', role: 'good', dependsOn: ['ok-1'] },
          { id: 'bad-1', role: 'bad' },
          { id: 'after-bad', role: 'good', dependsOn: ['bad-1'] },
        ),
        agents: { bad: { count: 2 } },
      },
      { backend: { refuseSpawn: (_name, role) => (role === 'bad' ? 'no room for another container' : undefined) } },
    )
    await h.orchestrator.start()
    const summary = await h.orchestrator.done()

    expect(h.all('agent:spawn-failed').map((e) => [e.agent, e.role, e.backend, e.message, e.pausesRole])).toEqual([
      ['bad-1', 'bad', 'memory', 'no room for another container', undefined],
      ['bad-2', 'bad', 'memory', 'no room for another container', undefined],
    ])
    expect(summary).toMatchObject({ reason: 'settled', allComplete: false })
    expect(h.orchestrator.task('ok-1')?.status).toBe('complete')
    expect(h.orchestrator.task('ok-2')?.status).toBe('complete')
    const bad = h.orchestrator.task('bad-1')!
    expect(bad.status).toBe('failed')
    expect(bad.reason).toContain('"bad"')
    expect(bad.reason).toContain('no room for another container')
    expect(h.orchestrator.task('after-bad')).toMatchObject({
      status: 'blocked',
      blockers: [{ id: 'bad-1', reason: 'failed', status: 'failed' }],
    })
  })

  it("a spawn refused for the role's configuration pauses the role: its tasks wait, unharmed, for a resume", async () => {
    const h = harness(
      {
        tasks: tasks(
          { id: 'ok-1', role: 'good' },
          { id: 'bad-1', role: 'bad' },
          { id: 'bad-2', role: 'bad' },
          { id: 'after-bad', role: 'good', dependsOn: ['bad-1'] },
        ),
        agents: { bad: { count: 2 } },
      },
      {
        backend: {
          refuseSpawn: (_name, role) =>
            role === 'bad' ? { message: 'agents.bad: the image has no sh (option "image")', config: true } : undefined,
        },
      },
    )
    await h.orchestrator.start()
    const summary = await h.orchestrator.done()

    expect(summary).toMatchObject({ reason: 'settled', allComplete: false })
    expect(h.orchestrator.task('ok-1')?.status).toBe('complete')
    // Nothing of theirs ran: they wait for the role to be fixed, as after a could-not-start.
    for (const id of ['bad-1', 'bad-2']) {
      expect(h.orchestrator.task(id)).toMatchObject({ status: 'pending', iterations: 0, attempts: 0 })
    }
    expect(h.orchestrator.task('after-bad')?.status).toBe('pending')
    expect(h.all('task:failed')).toEqual([])
    expect(h.all('role:paused')).toEqual([
      expect.objectContaining({ role: 'bad', cause: 'agents.bad: the image has no sh (option "image")' }),
    ])
    // The console says the pause, not each spawn before it: the event tells it which.
    expect(h.all('agent:spawn-failed').map((e) => e.pausesRole)).toEqual([true, true])
    expect(summary.problems).toEqual(['role "bad" is paused: agents.bad: the image has no sh (option "image")'])
  })

  it('a role whose backend no plugin registers is refused at start, naming the backends that exist; nothing runs', async () => {
    const h = harness({ tasks: tasks({ id: 'a', role: 'x' }, { id: 'b' }), agents: { x: { backend: 'dokcer' } } })
    const error = await h.orchestrator.start().then(
      () => undefined,
      (e: unknown) => e as TanukiError,
    )
    expect(error?.code).toBe('TANUKI_BACKEND_UNKNOWN')
    expect(error?.message).toContain('config key "agents.x.backend" is "dokcer"')
    expect(error?.message).toContain('registered: memory')
    expect(h.all('agent:spawned')).toEqual([])
    expect(h.all('task:status')).toEqual([])
    await expect(h.orchestrator.done()).rejects.toBe(error)
  })
})

describe('failed and review', () => {
  it('verify that cannot run fails the task with the reason, blocks its dependents transitively, and the rest completes', async () => {
    const h = harness({
      tasks: tasks(
        { id: 'broken', completion: { verify: 'make check' } },
        { id: 'child', dependsOn: ['broken'] },
        { id: 'grandchild', dependsOn: ['child'], role: 'other' },
        { id: 'free', completion: { verify: 'true' } },
        { id: 'free-child', dependsOn: ['free'] },
      ),
    })
    await h.orchestrator.start()
    const summary = await h.orchestrator.done()

    expect(summary.allComplete).toBe(false)
    expect(summary.progress).toMatchObject({ complete: 2, failed: 1, blocked: 2, total: 5 })
    const broken = h.orchestrator.task('broken')!
    expect(broken.status).toBe('failed')
    expect(broken.reason).toContain('verify could not run')
    expect(broken.reason).toContain('make check')
    expect(h.all('task:failed')).toEqual([
      expect.objectContaining({ taskId: 'broken', agent: 'default-1', iterations: 1 }),
    ])
    expect(h.all('task:blocked').map((e) => [e.taskId, e.blockers])).toEqual([
      ['child', [{ id: 'broken', reason: 'failed', status: 'failed' }]],
      ['grandchild', [{ id: 'child', reason: 'failed', status: 'blocked' }]],
    ])
    expect(h.orchestrator.task('grandchild')?.reason).toBe('dependency child is blocked')
    expect(h.backend.runs.map((r) => r.taskId).sort()).toEqual(['broken', 'free', 'free-child'])
  })

  it('goes to review after max_iterations tries, with the last verify in the prompt', async () => {
    const h = harness({
      tasks: tasks({ id: 'a', completion: { verify: 'test -f out.txt', maxIterations: 3 } }, { id: 'b' }),
    })
    await h.orchestrator.start()
    const summary = await h.orchestrator.done()
    expect(summary.allComplete).toBe(false)
    const runs = h.backend.runs.filter((r) => r.taskId === 'a')
    expect(runs.map((r) => r.iteration)).toEqual([1, 2, 3])
    expect(runs[1]!.prompt).toContain('out.txt: no such file')
    expect(h.all('task:review')).toEqual([expect.objectContaining({ taskId: 'a', agent: 'default-1', iterations: 3 })])
    expect(h.orchestrator.task('a')).toMatchObject({ status: 'review', iterations: 3 })
    expect(h.orchestrator.task('a')?.reason).toContain('no tries left (3)')
    expect(
      h
        .all('iteration:finished')
        .filter((e) => e.taskId === 'a')
        .map((e) => e.outcome),
    ).toEqual(['retry', 'retry', 'review'])
  })

  it('completes once the agent writes the file verify looks for', async () => {
    const h = harness(
      { tasks: tasks({ id: 'a', completion: { verify: 'test -f out.txt' } }) },
      {
        backend: {
          script: ({ iteration }) => ({
            type: 'succeed',
            output: 'working',
            ...(iteration === 2 ? { files: { 'out.txt': 'x' } } : {}),
          }),
        },
      },
    )
    await h.orchestrator.start()
    await h.orchestrator.done()
    expect(h.orchestrator.task('a')).toMatchObject({ status: 'complete', iterations: 2 })
    expect(h.backend.files.get('out.txt')).toBe('x')
  })
})

describe('agents that die', () => {
  it('mid-task: crashed, the task is requeued and completes on the replacement agent of the same name', async () => {
    let runs = 0
    const h = harness(
      { tasks: tasks({ id: 'a' }, { id: 'b', dependsOn: ['a'] }) },
      {
        backend: {
          script: ({ task }): MemoryAction =>
            task.id === 'a' && ++runs === 1
              ? { type: 'die', reason: 'out of memory' }
              : { type: 'succeed', output: 'DONE' },
        },
      },
    )
    await h.orchestrator.start()
    const summary = await h.orchestrator.done()

    expect(summary.allComplete).toBe(true)
    expect(h.all('agent:crashed')).toEqual([
      expect.objectContaining({ agent: 'default-1', role: 'default', taskId: 'a', reason: 'out of memory' }),
    ])
    expect(h.all('task:requeued')).toEqual([expect.objectContaining({ taskId: 'a', agent: 'default-1', attempt: 1 })])
    expect(h.all('task:requeued')[0]!.reason).toContain('crashed')
    expect(h.backend.spawns).toEqual(['default-1', 'default-1'])
    expect(h.all('agent:spawned').map((e) => e.agent)).toEqual(['default-1', 'default-1'])
    expect(h.orchestrator.task('a')).toMatchObject({
      status: 'complete',
      attempts: 1,
      iterations: 2,
      lastError: { class: 'crashed', cause: 'agent default-1 crashed: agent default-1 died: out of memory' },
    })
    expect(h.all('task:assigned').map((e) => e.taskId)).toEqual(['a', 'a', 'b'])
    const statuses = h
      .all('task:status')
      .filter((e) => e.taskId === 'a')
      .map((e) => e.to)
    expect(statuses).toEqual(['assigned', 'in_progress', 'pending', 'assigned', 'in_progress', 'complete'])
  })

  it('killed from outside while it hangs: same recovery', async () => {
    let runs = 0
    const h = harness(
      { tasks: tasks({ id: 'a' }) },
      {
        backend: {
          script: (): MemoryAction => (++runs === 1 ? { type: 'hang' } : { type: 'succeed', output: 'DONE' }),
        },
      },
    )
    await h.orchestrator.start()
    await h.when('iteration:started')
    h.backend.agents.get('default-1')!.kill('kill -9')
    const summary = await h.orchestrator.done()
    expect(summary.allComplete).toBe(true)
    expect(h.all('agent:crashed')).toEqual([
      expect.objectContaining({ agent: 'default-1', taskId: 'a', reason: 'kill -9' }),
    ])
    expect(h.backend.spawns).toEqual(['default-1', 'default-1'])
    // The try cut off counts (it may have been paid for): the next agent goes on with try 2.
    expect(h.backend.runs.map((r) => [r.taskId, r.iteration])).toEqual([
      ['a', 1],
      ['a', 2],
    ])
  })

  it('an agent lost on the last try does not end the task: another agent runs it, as its last try again', async () => {
    // max_iterations 1: one flaky container must not end the task. Each lost agent is one of retryLimit.
    let runs = 0
    const h = harness(
      { tasks: tasks({ id: 'a', completion: { signal: 'DONE', maxIterations: 1 } }), retryLimit: 2 },
      {
        backend: {
          script: (): MemoryAction =>
            ++runs <= 2 ? { type: 'die', reason: 'container died' } : { type: 'succeed', output: 'DONE' },
        },
      },
    )
    await h.orchestrator.start()
    const summary = await h.orchestrator.done()
    expect(summary.allComplete).toBe(true)
    expect(h.backend.runs.map((r) => r.iteration)).toEqual([1, 1, 1])
    expect(h.orchestrator.task('a')).toMatchObject({ status: 'complete', attempts: 2 })
  })

  it('agents lost on the last try, past retryLimit, fail the task; none is paid for more', async () => {
    const h = harness(
      { tasks: tasks({ id: 'a', completion: { signal: 'DONE', maxIterations: 1 } }), retryLimit: 2 },
      { backend: { script: (): MemoryAction => ({ type: 'die', reason: 'container died' }) } },
    )
    await h.orchestrator.start()
    await h.orchestrator.done()
    expect(h.backend.runs.map((r) => r.iteration)).toEqual([1, 1, 1])
    expect(h.orchestrator.task('a')).toMatchObject({ status: 'failed', attempts: 3 })
    expect(h.orchestrator.task('a')?.reason).toContain('(gave up after 3 lost attempts)')
  })

  it('an agent lost on the last of several tries: the next agent runs that try again, and its verdict ends the task', async () => {
    const h = harness(
      { tasks: tasks({ id: 'a', completion: { signal: 'DONE', maxIterations: 2 } }), sameFailureLimit: 10 },
      {
        backend: {
          script: ({ iteration }): MemoryAction =>
            h.backend.runs.length === 2
              ? { type: 'die', reason: 'out of memory' }
              : { type: 'succeed', output: `not yet ${iteration}` },
        },
      },
    )
    await h.orchestrator.start()
    await h.orchestrator.done()
    // Try 2 lost its agent: it counts, so the next agent runs try 2 of 2 again, not a fresh 1 and 2.
    expect(h.backend.runs.map((r) => r.iteration)).toEqual([1, 2, 2])
    expect(h.backend.runs[2]?.prompt).toContain('Task a (try 2 of 2).')
    expect(h.orchestrator.task('a')).toMatchObject({ status: 'review', iterations: 3 })
    expect(h.orchestrator.task('a')?.reason).toContain('no tries left (2)')
  })

  it('after retryLimit lost attempts the task fails, and the others still run', async () => {
    const h = harness(
      { tasks: tasks({ id: 'doomed' }, { id: 'fine', priority: 'low' }), retryLimit: 2 },
      {
        backend: {
          script: ({ task }): MemoryAction =>
            task.id === 'doomed' ? { type: 'die' } : { type: 'succeed', output: 'DONE' },
        },
      },
    )
    await h.orchestrator.start()
    const summary = await h.orchestrator.done()
    expect(h.backend.runs.filter((r) => r.taskId === 'doomed')).toHaveLength(3)
    expect(h.all('task:requeued').map((e) => e.attempt)).toEqual([1, 2])
    const doomed = h.orchestrator.task('doomed')!
    expect(doomed).toMatchObject({ status: 'failed', attempts: 3 })
    expect(doomed.reason).toContain('gave up after 3 lost attempts')
    expect(h.orchestrator.task('fine')?.status).toBe('complete')
    expect(summary.progress).toMatchObject({ complete: 1, failed: 1 })
  })

  it('a run that throws counts as a lost attempt of a live agent, which keeps working', async () => {
    let throws = 0
    const h = harness(
      { tasks: tasks({ id: 'a' }), retryLimit: 3 },
      {
        backend: {
          script: (): MemoryAction =>
            ++throws <= 2 ? { type: 'throw', message: 'connection reset' } : { type: 'succeed', output: 'DONE' },
        },
      },
    )
    await h.orchestrator.start()
    await h.orchestrator.done()
    expect(h.orchestrator.task('a')).toMatchObject({ status: 'complete', attempts: 2 })
    expect(h.all('task:requeued').map((e) => e.reason)).toEqual([
      'agent default-1 failed: connection reset',
      'agent default-1 failed: connection reset',
    ])
    expect(h.all('agent:crashed')).toEqual([])
    expect(h.backend.spawns).toEqual(['default-1'])
  })

  it("an agent's error that names it already is said once: not 'agent default-1 failed: agent default-1 failed: …'", async () => {
    let throws = 0
    const h = harness(
      { tasks: tasks({ id: 'a' }), retryLimit: 3 },
      {
        backend: {
          script: (): MemoryAction =>
            ++throws <= 1
              ? { type: 'throw', message: 'agent default-1 failed: command ./agent.sh exited 137' }
              : { type: 'succeed', output: 'DONE' },
        },
      },
    )
    await h.orchestrator.start()
    await h.orchestrator.done()
    const said = 'agent default-1 failed: command ./agent.sh exited 137'
    expect(h.all('task:requeued').map((e) => e.reason)).toEqual([said])
    expect(h.orchestrator.task('a')?.lastError?.cause).toBe(said)
  })

  it('stops replacing an agent after maxRespawns crashes in a row; its queued work fails', async () => {
    const h = harness(
      { tasks: tasks({ id: 'a' }), retryLimit: 10, maxRespawns: 1 },
      { backend: { script: (): MemoryAction => ({ type: 'die', reason: 'segfault' }) } },
    )
    await h.orchestrator.start()
    const summary = await h.orchestrator.done()
    expect(summary.allComplete).toBe(false)
    expect(h.backend.spawns).toEqual(['default-1', 'default-1'])
    expect(h.all('agent:crashed')).toHaveLength(2)
    const a = h.orchestrator.task('a')!
    expect(a.status).toBe('failed')
    expect(a.reason).toContain('"default"')
    expect(a.reason).toContain('crashed 2 times in a row')
  })

  it('an agent that dies while idle is replaced once its role has work again', async () => {
    const source = createMemorySource([createTask({ id: 'a', title: 'A', completion: { signal: 'DONE' } })])
    const h = harness({ stopWhenSettled: false }, { sources: [source] })
    await h.orchestrator.start()
    await h.when('project:settled')
    h.backend.agents.get('default-1')!.kill('oom killer')
    await h.when('agent:crashed')
    expect(h.all('agent:crashed')).toEqual([expect.objectContaining({ agent: 'default-1', reason: 'oom killer' })])
    expect(h.all('agent:crashed')[0]!.taskId).toBeUndefined()
    // Nothing to do: no agent (a container, a paid session) sits idle in its place.
    expect(h.backend.spawns).toEqual(['default-1'])
    source.change({ type: 'added', task: createTask({ id: 'b', title: 'B', completion: { signal: 'DONE' } }) })
    await h.when('task:completed', (e) => e.taskId === 'b')
    expect(h.backend.spawns).toEqual(['default-1', 'default-1'])
    expect(h.backend.agents.get('default-1')!.alive).toBe(true)
    expect(h.orchestrator.status().agents).toEqual([expect.objectContaining({ name: 'default-1', status: 'idle' })])
  })

  it('an error the agent reports is a try, not a lost attempt', async () => {
    const h = harness(
      { tasks: tasks({ id: 'a', completion: { signal: 'DONE', maxIterations: 2 } }) },
      { backend: { script: (): MemoryAction => ({ type: 'fail', error: 'model refused' }) } },
    )
    await h.orchestrator.start()
    await h.orchestrator.done()
    expect(h.orchestrator.task('a')).toMatchObject({ status: 'review', attempts: 0, iterations: 2 })
    expect(h.orchestrator.task('a')?.reason).toContain('model refused')
  })
})

describe('write-back failures', () => {
  it('a source that cannot write is reported, the run goes on, and its summary names the problem', async () => {
    const h = harness(
      {},
      {
        sources: [
          {
            name: 'read-only',
            load: async () => [createTask({ id: 'a', title: 'A', completion: { signal: 'DONE' } })],
            update: () => Promise.reject(new TanukiError('TANUKI_TASK_UNWRITABLE', 'read-only file system')),
          },
        ],
      },
    )
    await h.orchestrator.start()
    const summary = await h.orchestrator.done()
    // The journal holds the truth, so the work is done; the run says its mirror could not be written.
    expect(summary.allComplete).toBe(true)
    expect(summary.problems).toEqual(['the status of a could not be written: read-only file system'])
    const errors = h.all('orchestrator:error')
    expect(errors.length).toBeGreaterThan(0)
    for (const e of errors)
      expect(e).toMatchObject({ context: 'writing the status of a', message: 'read-only file system' })
  })
})
