import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { createMemoryBackend, createOrchestrator, createTask } from '@tanuki/core'
import { statePaths } from './paths.ts'
import { createStateReporter } from './state.ts'

const dirs: string[] = []
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

describe('the state reporter', () => {
  it("gives a task that runs again logs of its own instead of mixing them into the first run's", async () => {
    const root = mkdtempSync(join(tmpdir(), 'tanuki-state-'))
    dirs.push(root)
    const paths = statePaths(root)
    let runs = 0
    // The first run's agent dies mid-iteration; the task is requeued and its iterations start at 1 again.
    const backend = createMemoryBackend({
      script: ({ iteration }) =>
        ++runs === 1
          ? { type: 'die', reason: 'killed' }
          : iteration === 1
            ? { type: 'succeed', output: 'not yet' }
            : { type: 'succeed', output: 'DONE' },
    })
    const errors: string[] = []
    const state = createStateReporter({
      paths,
      status: () => orchestrator.status(),
      onError: (context) => errors.push(context),
    })
    const orchestrator = createOrchestrator({
      config: { cooldownMs: 0, tasks: [createTask({ id: 'a', title: 'A', completion: { signal: 'DONE' } })] },
      backends: [backend],
      reporters: [state],
    })
    await orchestrator.start()
    expect(await orchestrator.done()).toMatchObject({ allComplete: true })
    expect(errors).toEqual([])

    const dir = join(paths.logs, 'tasks', 'a')
    expect(readdirSync(dir).sort()).toEqual(['iteration-001.log', 'iteration-002.log', 'iteration-003.log'])
    const [first, second, third] = ['001', '002', '003'].map((n) =>
      readFileSync(join(dir, `iteration-${n}.log`), 'utf8'),
    )
    expect(first).toMatch(/^# a — iteration 1\/30 on default-1/)
    expect(first).not.toContain('## Result')
    expect(second).toMatch(/^# a — iteration 1\/30 \(log 2 of this task\)/)
    expect(second).toContain('not yet')
    expect(third).toMatch(/^# a — iteration 2\/30 \(log 3 of this task\)/)
    expect(third).toContain('## Result: complete')
  })

  it('reports the writes it cannot make instead of throwing them out of the run', async () => {
    const root = mkdtempSync(join(tmpdir(), 'tanuki-state-'))
    dirs.push(root)
    // The state folder is a file: every log and snapshot write fails.
    writeFileSync(join(root, '.tanuki'), 'not a folder')
    const paths = statePaths(root)
    const late: string[] = []
    const state = createStateReporter({
      paths,
      status: () => orchestrator.status(),
      onError: (context) => late.push(context),
    })
    const orchestrator = createOrchestrator({
      config: { cooldownMs: 0, tasks: [createTask({ id: 'a', title: 'A', completion: { signal: 'DONE' } })] },
      // The agent takes a moment, so the batched log write happens during the run, not at its end.
      backends: [createMemoryBackend({ script: () => ({ type: 'succeed', output: 'DONE', delayMs: 150 }) })],
      reporters: [state],
    })
    const errors: string[] = []
    orchestrator.events.on('orchestrator:error', (e) => errors.push(`${e.context}: ${e.message}`))
    await orchestrator.start()
    expect(await orchestrator.done()).toMatchObject({ allComplete: true })
    expect(late).toContain('writing the logs')
    expect(errors.some((e) => e.startsWith('closing reporter tanuki:state') && e.includes('.tanuki'))).toBe(true)
  })
})
