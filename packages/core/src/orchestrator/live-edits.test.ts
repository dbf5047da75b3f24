import { afterEach, describe, expect, it } from 'vitest'
import { createMemorySource, type MemorySource } from '../source/memory.ts'
import { createMemoryStore } from '../state/memory.ts'
import { replay } from '../state/replay.ts'
import { createTask } from '../task/parse.ts'
import type { Task, TaskInput } from '../task/types.ts'
import { harness, stopAll } from './test-harness.ts'

afterEach(stopAll)

const task = (input: Partial<TaskInput> & { id: string }): Task =>
  createTask({ title: `Task ${input.id}`, completion: { signal: 'DONE' }, ...input })

/** A person saves the task's file again, with `input` changed. */
function edit(source: MemorySource, input: Partial<TaskInput> & { id: string }): void {
  source.change({ type: 'changed', task: task(input) })
}

describe('an edit of a running task', () => {
  it('a verify corrected during a try judges that try: it completes, and the console is told once', async () => {
    const source = createMemorySource([task({ id: 'a', completion: { verify: 'false', maxIterations: 3 } })])
    const h = harness(
      { cooldownMs: 0 },
      {
        sources: [source],
        backend: {
          script: ({ iteration }) => {
            // The person removes what made verify fail, while the agent works.
            if (iteration === 1) edit(source, { id: 'a', completion: { verify: 'true', maxIterations: 3 } })
            return { type: 'succeed', output: 'worked' }
          },
        },
      },
    )
    await h.orchestrator.start()
    const summary = await h.orchestrator.done()
    expect(summary.allComplete).toBe(true)
    expect(h.all('iteration:finished').map((e) => e.verify?.command)).toEqual(['true'])
    expect(h.all('task:redefined')).toMatchObject([{ taskId: 'a', whileRunning: ['verify'] }])
  })

  it('an edit after a try was judged applies from the next: its prompt and verify are the new ones', async () => {
    const source = createMemorySource([
      task({ id: 'a', body: 'Old instructions.', completion: { verify: 'false', maxIterations: 3 } }),
    ])
    const h = harness({ cooldownMs: 0 }, { sources: [source] })
    h.orchestrator.events.on('iteration:finished', (e) => {
      if (e.iteration === 1)
        edit(source, { id: 'a', body: 'New instructions.', completion: { verify: 'true', maxIterations: 3 } })
    })
    await h.orchestrator.start()
    await h.orchestrator.done()
    const finished = h.all('iteration:finished')
    expect(finished.map((e) => [e.iteration, e.verify?.command])).toEqual([
      [1, 'false'],
      [2, 'true'],
    ])
    expect(h.backend.runs[1]?.prompt).toContain('New instructions.')
    expect(h.orchestrator.task('a')?.status).toBe('complete')
  })

  it('max_iterations lowered while it runs bounds its tries: never a try past the new last', async () => {
    const source = createMemorySource([task({ id: 'a', completion: { verify: 'false', maxIterations: 5 } })])
    const h = harness({ cooldownMs: 0, sameFailureLimit: 10 }, { sources: [source] })
    h.orchestrator.events.on('iteration:finished', (e) => {
      if (e.iteration === 2) edit(source, { id: 'a', completion: { verify: 'false', maxIterations: 1 } })
    })
    await h.orchestrator.start()
    await h.orchestrator.done()
    expect(h.all('iteration:started').map((e) => e.iteration)).toEqual([1, 2])
    expect(h.orchestrator.task('a')?.status).toBe('review')
    expect(h.all('task:review')[0]?.reason).toContain('no tries left (1: max_iterations was lowered while it ran)')
  })

  it('a role changed while it runs is taken once its run ends', async () => {
    const source = createMemorySource([task({ id: 'a', completion: { verify: 'false', maxIterations: 1 } })])
    const h = harness(
      { cooldownMs: 0, stopWhenSettled: false },
      {
        sources: [source],
        backend: {
          script: ({ iteration }) => {
            if (iteration === 1)
              edit(source, { id: 'a', role: 'qa', completion: { verify: 'false', maxIterations: 1 } })
            return { type: 'succeed', output: 'worked' }
          },
        },
      },
    )
    await h.orchestrator.start()
    await h.when('task:redefined', (e) => e.role === 'qa')
    expect(h.orchestrator.task('a')).toMatchObject({ status: 'review', role: 'qa' })
  })

  it('a rerun in the same run starts from the definition the file has now', async () => {
    const source = createMemorySource([task({ id: 'a', completion: { verify: 'false', maxIterations: 1 } })])
    const h = harness(
      { cooldownMs: 0, stopWhenSettled: false },
      {
        sources: [source],
        backend: {
          script: ({ iteration, task: running }) => {
            if (iteration === 1 && running.completion.verify === 'false')
              edit(source, { id: 'a', completion: { verify: 'exit 3', maxIterations: 2 } })
            return { type: 'succeed', output: 'worked' }
          },
        },
      },
    )
    await h.orchestrator.start()
    await h.when('task:review')
    await h.orchestrator.rerun('a')
    await h.when('task:review', (e) => e.iterations === 4)
    expect(h.all('iteration:finished').map((e) => [e.iteration, e.maxIterations, e.verify?.command])).toEqual([
      [1, 2, 'exit 3'],
      [2, 2, 'exit 3'],
      [1, 2, 'exit 3'],
      [2, 2, 'exit 3'],
    ])
  })

  it('a rerun while it runs takes the role its file was given meanwhile, before it starts again', async () => {
    const source = createMemorySource([task({ id: 'a' })])
    let first = true
    const h = harness(
      { cooldownMs: 0, stopWhenSettled: false, agents: { default: { count: 1 }, qa: { count: 1 } } },
      {
        sources: [source],
        backend: {
          script: () => {
            if (!first) return { type: 'succeed', output: 'DONE' }
            first = false
            return { type: 'hang' }
          },
        },
      },
    )
    await h.orchestrator.start()
    await h.when('iteration:started', (e) => e.taskId === 'a')
    // The person moves it to qa while it runs, then asks for it again.
    edit(source, { id: 'a', role: 'qa' })
    await h.orchestrator.rerun('a')
    await h.when('task:completed', (e) => e.taskId === 'a')
    expect(h.all('task:assigned').map((e) => e.role)).toEqual(['default', 'qa'])
    expect(h.orchestrator.task('a')).toMatchObject({ status: 'complete', role: 'qa' })
  })
})

describe('a rerun after the tries ran out', () => {
  it('gives a fresh set of tries to work that came back from a failed landing, keeping its count', async () => {
    // Completed once, sent back by a conflict at landing, then 4 of 4 tries failed verify; the rerun
    // was recorded while no run was on.
    const store = createMemoryStore(
      replay([
        {
          t: 'task',
          id: 'a',
          status: 'review',
          iterations: 4,
          feedback: { kind: 'conflict', files: ['a.txt'], detail: 'both changed a.txt', what: 'the landed work' },
        },
        // As `tanuki task rerun` writes it: its fresh tries count from its 4 iterations.
        { t: 'task', id: 'a', status: 'pending', reason: 'rerun by a person', attempts: 0, triesFrom: 4 },
      ]),
    )
    const source = createMemorySource([task({ id: 'a', completion: { verify: 'false', maxIterations: 4 } })])
    const h = harness({ cooldownMs: 0, sameFailureLimit: 10 }, { sources: [source], store })
    await h.orchestrator.start()
    await h.orchestrator.done()
    const started = h.all('iteration:started')
    expect(started.map((e) => `${e.iteration}/${e.maxIterations}`)).toEqual(['1/4', '2/4', '3/4', '4/4'])
    expect(h.all('task:review')).toMatchObject([{ taskId: 'a', iterations: 8 }])
  })
})

describe('an edit of a complete task', () => {
  it('is told once, with the fields that changed since it ran, and does not run it again', async () => {
    const store = createMemoryStore()
    const source = createMemorySource([task({ id: 'a' })])
    const h = harness({ cooldownMs: 0, stopWhenSettled: false }, { sources: [source], store })
    await h.orchestrator.start()
    await h.when('task:completed')
    expect(store.state.tasks.a?.ran?.title).toMatch(/^[0-9a-f]{8}$/)
    edit(source, { id: 'a', title: 'Better title', body: 'More to do.' })
    // Saved again as it is: not told twice.
    edit(source, { id: 'a', title: 'Better title', body: 'More to do.' })
    expect(h.all('task:redefined').map((e) => e.sinceComplete)).toEqual([['title', 'body']])
    expect(h.orchestrator.task('a')).toMatchObject({ status: 'complete', title: 'Better title' })
    // Back as it ran: nothing to tell; and the same edit again is news again.
    edit(source, { id: 'a' })
    edit(source, { id: 'a', completion: { signal: 'DONE', verify: 'make test' } })
    expect(h.all('task:redefined').map((e) => e.sinceComplete)).toEqual([['title', 'body'], undefined, ['verify']])
    expect(h.backend.runs.map((r) => r.taskId)).toEqual(['a'])
  })
})
