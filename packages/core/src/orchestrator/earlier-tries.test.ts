import { afterEach, describe, expect, it } from 'vitest'
import { createMemorySource } from '../source/memory.ts'
import { createMemoryStore } from '../state/memory.ts'
import { replay } from '../state/replay.ts'
import { createTask } from '../task/parse.ts'
import type { Task, TaskInput } from '../task/types.ts'
import { harness, stopAll } from './test-harness.ts'

afterEach(stopAll)

const task = (input: Partial<TaskInput> & { id: string }): Task => createTask({ title: `Task ${input.id}`, ...input })

/** What the task's verify prints each time it fails: an error near the top, lines, then a summary. */
const failing = [
  'FAIL test/sum.test.js > adds',
  'AssertionError: expected 2 to be 3',
  ...Array.from({ length: 40 }, (_, i) => `  detail line ${i + 1}`),
  'Tests  1 failed (1)',
].join('\n')

const verifyFails = () => ({ exitCode: 1, output: failing, timedOut: false })

describe('a try that starts on a new agent is told of the tries before it', () => {
  it('a resume after a crash cut off the last try: the extra try is told why the try before failed, and that its own was cut off', async () => {
    const store = createMemoryStore()
    const spec = () => [task({ id: 'a', completion: { verify: 'npm test', maxIterations: 3 } })]
    // Tries 1 and 2 fail their verify; try 3 hangs, and the run dies under it (kill -9).
    const first = harness(
      {},
      {
        sources: [createMemorySource(spec())],
        store,
        backend: {
          script: ({ iteration }) => (iteration === 3 ? { type: 'hang' } : { type: 'succeed' }),
          exec: verifyFails,
        },
      },
    )
    await first.orchestrator.start()
    await first.when('iteration:started', (event) => event.iteration === 3)
    const original = first.backend.runs.at(-1)!.prompt
    expect(original).toContain('## Previous try (2) did not pass')
    const crashed = structuredClone(store.state)

    const second = harness(
      {},
      {
        sources: [createMemorySource(spec())],
        store: createMemoryStore(crashed),
        // The workspace carried the cut-off try's work on, as a process agent's worktree does.
        backend: { script: () => ({ type: 'hang' }), begin: () => ({ carried: true }) },
      },
    )
    await second.orchestrator.start()
    await second.when('iteration:started')
    const prompt = second.backend.runs[0]!.prompt
    expect(prompt).toContain('Task a (try 3 of 3).')
    // What the original try 3 was told: the verify of try 2, its exit code, and the lines naming the error.
    expect(prompt).toContain('## Previous try (2) did not pass\n\nverify exited with code 1: npm test.')
    expect(prompt).toContain('`npm test` printed:')
    expect(prompt).toContain('AssertionError: expected 2 to be 3')
    expect(prompt).toContain('Tests  1 failed (1)')
    // And that try 3 ran before, unjudged: its work may be in the workspace.
    expect(prompt).toContain('## Try 3 was cut off before it was checked')
    // The extra try says what it is, and its tries read 3/3 and one cut off, not 4 beside max 3.
    expect(second.all('iteration:started')).toMatchObject([{ iteration: 3, maxIterations: 3, again: 'crash' }])
    expect(first.all('iteration:started').map((event) => event.again)).toEqual([undefined, undefined, undefined])
    expect(second.orchestrator.task('a')).toMatchObject({ iterations: 4, triesAgain: 1 })
    expect(prompt).toContain(
      'the run ended (a crash or kill -9) while it ran, so nothing checked its work. This is that try again.',
    )
    expect(prompt).toContain('What it did so far is in your working directory, uncommitted')
  })

  it('an agent lost on the last try: the try it runs again is told why the try before failed', async () => {
    const store = createMemoryStore()
    let lost = false
    const h = harness(
      { retryLimit: 2 },
      {
        sources: [createMemorySource([task({ id: 'a', completion: { verify: 'npm test', maxIterations: 2 } })])],
        store,
        backend: {
          script: ({ iteration }) => {
            if (iteration === 2 && !lost) {
              lost = true
              return { type: 'throw', message: 'agent default-1 failed: its connection was reset' }
            }
            return { type: 'succeed' }
          },
          exec: verifyFails,
        },
      },
    )
    await h.orchestrator.start()
    await h.orchestrator.done()
    expect(h.backend.runs.map((run) => run.iteration)).toEqual([1, 2, 2])
    expect(h.all('iteration:started').map((event) => event.again)).toEqual([undefined, undefined, 'lost'])
    expect(h.orchestrator.task('a')).toMatchObject({ status: 'review', iterations: 3, triesAgain: 1 })
    const again = h.backend.runs[2]!.prompt
    expect(again).toContain('## Previous try (1) did not pass\n\nverify exited with code 1: npm test.')
    expect(again).toContain('AssertionError: expected 2 to be 3')
    expect(again).toContain(
      'Try 2 did not finish: its agent was lost while it ran (agent default-1 failed: its connection was reset), so nothing checked its work. This is that try again.',
    )
    // A workspace that does not say whether it kept the work: the agent is asked to look.
    expect(again).toContain('What it did so far is in your working directory if this workspace kept it')
    // The agent's own words name it already: said once.
    expect(h.all('task:requeued').map((event) => event.reason)).toEqual([
      'agent default-1 failed: its connection was reset',
    ])
  })

  it('a try after a rerun is not told of the tries before the rerun', async () => {
    const store = createMemoryStore(
      replay([
        {
          t: 'task',
          id: 'a',
          status: 'pending',
          iterations: 2,
          triesFrom: 2,
          attempts: 0,
          lastTry: {
            iteration: 2,
            reason: 'verify exited with code 1: npm test',
            verify: { command: 'npm test', exitCode: 1, timedOut: false, output: 'old failure' },
          },
        },
      ]),
    )
    const h = harness(
      {},
      {
        sources: [createMemorySource([task({ id: 'a', completion: { verify: 'true', maxIterations: 3 } })])],
        store,
      },
    )
    await h.orchestrator.start()
    await h.orchestrator.done()
    expect(h.backend.runs[0]!.prompt).not.toContain('Previous try')
    // A try that passed leaves nothing for a next one to be told.
    expect(store.state.tasks.a?.lastTry).toBeUndefined()
  })
})
