import { afterEach, describe, expect, it } from 'vitest'
import { createMemorySource } from '../source/memory.ts'
import { createMemoryStore, type MemoryStore } from '../state/memory.ts'
import { createTask } from '../task/parse.ts'
import type { Task, TaskInput } from '../task/types.ts'
import type { MemoryAction } from '../testing/memory-backend.ts'
import { createOrchestrator } from './index.ts'
import { harness, stopAll, type Harness } from './test-harness.ts'

afterEach(stopAll)

const task = (input: Partial<TaskInput> & { id: string }): Task =>
  createTask({ title: `Task ${input.id}`, completion: { signal: 'DONE' }, ...input })

/** Scripts that hang on the listed tasks and succeed on the rest. */
const hangOn =
  (...ids: string[]) =>
  ({ task: t }: { task: Task }): MemoryAction =>
    ids.includes(t.id) ? { type: 'hang' } : { type: 'succeed', output: 'DONE' }

describe('stopping', () => {
  it('stopWhenSettled: false keeps running after the work settles, until stop()', async () => {
    const h = harness({ stopWhenSettled: false }, { sources: [createMemorySource([task({ id: 'a' })])] })
    await h.orchestrator.start()
    let ended = false
    const done = h.orchestrator.done().then((summary) => {
      ended = true
      return summary
    })
    const settled = await h.when('project:settled')
    expect(settled.allComplete).toBe(true)
    await new Promise((resolve) => setTimeout(resolve, 0))
    expect(ended).toBe(false)
    expect(h.orchestrator.state).toBe('running')
    await h.orchestrator.stop()
    expect(await done).toMatchObject({ reason: 'stopped', allComplete: true })
  })

  it('a stop while starting waits for the set-up, then ends the run before any agent is spawned', async () => {
    const source = createMemorySource([task({ id: 'a' }), task({ id: 'b', dependsOn: ['a'] })])
    const h = harness({}, { sources: [source] })
    const started = h.orchestrator.start()
    expect(h.orchestrator.state).toBe('starting')
    const stopped = h.orchestrator.stop()
    await started
    await stopped
    expect(await h.orchestrator.done()).toMatchObject({ reason: 'stopped', allComplete: false })
    expect(h.backend.spawns).toEqual([])
    expect(h.orchestrator.state).toBe('stopped')
    expect(h.all('orchestrator:state').map((e) => e.to)).toEqual(['starting', 'stopping', 'stopped'])
    expect(h.indexOf('task:assigned')).toBe(-1)
    expect(source.writes).toEqual([])
  })

  it('stop({ finish }): the tries under way end and are judged, no task starts, no new try begins; then the run stops', async () => {
    const source = createMemorySource([
      task({ id: 'a' }),
      task({ id: 'b' }),
      task({ id: 'c', priority: 'low' }),
      task({ id: 'd', dependsOn: ['a'] }),
    ])
    // `a` and `b` each work until let go: `a` then completes, `b` fails its try (it would try again).
    const go = new Map<string, () => void>()
    const let_ = new Map(['a', 'b'].map((id) => [id, new Promise<void>((resolve) => go.set(id, resolve))]))
    const h = harness(
      { agents: { default: { count: 2 } } },
      {
        sources: [source],
        backend: {
          script: async ({ task: t }) => {
            await let_.get(t.id)
            return t.id === 'b' ? { type: 'fail', error: 'not yet' } : { type: 'succeed', output: 'DONE' }
          },
        },
      },
    )
    await h.orchestrator.start()
    await h.when('iteration:started', (e) => e.taskId === 'a')
    await h.when('iteration:started', (e) => e.taskId === 'b')
    let stopped = false
    const finishing = h.orchestrator.stop({ finish: true }).then(() => void (stopped = true))
    expect((await h.when('orchestrator:finishing')).tasks.sort()).toEqual(['a', 'b'])
    go.get('a')!()
    await h.when('task:completed', (e) => e.taskId === 'a')
    // `a`'s agent is free and `c` and `d` could start: neither does, and the run waits for `b`.
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(stopped).toBe(false)
    go.get('b')!()
    await finishing
    const summary = await h.orchestrator.done()
    expect(summary).toMatchObject({ reason: 'stopped', allComplete: false })
    expect(h.orchestrator.task('a')?.status).toBe('complete')
    expect(h.orchestrator.task('b')).toMatchObject({ status: 'pending', iterations: 1 })
    expect(h.all('iteration:finished').map((e) => [e.taskId, e.outcome])).toEqual([
      ['a', 'complete'],
      ['b', 'retry'],
    ])
    expect(
      h
        .all('task:assigned')
        .map((e) => e.taskId)
        .sort(),
    ).toEqual(['a', 'b'])
    expect(h.all('iteration:started')).toHaveLength(2)
  })

  it('stop({ finish }): a try that meets a usage limit after it was asked waits for no park; the run stops', async () => {
    // `a` works until let go, then meets a limit that lifts in an hour.
    let release!: () => void
    const letGo = new Promise<void>((resolve) => (release = resolve))
    const h = harness(
      {},
      {
        sources: [createMemorySource([task({ id: 'a' })])],
        backend: {
          script: async () => {
            await letGo
            return {
              type: 'fail',
              error: '429',
              failure: { class: 'rate-limited', cause: 'API Error (429)', retryAfterMs: 3_600_000 },
            }
          },
        },
      },
    )
    await h.orchestrator.start()
    await h.when('iteration:started', (e) => e.taskId === 'a')
    const finishing = h.orchestrator.stop({ finish: true })
    await h.when('orchestrator:finishing')
    release()
    await h.when('agent:parked')
    // Its try is over (the limit ended it) and no new one begins: nothing is under way to wait for.
    await finishing
    expect(await h.orchestrator.done()).toMatchObject({ reason: 'stopped' })
    // Not an agent lost: no attempt counted against `retryLimit`; its last error is the limit.
    expect(h.orchestrator.task('a')).toMatchObject({ status: 'pending', iterations: 0, attempts: 0 })
    expect(h.orchestrator.task('a')?.lastError?.class).toBe('rate-limited')
    expect(h.all('task:requeued')).toEqual([])
  })

  it('stop({ finish }) ends no try under way on an agent whose account another agent parked', async () => {
    // `a` meets a limit that lifts in an hour; `b`, on the same account, works on until let go.
    let release!: () => void
    const letGo = new Promise<void>((resolve) => (release = resolve))
    const h = harness(
      { agents: { default: { count: 2 } } },
      {
        sources: [createMemorySource([task({ id: 'a' }), task({ id: 'b' })])],
        backend: {
          account: () => 'claude:ANTHROPIC_API_KEY',
          script: async ({ task: t }): Promise<MemoryAction> => {
            if (t.id === 'b') {
              await letGo
              return { type: 'succeed', output: 'DONE' }
            }
            return {
              type: 'fail',
              error: '429',
              failure: { class: 'rate-limited', cause: 'API Error (429)', retryAfterMs: 3_600_000 },
            }
          },
        },
      },
    )
    await h.orchestrator.start()
    await h.when('iteration:started', (e) => e.taskId === 'b')
    await h.when('agent:parked')
    const finishing = h.orchestrator.stop({ finish: true })
    await h.when('orchestrator:finishing')
    release()
    await finishing
    // `a` waited for the park, and waits on; `b`'s try was under way: it ended, and was judged.
    expect(h.orchestrator.task('a')).toMatchObject({ status: 'pending', attempts: 0 })
    expect(h.orchestrator.task('b')?.status).toBe('complete')
  })

  it('stop({ finish }): a try that failed does not wait out its pause before the next; the run stops', async () => {
    // A pause of a minute between tries: the test's own time limit ends it first if it is waited out.
    const h = harness(
      { cooldownMs: 60_000, maxCooldownMs: 60_000 },
      {
        sources: [createMemorySource([task({ id: 'a' })])],
        backend: { script: () => ({ type: 'fail', error: 'not yet' }) },
      },
    )
    await h.orchestrator.start()
    await h.when('iteration:finished', (e) => e.taskId === 'a')
    await h.orchestrator.stop({ finish: true })
    expect(await h.orchestrator.done()).toMatchObject({ reason: 'stopped' })
    expect(h.orchestrator.task('a')).toMatchObject({ status: 'pending', iterations: 1 })
    expect(h.all('iteration:started')).toHaveLength(1)
  })

  it('stop({ finish }) with no try under way stops at once; a plain stop() while finishing stops now', async () => {
    const idle = harness({ stopWhenSettled: false }, { sources: [createMemorySource([task({ id: 'a' })])] })
    await idle.orchestrator.start()
    await idle.when('project:settled')
    await idle.orchestrator.stop({ finish: true, remove: true })
    expect(idle.all('orchestrator:finishing')).toEqual([expect.objectContaining({ tasks: [] })])
    expect(idle.orchestrator.state).toBe('stopped')
    // `remove` is kept for the stop that follows.
    expect(idle.all('agent:stopped')).toEqual([expect.objectContaining({ removed: true })])

    const h = harness({}, { sources: [createMemorySource([task({ id: 'a' })])], backend: { script: hangOn('a') } })
    await h.orchestrator.start()
    await h.when('iteration:started', (e) => e.taskId === 'a')
    const finishing = h.orchestrator.stop({ finish: true })
    await h.when('orchestrator:finishing')
    // The try would never end: a plain stop aborts it, and both resolve.
    await h.orchestrator.stop()
    await finishing
    expect(await h.orchestrator.done()).toMatchObject({ reason: 'stopped' })
    expect(h.orchestrator.task('a')?.status).toBe('pending')
  })

  it('graceful stop: running work aborted, those tasks back to pending (also in the source), agents stopped', async () => {
    const source = createMemorySource([
      task({ id: 'a', role: 'r1' }),
      task({ id: 'b', role: 'r2' }),
      task({ id: 'c', role: 'r1', priority: 'low' }),
      task({ id: 'd', role: 'r2', dependsOn: ['a'] }),
    ])
    const h = harness({}, { sources: [source], backend: { script: hangOn('a', 'b') } })
    await h.orchestrator.start()
    await h.when('iteration:started', (e) => e.taskId === 'a')
    await h.when('iteration:started', (e) => e.taskId === 'b')
    const stopped = h.orchestrator.stop()
    expect(h.orchestrator.stop()).toBe(stopped)
    await stopped
    const summary = await h.orchestrator.done()

    expect(summary).toMatchObject({ reason: 'stopped', allComplete: false })
    expect(summary.progress).toMatchObject({ pending: 4, inProgress: 0 })
    expect(
      h
        .all('task:status')
        .filter((e) => e.to === 'pending')
        .map((e) => e.taskId)
        .sort(),
    ).toEqual(['a', 'b'])
    for (const id of ['a', 'b']) {
      // The stop cut their tries short (none counts): the source says pending, as before they
      // started, and nothing of their start is left in it.
      expect(source.tasks.get(id)?.status).toBe('pending')
      expect(source.tasks.get(id)?.patch.status ?? 'pending').toBe('pending')
      expect(source.tasks.get(id)?.patch.started_at ?? null).toBeNull()
    }
    expect(
      h
        .all('agent:stopped')
        .map((e) => [e.agent, e.removed])
        .sort(),
    ).toEqual([
      ['r1-1', false],
      ['r2-1', false],
    ])
    expect([...h.backend.agents.values()].every((agent) => !agent.alive)).toBe(true)
    expect(h.backend.cleanups).toEqual([])
    // Stopping agents on purpose is not a crash.
    expect(h.all('agent:crashed')).toEqual([])
    expect(
      h
        .all('orchestrator:state')
        .map((e) => e.to)
        .slice(-2),
    ).toEqual(['stopping', 'stopped'])
  })

  it('stop({ remove: true }) removes the agents and cleans the backend up', async () => {
    const h = harness(
      { stopWhenSettled: false },
      { sources: [createMemorySource([task({ id: 'a' })])], backend: { script: hangOn('a'), isolated: true } },
    )
    await h.orchestrator.start()
    await h.when('iteration:started')
    h.backend.files.set('scratch', 'x')
    await h.orchestrator.stop({ remove: true })
    expect(h.all('agent:stopped')).toEqual([expect.objectContaining({ agent: 'default-1', removed: true })])
    expect(h.backend.cleanups).toEqual([h.orchestrator.project])
    expect(h.backend.files.size).toBe(0)
    expect(h.orchestrator.task('a')?.status).toBe('pending')
  })

  it('a stop while verify runs puts the task back to pending, not in review', async () => {
    const h = harness(
      {},
      { sources: [createMemorySource([task({ id: 'a', completion: { verify: 'sleep 100000', maxIterations: 1 } })])] },
    )
    await h.orchestrator.start()
    await h.when('iteration:output')
    await new Promise((resolve) => setTimeout(resolve, 5))
    await h.orchestrator.stop()
    expect(h.orchestrator.task('a')?.status).toBe('pending')
    expect(h.all('task:review')).toEqual([])
  })

  it('a stop while an agent is still being spawned stops it once it exists', async () => {
    let open!: () => void
    const gate = new Promise<void>((resolve) => (open = resolve))
    const h = harness({}, { sources: [createMemorySource([task({ id: 'a' })])] })
    const spawn = h.backend.spawn.bind(h.backend)
    const slow = { name: 'slow', spawn: async (request: Parameters<typeof spawn>[0]) => (await gate, spawn(request)) }
    const orchestrator = createOrchestrator({
      config: { cooldownMs: 0, agents: { default: { backend: 'slow' } } },
      backends: [slow, h.backend],
      sources: [createMemorySource([task({ id: 'a' })])],
    })
    await orchestrator.start()
    const stopping = orchestrator.stop()
    open()
    await stopping
    expect(h.backend.spawns).toEqual(['default-1'])
    expect(h.backend.agents.get('default-1')?.alive).toBe(false)
  })
})

describe('recovery', () => {
  it('tasks in flight at load go back to pending and run again; complete ones never run', async () => {
    const source = createMemorySource([
      task({ id: 'was-running', status: 'in_progress', assignedTo: 'default-1' }),
      task({ id: 'was-assigned', status: 'assigned', assignedTo: 'default-1' }),
      task({ id: 'done', status: 'complete' }),
      task({ id: 'next', dependsOn: ['done', 'was-running'] }),
    ])
    const h = harness({}, { sources: [source] })
    await h.orchestrator.start()
    const summary = await h.orchestrator.done()
    expect(summary.allComplete).toBe(true)
    expect(h.all('project:loaded')[0]).toMatchObject({ total: 4, recovered: ['was-running', 'was-assigned'], ready: 2 })
    expect(h.backend.runs.map((r) => r.taskId).sort()).toEqual(['next', 'was-assigned', 'was-running'])
    expect(
      h
        .all('task:status')
        .filter((e) => e.to === 'pending')
        .map((e) => e.reason),
    ).toEqual(['was in flight when the previous run ended', 'was in flight when the previous run ended'])
  })

  it('re-derives blocked at load: unblocks what a person fixed, blocks what depends on a failed or missing task', async () => {
    const source = createMemorySource([
      task({ id: 'fixed', status: 'blocked', dependsOn: ['ok'] }),
      task({ id: 'ok' }),
      task({ id: 'gone-dep', dependsOn: ['nowhere'] }),
      task({ id: 'broken', status: 'failed' }),
      task({ id: 'on-broken', dependsOn: ['broken'] }),
    ])
    const h = harness({}, { sources: [source] })
    await h.orchestrator.start()
    const summary = await h.orchestrator.done()
    expect(h.orchestrator.task('fixed')?.status).toBe('complete')
    expect(h.orchestrator.task('gone-dep')).toMatchObject({
      status: 'blocked',
      reason: 'depends on "nowhere", which does not exist',
    })
    expect(h.orchestrator.task('on-broken')).toMatchObject({ status: 'blocked', reason: 'dependency broken is failed' })
    expect(summary.progress).toMatchObject({ complete: 2, failed: 1, blocked: 2 })
  })
})

describe('edits while running', () => {
  it('a task added while running is run', async () => {
    const source = createMemorySource([task({ id: 'a' })])
    const h = harness({ stopWhenSettled: false }, { sources: [source] })
    await h.orchestrator.start()
    await h.when('project:settled')
    source.change({ type: 'added', task: task({ id: 'new', dependsOn: ['a'], priority: 'high', role: 'qa' }) })
    await h.when('task:completed', (e) => e.taskId === 'new')
    // It carries the definition: reporters have no other event with its title.
    expect(h.all('task:added')).toEqual([
      expect.objectContaining({
        taskId: 'new',
        title: 'Task new',
        role: 'qa',
        priority: 'high',
        status: 'pending',
        dependsOn: ['a'],
      }),
    ])
    expect(h.orchestrator.progress()).toMatchObject({ total: 2, complete: 2 })
    await h.when('project:settled', () => h.all('project:settled').length === 2)
  })

  it('an edited definition is taken and said (task:redefined); one in flight takes its title at once, said as such', async () => {
    const source = createMemorySource([task({ id: 'a' }), task({ id: 'b', dependsOn: ['a'] }), task({ id: 'c' })])
    const h = harness(
      { stopWhenSettled: false, agents: { default: { count: 2 }, qa: { count: 1 } } },
      { sources: [source], backend: { script: hangOn('a', 'c') } },
    )
    await h.orchestrator.start()
    await h.when('task:assigned', () => h.all('task:assigned').length === 2)
    source.change({ type: 'changed', task: task({ id: 'b', title: 'B, retitled', role: 'qa', dependsOn: ['a'] }) })
    source.change({ type: 'changed', task: task({ id: 'c', title: 'C, retitled', status: 'in_progress' }) })
    expect(h.all('task:redefined')).toEqual([
      expect.objectContaining({ taskId: 'b', title: 'B, retitled', role: 'qa', priority: 'medium', dependsOn: ['a'] }),
      expect.objectContaining({ taskId: 'c', title: 'C, retitled', whileRunning: ['title'] }),
    ])
    expect(h.all('task:redefined')[0]).not.toHaveProperty('whileRunning')
    expect(h.orchestrator.task('b')).toMatchObject({ title: 'B, retitled', role: 'qa' })
    // Its next prompt has the new title; its status stays the journal's.
    expect(h.orchestrator.task('c')).toMatchObject({ title: 'C, retitled', status: 'in_progress' })
  })

  it('an added task in flight starts over; one with a cycle is refused with an error event', async () => {
    const source = createMemorySource([task({ id: 'a' })])
    const h = harness({ stopWhenSettled: false }, { sources: [source] })
    await h.orchestrator.start()
    await h.when('project:settled')
    source.change({ type: 'added', task: task({ id: 'x', status: 'in_progress', dependsOn: ['y'] }) })
    source.change({ type: 'added', task: task({ id: 'y', dependsOn: ['x'] }) })
    const error = await h.when('orchestrator:error')
    expect(error.message).toContain('Dependency cycle')
    expect(error.context).toBe('applying a change of task y')
    expect(h.orchestrator.task('y')).toBeUndefined()
    expect(h.orchestrator.task('x')).toMatchObject({ status: 'blocked' })
    source.change({ type: 'invalid', source: 'tasks/z.md', error: new Error('bad yaml') })
    expect(h.all('orchestrator:error').at(-1)).toMatchObject({ context: 'reading tasks/z.md', message: 'bad yaml' })
    // A message that names the file already does not name it twice.
    source.change({ type: 'invalid', source: 'tasks/z.md', error: new Error('tasks/z.md: field "role": bad') })
    expect(h.all('orchestrator:error').at(-1)).toMatchObject({
      context: 'reading tasks/z.md',
      message: 'field "role": bad',
    })
  })

  it('a status written into a file is not obeyed: the journal wins and the file is written back', async () => {
    const source = createMemorySource([task({ id: 'a' }), task({ id: 'b', dependsOn: ['a'] })])
    const h = harness({ stopWhenSettled: false }, { sources: [source] })
    await h.orchestrator.start()
    await h.when('project:settled')
    // What `git stash` of a task folder does: the file goes back to its committed status.
    source.change({ type: 'changed', task: task({ id: 'a', status: 'pending' }) })
    source.change({ type: 'changed', task: task({ id: 'b', status: 'in_progress' }) })
    await h.orchestrator.stop()
    expect(h.backend.runs.map((r) => r.taskId)).toEqual(['a', 'b'])
    expect(h.orchestrator.task('a')?.status).toBe('complete')
    expect(source.tasks.get('a')?.status).toBe('complete')
    expect(source.tasks.get('b')?.status).toBe('complete')
    expect(h.all('orchestrator:error')).toEqual([])
  })

  it('rerun runs a completed task again, keeping its history; with dependents, they run again after it', async () => {
    const source = createMemorySource([
      task({ id: 'a' }),
      task({ id: 'b', dependsOn: ['a'] }),
      task({ id: 'c', dependsOn: ['b'] }),
    ])
    const h = harness({ stopWhenSettled: false }, { sources: [source] })
    await h.orchestrator.start()
    await h.when('project:settled')
    await h.orchestrator.rerun('b')
    await h.when('task:completed', () => h.all('task:completed').length === 4)
    expect(h.backend.runs.map((r) => r.taskId)).toEqual(['a', 'b', 'c', 'b'])
    expect(h.orchestrator.task('b')).toMatchObject({ status: 'complete', iterations: 2 })

    await h.orchestrator.rerun('a', { withDependents: true })
    await h.when('task:completed', () => h.all('task:completed').length === 7)
    expect(h.backend.runs.map((r) => r.taskId).slice(4)).toEqual(['a', 'b', 'c'])
    expect(
      h
        .all('task:status')
        .filter((e) => e.reason === 'rerun by a person')
        .map((e) => e.taskId),
    ).toEqual(['b', 'a', 'b', 'c'])
  })

  it('reset starts a failed task over, clearing its counts, and its blocked dependents unblock and run', async () => {
    let broken = true
    const source = createMemorySource([
      task({ id: 'a', completion: { verify: 'check' } }),
      task({ id: 'b', dependsOn: ['a'] }),
      task({ id: 'c', dependsOn: ['b'] }),
    ])
    const h = harness(
      { stopWhenSettled: false },
      {
        sources: [source],
        backend: {
          exec: () => (broken ? Promise.reject(new Error('no shell')) : { exitCode: 0, output: '', timedOut: false }),
        },
      },
    )
    await h.orchestrator.start()
    await h.when('project:settled')
    expect(h.orchestrator.progress()).toMatchObject({ failed: 1, blocked: 2 })
    expect(h.orchestrator.task('a')?.iterations).toBe(1)

    broken = false
    await h.orchestrator.reset('a')
    // Its event tells the count cleared.
    expect(h.all('task:status').filter((e) => e.taskId === 'a' && e.to === 'pending')).toEqual([
      expect.objectContaining({ from: 'failed', iterations: 0 }),
    ])
    expect(h.orchestrator.task('b')?.status).toBe('pending')
    expect(h.orchestrator.task('c')?.status).toBe('pending')
    await h.when('task:completed', (e) => e.taskId === 'c')
    expect(h.orchestrator.progress()).toMatchObject({ complete: 3, failed: 0, blocked: 0 })
    expect(h.orchestrator.task('a')).toMatchObject({ attempts: 0, iterations: 1, reason: 'verify passed: check' })
  })

  it('a running task that is reset stops and starts over; its stopped try is not a lost attempt', async () => {
    let tries = 0
    const source = createMemorySource([task({ id: 'a' })])
    const h = harness(
      { stopWhenSettled: false },
      {
        sources: [source],
        backend: { script: () => (++tries === 1 ? { type: 'hang' } : { type: 'succeed', output: 'DONE' }) },
      },
    )
    await h.orchestrator.start()
    await h.when('iteration:started')
    await h.orchestrator.reset('a')
    await h.when('task:completed')
    expect(tries).toBe(2)
    expect(h.orchestrator.task('a')).toMatchObject({ status: 'complete', attempts: 0 })
    expect(h.all('task:requeued')).toEqual([])
  })

  it('mark sets a task failed or complete by hand, and its dependents follow', async () => {
    const source = createMemorySource([
      task({ id: 'a' }),
      task({ id: 'b', dependsOn: ['a'] }),
      task({ id: 'c', dependsOn: ['x'] }),
      task({ id: 'x' }),
    ])
    const h = harness({ stopWhenSettled: false, agents: { default: { count: 0 } } }, { sources: [source] })
    await h.orchestrator.start()
    await h.when('project:settled')
    await h.orchestrator.mark('a', 'failed')
    expect(h.orchestrator.task('a')).toMatchObject({ status: 'failed', reason: 'marked failed by a person' })
    expect(h.orchestrator.task('b')?.status).toBe('blocked')
    expect(h.orchestrator.status().queue.size).toBe(1)
    await h.orchestrator.mark('x', 'complete')
    expect(h.orchestrator.task('c')?.status).toBe('pending')
    expect(h.orchestrator.status().queue).toEqual({ size: 1, byRole: { default: 1 } })
    await expect(h.orchestrator.mark('c', 'review' as 'complete')).rejects.toMatchObject({ code: 'TANUKI_TASK_STATUS' })
    await expect(h.orchestrator.rerun('nope')).rejects.toMatchObject({ code: 'TANUKI_TASK_NOT_FOUND' })
  })

  it('editing dependencies and priority requeues only what is ready', async () => {
    const source = createMemorySource([
      task({ id: 'a', status: 'failed' }),
      task({ id: 'b' }),
      task({ id: 'c', dependsOn: ['a'] }),
    ])
    const h = harness({ stopWhenSettled: false, agents: { default: { count: 0 } } }, { sources: [source] })
    await h.orchestrator.start()
    expect(h.orchestrator.status().queue.size).toBe(1)
    expect(h.orchestrator.task('c')?.status).toBe('blocked')
    // b now depends on the failed a: out of the queue, blocked.
    source.change({ type: 'changed', task: task({ id: 'b', dependsOn: ['a'] }) })
    expect(h.orchestrator.task('b')?.status).toBe('blocked')
    expect(h.orchestrator.status().queue.size).toBe(0)
    // c no longer depends on anything: unblocked and queued.
    source.change({ type: 'changed', task: task({ id: 'c', priority: 'high' }) })
    expect(h.orchestrator.task('c')).toMatchObject({ status: 'pending', priority: 'high' })
    expect(h.orchestrator.status().queue.size).toBe(1)
  })

  it('an edit that would close a cycle is refused and the task keeps its dependencies', async () => {
    const source = createMemorySource([
      task({ id: 'a', dependsOn: ['b'] }),
      task({ id: 'b' }),
      task({ id: 'c', status: 'blocked', dependsOn: ['gone'] }),
    ])
    const h = harness({ stopWhenSettled: false, agents: { default: { count: 0 } } }, { sources: [source] })
    await h.orchestrator.start()
    source.change({ type: 'changed', task: task({ id: 'b', dependsOn: ['a'], source: 'tasks/b.md' }) })
    expect(h.all('orchestrator:error').at(-1)).toMatchObject({
      context: 'applying a change of task b (tasks/b.md)',
      message: expect.stringContaining('Dependency cycle'),
    })
    expect(h.orchestrator.task('b')).toMatchObject({ dependsOn: [], status: 'pending' })
    expect(h.orchestrator.progress()).toMatchObject({ total: 3, pending: 2, blocked: 1 })
    // A blocked task whose missing dependency is dropped, still written as blocked, is free again.
    source.change({ type: 'changed', task: task({ id: 'c', status: 'blocked' }) })
    expect(h.orchestrator.task('c')).toMatchObject({ status: 'pending', reason: 'no longer blocked' })
    expect(h.orchestrator.status().queue.byRole).toEqual({ default: 2 })
  })

  it('removing a task drops it and blocks what depended on it', async () => {
    const source = createMemorySource([task({ id: 'a' }), task({ id: 'b', dependsOn: ['a'] }), task({ id: 'other' })])
    const h = harness({ stopWhenSettled: false, agents: { default: { count: 0 } } }, { sources: [source] })
    await h.orchestrator.start()
    source.change({ type: 'removed', id: 'a' })
    expect(h.orchestrator.task('a')).toBeUndefined()
    expect(h.orchestrator.task('b')).toMatchObject({
      status: 'blocked',
      reason: 'depends on "a", which does not exist',
    })
    expect(h.orchestrator.progress().total).toBe(2)
    expect(h.orchestrator.status().queue.size).toBe(1)
    source.change({ type: 'removed', id: 'nope' })
    expect(h.orchestrator.progress().total).toBe(2)
  })

  it('a task in flight takes what its loop reads of an edit at once; its role, and a removal, wait until its run ends', async () => {
    const source = createMemorySource([task({ id: 'a' })])
    const h = harness({ stopWhenSettled: false }, { sources: [source], backend: { script: hangOn('a') } })
    await h.orchestrator.start()
    await h.when('iteration:started')
    source.change({ type: 'changed', task: task({ id: 'a', title: 'renamed', role: 'qa', status: 'pending' }) })
    source.change({ type: 'removed', id: 'a' })
    expect(h.orchestrator.task('a')).toMatchObject({ status: 'in_progress', title: 'renamed', role: 'default' })
  })
})

// A command a person sends just as a try ends reaches the task while it is settled: its work
// published (`endTask`), then its completion recorded. The orchestrator acknowledged it, so it
// must not be lost to the verdict that was being recorded.
describe('commands while a task finishes', () => {
  /** The statuses (and their reasons) the journal recorded for a task, in order. */
  const journaled = (store: MemoryStore, id: string): string[] =>
    store.records.flatMap((r) =>
      r.t === 'task' && r.id === id && r.status ? [r.reason ? `${r.status}: ${r.reason}` : r.status] : [],
    )

  /**
   * A harness whose agents publish a task's work through `endTask`; `during` runs inside the
   * first publish of a completed try of `id`, before the orchestrator records the completion.
   */
  function publishing(id: string, during: (h: Harness) => Promise<void>, ids = [id]) {
    const store = createMemoryStore()
    let sent = false
    const h: Harness = harness(
      {},
      {
        store,
        sources: [createMemorySource(ids.map((each, i) => task({ id: each, dependsOn: i > 0 ? [ids[i - 1]!] : [] })))],
        backend: {
          end: async (t, outcome) => {
            if (sent || t.id !== id || outcome.status !== 'complete') return
            sent = true
            await during(h)
          },
        },
      },
    )
    return { h, store }
  }

  it.each([
    ['rerun', 'rerun by a person'],
    ['reset', 'reset by a person'],
  ] as const)('a %s that comes while the work is published runs the task again', async (command, reason) => {
    const { h, store } = publishing('a', (h) => h.orchestrator[command]('a'))
    await h.orchestrator.start()
    const summary = await h.orchestrator.done()
    expect(summary.allComplete).toBe(true)
    expect(h.backend.runs.map((r) => r.taskId)).toEqual(['a', 'a'])
    // The first try's verdict was never recorded: the person's command took its place.
    expect(journaled(store, 'a')).toEqual([
      'assigned',
      'in_progress',
      `pending: ${reason}`,
      'assigned',
      'in_progress',
      'complete: signal "DONE" found',
    ])
    expect(h.all('task:completed').map((e) => e.taskId)).toEqual(['a'])
  })

  it('a mark that comes while the work is published wins over the verdict', async () => {
    const { h, store } = publishing('a', (h) => h.orchestrator.mark('a', 'failed'))
    await h.orchestrator.start()
    await h.orchestrator.done()
    expect(h.orchestrator.task('a')).toMatchObject({ status: 'failed', reason: 'marked failed by a person' })
    expect(journaled(store, 'a').at(-1)).toBe('failed: marked failed by a person')
    expect(h.all('task:completed')).toEqual([])
  })

  it('a rerun with dependents runs again a dependent whose work was being published, after the task', async () => {
    const { h, store } = publishing('b', (h) => h.orchestrator.rerun('a', { withDependents: true }), ['a', 'b', 'c'])
    await h.orchestrator.start()
    const summary = await h.orchestrator.done()
    expect(summary.allComplete).toBe(true)
    // b's first try, on the old a, does not count: it runs again on the new a, and c only after it.
    expect(h.backend.runs.map((r) => r.taskId)).toEqual(['a', 'b', 'a', 'b', 'c'])
    // c had not run yet: it stays pending, and waits for b.
    for (const id of ['a', 'b']) expect(journaled(store, id)).toContain('pending: rerun by a person')
    expect(journaled(store, 'b').filter((status) => status.startsWith('complete'))).toHaveLength(1)
    expect(h.all('task:completed').map((e) => e.taskId)).toEqual(['a', 'a', 'b', 'c'])
  })

  it('a rerun that comes while the completion is recorded runs the task again, and the old one is not announced', async () => {
    // A journal whose first write after a's completion waits for the person's rerun.
    const memory = createMemoryStore()
    let h!: Harness
    let completed = false
    const store: MemoryStore = {
      ...memory,
      append(record) {
        if (record.t === 'task' && record.id === 'a' && record.status === 'complete') completed = true
        memory.append(record)
      },
      async flush() {
        if (completed && h.backend.runs.length === 1) {
          completed = false
          await h.orchestrator.rerun('a')
        }
        await memory.flush()
      },
    }
    h = harness({}, { store, sources: [createMemorySource([task({ id: 'a' }), task({ id: 'b', dependsOn: ['a'] })])] })
    await h.orchestrator.start()
    const summary = await h.orchestrator.done()
    expect(summary.allComplete).toBe(true)
    expect(h.backend.runs.map((r) => r.taskId)).toEqual(['a', 'a', 'b'])
    expect(journaled(store, 'a').slice(2, 4)).toEqual(['complete: signal "DONE" found', 'pending: rerun by a person'])
    // Announcing the first completion after the rerun would report a task done that runs again.
    expect(h.all('task:completed').map((e) => e.taskId)).toEqual(['a', 'b'])
    const again = h.log.filter((e) => e.name === 'task:assigned')[1]
    expect(h.indexOf('task:completed')).toBeGreaterThan(h.log.indexOf(again!))
  })
})
