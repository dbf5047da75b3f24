import { afterEach, describe, expect, it } from 'vitest'
import { TanukiError } from '../errors.ts'
import type { Lander, LandingRecord, LandingStart } from '../land/types.ts'
import { definePlugin, type UserConfig } from '../plugin/index.ts'
import { createMemoryStore } from '../state/memory.ts'
import { replay } from '../state/replay.ts'
import { createMemoryLander, type MemoryLanderOptions } from '../testing/memory-lander.ts'
import { tapOtherFailure, tapRun1, tapRun2, tapRun3 } from '../../test/fixtures/node-test-tap.ts'
import { gateFailureKey } from './gate-failure.ts'
import { harness, rejection, stopAll, tasks } from './test-harness.ts'
import type { HarnessOptions } from './test-harness.ts'

afterEach(stopAll)

const landing = (lander: Lander) => definePlugin({ name: 'test:lander', setup: (ctx) => ctx.registerLander(lander) })

/** Waits until `condition` holds, a few seconds at most (real timers: the run's cooldowns are real). */
/** A run of task `a`, whose work an earlier run landed (`a@1`), with `lander`: started, and settled. */
async function afterEarlierLanding(lander: Lander) {
  const store = createMemoryStore(
    replay([{ t: 'task', id: 'a', status: 'complete', completedAt: 1, landed: { commit: 'a@1', at: 1 } }]),
  )
  const h = harness({ tasks: tasks({ id: 'a' }), stopWhenSettled: false, plugins: [landing(lander)] }, { store })
  await h.orchestrator.start()
  await h.when('project:settled')
  return { store, h }
}

async function eventually(condition: () => boolean): Promise<void> {
  for (const until = Date.now() + 5000; !condition(); ) {
    if (Date.now() > until) throw new Error(`never became true: ${condition}`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

function withLander(config: UserConfig, lander: MemoryLanderOptions = {}, options: HarnessOptions = {}) {
  const made = createMemoryLander(lander)
  const h = harness({ ...config, plugins: [landing(made), ...(config.plugins ?? [])] }, options)
  return { ...h, lander: made }
}

describe('the merge queue', () => {
  it('lands a diamond in dependency order, each task once, and the run settles only after the last landing', async () => {
    const h = withLander(
      {
        agents: { default: { count: 2 } },
        tasks: tasks(
          { id: 'a' },
          { id: 'b', dependsOn: ['a'] },
          { id: 'c', dependsOn: ['a'] },
          { id: 'd', dependsOn: ['b', 'c'] },
        ),
      },
      { delayMs: 5 },
    )
    await h.orchestrator.start()
    const summary = await h.orchestrator.done()
    expect(summary).toMatchObject({ allComplete: true, progress: { landed: 4 } })
    expect(h.lander.landed[0]).toBe('a')
    expect(h.lander.landed[3]).toBe('d')
    expect([...h.lander.landed].sort()).toEqual(['a', 'b', 'c', 'd'])
    // Every task landed after each of its dependencies.
    const landedAt = (id: string) => h.indexOf('task:landed', (e) => e.taskId === id)
    for (const [id, deps] of [
      ['b', ['a']],
      ['c', ['a']],
      ['d', ['b', 'c']],
    ] as const) {
      for (const dep of deps) expect(landedAt(dep)).toBeLessThan(landedAt(id))
    }
    expect(h.orchestrator.task('d')?.landed).toEqual({ commit: 'd@1', at: expect.any(String) })
    expect(h.all('task:landed').map((e) => e.moved)).toEqual([true, true, true, true])
    // Landing comes before the end: nothing lands after the run stopped.
    expect(h.indexOf('task:landed', (e) => e.taskId === 'd')).toBeLessThan(h.indexOf('project:settled'))
  })

  it('runs the gate where the role’s agents run, and a landing before any dispatch keeps the role’s agents coming', async () => {
    const gates: string[] = []
    const h = withLander(
      {
        agents: { web: { count: 1 } },
        // `a` was complete, not landed, when the run began (a resume): it lands before anything is dispatched.
        tasks: tasks({ id: 'a', role: 'web', status: 'complete' }, { id: 'b', role: 'web', dependsOn: ['a'] }),
      },
      {
        land: async (request, attempt) => {
          const ran = await request.exec?.('npm test', '/combined', { env: { TANUKI_TASK_ID: request.task.id } })
          gates.push(`${request.task.id}: ${ran?.output ?? 'on the host'}`)
          return { status: 'landed', commit: `${request.task.id}@${attempt}`, moved: true }
        },
      },
    )
    h.backend.execIn = async ({ role, dir, command, env }) => ({
      exitCode: 0,
      output: `${command} for ${role} in ${dir} (${env?.TANUKI_TASK_ID})`,
      timedOut: false,
      durationMs: 0,
    })
    await h.orchestrator.start()
    expect(await h.orchestrator.done()).toMatchObject({ allComplete: true, progress: { landed: 2 } })
    expect(gates).toEqual(['a: npm test for web in /combined (a)', 'b: npm test for web in /combined (b)'])
  })

  it('tells each agent where to start and which dependencies have not landed yet', async () => {
    const h = withLander(
      { tasks: tasks({ id: 'a' }, { id: 'b', dependsOn: ['a'] }), land: { auto: false } },
      {},
      { backend: { begin: () => undefined } },
    )
    await h.orchestrator.start()
    await h.orchestrator.done()
    expect(h.backend.begun).toEqual([
      { agent: 'default-1', taskId: 'a', context: { base: 'memory@0', unlanded: [], carry: false } },
      // With land.auto off, a's work has not landed when b starts: b brings it in itself.
      { agent: 'default-1', taskId: 'b', context: { base: 'memory@0', unlanded: ['a'], carry: false } },
    ])
    expect(h.lander.landed).toEqual([])
  })

  it('a gate that fails on the combined work sends the task back, with the output, counting on its tries', async () => {
    const h = withLander(
      { tasks: tasks({ id: 'a', completion: { signal: 'DONE', maxIterations: 3 } }) },
      {
        land: ({ task }, attempt) =>
          attempt === 1
            ? { status: 'gate-failed', command: 'npm test', output: 'FAIL combined.test.js', exitCode: 1 }
            : { status: 'landed', commit: `${task.id}-fixed`, moved: true },
      },
      { backend: { begin: () => undefined } },
    )
    await h.orchestrator.start()
    expect(await h.orchestrator.done()).toMatchObject({ allComplete: true, progress: { landed: 1 } })
    expect(h.all('task:land-failed')).toEqual([
      { taskId: 'a', command: 'npm test', exitCode: 1, output: 'FAIL combined.test.js', at: expect.any(Number) },
    ])
    expect(h.backend.runs.map((r) => r.iteration)).toEqual([1, 2])
    const second = h.backend.runs[1]!.prompt
    expect(second).toContain('try 2 of 3')
    expect(second).toContain('`npm test` exited with 1')
    expect(second).toContain('FAIL combined.test.js')
    expect(h.backend.begun[1]?.context.carry).toBe(true)
    expect(h.orchestrator.task('a')).toMatchObject({ status: 'complete', landed: { commit: 'a-fixed' } })
  })

  it('says when a landing’s gate starts, each command of it, before the landing’s end', async () => {
    const h = withLander(
      { tasks: tasks({ id: 'a' }) },
      {
        land: (request) => {
          request.onGate?.({ command: 'npm ci', setup: true })
          request.onGate?.({ command: 'npm test', setup: false })
          return { status: 'landed', commit: 'a1', moved: true }
        },
      },
    )
    const names: string[] = []
    h.orchestrator.events.on('*', (name) => {
      if (name === 'task:completed' || name === 'task:land-gate' || name === 'task:landed') names.push(name)
    })
    await h.orchestrator.start()
    expect(await h.orchestrator.done()).toMatchObject({ allComplete: true })
    expect(h.all('task:land-gate')).toEqual([
      { taskId: 'a', command: 'npm ci', setup: true, at: expect.any(Number) },
      { taskId: 'a', command: 'npm test', setup: false, at: expect.any(Number) },
    ])
    expect(names).toEqual(['task:completed', 'task:land-gate', 'task:land-gate', 'task:landed'])
  })

  it('a conflict at landing goes to an agent that resolves it, then lands', async () => {
    const h = withLander(
      { tasks: tasks({ id: 'a' }) },
      {
        land: (_, attempt) =>
          attempt === 1
            ? { status: 'conflict', files: ['src/app.ts'], detail: '-old\n+theirs', what: 'the landed work' }
            : { status: 'landed', commit: 'a2', moved: true },
      },
    )
    await h.orchestrator.start()
    expect(await h.orchestrator.done()).toMatchObject({ allComplete: true })
    expect(h.all('task:conflict')).toEqual([
      { taskId: 'a', files: ['src/app.ts'], what: 'the landed work', landing: true, at: expect.any(Number) },
    ])
    const prompt = h.backend.runs[1]!.prompt
    expect(prompt).toContain('## Resolve a merge first')
    expect(prompt).toContain('- `src/app.ts`')
    expect(prompt).toContain('+theirs')
  })

  it('a landing’s conflict met again in the workspace, carrying the task’s work on, is one conflict: said once, one prompt section', async () => {
    const h = withLander(
      { tasks: tasks({ id: 'a' }) },
      {
        land: (_, attempt) =>
          attempt === 1
            ? { status: 'conflict', files: ['src/app.ts'], detail: '-old\n+landed at landing', what: 'the work of a' }
            : { status: 'landed', commit: 'a2', moved: true },
      },
      {
        backend: {
          // Its earlier work, carried onto the landed work, meets the same conflict, for the agent to resolve.
          begin: (task, context) =>
            context.carry
              ? {
                  conflict: {
                    files: ['src/app.ts'],
                    detail: '-old\n+landed in the workspace',
                    what: `the earlier work of ${task.id}`,
                    own: true,
                  },
                }
              : undefined,
        },
      },
    )
    await h.orchestrator.start()
    expect(await h.orchestrator.done()).toMatchObject({ allComplete: true })
    expect(h.all('task:conflict').map((e) => [e.what, e.landing])).toEqual([['the work of a', true]])
    const prompt = h.backend.runs[1]!.prompt
    expect(prompt.split('## Resolve a merge first')).toHaveLength(2)
    expect(prompt).toContain('Your earlier work did not apply cleanly on the work that landed since.')
    // The diff of the merge in progress, where the agent resolves it.
    expect(prompt).toContain('+landed in the workspace')
    expect(prompt).not.toContain('+landed at landing')
  })

  it('a conflict found while preparing the workspace is reported, and the first prompt asks to resolve it', async () => {
    const h = withLander(
      { tasks: tasks({ id: 'a' }, { id: 'b', dependsOn: ['a'] }), land: { auto: false } },
      {},
      {
        backend: {
          begin: (task) =>
            task.id === 'b' ? { conflict: { files: ['x.txt'], detail: '+a says', what: 'the work of a' } } : undefined,
        },
      },
    )
    await h.orchestrator.start()
    await h.orchestrator.done()
    expect(h.all('task:conflict').map((e) => [e.taskId, e.files, e.what])).toEqual([['b', ['x.txt'], 'the work of a']])
    expect(h.backend.runs.find((r) => r.taskId === 'b')?.prompt).toContain(
      'Bringing in the work of a did not apply cleanly.',
    )
  })

  it('when its tries are spent, work that cannot land goes to review and its dependents do not land', async () => {
    const h = withLander(
      { tasks: tasks({ id: 'a', completion: { signal: 'DONE', maxIterations: 1 } }, { id: 'b', dependsOn: ['a'] }) },
      {
        land: ({ task }) =>
          task.id === 'a'
            ? { status: 'gate-failed', command: 'make check', output: 'no', exitCode: 2 }
            : { status: 'landed', commit: 'b', moved: true },
      },
    )
    await h.orchestrator.start()
    const summary = await h.orchestrator.done()
    expect(summary.progress).toMatchObject({ review: 1, complete: 1, landed: 0 })
    expect(h.orchestrator.task('a')?.reason).toBe(
      'could not land: `make check` failed on the combined work (exit 2); no tries left (1)',
    )
    expect(h.lander.requests).toEqual(['a'])
  })

  it('a task a person marks complete after review is accepted: its landing skips its own verify, and one failing land.verify stays complete', async () => {
    const requests: { id: string; accepted: boolean | undefined }[] = []
    let gatePasses = false
    const store = createMemoryStore()
    const h = withLander(
      { stopWhenSettled: false, tasks: tasks({ id: 'a', completion: { signal: 'DONE', maxIterations: 1 } }) },
      {
        land: ({ task, accepted }) => {
          requests.push({ id: task.id, accepted })
          return gatePasses
            ? { status: 'landed', commit: 'a@1', moved: true }
            : { status: 'gate-failed', command: 'npm test', output: 'no', exitCode: 1 }
        },
      },
      { store },
    )
    await h.orchestrator.start()
    await eventually(() => h.orchestrator.task('a')?.status === 'review')
    // Its landing's gate failed with no tries left: in review, as its own verify failing would leave it.
    expect(requests).toEqual([{ id: 'a', accepted: undefined }])
    requests.length = 0
    await h.orchestrator.mark('a', 'complete')
    // On record, for a restart and a later `tanuki land`.
    expect((await store.load()).tasks.a?.accepted).toBe(true)
    await eventually(() => requests.length === 1)
    expect(requests).toEqual([{ id: 'a', accepted: true }])
    // land.verify failed: theirs to settle, so it is neither sent back nor to review.
    await eventually(() => h.orchestrator.task('a')?.reason?.includes('accepted by hand') === true)
    expect(h.orchestrator.task('a')).toMatchObject({ status: 'complete', landed: null, accepted: true })
    expect(h.orchestrator.task('a')?.reason).toMatch(
      /^could not land: `land.verify` `npm test` failed on the combined work \(exit 1\); it stays complete/,
    )
    gatePasses = true
    await h.orchestrator.land()
    await eventually(() => h.orchestrator.task('a')?.landed?.commit === 'a@1')
    expect(requests.map((r) => r.accepted)).toEqual([true, true])
    // A rerun ends the acceptance: its work is judged again.
    await h.orchestrator.rerun('a')
    expect((await store.load()).tasks.a?.accepted).toBeUndefined()
    expect(h.orchestrator.task('a')?.accepted).toBeUndefined()
    await h.orchestrator.stop()
  })

  it('a task marked complete and landed by hand is not landed, and its dependents land after it', async () => {
    const h = withLander(
      {
        stopWhenSettled: false,
        tasks: tasks({ id: 'a', completion: { signal: 'DONE', maxIterations: 1 } }, { id: 'b', dependsOn: ['a'] }),
      },
      {
        land: ({ task }) =>
          task.id === 'a'
            ? { status: 'conflict', files: ['x.txt'], what: 'the work of a', detail: '' }
            : { status: 'landed', commit: 'b-landed', moved: true },
      },
    )
    await h.orchestrator.start()
    await eventually(() => h.orchestrator.task('a')?.status === 'review')
    expect((await rejection(h.orchestrator.mark('a', 'failed', { landed: true }))).message).toMatch(
      /Only a task marked complete/,
    )
    await h.orchestrator.mark('a', 'complete', { landed: true })
    await eventually(() => h.orchestrator.task('b')?.landed?.commit === 'b-landed')
    expect(h.orchestrator.task('a')).toMatchObject({ status: 'complete', landed: { commit: 'by hand' } })
    expect(h.lander.requests).toEqual(['a', 'b'])
    expect(h.all('task:landed').map((e) => [e.taskId, e.commit])).toEqual([
      ['a', 'by hand'],
      ['b', 'b-landed'],
    ])
    await h.orchestrator.stop()
  })

  it('a task waiting to land that is marked landed by hand is not landed, nor one marked while it lands', async () => {
    let release: (() => void) | undefined
    const h = withLander(
      {
        stopWhenSettled: false,
        land: { auto: false },
        tasks: tasks({ id: 'a' }, { id: 'b', dependsOn: ['a'] }, { id: 'c' }),
      },
      {
        land: async ({ task }) => {
          if (task.id === 'c') await new Promise<void>((resolve) => (release = resolve))
          return { status: 'conflict', files: ['x.txt'], what: `the work of ${task.id}`, detail: '' }
        },
      },
    )
    await h.orchestrator.start()
    await eventually(() => h.orchestrator.progress().complete === 3)
    // b waits on a; a person lands b by hand, then a.
    await h.orchestrator.mark('b', 'complete', { landed: true })
    await h.orchestrator.mark('a', 'complete', { landed: true })
    void h.orchestrator.land()
    await eventually(() => release !== undefined)
    // c is landing when the person says it is landed: the conflict that comes sends no agent.
    await h.orchestrator.mark('c', 'complete', { landed: true })
    release!()
    await eventually(() => JSON.stringify(h.lander.requests) === JSON.stringify(['c']))
    await new Promise((resolve) => setTimeout(resolve, 50))
    for (const id of ['a', 'b', 'c']) {
      expect(h.orchestrator.task(id)).toMatchObject({ status: 'complete', landed: { commit: 'by hand' } })
    }
    expect(h.backend.runs).toHaveLength(3)
    await h.orchestrator.stop()
  })

  it('a rerun starts the count of landing failures over', async () => {
    const h = withLander(
      {
        stopWhenSettled: false,
        sameFailureLimit: 2,
        tasks: tasks({ id: 'a', completion: { signal: 'DONE', maxIterations: 30 } }),
      },
      { land: () => ({ status: 'gate-failed', command: 'npm test', output: 'FAIL', exitCode: 1 }) },
      { backend: { begin: () => undefined } },
    )
    await h.orchestrator.start()
    await eventually(() => h.orchestrator.task('a')?.status === 'review')
    expect(h.backend.runs).toHaveLength(2)
    await h.orchestrator.rerun('a')
    await eventually(() => h.orchestrator.task('a')?.status === 'review')
    expect(h.backend.runs).toHaveLength(4)
    await h.orchestrator.stop()
  })

  it('a rerun after its tries ran out at landing gives it max_iterations fresh tries, counted in the journal', async () => {
    const store = createMemoryStore()
    const h = withLander(
      {
        stopWhenSettled: false,
        sameFailureLimit: 10,
        tasks: tasks({ id: 'a', completion: { signal: 'DONE', maxIterations: 3 } }),
      },
      { land: () => ({ status: 'gate-failed', command: 'npm test', output: 'FAIL', exitCode: 1 }) },
      { backend: { begin: () => undefined }, store },
    )
    await h.orchestrator.start()
    await eventually(() => h.orchestrator.task('a')?.status === 'review')
    expect(h.backend.runs.map((r) => r.iteration)).toEqual([1, 2, 3])
    await h.orchestrator.rerun('a')
    // The tries before are its history: a fresh set counts from there, where a resume finds it.
    expect(store.state.tasks.a?.triesFrom).toBe(3)
    await eventually(() => h.orchestrator.task('a')?.status === 'review')
    expect(h.backend.runs.map((r) => r.iteration)).toEqual([1, 2, 3, 1, 2, 3])
    expect(h.orchestrator.task('a')).toMatchObject({
      iterations: 6,
      reason: 'could not land: `npm test` failed on the combined work (exit 1); no tries left (3)',
    })
    expect(h.all('task:review').map((e) => e.iterations)).toEqual([3, 6])
    await h.orchestrator.stop()
  })

  it('a rerun’s tries go on counting across a crash: a resume gives it what is left of them, not more nor fewer', async () => {
    // Rerun after 3 tries (`task rerun` wrote `triesFrom`), then its first fresh try landed badly,
    // and the run died (kill -9) before the next.
    const feedback = { kind: 'gate' as const, command: 'npm test', output: 'FAIL', exitCode: 1 }
    const store = createMemoryStore(
      replay([{ t: 'task', id: 'a', status: 'pending', iterations: 4, triesFrom: 3, attempts: 0, feedback }]),
    )
    const h = withLander(
      { sameFailureLimit: 10, tasks: tasks({ id: 'a', completion: { signal: 'DONE', maxIterations: 3 } }) },
      { land: () => ({ status: 'gate-failed', command: 'npm test', output: 'FAIL', exitCode: 1 }) },
      { backend: { begin: () => undefined }, store },
    )
    await h.orchestrator.start()
    await h.orchestrator.done()
    expect(h.backend.runs.map((r) => r.iteration)).toEqual([2, 3])
    expect(h.orchestrator.task('a')).toMatchObject({
      status: 'review',
      iterations: 6,
      reason: 'could not land: `npm test` failed on the combined work (exit 1); no tries left (3)',
    })
  })

  it('a reset clears the count of a rerun’s tries with its iterations', async () => {
    const store = createMemoryStore(
      replay([{ t: 'task', id: 'a', status: 'review', iterations: 5, triesFrom: 2, attempts: 0 }]),
    )
    const h = withLander(
      { stopWhenSettled: false, tasks: tasks({ id: 'a', completion: { signal: 'DONE', maxIterations: 3 } }) },
      {},
      { store },
    )
    await h.orchestrator.start()
    await h.orchestrator.reset('a')
    await eventually(() => h.orchestrator.task('a')?.landed !== null)
    expect(store.state.tasks.a).toMatchObject({ status: 'complete', iterations: 1 })
    expect(store.state.tasks.a).not.toHaveProperty('triesFrom')
    await h.orchestrator.stop()
  })

  it('the same landing failure sameFailureLimit times in a row sends the task to review, though tries are left', async () => {
    const h = withLander(
      { sameFailureLimit: 2, tasks: tasks({ id: 'a', completion: { signal: 'DONE', maxIterations: 30 } }) },
      { land: () => ({ status: 'gate-failed', command: 'npm test', output: 'FAIL always.test.js', exitCode: 1 }) },
      { backend: { begin: () => undefined } },
    )
    await h.orchestrator.start()
    const summary = await h.orchestrator.done()
    expect(summary.progress).toMatchObject({ review: 1, landed: 0 })
    expect(h.backend.runs).toHaveLength(2)
    expect(h.orchestrator.task('a')?.reason).toBe(
      'could not land: `npm test` failed on the combined work (exit 1), the same way 2 times in a row',
    )
  })

  it('the same tests failing is the same failure though tests that pass were added between tries (real `node --test` output)', async () => {
    const outputs = [tapRun1, tapRun2, tapRun3, tapRun3]
    let landings = 0
    const h = withLander(
      { sameFailureLimit: 3, tasks: tasks({ id: 'a', completion: { signal: 'DONE', maxIterations: 6 } }) },
      {
        land: () => ({
          status: 'gate-failed',
          command: 'npm test',
          output: outputs[Math.min(landings++, outputs.length - 1)]!,
          exitCode: 1,
        }),
      },
      { backend: { begin: () => undefined } },
    )
    await h.orchestrator.start()
    const summary = await h.orchestrator.done()
    expect(summary.progress).toMatchObject({ review: 1, landed: 0 })
    expect(h.backend.runs).toHaveLength(3)
    expect(h.orchestrator.task('a')?.reason).toBe(
      'could not land: `npm test` failed on the combined work (exit 1), the same way 3 times in a row',
    )
  })

  it('another test failing in between is another failure: the count starts over', async () => {
    const outputs = [tapRun1, tapOtherFailure, tapRun2, tapOtherFailure, tapRun3]
    let landings = 0
    const h = withLander(
      { sameFailureLimit: 2, tasks: tasks({ id: 'a', completion: { signal: 'DONE', maxIterations: 5 } }) },
      {
        land: () => ({
          status: 'gate-failed',
          command: 'npm test',
          output: outputs[Math.min(landings++, outputs.length - 1)]!,
          exitCode: 1,
        }),
      },
      { backend: { begin: () => undefined } },
    )
    await h.orchestrator.start()
    await h.orchestrator.done()
    // Every try was spent: never the same failure twice in a row.
    expect(h.backend.runs).toHaveLength(5)
    expect(h.orchestrator.task('a')?.reason).toBe(
      'could not land: `npm test` failed on the combined work (exit 1); no tries left (5)',
    )
  })

  it('a gate that names no failed test is the same failure when only its numbers differ', () => {
    expect(gateFailureKey('build failed after 12s: 3 errors')).toBe(gateFailureKey('build failed after 9s: 4 errors'))
    expect(gateFailureKey('lint: 3 problems in a.ts')).not.toBe(gateFailureKey('lint: 3 problems in b.ts'))
    // A TAP test marked TODO fails without failing the run: it is not what failed.
    expect(gateFailureKey(`${tapRun1}\nnot ok 9 - later # TODO`)).toBe(gateFailureKey(tapRun1))
    expect(gateFailureKey(tapRun1)).toContain('not ok - slugify joins words with one dash')
  })

  it('a gate that cannot run (exit 127) stops landing for the run: no agent is sent back, the work waits', async () => {
    const h = withLander(
      {
        land: { verify: 'no-such-gate' },
        stopWhenSettled: false,
        tasks: tasks({ id: 'a', completion: { signal: 'DONE', maxIterations: 30 } }, { id: 'b' }),
      },
      {
        land: () => ({
          status: 'gate-failed',
          command: 'no-such-gate',
          output: 'sh: 1: no-such-gate: not found\n',
          exitCode: 127,
        }),
      },
      { backend: { begin: () => undefined } },
    )
    await h.orchestrator.start()
    await eventually(() => h.orchestrator.progress().complete === 2)
    await eventually(() => h.all('orchestrator:error').length === 1)
    // `tanuki land` through the run cannot help: its config still has the gate.
    expect((await rejection(h.orchestrator.land())).message).toMatch(
      /^Landing stopped in this run: `land.verify` `no-such-gate` could not run .* Stop the run \(`tanuki project stop`\), fix it, then run `tanuki land`\.$/,
    )
    await h.orchestrator.stop()
    const summary = await h.orchestrator.done()
    const stopped =
      '`land.verify` `no-such-gate` could not run on the combined work (exit 127: sh: 1: no-such-gate: not found), ' +
      'so nothing more lands in this run. Fix it in the config, then run `tanuki land`.'
    expect(summary).toMatchObject({ landingStopped: stopped, progress: { complete: 2, landed: 0 } })
    // One landing tried, and no agent sent back for it.
    expect(h.lander.requests).toHaveLength(1)
    expect(h.backend.runs).toHaveLength(2)
    expect(h.all('orchestrator:error')).toEqual([expect.objectContaining({ context: 'landing', message: stopped })])
  })

  it('a target that fails `land.verify` by itself holds landing, sends no agent back, and lands once a new commit fixes it', async () => {
    // The target's tip: a person's commit broke the tests; a later one fixes them.
    let tip = 'broken-tip'
    const h = withLander(
      {
        land: { verify: 'npm test' },
        stopWhenSettled: false,
        pollIntervalMs: 10,
        tasks: tasks({ id: 'a', completion: { signal: 'DONE', maxIterations: 2 } }, { id: 'b', dependsOn: ['a'] }),
      },
      {
        land: ({ task }) =>
          tip === 'broken-tip'
            ? { status: 'gate-failed', command: 'npm test', output: 'FAIL main.test.js', exitCode: 1, base: 'base@1' }
            : { status: 'landed', commit: `${task.id}@landed`, moved: true },
        gateAlone: ({ base }) => ({
          passed: false,
          exitCode: 1,
          output: `FAIL main.test.js on ${base}`,
          commit: 'c0ffee123456',
          subject: 'break the tests',
        }),
        targetTip: () => tip,
      },
      { backend: { begin: () => undefined } },
    )
    await h.orchestrator.start()
    const note =
      "memory fails `npm test` without any task's work (since commit c0ffee1 'break the tests'), so no agent is " +
      'sent back and nothing lands: fix memory, then `tanuki land` (or the run lands again on the next commit to memory)'
    await eventually(() => h.all('orchestrator:error').length === 1)
    // What the gate printed on the target alone, under the note: why it fails, not only that it does.
    expect(h.all('orchestrator:error')).toEqual([
      expect.objectContaining({
        context: 'landing',
        message: `${note}\n  What land.verify printed there:\n    FAIL main.test.js on base@1`,
      }),
    ])
    // One gate run on the base alone; `a` stays complete, its try not counted, and `b` waits behind it.
    expect(h.lander.alone).toEqual([expect.objectContaining({ base: 'base@1', command: 'npm test' })])
    expect(h.orchestrator.task('a')).toMatchObject({ status: 'complete', iterations: 1, reason: `waits: ${note}` })
    expect(h.all('task:review')).toEqual([])
    // `tanuki land` with the target still failing: the gate fails on the same base, and its verdict is known.
    expect(await h.orchestrator.land()).toMatchObject({ held: [], note })
    expect(h.lander.requests).toEqual(['a', 'a'])
    expect(h.lander.alone).toHaveLength(1)
    await eventually(() => h.orchestrator.task('b')?.status === 'complete')
    expect(h.orchestrator.task('b')?.reason).toBe(`waits: ${note}`)
    // A person's commit fixes the target: the run sees it and lands, `a` then `b`.
    tip = 'fixed-tip'
    await eventually(() => h.lander.landed.length === 2)
    await h.when('project:settled')
    expect(h.lander.landed).toEqual(['a', 'b'])
    expect(h.backend.runs.map((run) => run.taskId)).toEqual(['a', 'b'])
    for (const id of ['a', 'b']) expect(h.orchestrator.task(id)?.reason ?? '').not.toMatch(/^waits:/)
    await h.orchestrator.stop()
    expect(await h.orchestrator.done()).not.toHaveProperty('landingStopped')
  })

  it('a gate that fails on the combined work and passes on the target alone is the task’s: back to its agent', async () => {
    const h = withLander(
      {
        land: { verify: 'npm test' },
        tasks: tasks({ id: 'a', completion: { signal: 'DONE', maxIterations: 3 } }),
      },
      {
        land: ({ task }, attempt) =>
          attempt === 1
            ? { status: 'gate-failed', command: 'npm test', output: 'FAIL a.test.js', exitCode: 1, base: 'base@1' }
            : { status: 'landed', commit: `${task.id}-fixed`, moved: true },
        gateAlone: () => ({ passed: true, exitCode: 0, output: 'ok', commit: 'c0ffee123456', subject: 'fine' }),
      },
      { backend: { begin: () => undefined } },
    )
    await h.orchestrator.start()
    expect(await h.orchestrator.done()).toMatchObject({ allComplete: true, progress: { landed: 1 } })
    expect(h.lander.alone).toHaveLength(1)
    expect(h.backend.runs.map((r) => r.iteration)).toEqual([1, 2])
    expect(h.all('orchestrator:error')).toEqual([])
  })

  it('a run that ends while the target fails `land.verify` by itself says so at its end, and lands nothing', async () => {
    const h = withLander(
      { land: { verify: 'npm test' }, tasks: tasks({ id: 'a' }, { id: 'b' }) },
      {
        land: () => ({ status: 'gate-failed', command: 'npm test', output: 'FAIL', exitCode: 1, base: 'base@1' }),
        gateAlone: () => ({ passed: false, exitCode: 1, output: 'FAIL', commit: 'c0ffee123456', subject: 'oops' }),
      },
      { backend: { begin: () => undefined } },
    )
    await h.orchestrator.start()
    const summary = await h.orchestrator.done()
    expect(summary).toMatchObject({
      landingStopped:
        "memory fails `npm test` without any task's work (since commit c0ffee1 'oops'), so no agent is sent back " +
        'and nothing lands: fix memory, then `tanuki land`\n  What land.verify printed there:\n    FAIL',
      progress: { complete: 2, landed: 0 },
    })
    expect(summary).not.toHaveProperty('unlanded')
    expect(h.backend.runs).toHaveLength(2)
    expect(h.lander.alone).toHaveLength(1)
  })

  it("hands the lander each task's role setup; one that cannot run there (127) stops landing: no agent can fix it", async () => {
    const asked: (string | undefined)[] = []
    const h = withLander(
      {
        defaults: { setup: 'npm ci' },
        agents: { docs: { setup: false }, web: { setup: 'npm ci --offline' } },
        tasks: tasks(
          { id: 'd' },
          { id: 'o', role: 'docs', dependsOn: ['d'] },
          { id: 'w', role: 'web', dependsOn: ['o'] },
          { id: 'x', dependsOn: ['w'] },
        ),
      },
      {
        land: (request) => {
          asked.push(request.setup)
          return request.setup === 'npm ci --offline'
            ? {
                status: 'gate-failed',
                command: request.setup,
                output: 'sh: 1: npm: not found\n',
                exitCode: 127,
                setup: true,
              }
            : { status: 'landed', commit: `${request.task.id}@1`, moved: true }
        },
      },
      { backend: { exec: () => ({ exitCode: 0, output: '', timedOut: false }) } },
    )
    await h.orchestrator.start()
    const summary = await h.orchestrator.done()
    const stopped =
      'setup `npm ci --offline` of role "web" exited 127 (sh: 1: npm: not found) in the integration worktree, before the gate of task w, so nothing more lands in this ' +
      'run; the work waits, complete. Fix it (`agents.web.setup` in the config, or what it needs), then run `tanuki land`.'
    expect(summary).toMatchObject({ landingStopped: stopped, progress: { complete: 4, landed: 2 } })
    // `d` the default's, `o` none (`false` over the default), `w` its own; `x`, after `w`, not asked.
    expect(asked).toEqual(['npm ci', undefined, 'npm ci --offline'])
    expect(h.lander.landed).toEqual(['d', 'o'])
    expect(h.backend.runs.map((run) => run.taskId)).toEqual(['d', 'o', 'w', 'x'])
    expect(h.all('orchestrator:error')).toEqual([expect.objectContaining({ context: 'landing', message: stopped })])
  })

  it('a setup that fails on the combined work (the task’s change broke the install) sends the task back to an agent, with its output', async () => {
    const output =
      'npm ERR! `npm ci` can only install packages when your package.json and package-lock.json are in sync\n'
    const h = withLander(
      { defaults: { setup: 'npm ci' }, tasks: tasks({ id: 'w', completion: { signal: 'DONE', maxIterations: 5 } }) },
      { land: () => ({ status: 'gate-failed', command: 'npm ci', output, exitCode: 1, setup: true }) },
      { backend: { exec: () => ({ exitCode: 0, output: '', timedOut: false }) } },
    )
    await h.orchestrator.start()
    const summary = await h.orchestrator.done()
    expect(summary.landingStopped).toBeUndefined()
    // Back to an agent with what setup printed, until the same failure sameFailureLimit times: review.
    expect(h.backend.runs.map((run) => run.taskId)).toEqual(['w', 'w', 'w'])
    expect(h.backend.runs[1]?.prompt).toContain('package.json and package-lock.json are in sync')
    expect(h.orchestrator.task('w')).toMatchObject({ status: 'review' })
  })

  it('on resume, work complete but not landed lands first, and work a crash left landed is recorded, not landed again', async () => {
    const store = createMemoryStore(
      replay([
        { t: 'task', id: 'a', status: 'complete', completedAt: 2 },
        { t: 'task', id: 'b', status: 'complete', completedAt: 1 },
      ]),
    )
    const h = withLander(
      { tasks: tasks({ id: 'a' }, { id: 'b' }, { id: 'c', dependsOn: ['a', 'b'] }) },
      { alreadyLanded: [{ taskId: 'b', commit: 'b-before-the-crash' }] },
      { store },
    )
    await h.orchestrator.start()
    await h.orchestrator.done()
    expect(h.lander.requests).toEqual(['a', 'c'])
    expect(h.backend.runs.map((r) => r.taskId)).toEqual(['c'])
    expect(store.state.tasks.b?.landed?.commit).toBe('b-before-the-crash')
    expect(store.state.run.target).toBe('memory')
  })

  it('work the target could not reach waits: the run says which, where and why, until a landing moves the target', async () => {
    const note =
      'your uncommitted changes in /p (notes.txt) would be overwritten by the landed work; nothing of yours was touched. ' +
      'The work waits on tanuki/land/memory: commit or stash your changes, then run `tanuki land`.'
    const held = (moves: readonly string[]) => {
      const store = createMemoryStore()
      const h = withLander(
        { tasks: tasks({ id: 'a' }, { id: 'b', dependsOn: ['a'] }, { id: 'c', dependsOn: ['b'] }) },
        {
          land: ({ task }) =>
            moves.includes(task.id)
              ? { status: 'landed', commit: `${task.id}@1`, moved: true }
              : { status: 'landed', commit: `${task.id}@1`, moved: false, note },
        },
        { store },
      )
      return { ...h, store }
    }
    const stuck = held([])
    await stuck.orchestrator.start()
    const summary = await stuck.orchestrator.done()
    expect(summary.allComplete).toBe(true)
    expect(summary.heldBack).toEqual({ target: 'memory', tasks: ['a', 'b', 'c'], note })
    // Status and the journal say it waits for the target, not that it landed.
    expect(summary.progress).toMatchObject({ complete: 3, landed: 0, heldBack: 3 })
    expect(stuck.orchestrator.task('a')).toMatchObject({
      landed: null,
      heldBack: { target: 'memory', commit: 'a@1', at: expect.any(String), note },
    })
    expect(stuck.store.state.tasks.c?.landed).toEqual({
      commit: 'c@1',
      at: expect.any(Number),
      heldBack: { target: 'memory', note },
    })
    expect(stuck.all('task:landed')).toEqual(
      ['a', 'b', 'c'].map((id) => ({
        taskId: id,
        commit: `${id}@1`,
        moved: false,
        note,
        target: 'memory',
        at: expect.any(Number),
      })),
    )
    // The last landing moved the target: what waited before it is on it too.
    const freed = held(['c'])
    await freed.orchestrator.start()
    const freedSummary = await freed.orchestrator.done()
    expect(freedSummary.heldBack).toBeUndefined()
    expect(freedSummary.progress).toMatchObject({ landed: 3, heldBack: 0 })
    expect(freed.orchestrator.task('a')).toMatchObject({ landed: { commit: 'a@1' } })
    expect(freed.orchestrator.task('a')?.heldBack).toBeUndefined()
    expect(freed.store.state.tasks.a?.landed).toEqual({ commit: 'a@1', at: expect.any(Number) })
    // A landing that moved it, then one that could not: only the last waits.
    const again = held(['a'])
    await again.orchestrator.start()
    const againSummary = await again.orchestrator.done()
    expect(againSummary.heldBack).toEqual({ target: 'memory', tasks: ['b', 'c'], note })
    expect(againSummary.progress).toMatchObject({ landed: 1, heldBack: 2 })
  })

  it('`land` during a run that cannot settle the target says why the waiting work waits now, in its record too', async () => {
    const note = 'your uncommitted changes in /p (notes.txt) would be overwritten by the landed work'
    const conflict =
      'main has commits that conflict with work landed on tanuki/land/main (notes.txt). Merge tanuki/land/main into main by hand, then run `tanuki land`.'
    let prepared = 0
    const lander: Lander = {
      name: 'test',
      prepare: async () => {
        // The person committed a change of their own that conflicts with the waiting work.
        if (prepared++ > 0) throw new TanukiError('TANUKI_LAND_FAILED', conflict)
        return { target: 'main', base: 'land', landed: [], held: [{ taskId: 'a', commit: 'a@1' }], note }
      },
      land: async ({ task }) => ({ status: 'landed', commit: `${task.id}@1`, moved: true }),
    }
    const { store, h } = await afterEarlierLanding(lander)
    expect(store.state.tasks.a?.landed?.heldBack).toEqual({ target: 'main', note })
    await expect(h.orchestrator.land()).rejects.toMatchObject({ code: 'TANUKI_LAND_FAILED', message: conflict })
    expect(store.state.tasks.a?.landed).toEqual({ commit: 'a@1', at: 1, heldBack: { target: 'main', note: conflict } })
    expect(h.orchestrator.task('a')?.heldBack).toMatchObject({ target: 'main', note: conflict })
  })

  it('a run whose start cannot settle the target says why the earlier run’s waiting work for it waits now, and only that', async () => {
    const conflict =
      'main has commits that conflict with work landed on tanuki/land/main (notes.txt). Merge tanuki/land/main into main by hand, then run `tanuki land`.'
    const forFeature = { target: 'feature', note: 'your uncommitted changes in /p/feature (a.txt)' }
    const store = createMemoryStore(
      replay([
        {
          t: 'task',
          id: 'a',
          status: 'complete',
          completedAt: 1,
          landed: { commit: 'a@1', at: 1, heldBack: { target: 'main', note: 'your uncommitted changes (notes.txt)' } },
        },
        // Held for another branch, by an earlier run there: main's conflict is not why it waits.
        {
          t: 'task',
          id: 'b',
          status: 'complete',
          completedAt: 2,
          landed: { commit: 'b@1', at: 2, heldBack: forFeature },
        },
      ]),
    )
    const lander: Lander = {
      name: 'test',
      prepare: async () => {
        throw new TanukiError('TANUKI_LAND_FAILED', conflict, { details: { target: 'main' } })
      },
      land: async ({ task }) => ({ status: 'landed', commit: `${task.id}@1`, moved: true }),
    }
    const h = harness({ tasks: tasks({ id: 'a' }, { id: 'b' }), plugins: [landing(lander)] }, { store })
    await expect(h.orchestrator.start()).rejects.toMatchObject({ code: 'TANUKI_LAND_FAILED' })
    expect(store.state.tasks.a?.landed).toEqual({ commit: 'a@1', at: 1, heldBack: { target: 'main', note: conflict } })
    expect(store.state.tasks.b?.landed).toEqual({ commit: 'b@1', at: 2, heldBack: forFeature })
  })

  it('a start that fails before the lander knows its target leaves every waiting record as it was', async () => {
    const heldBack = { target: 'main', note: 'your uncommitted changes (notes.txt)' }
    const store = createMemoryStore(
      replay([{ t: 'task', id: 'a', status: 'complete', completedAt: 1, landed: { commit: 'a@1', at: 1, heldBack } }]),
    )
    const lander: Lander = {
      name: 'test',
      prepare: async () => {
        throw new TanukiError('TANUKI_LAND_FAILED', '/p has no branch checked out (a detached HEAD)')
      },
      land: async ({ task }) => ({ status: 'landed', commit: `${task.id}@1`, moved: true }),
    }
    const h = harness({ tasks: tasks({ id: 'a' }), plugins: [landing(lander)] }, { store })
    await expect(h.orchestrator.start()).rejects.toMatchObject({ code: 'TANUKI_LAND_FAILED' })
    expect(store.state.tasks.a?.landed).toEqual({ commit: 'a@1', at: 1, heldBack })
  })

  it.each([
    [
      'held back on main’s integration branch',
      { landed: { commit: 'x@1', at: 1, heldBack: { target: 'main', note: 'dirty' } } },
    ],
    ['complete, not landed, done for main', { target: 'main' }],
  ] as const)(
    'a task whose dependency’s work waits for another branch (%s) does not start on this one, and says why',
    async (_, facts) => {
      const store = createMemoryStore(
        replay([
          { t: 'run', target: 'main' },
          { t: 'task', id: 'x', status: 'complete', completedAt: 1, ...facts },
        ]),
      )
      const landed: string[] = []
      // A fresh start on `feature`: the person checked it out since the run that did x.
      const lander: Lander = {
        name: 'test',
        prepare: async () => ({ target: 'feature', base: 'feature@0', landed: [] }),
        land: async ({ task }) => {
          landed.push(task.id)
          return { status: 'landed', commit: `${task.id}@1`, moved: true }
        },
      }
      const h = harness(
        {
          agents: { api: { count: 1 } },
          tasks: tasks(
            { id: 'x' },
            { id: 'y', dependsOn: ['x'] },
            { id: 'z', dependsOn: ['y'] },
            { id: 'free' },
            // A role whose only task waits like y: no agent (nor container) is started for it.
            { id: 'w', role: 'api', dependsOn: ['x'] },
          ),
          plugins: [landing(lander)],
        },
        { store },
      )
      await h.orchestrator.start()
      const summary = await h.orchestrator.done()
      // Only the task that builds on nothing elsewhere ran, and landed here; x stays for main.
      expect(h.backend.runs.map((r) => r.taskId)).toEqual(['free'])
      expect(landed).toEqual(['free'])
      expect(h.orchestrator.task('y')).toMatchObject({
        status: 'pending',
        reason:
          'waits: its dependency x waits to land on main, the branch its work was done for, and this run lands on feature: ' +
          'land x there (`tanuki land --into main`) and bring main into feature, or run the project on that branch; then start again',
      })
      expect(h.orchestrator.task('z')?.status).toBe('pending')
      // Reporters learn why it waits (it has no status change to say it).
      expect(h.all('task:waiting')).toEqual([
        { taskId: 'y', reason: h.orchestrator.task('y')?.reason, at: expect.any(Number) },
        { taskId: 'w', reason: h.orchestrator.task('y')?.reason, at: expect.any(Number) },
      ])
      expect(summary.elsewhere).toEqual([{ target: 'main', tasks: ['x'] }])
      expect(h.backend.spawns).toEqual(['default-1'])
      expect(h.orchestrator.task('w')?.status).toBe('pending')
    },
  )

  it('a task that was to try its held verify again but waits for work on another branch gives way to another', async () => {
    const store = createMemoryStore(
      replay([
        { t: 'run', target: 'main' },
        { t: 'task', id: 'x', status: 'complete', completedAt: 1, target: 'main' },
        // An earlier run's verify held y and b (a program was missing); y builds on x.
        { t: 'task', id: 'y', status: 'pending', heldBy: 'pytset -q' },
        { t: 'task', id: 'b', status: 'pending', heldBy: 'pytset -q' },
      ]),
    )
    const lander: Lander = {
      name: 'test',
      prepare: async () => ({ target: 'feature', base: 'feature@0', landed: [] }),
      land: async ({ task }) => ({ status: 'landed', commit: `${task.id}@1`, moved: true }),
    }
    const h = harness(
      {
        tasks: tasks(
          { id: 'x' },
          { id: 'y', dependsOn: ['x'], completion: { verify: 'pytset -q' } },
          { id: 'b', completion: { verify: 'pytset -q' } },
        ),
        plugins: [landing(lander)],
      },
      // The program is there now: the verify runs.
      { store, backend: { exec: () => ({ exitCode: 0, output: '', timedOut: false }) } },
    )
    await h.orchestrator.start()
    await h.orchestrator.done()
    // y waits for x's work on main; b tries the verify instead of waiting for y forever.
    expect(h.orchestrator.task('y')?.status).toBe('pending')
    expect(h.orchestrator.task('b')?.status).toBe('complete')
    expect(h.backend.runs.map((r) => r.taskId)).toEqual(['b'])
  })

  it.each([
    [
      'held back on its integration branch',
      { landed: { commit: 'x@1', at: 1, heldBack: { target: 'old', note: 'dirty' } } },
    ],
    ['complete, not landed, done for it', { target: 'old' }],
  ] as const)(
    'a task whose dependency’s work waits for a branch since deleted (%s) says to land it here, where it is needed',
    async (_, facts) => {
      const store = createMemoryStore(
        replay([
          { t: 'run', target: 'feature' },
          { t: 'task', id: 'x', status: 'complete', completedAt: 1, ...facts },
        ]),
      )
      const asked: LandingRecord[] = []
      const lander: Lander = {
        name: 'test',
        // The lander knows which branches exist: `old` was merged and deleted.
        prepare: async (recorded = {}) => {
          asked.push(recorded)
          return { target: 'main', base: 'main@0', landed: [], gone: ['old'] }
        },
        land: async ({ task }) => ({ status: 'landed', commit: `${task.id}@1`, moved: true }),
      }
      const h = harness(
        { tasks: tasks({ id: 'x' }, { id: 'y', dependsOn: ['x'] }), plugins: [landing(lander)] },
        { store },
      )
      await h.orchestrator.start()
      await h.orchestrator.done()
      expect(asked).toEqual([{ target: 'feature', fresh: true, waitingFor: ['feature', 'old'] }])
      expect(h.backend.runs).toEqual([])
      expect(h.orchestrator.task('y')).toMatchObject({
        status: 'pending',
        reason:
          'waits: its dependency x waits to land on old, the branch its work was done for, which no longer exists: ' +
          'land x on main (`tanuki land --into main`); then start again',
      })
    },
  )

  it('a task whose dependency landed on another branch, which this one lacks, waits; one whose dependency is here runs', async () => {
    const store = createMemoryStore(
      replay([
        { t: 'run', target: 'feature' },
        { t: 'task', id: 'x', status: 'complete', completedAt: 1, landed: { commit: 'x-on-feature', at: 1 } },
        { t: 'task', id: 'w', status: 'complete', completedAt: 2, landed: { commit: 'w-on-main', at: 2 } },
        { t: 'task', id: 'v', status: 'complete', completedAt: 3, landed: { commit: 'v-gone', at: 3 } },
      ]),
    )
    const asked: LandingRecord[] = []
    const lander: Lander = {
      name: 'test',
      // A fresh start on main, which holds w's landing (feature was merged before w), not x's.
      prepare: async (recorded = {}) => {
        asked.push(recorded)
        return {
          target: 'main',
          base: 'main@0',
          landed: [],
          notHere: [
            { commit: 'x-on-feature', branches: ['feature'] },
            { commit: 'v-gone', branches: [] },
          ],
        }
      },
      land: async ({ task }) => ({ status: 'landed', commit: `${task.id}@1`, moved: true }),
    }
    const h = harness(
      {
        tasks: tasks(
          { id: 'x' },
          { id: 'w' },
          { id: 'v' },
          { id: 'y', dependsOn: ['x'] },
          { id: 'u', dependsOn: ['w'] },
          { id: 't', dependsOn: ['v'] },
        ),
        plugins: [landing(lander)],
      },
      { store },
    )
    await h.orchestrator.start()
    await h.orchestrator.done()
    expect([...(asked[0]?.landings ?? [])].sort()).toEqual(['v-gone', 'w-on-main', 'x-on-feature'])
    expect(h.backend.runs.map((r) => r.taskId)).toEqual(['u'])
    expect(h.orchestrator.task('y')).toMatchObject({
      status: 'pending',
      reason:
        'waits: its dependency x landed on feature, not on main, so its work is not here: bring feature into main ' +
        '(`git merge feature`), or run the project on feature; if its work is on main already (squashed), ' +
        '`tanuki task mark x complete --landed`; then start again',
    })
    expect(h.orchestrator.task('t')).toMatchObject({
      status: 'pending',
      reason:
        'waits: its dependency v landed as v-gone on a branch that no longer holds it, and main does not either: ' +
        'bring it in (`git cherry-pick v-gone`), or run v again (`tanuki task rerun v`); then start again',
    })
  })

  it('in a run that stays on, `mark x complete --landed` (its work is here, squashed) starts what waited for it', async () => {
    const store = createMemoryStore(
      replay([
        { t: 'run', target: 'feature' },
        { t: 'task', id: 'x', status: 'complete', completedAt: 1, landed: { commit: 'x-on-feature', at: 1 } },
      ]),
    )
    const lander: Lander = {
      name: 'test',
      prepare: async () => ({
        target: 'main',
        base: 'main@0',
        landed: [],
        notHere: [{ commit: 'x-on-feature', branches: ['feature'] }],
      }),
      land: async ({ task }) => ({ status: 'landed', commit: `${task.id}@1`, moved: true }),
    }
    const h = harness(
      { stopWhenSettled: false, tasks: tasks({ id: 'x' }, { id: 'y', dependsOn: ['x'] }), plugins: [landing(lander)] },
      { store },
    )
    await h.orchestrator.start()
    await h.when('project:settled')
    expect(h.orchestrator.task('y')?.reason).toContain('its dependency x landed on feature, not on main')
    await h.orchestrator.mark('x', 'complete', { landed: true })
    await h.when('task:completed', (e) => e.taskId === 'y')
    expect(h.backend.runs.map((r) => r.taskId)).toEqual(['y'])
  })

  it('a run starts by saying where an earlier run’s waiting work stands; `land` asks the lander again', async () => {
    const note = 'your uncommitted changes in /p (notes.txt) would be overwritten by the landed work'
    const starts: LandingStart[] = [
      { target: 'main', base: 'land', landed: [], held: [{ taskId: 'a', commit: 'a@1' }], note },
      { target: 'main', base: 'land', landed: [], held: [{ taskId: 'a', commit: 'a@1' }], note },
      { target: 'main', base: 'land', landed: [], caughtUp: [{ taskId: 'a', commit: 'a@1' }] },
    ]
    const lander: Lander = {
      name: 'test',
      prepare: async () => starts.shift()!,
      land: async ({ task }) => ({ status: 'landed', commit: `${task.id}@1`, moved: true }),
    }
    const { store, h } = await afterEarlierLanding(lander)
    expect(h.all('task:landed')).toEqual([
      { taskId: 'a', commit: 'a@1', moved: false, note, target: 'main', at: expect.any(Number) },
    ])
    // Recorded, so that `project status` says it waits after the run too.
    expect(store.state.tasks.a?.landed).toEqual({ commit: 'a@1', at: 1, heldBack: { target: 'main', note } })
    expect(h.orchestrator.status().progress).toMatchObject({ landed: 0, heldBack: 1 })
    // `tanuki land` during the run while the person's change is still there: it says so.
    expect(await h.orchestrator.land()).toEqual({ held: ['a'], note })
    expect(h.orchestrator.status().progress).toMatchObject({ landed: 0, heldBack: 1 })
    // The person committed: `tanuki land` during the run moves the target to it.
    expect(await h.orchestrator.land()).toEqual({ held: [] })
    expect(store.state.tasks.a?.landed).toEqual({ commit: 'a@1', at: 1 })
    expect(h.orchestrator.status().progress).toMatchObject({ landed: 1, heldBack: 0 })
    expect(h.all('task:landed').at(-1)).toEqual({
      taskId: 'a',
      commit: 'a@1',
      moved: true,
      target: 'main',
      at: expect.any(Number),
    })
    await h.orchestrator.stop()
    const summary = await h.orchestrator.done()
    expect(summary.heldBack).toBeUndefined()
    expect(h.backend.runs).toEqual([])
  })

  it('a landing recorded as waiting that the lander no longer says waits reached the target (a person moved it)', async () => {
    const lander: Lander = {
      name: 'test',
      prepare: async () => ({ target: 'main', base: 'land', landed: [] }),
      land: async ({ task }) => ({ status: 'landed', commit: `${task.id}@1`, moved: true }),
    }
    const waiting = { commit: 'a@1', at: 1, heldBack: { target: 'main', note: 'held' } }
    const store = createMemoryStore(
      replay([{ t: 'task', id: 'a', status: 'complete', completedAt: 1, landed: waiting }]),
    )
    const h = harness({ tasks: tasks({ id: 'a' }), plugins: [landing(lander)] }, { store })
    await h.orchestrator.start()
    const summary = await h.orchestrator.done()
    expect(summary.heldBack).toBeUndefined()
    expect(summary.progress).toMatchObject({ landed: 1, heldBack: 0 })
    expect(store.state.tasks.a?.landed).toEqual({ commit: 'a@1', at: 1 })
    expect(h.all('task:landed')).toEqual([
      { taskId: 'a', commit: 'a@1', moved: true, target: 'main', at: expect.any(Number) },
    ])
  })

  it('a task whose landing waits, rerun or landed by hand, waits no more', async () => {
    const h = withLander(
      { tasks: tasks({ id: 'a' }, { id: 'b' }), stopWhenSettled: false, agents: { default: { count: 1 } } },
      {
        land: ({ task }, attempt) => ({
          status: 'landed',
          commit: `${task.id}@${attempt}`,
          moved: false,
          note: `held at ${task.id}@${attempt}`,
        }),
      },
    )
    await h.orchestrator.start()
    await eventually(() => h.all('task:landed').length === 2)
    await h.orchestrator.mark('b', 'complete', { landed: true })
    await h.orchestrator.rerun('a')
    // b's landing by hand, then a's new work, held again.
    await eventually(() => h.all('task:landed').length === 4)
    await h.orchestrator.stop()
    const summary = await h.orchestrator.done()
    expect(summary.heldBack).toEqual({ target: 'memory', tasks: ['a'], note: 'held at a@2' })
    expect(summary.progress).toMatchObject({ landed: 1, heldBack: 1 })
    expect(h.orchestrator.task('b')).toMatchObject({ landed: { commit: 'by hand' } })
  })

  it('a run stopped before complete work landed says which did not land; a lander that failed, too', async () => {
    // `b`'s landing is under way (its gate runs) when the run stops: it is aborted, nothing moved.
    const stopping = withLander(
      { tasks: tasks({ id: 'a' }, { id: 'b', dependsOn: ['a'] }) },
      {
        land: (request) =>
          request.task.id === 'a'
            ? { status: 'landed', commit: 'a@1', moved: true }
            : new Promise((_, reject) =>
                request.signal.addEventListener('abort', () => reject(new TanukiError('TANUKI_ABORTED', 'aborted'))),
              ),
      },
    )
    await stopping.orchestrator.start()
    await eventually(() => stopping.lander.requests.includes('b'))
    await stopping.orchestrator.stop()
    expect(await stopping.orchestrator.done()).toMatchObject({
      allComplete: true,
      reason: 'stopped',
      progress: { complete: 2, landed: 1 },
      unlanded: ['b'],
    })
    // The lander itself failed (git broken): the run settles, and says the work did not land.
    const failing = withLander(
      { tasks: tasks({ id: 'a' }) },
      {
        land: () => {
          throw new TanukiError('TANUKI_LAND_FAILED', 'git broke')
        },
      },
    )
    const errors: string[] = []
    failing.orchestrator.events.on('orchestrator:error', (e) => errors.push(e.message))
    await failing.orchestrator.start()
    expect(await failing.orchestrator.done()).toMatchObject({ allComplete: true, reason: 'settled', unlanded: ['a'] })
    // Settled again once, tried once more, then said once: no loop.
    expect(failing.lander.prepared).toBe(2)
    expect(failing.lander.requests).toEqual(['a', 'a'])
    expect(errors).toEqual(['git broke'])
    // A task whose dependency did not land waits on that one: its landing was never due.
    const waiting = withLander(
      { tasks: tasks({ id: 'a' }, { id: 'b', dependsOn: ['a'] }) },
      {
        land: () => {
          throw new TanukiError('TANUKI_LAND_FAILED', 'git broke')
        },
      },
    )
    await waiting.orchestrator.start()
    expect((await waiting.orchestrator.done()).unlanded).toEqual(['a'])
    // Work left to `tanuki land` on purpose is no such news.
    const manual = withLander({ tasks: tasks({ id: 'a' }), land: { auto: false } })
    await manual.orchestrator.start()
    expect((await manual.orchestrator.done()).unlanded).toBeUndefined()
  })

  it('a landing that fails in the lander (the target’s new commits conflict with waiting work) settles the target again: the work taken off lands again, then this one', async () => {
    const conflict = 'main has commits that conflict with work landed on tanuki/land/main (notes.txt).'
    const requests: string[] = []
    let prepared = 0
    const lander: Lander = {
      name: 'test',
      prepare: async () =>
        // The second time, the lander started its integration branch again from the target:
        // `a`, which waited there, lands again from its work.
        prepared++ === 0
          ? { target: 'main', base: 'land', landed: [] }
          : { target: 'main', base: 'land', landed: [], relanding: [{ taskId: 'a', commit: 'a@1' }] },
      land: async ({ task }) => {
        requests.push(task.id)
        const nth = requests.filter((id) => id === task.id).length
        // `a` lands, but main has moved meanwhile: it waits on the integration branch.
        if (task.id === 'a' && nth === 1)
          return { status: 'landed', commit: 'a@1', moved: false, note: 'moved meanwhile' }
        // The person's commit on main conflicts with `a`'s waiting landing.
        if (task.id === 'b' && nth === 1) throw new TanukiError('TANUKI_LAND_FAILED', conflict)
        return { status: 'landed', commit: `${task.id}@${nth}`, moved: true }
      },
    }
    const h = harness({ tasks: tasks({ id: 'a' }, { id: 'b', dependsOn: ['a'] }), plugins: [landing(lander)] })
    const errors: string[] = []
    h.orchestrator.events.on('orchestrator:error', (e) => errors.push(e.message))
    await h.orchestrator.start()
    const summary = await h.orchestrator.done()
    expect(prepared).toBe(2)
    expect(requests).toEqual(['a', 'b', 'a', 'b'])
    expect(errors).toEqual([])
    expect(summary).toMatchObject({ allComplete: true, progress: { landed: 2, heldBack: 0 } })
    expect(summary.unlanded).toBeUndefined()
    expect(h.orchestrator.task('a')?.landed).toMatchObject({ commit: 'a@2' })
    expect(h.orchestrator.task('b')?.landed).toMatchObject({ commit: 'b@2' })
  })

  it('land: false turns landing off; land.auto: false leaves it to `tanuki land`', async () => {
    for (const land of [false, { auto: false }] as const) {
      const h = withLander({ tasks: tasks({ id: 'a' }), land })
      await h.orchestrator.start()
      expect(await h.orchestrator.done()).toMatchObject({ allComplete: true, progress: { landed: 0 } })
      expect(h.lander.requests).toEqual([])
      expect(h.lander.prepared).toBe(land === false ? 0 : 1)
    }
  })
})
