import { describe, expect, it } from 'vitest'
import { createMemoryBackend, createOrchestrator, tellingLines } from '@tanuki/core'
import { spendText } from '../client/format.ts'
import type { StatusDocument } from '../types.ts'
import { tapRun1 } from '../../../core/test/fixtures/node-test-tap.ts'
import { DashboardModel, gateExcerpt } from './index.ts'

const doc = (): StatusDocument => ({
  status: 'running',
  pid: 42,
  updatedAt: '2026-01-01T00:00:00.000Z',
  tasks: [
    { id: 'a', title: 'A', role: 'backend', priority: 'high', status: 'complete', dependsOn: [], iterations: 1 },
    { id: 'b', title: 'B', role: 'backend', priority: 'medium', status: 'pending', dependsOn: ['a'], iterations: 0 },
    { id: 'c', title: 'C', role: 'qa', priority: 'low', status: 'pending', dependsOn: ['b'], iterations: 0 },
  ],
  progress: {
    total: 3,
    complete: 1,
    inProgress: 0,
    pending: 2,
    failed: 0,
    review: 0,
    blocked: 0,
    percentage: 33,
    byStatus: {},
    byRole: {},
  },
  agents: [{ name: 'backend-1', role: 'backend', backend: 'process', status: 'idle' }],
})

describe('DashboardModel', () => {
  it('keeps counts by status and role as events move tasks, and gives the document back', () => {
    const model = DashboardModel.from(doc())
    expect(model.progress()).toMatchObject({ total: 3, complete: 1, pending: 2, percentage: 33 })
    model.apply('task:status', { taskId: 'b', from: 'pending', to: 'assigned', agent: 'backend-1', at: 1 })
    model.apply('task:assigned', { taskId: 'b', agent: 'backend-1', role: 'backend', at: 1 })
    model.apply('task:status', { taskId: 'b', from: 'assigned', to: 'in_progress', agent: 'backend-1', at: 2 })
    model.apply('iteration:started', {
      taskId: 'b',
      agent: 'backend-1',
      iteration: 1,
      maxIterations: 3,
      prompt: 'p',
      at: 3,
    })
    expect(model.progress()).toMatchObject({ inProgress: 1, pending: 1 })
    expect(model.progress().byRole.backend).toMatchObject({ total: 2, complete: 1, in_progress: 1 })
    expect(model.agents.get('backend-1')).toMatchObject({ status: 'busy', task: 'b', iteration: 1, maxIterations: 3 })

    model.apply('iteration:finished', {
      taskId: 'b',
      agent: 'backend-1',
      iteration: 1,
      maxIterations: 3,
      outcome: 'complete',
      reason: 'verify passed',
      output: 'ok',
      usage: { inputTokens: 100, outputTokens: 20, costUsd: 0.01 },
      durationMs: 5,
      at: 4,
    })
    model.apply('task:status', { taskId: 'b', from: 'in_progress', to: 'complete', agent: 'backend-1', at: 5 })
    model.apply('task:completed', { taskId: 'b', agent: 'backend-1', iterations: 1, durationMs: 5, at: 5 })
    const out = model.document()
    expect(out.progress).toMatchObject({ total: 3, complete: 2, inProgress: 0, percentage: 66 })
    expect(out.tasks.find((t) => t.id === 'b')).toMatchObject({
      status: 'complete',
      iterations: 1,
      spend: { usd: 0.01, tokens: 120 },
    })
    expect(out.agents[0]).toMatchObject({ name: 'backend-1', status: 'idle' })
    expect(out.agents[0]!.task).toBeUndefined()
    expect(model.spend()).toEqual({ usd: 0.01, tokens: 120 })
  })

  it('shows a task a person accepted, from a real run: marked complete from review, and no longer once rerun', async () => {
    const model = new DashboardModel()
    const orchestrator = createOrchestrator({
      config: {
        cooldownMs: 0,
        stopWhenSettled: false,
        tasks: [{ id: 'A-1', title: 'never says it', completion: { signal: 'DONE', maxIterations: 1 } }],
      },
      backends: [createMemoryBackend({ script: () => ({ type: 'succeed', output: 'not yet' }) })],
      reporters: [{ name: 'dashboard', onEvent: (name, payload) => void model.apply(name, payload) }],
    })
    const review = new Promise<void>((resolve) =>
      orchestrator.events.on('task:status', ({ to }) => void (to === 'review' && resolve())),
    )
    await orchestrator.start()
    await review
    expect(model.tasks.get('A-1')).toMatchObject({ status: 'review' })
    expect(model.tasks.get('A-1')!.accepted).toBeUndefined()
    await orchestrator.mark('A-1', 'complete')
    expect(model.tasks.get('A-1')).toMatchObject({ status: 'complete', accepted: true })
    // The running orchestrator's snapshot says it too, as a page opened now reads it.
    expect(DashboardModel.from({ ...doc(), tasks: orchestrator.status().tasks }).tasks.get('A-1')).toMatchObject({
      accepted: true,
    })
    await orchestrator.rerun('A-1')
    expect(model.tasks.get('A-1')!.accepted).toBeUndefined()
    await orchestrator.stop()
  })

  it('takes an acceptance of an earlier run from project:loaded', () => {
    const model = new DashboardModel()
    const task = { title: 'T', role: 'r', priority: 'medium' as const, status: 'complete' as const, dependsOn: [] }
    model.apply('project:loaded', {
      total: 2,
      ready: 0,
      recovered: [],
      tasks: [
        { id: 'a', ...task, accepted: true },
        { id: 'b', ...task },
      ],
      at: 1,
    })
    expect(model.tasks.get('a')!.accepted).toBe(true)
    expect(model.tasks.get('b')!.accepted).toBeUndefined()
  })

  it('counts what tries a crash and a stop cut short spent, from a real run, the estimate marked ~', async () => {
    const model = new DashboardModel()
    let tries = 0
    const orchestrator = createOrchestrator({
      config: { cooldownMs: 0, tasks: [{ id: 'C-1', title: 'cut', completion: { signal: 'DONE' } }] },
      backends: [
        createMemoryBackend({
          // The first agent dies mid-try, having said what it spent; the second is stopped mid-try,
          // before its bill, with what Tanuki priced of its answers so far.
          script: () =>
            ++tries === 1
              ? { type: 'die', delayMs: 5, usage: { costUsd: 0.25, inputTokens: 100, outputTokens: 10 } }
              : { type: 'hang', usage: { costUsd: 0.5, inputTokens: 200, outputTokens: 20, estimated: true } },
        }),
      ],
      // As the dashboard's server does: every event folded in.
      reporters: [{ name: 'dashboard', onEvent: (name, payload) => void model.apply(name, payload) }],
    })
    let started = 0
    const second = new Promise<void>((resolve) =>
      orchestrator.events.on('iteration:started', () => void (++started === 2 && resolve())),
    )
    await orchestrator.start()
    await second
    // The second agent has begun (and spent) before the stop.
    await new Promise((resolve) => setTimeout(resolve, 5))
    await orchestrator.stop()
    expect((await orchestrator.done()).spend).toEqual({ usd: 0.75, tokens: 330 })
    expect(model.tasks.get('C-1')!.spend).toEqual({ usd: 0.75, tokens: 330, estimated: true })
    expect(model.spend()).toEqual({ usd: 0.75, tokens: 330, estimated: true })
    expect(spendText(model.spend())).toBe('~$0.7500 · 330 tokens')
  })

  it('shows work waiting on the integration branch as waiting for the target, not landed, until the target moves', () => {
    const note =
      'your uncommitted changes in /p (notes.txt) would be overwritten; commit or stash them, then `tanuki land`'
    const base = doc()
    base.tasks[0]!.landed = null
    base.tasks[0]!.heldBack = { target: 'main', commit: 'aaa111', at: '2026-01-01T00:00:01.000Z', note }
    base.progress.landed = 0
    base.progress.heldBack = 1
    const model = DashboardModel.from(base)
    expect(model.progress()).toMatchObject({ landed: 0, heldBack: 1 })
    // Another landing the target could not reach: it waits with the first.
    model.apply('task:landed', { taskId: 'b', commit: 'bbb222', moved: false, note, target: 'main', at: 2 })
    expect(model.tasks.get('b')).toMatchObject({
      landed: null,
      heldBack: { target: 'main', commit: 'bbb222', note },
    })
    expect(model.progress()).toMatchObject({ landed: 0, heldBack: 2 })
    // The person committed; `tanuki land` moved main to the last landing: both are on it.
    model.apply('task:landed', { taskId: 'b', commit: 'bbb222', moved: true, target: 'main', at: 3 })
    expect(model.tasks.get('a')).toMatchObject({ landed: { commit: 'aaa111' } })
    expect(model.tasks.get('a')!.heldBack).toBeUndefined()
    expect(model.tasks.get('b')).toMatchObject({ landed: { commit: 'bbb222' } })
    expect(model.progress()).toMatchObject({ landed: 2, heldBack: 0 })
  })

  it('counts a task with nothing to land apart from the landed, from documents and events alike', () => {
    const base = doc()
    base.tasks[0]!.landed = { commit: 'abc123', at: '2026-01-01T00:00:01.000Z', empty: 'no-work' }
    base.progress.landed = 0
    base.progress.nothingToLand = 1
    const model = DashboardModel.from(base)
    expect(model.progress()).toMatchObject({ landed: 0, nothingToLand: 1 })
    // A rerun whose work was already there: nothing new, so nothing landed.
    model.apply('task:landed', {
      taskId: 'b',
      commit: 'abc123',
      moved: true,
      empty: 'no-changes',
      target: 'main',
      at: 2,
    })
    expect(model.tasks.get('b')!.landed).toEqual({ commit: 'abc123', at: expect.any(String), empty: 'no-changes' })
    expect(model.progress()).toMatchObject({ landed: 0, nothingToLand: 2 })
    // Rerun again, it lands work of its own this time: landed, and no longer counted as empty.
    model.apply('task:landed', { taskId: 'b', commit: 'def456', moved: true, target: 'main', at: 3 })
    expect(model.progress()).toMatchObject({ landed: 1, nothingToLand: 1 })
    // The target did not reach the landings before it: nothing of this one waits with them.
    model.apply('task:landed', { taskId: 'e', commit: 'aaa111', moved: false, note: 'n', target: 'main', at: 4 })
    model.apply('task:landed', {
      taskId: 'c',
      commit: 'aaa111',
      moved: false,
      empty: 'no-work',
      note: 'n',
      target: 'main',
      at: 5,
    })
    expect(model.tasks.get('c')!.heldBack).toBeUndefined()
    expect(model.tasks.get('e')!.heldBack).toMatchObject({ commit: 'aaa111' })
    expect(model.progress()).toMatchObject({ landed: 1, nothingToLand: 2, heldBack: 1 })
    // The target moves: the landing that waited is on it, and c is still nothing to land.
    model.apply('task:landed', { taskId: 'd', commit: 'fed789', moved: true, target: 'main', at: 6 })
    expect(model.tasks.get('c')!.landed).toMatchObject({ empty: 'no-work' })
    expect(model.progress()).toMatchObject({ landed: 3, nothingToLand: 2, heldBack: 0 })
  })

  it('shows landings, conflicts, failure classes and parked agents, from documents and events alike', () => {
    const base = doc()
    base.tasks[0]!.landed = { commit: 'abc123', at: '2026-01-01T00:00:01.000Z' }
    base.tasks[1]!.lastError = { class: 'verify-failed', cause: 'exit 1', iteration: 2, at: '2026-01-01T00:00:02.000Z' }
    base.agents[0]!.parkedUntil = '2026-01-01T05:00:00.000Z'
    base.progress.landed = 1
    const model = DashboardModel.from(base)
    expect(model.document().tasks[0]!.landed).toEqual({ commit: 'abc123', at: '2026-01-01T00:00:01.000Z' })
    expect(model.progress().landed).toBe(1)

    // A gate that failed on the combined work: the page says which, its exit and what failed.
    const tap = [
      'TAP version 13',
      ...Array.from({ length: 60 }, (_, i) => (i === 9 ? 'not ok 10 - slugify' : `ok ${i + 1} - test ${i + 1}`)),
      '1..60',
      '# pass 59',
      '# fail 1',
    ].join('\n')
    model.apply('task:land-failed', {
      taskId: 'b',
      command: 'npm test',
      exitCode: 1,
      output: tap,
      at: Date.UTC(2026, 0, 1, 0, 1),
    })
    const failed = model.tasks.get('b')!.landFailed!
    expect(failed).toMatchObject({ command: 'npm test', exitCode: 1, at: '2026-01-01T00:01:00.000Z' })
    expect(failed.output.split('\n').slice(0, 4)).toEqual(['…', 'not ok 10 - slugify', '…', 'ok 44 - test 44'])
    expect(failed.output).toMatch(/# fail 1$/)
    model.apply('task:conflict', { taskId: 'b', files: ['src/x.ts'], at: Date.UTC(2026, 0, 1, 0, 1) })
    expect(model.tasks.get('b')!.conflict).toEqual({ files: ['src/x.ts'], at: '2026-01-01T00:01:00.000Z' })
    model.apply('task:landed', { taskId: 'b', commit: 'def456', at: Date.UTC(2026, 0, 1, 0, 2) })
    expect(model.tasks.get('b')!.landed).toEqual({ commit: 'def456', at: '2026-01-01T00:02:00.000Z' })
    expect(model.tasks.get('b')!.conflict).toBeUndefined()
    expect(model.tasks.get('b')!.landFailed).toBeUndefined()
    expect(model.progress().landed).toBe(2)

    model.apply('iteration:finished', {
      taskId: 'c',
      agent: 'qa-1',
      iteration: 1,
      maxIterations: 1,
      outcome: 'retry',
      reason: 'usage limit',
      output: '',
      failure: { class: 'rate-limited', cause: 'usage limit until 05:00' },
      durationMs: 1,
      at: Date.UTC(2026, 0, 1, 0, 3),
    })
    expect(model.tasks.get('c')!.lastError).toMatchObject({ class: 'rate-limited', iteration: 1 })
    model.apply('agent:parked', {
      agent: 'qa-1',
      until: Date.UTC(2026, 0, 1, 5),
      reason: 'usage limit',
      at: Date.UTC(2026, 0, 1, 0, 3),
    })
    expect(model.agents.get('qa-1')).toMatchObject({
      parkedUntil: '2026-01-01T05:00:00.000Z',
      parkReason: 'usage limit',
    })
    model.apply('agent:resumed', { agent: 'qa-1', at: Date.UTC(2026, 0, 1, 5) })
    expect(model.agents.get('qa-1')!.parkedUntil).toBeUndefined()
  })

  it("takes earlier runs' landings, iterations and reasons from project:loaded, waiting ones included", () => {
    const model = new DashboardModel()
    model.apply('project:loaded', {
      total: 4,
      ready: 0,
      recovered: [],
      tasks: [
        {
          id: 'a',
          title: 'A',
          role: 'r',
          priority: 'medium',
          status: 'complete',
          dependsOn: [],
          iterations: 2,
          landed: { commit: 'c0ffee', at: 5 },
        },
        {
          id: 'b',
          title: 'B',
          role: 'r',
          priority: 'medium',
          status: 'complete',
          dependsOn: [],
          iterations: 1,
          landed: { commit: 'beef', at: 6, heldBack: { target: 'main', note: 'commit or stash notes.txt' } },
        },
        { id: 'c', title: 'C', role: 'r', priority: 'medium', status: 'pending', dependsOn: ['a'] },
        {
          id: 'd',
          title: 'D',
          role: 'r',
          priority: 'medium',
          status: 'failed',
          dependsOn: [],
          iterations: 3,
          reason: 'marked failed by a person',
        },
      ],
      at: 10,
    })
    expect(model.tasks.get('d')).toMatchObject({ status: 'failed', reason: 'marked failed by a person' })
    expect(model.tasks.get('a')).toMatchObject({
      iterations: 2,
      landed: { commit: 'c0ffee', at: new Date(5).toISOString() },
    })
    expect(model.tasks.get('b')).toMatchObject({
      landed: null,
      heldBack: { target: 'main', commit: 'beef', note: 'commit or stash notes.txt' },
    })
    expect(model.tasks.get('c')).toMatchObject({ iterations: 0 })
    expect(model.progress()).toMatchObject({ landed: 1, heldBack: 1 })
    // The run sends the waiting landing again, and then the target reaches it: counted once.
    model.apply('task:landed', { taskId: 'b', commit: 'beef', moved: false, target: 'main', note: 'n', at: 11 })
    expect(model.progress()).toMatchObject({ landed: 1, heldBack: 1 })
    model.apply('task:landed', { taskId: 'b', commit: 'beef', moved: true, target: 'main', at: 12 })
    expect(model.progress()).toMatchObject({ landed: 2, heldBack: 0 })
  })

  it('takes the task list from project:loaded and ignores events it does not know', () => {
    const model = new DashboardModel()
    const changed = model.apply('project:loaded', {
      total: 2,
      ready: 1,
      recovered: [],
      tasks: [
        { id: 'x', title: 'X', role: 'r', priority: 'medium', status: 'pending', dependsOn: [] },
        { id: 'y', title: 'Y', role: 'r', priority: 'medium', status: 'blocked', dependsOn: ['x'] },
      ],
      at: 1,
    })
    expect(changed).toEqual(['x', 'y'])
    expect(model.progress()).toMatchObject({ total: 2, pending: 1, blocked: 1 })
    expect(model.apply('something:new', { at: 2 })).toBeUndefined()
    expect(model.apply('iteration:output', { taskId: 'x', text: 'hi' })).toBeUndefined()
  })

  it('takes a task added during the run from task:added, counted under its role', () => {
    const model = DashboardModel.from(doc())
    model.apply('task:added', {
      taskId: 'd',
      title: 'Added mid-run',
      role: 'qa',
      priority: 'high',
      status: 'pending',
      dependsOn: ['c'],
      at: 1,
    })
    expect(model.document().tasks.find((t) => t.id === 'd')).toMatchObject({
      title: 'Added mid-run',
      role: 'qa',
      priority: 'high',
      status: 'pending',
      dependsOn: ['c'],
    })
    expect(model.progress().byRole.qa).toMatchObject({ total: 2, pending: 2 })
    expect(model.progress().byRole.default).toBeUndefined()
    // An older core's event, the id alone: a task with what is known of it.
    model.apply('task:added', { taskId: 'e', at: 2 })
    expect(model.document().tasks.find((t) => t.id === 'e')).toMatchObject({ title: 'e', role: 'default' })
  })

  it("takes a task's new definition from task:redefined, counted under its new role", () => {
    const model = DashboardModel.from(doc())
    expect(
      model.apply('task:redefined', {
        taskId: 'b',
        title: 'B, retitled',
        role: 'qa',
        priority: 'low',
        dependsOn: [],
        at: 1,
      }),
    ).toEqual(['b'])
    expect(model.document().tasks.find((t) => t.id === 'b')).toMatchObject({
      title: 'B, retitled',
      role: 'qa',
      priority: 'low',
      status: 'pending',
      dependsOn: [],
    })
    expect(model.progress().byRole.qa).toMatchObject({ total: 2, pending: 2 })
    expect(model.progress().byRole.backend).toMatchObject({ total: 1, complete: 1 })
  })

  it('says what needs a person, as `project status` does, failed first, and follows the events', () => {
    const base = doc()
    // Built from the journal after a run: the branch work lands on, a task in review, one held.
    Object.assign(base, { target: 'main' })
    base.tasks[0]!.landed = null
    base.tasks.push(
      {
        id: 'r',
        title: 'R',
        role: 'qa',
        priority: 'medium',
        status: 'review',
        dependsOn: [],
        iterations: 3,
        reason: 'verify exited with code 1: npm test; no tries left (3)',
      },
      {
        id: 'f',
        title: 'F',
        role: 'qa',
        priority: 'medium',
        status: 'failed',
        dependsOn: [],
        iterations: 1,
        lastError: { class: 'crashed', cause: 'the agent crashed', at: '2026-01-01T00:00:00.000Z' },
      },
      {
        id: 'm',
        title: 'M',
        role: 'qa',
        priority: 'medium',
        status: 'complete',
        dependsOn: ['r'],
        iterations: 1,
        landed: null,
      },
    )
    const model = DashboardModel.from(base)
    expect(model.target).toBe('main')
    expect(model.needsYou()).toEqual([
      { taskId: 'f', kind: 'failed', why: 'the agent crashed', command: 'tanuki task show f' },
      {
        taskId: 'r',
        kind: 'review',
        why: 'verify exited with code 1: npm test; no tries left (3)',
        command: 'tanuki task show r',
      },
      { taskId: 'a', kind: 'not-landed', holds: [], command: 'tanuki land' },
      { taskId: 'm', kind: 'not-landed', holds: [{ id: 'r', status: 'review' }] },
    ])
    // A person reruns R, and the run lands A: neither needs them any more; M waits on R, running.
    model.apply('task:status', { taskId: 'r', from: 'review', to: 'pending', at: 2 })
    model.apply('task:landed', { taskId: 'a', commit: 'abc123', moved: true, target: 'main', at: 3 })
    expect(model.needsYou().map((item) => item.taskId)).toEqual(['f', 'm'])
    // Nothing needs a person: nothing to show.
    expect(DashboardModel.from(doc()).needsYou()).toEqual([])
  })
})

describe('DashboardModel: a failed push', () => {
  const failed = { remote: 'origin', branch: 'main', error: 'pre-receive hook declined', at: 5 }

  it('is a Needs you item with `tanuki land` from the status document after a run, kept in the document', () => {
    const model = DashboardModel.from({ ...doc(), status: 'stopped', pushFailed: failed } as StatusDocument)
    expect(model.notPushed()).toEqual({
      remote: 'origin',
      branch: 'main',
      why: 'main is not pushed to origin: pre-receive hook declined. Fix that, then `tanuki land` pushes it again (or `git push origin main`)',
      command: 'tanuki land',
    })
    expect((model.document() as StatusDocument & { pushFailed?: unknown }).pushFailed).toEqual(failed)
    expect(DashboardModel.from(doc()).notPushed()).toBeUndefined()
  })

  it('comes and goes live with `project:push` during a run, as the pages see it through the document', () => {
    const model = DashboardModel.from(doc())
    expect(model.apply('project:push', { ...failed })).toEqual([])
    expect(model.notPushed()).toMatchObject({ branch: 'main', command: 'tanuki land' })
    // A page opened now reads the document the events made: it has the failure too.
    expect(DashboardModel.from(model.document()).notPushed()).toMatchObject({ remote: 'origin', branch: 'main' })
    // The next push of it went through.
    model.apply('project:push', { remote: 'origin', branch: 'main', at: 6 })
    expect(model.notPushed()).toBeUndefined()
    expect((model.document() as StatusDocument & { pushFailed?: unknown }).pushFailed).toBeUndefined()
  })
})

describe('gateExcerpt', () => {
  it("is core's tellingLines of a gate's output, as one text: what `tanuki task show` prints of it", () => {
    expect(gateExcerpt(tapRun1)).toBe(tellingLines(tapRun1).join('\n'))
    expect(gateExcerpt(tapRun1)).toContain(
      'not ok 3 - slugify joins words with one dash\n…\n  error: |-\n    Expected values',
    )
    expect(gateExcerpt('')).toBe('')
  })
})
