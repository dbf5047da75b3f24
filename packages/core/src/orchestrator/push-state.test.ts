import { afterEach, describe, expect, it } from 'vitest'
import type { LandingStart, TargetPush } from '../land/types.ts'
import { definePlugin } from '../plugin/index.ts'
import { createMemoryStore } from '../state/memory.ts'
import { createMemoryLander } from '../testing/memory-lander.ts'
import { harness, stopAll, tasks } from './test-harness.ts'

afterEach(stopAll)

const refused: TargetPush = { remote: 'origin', branch: 'memory', error: 'pre-receive hook declined' }
const pushed: TargetPush = { remote: 'origin', branch: 'memory' }

/**
 * A run of `a` then `b` (which depends on it) with `land.push`, whose lander says each landing's
 * push went as `pushes` says in turn, and `prepare`'s as `start` says.
 */
function run(
  store: ReturnType<typeof createMemoryStore>,
  pushes: TargetPush[],
  start?: TargetPush | (() => TargetPush),
  stopWhenSettled = true,
) {
  const lander = createMemoryLander({
    land: ({ task }) => ({ status: 'landed', commit: `${task.id}@1`, moved: true, push: pushes.shift()! }),
  })
  const prepare = lander.prepare.bind(lander)
  lander.prepare = async (recorded): Promise<LandingStart> => ({
    ...(await prepare(recorded)),
    ...(start ? { push: typeof start === 'function' ? start() : start } : {}),
  })
  const plugin = definePlugin({ name: 'test:lander', setup: (ctx) => ctx.registerLander(lander) })
  return harness(
    {
      tasks: tasks({ id: 'a' }, { id: 'b', dependsOn: ['a'] }),
      land: { push: 'origin' },
      plugins: [plugin],
      stopWhenSettled,
    },
    { store },
  )
}

describe('a push of the target that failed', () => {
  it('is in the run summary, the status and the journal, said to reporters once, until a push goes through', async () => {
    const store = createMemoryStore()
    const h = run(store, [refused, { ...refused }])
    await h.orchestrator.start()
    const summary = await h.orchestrator.done()
    expect(summary.allComplete).toBe(true)
    expect(summary.pushFailed).toMatchObject({ remote: 'origin', branch: 'memory', error: 'pre-receive hook declined' })
    expect(h.orchestrator.status().pushFailed).toMatchObject({ branch: 'memory' })
    expect((await store.load()).run.pushFailed).toMatchObject({ error: 'pre-receive hook declined' })
    // The same failure at the next landing is not news.
    expect(h.all('project:push')).toEqual([{ ...refused, at: expect.any(Number) }])

    // The next run's start pushes again, and it goes through: nothing says it any more.
    const again = run(store, [pushed, pushed], pushed)
    await again.orchestrator.start()
    const after = await again.orchestrator.done()
    expect(after.pushFailed).toBeUndefined()
    expect((await store.load()).run.pushFailed).toBeUndefined()
    expect(again.all('project:push')).toEqual([{ ...pushed, at: expect.any(Number) }])
  })

  it('is cleared by a later landing whose push goes through in the same run', async () => {
    const store = createMemoryStore()
    const h = run(store, [refused, pushed])
    await h.orchestrator.start()
    const summary = await h.orchestrator.done()
    expect(summary.pushFailed).toBeUndefined()
    expect((await store.load()).run.pushFailed).toBeUndefined()
    expect(h.all('project:push').map((event) => event.error)).toEqual(['pre-receive hook declined', undefined])
  })

  it('an earlier run recorded is said again when the start finds it still failing', async () => {
    const store = createMemoryStore()
    const first = run(store, [refused, refused])
    await first.orchestrator.start()
    await first.orchestrator.done()
    // Nothing left to land: only the start's push says it.
    const again = run(store, [], refused)
    await again.orchestrator.start()
    expect((await again.orchestrator.done()).pushFailed).toMatchObject({ error: 'pre-receive hook declined' })
    expect(again.all('project:push')).toHaveLength(1)
  })

  it('is pushed again by `land()` during a run (`tanuki land`), and the result says whether it still fails', async () => {
    const store = createMemoryStore()
    let next = refused
    const h = run(store, [refused, refused], () => next, false)
    await h.orchestrator.start()
    await h.when('project:settled')
    expect(h.orchestrator.status().pushFailed).toMatchObject({ branch: 'memory' })
    expect((await h.orchestrator.land()).pushFailed).toMatchObject({ error: 'pre-receive hook declined' })
    next = pushed
    expect((await h.orchestrator.land()).pushFailed).toBeUndefined()
    expect(h.orchestrator.status().pushFailed).toBeUndefined()
    expect((await store.load()).run.pushFailed).toBeUndefined()
  })
})
