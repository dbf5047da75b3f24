import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createMemoryBackend, createOrchestrator, type TaskInput, type TanukiEvents } from '@tanuki/core'
import { FakePipe } from '../../test/support.ts'
import { settledLine } from '../console/lines.ts'
import { colors } from '../format.ts'
import { RunModel } from '../model/index.ts'
import { renderBrief } from './brief.ts'
import { createSummaryReporter } from './index.ts'

let dir: string
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tanuki-brief-'))
})
afterEach(async () => {
  await rm(dir, { recursive: true, force: true })
})

/** Runs `tasks` on memory agents to the end, the summary reporter writing to `pipe` and `path`. */
async function run(tasks: TaskInput[], options: { pipe: FakePipe; path: string | undefined; full?: boolean }) {
  const orchestrator = createOrchestrator({
    config: { cooldownMs: 0, agents: { default: { count: 4 } }, tasks },
    backends: [createMemoryBackend()],
    reporters: [
      createSummaryReporter({
        stream: options.pipe,
        ...(options.path ? { path: options.path } : {}),
        ...(options.full === undefined ? {} : { full: options.full }),
      }),
    ],
  })
  await orchestrator.start()
  return orchestrator.done()
}

/** 300 tasks: 3 that go to review (their verify fails), 40 that wait on the first of them, the rest complete. */
function bigProject(): TaskInput[] {
  const tasks: TaskInput[] = []
  for (let i = 1; i <= 300; i++) {
    const id = `T-${i}`
    const review = i === 7 || i === 150 || i === 299
    tasks.push({
      id,
      title: `Task ${i}`,
      ...(i > 250 && i < 291 ? { dependsOn: ['T-7'] } : {}),
      completion: review ? { verify: `exit ${(i % 5) + 1}`, maxIterations: 1 } : { verify: 'true' },
    })
  }
  return tasks
}

describe('the brief of a run, on the console', () => {
  it('at 300 tasks is a few lines: the counts, the tasks that need a person with their command, the file', async () => {
    const pipe = new FakePipe()
    const path = join(dir, 'summary.md')
    const summary = await run(bigProject(), { pipe, path })
    expect(summary.progress.complete).toBe(257)
    const lines = pipe.output.trimEnd().split('\n')
    expect(lines.length, pipe.output).toBeLessThanOrEqual(12)
    expect(pipe.output).toContain('Not all tasks complete. 257 of 300 complete · 3 in review · 40 pending')
    // One line each, with what went wrong and the command that says more.
    for (const [id, code] of [
      ['T-7', 3],
      ['T-150', 1],
      ['T-299', 5],
    ] as const) {
      expect(lines.filter((line) => line.startsWith(`  ! ${id} `))).toHaveLength(1)
      expect(pipe.output).toMatch(
        new RegExp(
          `! ${id} +in review {2}verify exited with code ${code}: exit ${code}.* · \`tanuki task show ${id}\``,
        ),
      )
    }
    // The 40 that wait on T-7: one line, by what they wait for.
    expect(pipe.output).toContain('· T-251, T-252, T-253, T-254, T-255 and 35 more pending: waiting on T-7 (review)')
    // No complete task is named; the file is.
    expect(pipe.output).not.toMatch(/\bT-1\b/)
    expect(lines.at(-1)).toBe(`Every task, and the output of each failure: ${path}`)
    // The file keeps every task.
    const markdown = await readFile(path, 'utf8')
    for (let i = 1; i <= 300; i++) expect(markdown).toContain(`| T-${i} | Task ${i} |`)
  })

  it('names the first 20 tasks that failed or wait for review, and counts the rest', async () => {
    const pipe = new FakePipe()
    const tasks: TaskInput[] = Array.from({ length: 30 }, (_, i) => ({
      id: `R-${i + 1}`,
      title: `Review ${i + 1}`,
      completion: { verify: 'exit 1', maxIterations: 1 },
    }))
    await run(tasks, { pipe, path: join(dir, 'summary.md') })
    const named = pipe.output.split('\n').filter((line) => line.includes('`tanuki task show R-'))
    expect(named).toHaveLength(20)
    expect(named[0]).toContain(' R-1 ')
    expect(named[19]).toContain(' R-20 ')
    expect(pipe.output).toContain('  and 10 more failed or in review: R-21, R-22,')
  })

  it('prints the whole report when asked (`full`), and when there is no file to point to', async () => {
    for (const options of [{ path: join(dir, 'summary.md'), full: true }, { path: undefined }]) {
      const pipe = new FakePipe()
      await run(bigProject().slice(0, 12), { pipe, ...options })
      expect(pipe.output).toContain('## Tasks')
      expect(pipe.output).toContain('| T-12 | Task 12 |')
      expect(pipe.output).toContain('### T-7: review')
    }
  })

  it('says what is complete but not on the target: a landing that failed, work not landed, work that waits', () => {
    const model = new RunModel()
    const at = 1_000
    const tasks = ['A', 'B', 'C', 'D'].map((id) => ({
      id,
      title: id,
      role: 'default',
      priority: 'medium' as const,
      status: 'complete' as const,
      dependsOn: [],
    }))
    model.apply('project:loaded', { total: 4, ready: 0, recovered: [], tasks, at })
    model.apply('task:landed', { taskId: 'A', commit: 'a'.repeat(40), moved: true, target: 'main', at })
    model.apply('task:land-failed', { taskId: 'B', command: 'npm test', exitCode: 1, output: 'x', at })
    const note =
      'your uncommitted changes in /app (notes.txt) would be overwritten; commit or stash them, then `tanuki land`'
    model.apply('task:landed', { taskId: 'D', commit: 'd'.repeat(40), moved: false, target: 'main', note, at })
    const brief = renderBrief(model, { file: '.tanuki/summary.md' })
    expect(brief).toContain(
      'All tasks complete; 1 not on main yet. 4 of 4 complete · 1 landed · 2 not landed · 1 waiting for main',
    )
    expect(brief).toContain('⇡ B not landed: `npm test` exited 1 on the combined work · `tanuki land` tries again')
    expect(brief).toContain('⇡ C complete, not landed · `tanuki land` puts its work on main')
    expect(brief).toContain(`⇡ D not on main yet: ${note}`)
  })

  it("says the target is not pushed to `land.push`'s remote, and what to do, until a push goes through", () => {
    const model = new RunModel()
    const at = 1_000
    const tasks = [
      { id: 'A', title: 'A', role: 'default', priority: 'medium' as const, status: 'complete' as const, dependsOn: [] },
    ]
    model.apply('project:loaded', { total: 1, ready: 0, recovered: [], tasks, at })
    model.apply('task:landed', { taskId: 'A', commit: 'a'.repeat(40), moved: true, target: 'main', at })
    model.apply('project:push', { remote: 'origin', branch: 'main', error: 'pushes are frozen', at })
    const brief = renderBrief(model)
    expect(brief).toContain('All tasks complete; main not pushed to origin. 1 of 1 complete · 1 landed')
    expect(brief).toContain(
      'Needs you:\n  ⇡ main is not pushed to origin: pushes are frozen. Fix that, then `tanuki land` pushes it again (or `git push origin main`)',
    )
    expect(settledLine(model, colors(false))).toBe('! all 1 task complete, 1 landed in 0ms; main not pushed to origin')
    model.apply('project:push', { remote: 'origin', branch: 'main', at })
    expect(renderBrief(model)).not.toContain('pushed')
    expect(settledLine(model, colors(false))).toBe('✓ all 1 task complete, 1 landed in 0ms')
  })

  it('groups complete work not landed by the dependencies that hold it; a failed landing is said apart', () => {
    const model = new RunModel()
    const at = 1_000
    const task = (id: string, status: 'complete' | 'review' | 'failed', dependsOn: string[] = []) => ({
      id,
      title: id,
      role: 'default',
      priority: 'medium' as const,
      status,
      dependsOn,
    })
    const tasks = [
      task('S', 'review'),
      task('G', 'failed'),
      task('L', 'complete'),
      task('C', 'complete', ['S']),
      task('D', 'complete', ['C']),
      task('F', 'complete', ['G', 'L']),
      task('E', 'complete', ['L']),
      task('B', 'complete', ['S']),
    ]
    model.apply('project:loaded', { total: tasks.length, ready: 0, recovered: [], tasks, at })
    model.apply('task:landed', { taskId: 'L', commit: 'a'.repeat(40), moved: true, target: 'main', at })
    model.apply('task:land-failed', { taskId: 'B', command: 'npm test', exitCode: 1, output: 'x', at })
    const brief = renderBrief(model)
    expect(brief.split('\n').filter((line) => line.includes('⇡'))).toMatchInlineSnapshot(`
      [
        "  ⇡ B not landed: \`npm test\` exited 1 on the combined work · \`tanuki land\` tries again",
        "  ⇡ C, D complete, not landed · waits for S (in review)",
        "  ⇡ F complete, not landed · waits for G (failed)",
        "  ⇡ E complete, not landed · \`tanuki land\` puts its work on main",
      ]
    `)
  })

  it('is a few lines when all went well, and says no landing where the run lands nothing', () => {
    const model = new RunModel()
    const loaded: TanukiEvents['project:loaded'] = {
      total: 2,
      ready: 0,
      recovered: [],
      tasks: ['A', 'B'].map((id) => ({
        id,
        title: id,
        role: 'default',
        priority: 'medium',
        status: 'complete',
        dependsOn: [],
      })),
      at: 1_000,
    }
    model.apply('project:loaded', loaded)
    model.apply('project:settled', {
      allComplete: true,
      progress: { ...model.progress(), inProgress: 0, pending: 0, failed: 0, byStatus: {}, byRole: {} },
      at: 3_500,
    } as TanukiEvents['project:settled'])
    expect(renderBrief(model, { title: 'Tanuki run summary: app', file: '.tanuki/summary.md' })).toBe(
      '\nTanuki run summary: app\n  All tasks complete. 2 of 2 complete\n  Took 2.5s\nEvery task: .tanuki/summary.md\n',
    )
  })
})
