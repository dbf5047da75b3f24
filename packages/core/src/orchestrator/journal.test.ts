import { afterEach, describe, expect, it } from 'vitest'
import { createMemorySource } from '../source/memory.ts'
import { createMemoryStore } from '../state/memory.ts'
import { replay } from '../state/replay.ts'
import type { RunRecord, RunStore, TaskRunState } from '../state/types.ts'
import { createTask } from '../task/parse.ts'
import type { Task, TaskInput } from '../task/types.ts'
import type { MemoryAction } from '../testing/memory-backend.ts'
import { CUT_OFF_BY_CRASH, verdictless } from './tries.ts'
import { harness, stopAll } from './test-harness.ts'

afterEach(stopAll)

const task = (input: Partial<TaskInput> & { id: string }): Task =>
  createTask({ title: `Task ${input.id}`, completion: { signal: 'DONE' }, ...input })

describe('the journal is the authority for run state', () => {
  it('records every status change, iteration and attempt', async () => {
    const store = createMemoryStore()
    const h = harness({}, { sources: [createMemorySource([task({ id: 'a' })])], store })
    await h.orchestrator.start()
    await h.orchestrator.done()
    expect(store.state.tasks.a).toMatchObject({ status: 'complete', iterations: 1, attempts: 0 })
    expect(store.state.tasks.a?.completedAt).toBeGreaterThan(0)
    expect(store.state.run).toMatchObject({ state: 'settled' })
    const statuses = store.records.flatMap((r) => (r.t === 'task' && r.status ? [r.status] : []))
    expect(statuses).toEqual(['assigned', 'in_progress', 'complete'])
  })

  it('a resume never runs completed work again, even when the file says pending', async () => {
    const store = createMemoryStore(
      replay([
        { t: 'task', id: 'a', status: 'complete', iterations: 2, spend: { usd: 0.5, tokens: 100 } },
        { t: 'task', id: 'b', status: 'in_progress', assignedTo: 'default-1', iterations: 1 },
      ]),
    )
    // The files were reverted (a stash, a checkout): both say pending.
    const source = createMemorySource([task({ id: 'a' }), task({ id: 'b', dependsOn: ['a'] })])
    const h = harness({}, { sources: [source], store })
    await h.orchestrator.start()
    const summary = await h.orchestrator.done()
    expect(summary.allComplete).toBe(true)
    expect(h.backend.runs.map((r) => r.taskId)).toEqual(['b'])
    expect(h.all('project:loaded')[0]?.recovered).toEqual(['b'])
    // Spend and iterations survive; the mirror of `a` was written back as complete.
    expect(h.orchestrator.task('a')).toMatchObject({
      status: 'complete',
      iterations: 2,
      spend: { usd: 0.5, tokens: 100 },
    })
    expect(source.tasks.get('a')?.status).toBe('complete')
    expect(h.orchestrator.task('b')?.iterations).toBe(2)
  })

  it('a try a stop cuts short is not counted: the resumed run reports the tries that ran to the end', async () => {
    const store = createMemoryStore()
    const source = () => createMemorySource([task({ id: 'a', completion: { signal: 'DONE', maxIterations: 1 } })])
    const first = harness({}, { sources: [source()], store, backend: { script: () => ({ type: 'hang' }) } })
    await first.orchestrator.start()
    await first.when('iteration:started')
    await first.orchestrator.stop()
    expect(first.orchestrator.task('a')).toMatchObject({ status: 'pending', iterations: 0 })
    // Reporters are told the count it keeps.
    expect(first.all('task:status').at(-1)).toMatchObject({ to: 'pending', iterations: 0 })
    expect(store.state.tasks.a).toMatchObject({ status: 'pending', iterations: 0 })

    const second = harness({}, { sources: [source()], store })
    await second.orchestrator.start()
    await second.orchestrator.done()
    expect(second.all('task:completed')).toMatchObject([{ taskId: 'a', iterations: 1 }])
    expect(store.state.tasks.a).toMatchObject({ status: 'complete', iterations: 1 })
  })

  it('a stop during verify cuts the try short too: it is not counted', async () => {
    const store = createMemoryStore()
    const source = () =>
      createMemorySource([task({ id: 'a', completion: { verify: 'sleep 60000', maxIterations: 1 } })])
    const first = harness({}, { sources: [source()], store })
    await first.orchestrator.start()
    await first.when('iteration:started')
    await new Promise((resolve) => setTimeout(resolve, 20))
    await first.orchestrator.stop()
    expect(store.state.tasks.a).toMatchObject({ status: 'pending', iterations: 0 })
  })

  it('a resume after a crash goes on with the tries left: the try cut off counts, the prompt says which try it is', async () => {
    // Try 1 failed; try 2 had begun (the journal has it) when the run died.
    const store = createMemoryStore(
      replay([{ t: 'task', id: 'a', status: 'in_progress', assignedTo: 'default-1', iterations: 2, attempts: 0 }]),
    )
    const source = createMemorySource([task({ id: 'a', completion: { signal: 'DONE', maxIterations: 3 } })])
    const h = harness(
      { sameFailureLimit: 10 },
      { sources: [source], store, backend: { script: () => ({ type: 'succeed', output: 'not yet' }) } },
    )
    await h.orchestrator.start()
    await h.orchestrator.done()
    expect(h.backend.runs.map((r) => r.iteration)).toEqual([3])
    expect(h.backend.runs[0]?.prompt).toContain('Task a (try 3 of 3).')
    expect(h.all('project:loaded')[0]?.recovered).toEqual(['a'])
    expect(h.orchestrator.task('a')).toMatchObject({ status: 'review', iterations: 3 })
    expect(h.orchestrator.task('a')?.reason).toContain('no tries left (3)')
  })

  it('a resume after a crash cut off its last try runs that try again, once: it never got its verdict', async () => {
    // Rerun after 2 tries; tries 1 and 2 of this run failed; try 3 (its 5th in all) had begun when the run died.
    const store = createMemoryStore(
      replay([
        {
          t: 'task',
          id: 'a',
          status: 'in_progress',
          assignedTo: 'default-1',
          iterations: 5,
          triesFrom: 2,
          attempts: 0,
          lastError: { class: 'verify-failed', cause: 'signal "DONE" not in the agent\'s output', iteration: 2, at: 1 },
        },
      ]),
    )
    const source = () => createMemorySource([task({ id: 'a', completion: { signal: 'DONE', maxIterations: 3 } })])
    const first = harness({}, { sources: [source()], store, backend: { script: () => ({ type: 'hang' }) } })
    await first.orchestrator.start()
    await first.when('iteration:started')
    expect(first.all('project:loaded')[0]?.recovered).toEqual(['a'])
    expect(first.backend.runs.map((r) => r.iteration)).toEqual([3])
    expect(first.backend.runs[0]?.prompt).toContain('Task a (try 3 of 3).')
    // The journal as a second kill -9, during that try, leaves it.
    const crashed = structuredClone(store.state)
    expect(crashed.tasks.a).toMatchObject({ status: 'in_progress', iterations: 6 })

    // A second crash in a row on the last try buys no third go: review, no agent paid.
    const again = createMemoryStore(crashed)
    const second = harness({}, { sources: [source()], store: again })
    await second.orchestrator.start()
    const summary = await second.orchestrator.done()
    expect(summary.allComplete).toBe(false)
    expect(second.backend.runs).toEqual([])
    const reason =
      'no tries left (3): a crash (or kill -9) cut off the extra try its last try without a verdict got; ' +
      '`tanuki task rerun a` gives fresh tries'
    expect(again.state.tasks.a).toMatchObject({ status: 'review', iterations: 6, triesFrom: 2, reason })
    // Said where a resume says what it found, not as work sent back to pending.
    expect(second.all('project:loaded')[0]).toMatchObject({
      recovered: [],
      tasks: [{ id: 'a', status: 'review', reason }],
    })
  })

  it('the one more try after a crash cut off the last is judged as the last: a failure sends the task to review', async () => {
    const store = createMemoryStore(
      replay([{ t: 'task', id: 'a', status: 'in_progress', assignedTo: 'default-1', iterations: 2, attempts: 0 }]),
    )
    const source = createMemorySource([task({ id: 'a', completion: { signal: 'DONE', maxIterations: 2 } })])
    const h = harness(
      {},
      { sources: [source], store, backend: { script: () => ({ type: 'succeed', output: 'not yet' }) } },
    )
    await h.orchestrator.start()
    await h.orchestrator.done()
    expect(h.backend.runs.map((r) => r.iteration)).toEqual([2])
    expect(store.state.tasks.a).toMatchObject({ status: 'review', iterations: 3 })
    expect(store.state.tasks.a?.reason).toBe('signal "DONE" not in the agent\'s output; no tries left (2)')
  })

  it('the one more try a crash-cut last try gets, kept from starting (its verify missing), is still to come', async () => {
    const store = createMemoryStore(
      replay([{ t: 'task', id: 'a', status: 'in_progress', assignedTo: 'default-1', iterations: 2, attempts: 0 }]),
    )
    const spec = () => [task({ id: 'a', completion: { verify: 'pytset -q', maxIterations: 2 } })]
    // The resume finds `pytset` missing before any agent works: the task waits, nothing paid, not in review.
    const first = harness(
      {},
      { sources: [createMemorySource(spec())], store, backend: { missingPrograms: ['pytset'] } },
    )
    await first.orchestrator.start()
    await first.orchestrator.done()
    expect(first.backend.runs).toEqual([])
    expect(store.state.tasks.a).toMatchObject({ status: 'pending', iterations: 2, heldBy: 'pytset -q' })

    // Installed: the last try runs again, and its verdict ends the task.
    const second = harness(
      {},
      {
        sources: [createMemorySource(spec())],
        store,
        backend: { exec: () => ({ exitCode: 1, output: '1 failed\n', timedOut: false }) },
      },
    )
    await second.orchestrator.start()
    await second.orchestrator.done()
    expect(second.backend.runs.map((r) => r.iteration)).toEqual([2])
    expect(store.state.tasks.a).toMatchObject({
      status: 'review',
      iterations: 3,
      reason: 'verify exited with code 1: pytset -q; no tries left (2)',
    })
  })

  it('a resume after a stop goes on with the tries left: the try the stop cut short runs again', async () => {
    const store = createMemoryStore()
    const source = () => createMemorySource([task({ id: 'a', completion: { signal: 'DONE', maxIterations: 3 } })])
    let runs = 0
    const first = harness(
      { sameFailureLimit: 10 },
      {
        sources: [source()],
        store,
        backend: {
          script: (): MemoryAction => (++runs === 1 ? { type: 'succeed', output: 'not yet' } : { type: 'hang' }),
        },
      },
    )
    await first.orchestrator.start()
    await first.when('iteration:started', (e) => e.iteration === 2)
    await first.orchestrator.stop()
    expect(store.state.tasks.a).toMatchObject({ status: 'pending', iterations: 1 })

    const second = harness(
      { sameFailureLimit: 10 },
      { sources: [source()], store, backend: { script: () => ({ type: 'succeed', output: 'not yet' }) } },
    )
    await second.orchestrator.start()
    await second.orchestrator.done()
    expect(second.backend.runs.map((r) => r.iteration)).toEqual([2, 3])
    expect(store.state.tasks.a).toMatchObject({ status: 'review', iterations: 3 })
  })

  it('project:loaded carries where the journal says a task landed in an earlier run, and its iterations', async () => {
    const landed = { commit: 'c'.repeat(40), at: 5 }
    const store = createMemoryStore(
      replay([
        { t: 'task', id: 'a', status: 'complete', iterations: 1, landed },
        { t: 'task', id: 'b', status: 'complete', iterations: 2, accepted: true },
      ]),
    )
    const source = createMemorySource([task({ id: 'a' }), task({ id: 'b' }), task({ id: 'c', status: 'complete' })])
    const h = harness({}, { sources: [source], store })
    await h.orchestrator.start()
    await h.orchestrator.done()
    const tasks = h.all('project:loaded')[0]?.tasks ?? []
    expect(tasks.find((t) => t.id === 'a')?.landed).toEqual(landed)
    expect(tasks.find((t) => t.id === 'b')).not.toHaveProperty('landed')
    expect(tasks.map((t) => t.iterations)).toEqual([1, 2, undefined])
    // A person's acceptance of it, as the dashboard shows it.
    expect(tasks.map((t) => t.accepted)).toEqual([undefined, true, undefined])
  })

  it('project:loaded carries why a task an earlier run settled failed or went to review', async () => {
    const store = createMemoryStore(
      replay([
        { t: 'task', id: 'a', status: 'failed', iterations: 3, reason: 'marked failed by a person' },
        { t: 'task', id: 'b', status: 'review', iterations: 1, reason: 'no completion criteria' },
        { t: 'task', id: 'c', status: 'complete', iterations: 1, reason: 'signal "DONE" found' },
      ]),
    )
    const source = createMemorySource([task({ id: 'a' }), task({ id: 'b' }), task({ id: 'c' })])
    const h = harness({}, { sources: [source], store })
    await h.orchestrator.start()
    await h.orchestrator.done()
    const tasks = h.all('project:loaded')[0]?.tasks ?? []
    expect(tasks.map((t) => t.reason)).toEqual(['marked failed by a person', 'no completion criteria', undefined])
  })

  it('a first start brings the statuses the files carry into the journal', async () => {
    const store = createMemoryStore()
    const source = createMemorySource([
      task({ id: 'a', status: 'complete', extra: { iterations: 4 } }),
      task({ id: 'b', dependsOn: ['a'] }),
    ])
    const h = harness({}, { sources: [source], store })
    await h.orchestrator.start()
    await h.orchestrator.done()
    expect(h.backend.runs.map((r) => r.taskId)).toEqual(['b'])
    expect(store.records[0]).toEqual({ t: 'task', id: 'a', status: 'complete', iterations: 4, attempts: 0 })
    expect(store.state.tasks.a?.iterations).toBe(4)
  })

  it('a first start takes the files’ statuses without a word: nothing is said to come from a file', async () => {
    const source = createMemorySource([task({ id: 'a', status: 'complete' })])
    const h = harness({}, { sources: [source], store: createMemoryStore() })
    await h.orchestrator.start()
    await h.orchestrator.done()
    expect(h.all('project:loaded')[0]?.tasks[0]).not.toHaveProperty('fromFile')
  })

  it('a later start says which new tasks took a settled status from their files (a copied finished task)', async () => {
    const store = createMemoryStore()
    const first = harness({}, { sources: [createMemorySource([task({ id: 'a' })])], store })
    await first.orchestrator.start()
    await first.orchestrator.done()
    // `b.md` copied from `a.md` once `a` was done: its mirrored `status: complete` came along.
    const source = createMemorySource([
      task({ id: 'a', status: 'complete' }),
      task({ id: 'b', status: 'complete' }),
      task({ id: 'c', status: 'pending' }),
    ])
    const second = harness({}, { sources: [source], store })
    await second.orchestrator.start()
    await second.orchestrator.done()
    const loaded = second.all('project:loaded')[0]?.tasks ?? []
    expect(loaded.filter((t) => t.fromFile).map((t) => t.id)).toEqual(['b'])
    // Taken as it is: only `c` ran. A person reruns `b` if it was a copy.
    expect(second.backend.runs.map((r) => r.taskId)).toEqual(['c'])
  })

  it('a settled task file added while running is taken as it is, and said to be', async () => {
    const source = createMemorySource([task({ id: 'a' })])
    const h = harness({ stopWhenSettled: false }, { sources: [source], store: createMemoryStore() })
    await h.orchestrator.start()
    await h.when('project:settled')
    source.change({ type: 'added', task: task({ id: 'b', status: 'complete' }) })
    source.change({ type: 'added', task: task({ id: 'c' }) })
    await h.orchestrator.stop()
    const added = h.all('task:added')
    expect(added.find((e) => e.taskId === 'b')).toMatchObject({ status: 'complete', fromFile: true })
    expect(added.find((e) => e.taskId === 'c')).not.toHaveProperty('fromFile')
  })

  it('a task whose file disappears and comes back (a checkout) keeps its state', async () => {
    const store = createMemoryStore()
    const source = createMemorySource([task({ id: 'a' }), task({ id: 'b' })])
    const h = harness({ stopWhenSettled: false }, { sources: [source], store })
    await h.orchestrator.start()
    await h.when('project:settled')
    source.change({ type: 'removed', id: 'a' })
    source.change({ type: 'added', task: task({ id: 'a' }) })
    await h.orchestrator.stop()
    expect(h.backend.runs.map((r) => r.taskId).sort()).toEqual(['a', 'b'])
    expect(h.orchestrator.task('a')).toMatchObject({ status: 'complete', iterations: 1 })
  })

  it('mirrorStatus: false leaves the task files alone', async () => {
    const source = createMemorySource([task({ id: 'a' })])
    const h = harness({ mirrorStatus: false }, { sources: [source] })
    await h.orchestrator.start()
    await h.orchestrator.done()
    expect(h.orchestrator.task('a')?.status).toBe('complete')
    expect(source.writes).toEqual([])
  })

  it('coalesces a task’s mirror writes: a quick task is written once, as done', async () => {
    const source = createMemorySource([task({ id: 'a' })])
    const h = harness({}, { sources: [source] })
    await h.orchestrator.start()
    await h.orchestrator.done()
    expect(source.writes.map((w) => w.patch.status)).toEqual(['complete'])
  })

  it('a journal that cannot be written ends the run, saying why, and no dependent starts', async () => {
    const memory = createMemoryStore()
    let full = false
    const store: RunStore = {
      load: () => memory.load(),
      append: (record: RunRecord) => memory.append(record),
      flush: () => (full ? Promise.reject(new Error('ENOSPC: no space left on device')) : memory.flush()),
    }
    const source = createMemorySource([task({ id: 'a' }), task({ id: 'b', dependsOn: ['a'] })])
    const h = harness(
      {},
      { sources: [source], store, backend: { script: () => ((full = true), { type: 'succeed', output: 'DONE' }) } },
    )
    await h.orchestrator.start()
    const summary = await h.orchestrator.done()
    expect(summary).toMatchObject({ reason: 'failed', allComplete: false })
    expect(summary.problems).toEqual(["the run's state could not be recorded: ENOSPC: no space left on device"])
    expect(h.backend.runs.map((r) => r.taskId)).toEqual(['a'])
  })
})

describe('a try the run itself cut off is told from an agent lost under it by a marker, not by words', () => {
  /** A task back to pending with its 3 tries and one more spent, the last of them ended by `lastError`. */
  const spentWith = (lastError: NonNullable<TaskRunState['lastError']>) =>
    createMemoryStore(replay([{ t: 'task', id: 'a', status: 'pending', iterations: 4, attempts: 0, lastError }]))
  const source = () => createMemorySource([task({ id: 'a', completion: { signal: 'DONE', maxIterations: 3 } })])
  const EXTRA_CUT_OFF =
    'no tries left (3): a crash (or kill -9) cut off the extra try its last try without a verdict got; ' +
    '`tanuki task rerun a` gives fresh tries'

  it('a resume records the try it found in flight as cut off: `cutOff`, beside the words for people', async () => {
    const store = createMemoryStore(
      replay([{ t: 'task', id: 'a', status: 'in_progress', assignedTo: 'default-1', iterations: 1, attempts: 0 }]),
    )
    const h = harness({}, { sources: [source()], store, backend: { script: () => ({ type: 'hang' }) } })
    await h.orchestrator.start()
    await h.when('iteration:started')
    expect(store.state.tasks.a?.lastError).toEqual({
      class: 'crashed',
      cause: CUT_OFF_BY_CRASH,
      iteration: 1,
      at: expect.any(Number),
      cutOff: true,
    })
    // What people read of it is unchanged: no marker in the status.
    expect(h.orchestrator.task('a')?.lastError).not.toHaveProperty('cutOff')
  })

  it('a cut-off try counts as a crash whatever its cause says: crashes in a row buy no second extra try', async () => {
    const store = spentWith({ class: 'crashed', cause: 'the host rebooted', iteration: 4, at: 1, cutOff: true })
    const h = harness({}, { sources: [source()], store })
    await h.orchestrator.start()
    await h.orchestrator.done()
    expect(h.backend.runs).toEqual([])
    expect(store.state.tasks.a).toMatchObject({ status: 'review', reason: EXTRA_CUT_OFF })
  })

  it('a journal from before the marker, whose cut-off try said so by its cause alone, is still read as a crash', async () => {
    const store = spentWith({ class: 'crashed', cause: CUT_OFF_BY_CRASH, iteration: 4, at: 1 })
    const h = harness({}, { sources: [source()], store })
    await h.orchestrator.start()
    await h.orchestrator.done()
    expect(h.backend.runs).toEqual([])
    expect(store.state.tasks.a).toMatchObject({ status: 'review', reason: EXTRA_CUT_OFF })
  })

  it('an agent lost under its try is no crash of the run, even in the same words: it gets another try', async () => {
    const store = spentWith({
      class: 'crashed',
      cause: `agent default-1 crashed: ${CUT_OFF_BY_CRASH}`,
      iteration: 4,
      at: 1,
    })
    const h = harness(
      {},
      { sources: [source()], store, backend: { script: () => ({ type: 'succeed', output: 'DONE' }) } },
    )
    await h.orchestrator.start()
    await h.orchestrator.done()
    // Its one more try, run as its last again.
    expect(h.backend.runs.map((run) => run.iteration)).toEqual([3])
    expect(store.state.tasks.a).toMatchObject({ status: 'complete', iterations: 5 })
    // Judged as the run holds it, the words are never compared: only the marker makes a crash.
    expect(verdictless({ lastError: { class: 'crashed', cause: CUT_OFF_BY_CRASH, at: 1 } })).toBe('lost')
    expect(verdictless({ lastError: { class: 'crashed', cause: 'the host rebooted', at: 1, cutOff: true } })).toBe(
      'crash',
    )
  })
})

describe('a task whose file is gone after it completed', () => {
  it('counts as complete for its dependents at the next start; a dependency no task ever had blocks', async () => {
    const store = createMemoryStore(
      replay([{ t: 'task', id: 'a', status: 'complete', iterations: 1, landed: { commit: 'abc', at: 1 } }]),
    )
    // a's file was deleted to tidy up; b depends on it, c on an id that never existed.
    const source = createMemorySource([task({ id: 'b', dependsOn: ['a'] }), task({ id: 'c', dependsOn: ['typo'] })])
    const h = harness({}, { sources: [source], store })
    await h.orchestrator.start()
    await h.orchestrator.done()
    expect(h.backend.runs.map((r) => r.taskId)).toEqual(['b'])
    expect(h.orchestrator.task('b')).toMatchObject({ status: 'complete' })
    expect(h.orchestrator.task('c')).toMatchObject({
      status: 'blocked',
      reason: 'depends on "typo", which does not exist',
    })
    // Its record stays as it was: nothing reran it.
    expect(store.state.tasks.a).toMatchObject({ status: 'complete', iterations: 1 })
  })

  it('a complete task deleted while the run is on blocks nothing; one not complete still does', async () => {
    const source = createMemorySource([
      task({ id: 'a' }),
      task({ id: 'p', status: 'complete' }),
      task({ id: 'b', dependsOn: ['p'] }),
      task({ id: 'c', dependsOn: ['a'] }),
    ])
    const h = harness({ stopWhenSettled: false, agents: { default: { count: 0 } } }, { sources: [source] })
    await h.orchestrator.start()
    source.change({ type: 'removed', id: 'p' })
    expect(h.orchestrator.task('b')).toMatchObject({ status: 'pending' })
    expect(h.orchestrator.status().queue.size).toBe(2)
    source.change({ type: 'removed', id: 'a' })
    expect(h.orchestrator.task('c')).toMatchObject({ status: 'blocked' })
  })
})
