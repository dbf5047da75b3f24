// A person edits task files while a project runs: new tasks run, a status typed into a file (or
// brought back by git) is not obeyed, `tanuki task rerun|reset|mark` from another terminal is, and
// Tanuki never overwrites what the person wrote.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import {
  cleanup,
  configFor,
  createProject,
  readEvents,
  startTanuki,
  statusJson,
  tanuki,
  taskText,
  waitFor,
  type TempProject,
} from './helpers.ts'

const outside: string[] = []
afterEach(async () => {
  await cleanup()
  for (const dir of outside.splice(0)) rmSync(dir, { recursive: true, force: true })
})

const fileStatus = (path: string): string | undefined => /^status: (\w+)$/m.exec(readFileSync(path, 'utf8'))?.[1]
/** Every task complete and settled by landing (landed, or with nothing to land). */
const allLanded = async (dir: string): Promise<boolean> =>
  (await statusJson(dir)).tasks.every((task) => task.status === 'complete' && task.landed)
const runsOf = (log: string): string[] => {
  try {
    return readFileSync(log, 'utf8').trim().split('\n').filter(Boolean)
  } catch {
    return []
  }
}

function watchedProject(): { project: TempProject; runs: string } {
  const shared = mkdtempSync(join(tmpdir(), 'tanuki-e2e-watch-'))
  outside.push(shared)
  const runs = join(shared, 'runs.log')
  const project = createProject({ tasks: [{ id: 'W-1', sh: `echo W-1 >> ${runs}`, verify: 'true' }] })
  return { project, runs }
}

describe('a person editing tasks while `project start --watch` runs', () => {
  it('runs a new task file, re-runs a task set back to pending, and stops on request', async () => {
    const { project, runs } = watchedProject()
    const run = startTanuki(project.dir, 'project', 'start', '--watch')
    await waitFor('W-1 complete', () => fileStatus(project.taskPath('W-1')) === 'complete')
    expect(runsOf(runs)).toEqual(['W-1'])
    // The console's last line says all is complete: it says too that the run goes on.
    await waitFor('the run to say it still runs', () => run.output().stdout.includes('· still running: task files'))

    // A new file, written the way an editor might: in a subfolder, depending on the finished task.
    const added = join(project.tasksDir, 'later', 'W-2.md')
    const { mkdirSync } = await import('node:fs')
    mkdirSync(join(project.tasksDir, 'later'))
    writeFileSync(added, taskText({ id: 'W-2', dependsOn: ['W-1'], sh: `echo W-2 >> ${runs}`, verify: 'true' }))
    await waitFor('W-2 complete', () => fileStatus(added) === 'complete', 30_000)
    expect(runsOf(runs)).toEqual(['W-1', 'W-2'])

    // Set W-1 back to pending in its file, with a note of the person's own at the end: the journal
    // wins, so nothing reruns, the mirror is written back, and the note stays.
    const path = project.taskPath('W-1')
    writeFileSync(
      path,
      readFileSync(path, 'utf8').replace(/^status: complete$/m, 'status: pending') +
        '\nNote from a person: run it again.\n',
    )
    await waitFor('the mirror to be written back', () => fileStatus(path) === 'complete', 30_000)
    expect(readFileSync(path, 'utf8')).toContain('\nNote from a person: run it again.\n')
    expect(runsOf(runs)).toEqual(['W-1', 'W-2'])

    // Rerunning on purpose, from another terminal, does run it again, and its dependent with it.
    const rerun = await tanuki(project.dir, 'task', 'rerun', 'W-1', '--with-dependents')
    expect(rerun.code, rerun.stderr).toBe(0)
    expect(rerun.stdout).toContain('Back to pending: W-1, W-2 (the running orchestrator took it)')
    await waitFor('W-1 and W-2 to run again', () => runsOf(runs).length === 4, 30_000)
    expect(runsOf(runs)).toEqual(['W-1', 'W-2', 'W-1', 'W-2'])
    await waitFor('W-2 complete again', async () => (await statusJson(project.dir)).progress.complete === 2, 30_000)

    // mark and reset reach the running orchestrator too.
    const mark = await tanuki(project.dir, 'task', 'mark', 'W-2', 'failed')
    expect(mark.code, mark.stderr).toBe(0)
    await waitFor(
      'W-2 failed',
      async () => (await statusJson(project.dir)).tasks.find((t) => t.id === 'W-2')?.status === 'failed',
    )
    const reset = await tanuki(project.dir, 'task', 'reset', 'W-2')
    expect(reset.code, reset.stderr).toBe(0)
    await waitFor('W-2 to run a third time', () => runsOf(runs).length === 5, 30_000)
    // Complete and landed: a run stopped before its complete work landed exits 1.
    await waitFor('W-2 complete and landed', () => allLanded(project.dir), 30_000)

    const status = await statusJson(project.dir)
    expect(status.status).toBe('running')
    expect(status.tasks.map((t) => [t.id, t.status])).toEqual([
      ['W-1', 'complete'],
      ['W-2', 'complete'],
    ])
    const stop = await tanuki(project.dir, 'project', 'stop')
    expect(stop.code).toBe(0)
    const ended = await run.done
    // Everything was complete when it was stopped.
    expect(ended.code, ended.stderr).toBe(0)
  })
})

describe('a task file added during a run with a misspelt role', () => {
  it('is refused, naming its file and field, instead of running on the agents of `defaults`; the fixed file runs', async () => {
    const shared = mkdtempSync(join(tmpdir(), 'tanuki-e2e-watch-'))
    outside.push(shared)
    const runs = join(shared, 'runs.log')
    const project = createProject({
      agents: { writer: 1 },
      tasks: [{ id: 'W-1', role: 'writer', sh: `echo W-1 >> ${runs}`, verify: 'true' }],
    })
    const run = startTanuki(project.dir, 'project', 'start', '--watch')
    await waitFor('W-1 complete', () => fileStatus(project.taskPath('W-1')) === 'complete')

    // A start refuses a role one typo away from a listed one (its tasks would get `defaults`'
    // agents: by default a paid one); a file saved during the run must not slip past that.
    const added = join(project.tasksDir, 'W-2.md')
    writeFileSync(added, taskText({ id: 'W-2', role: 'writter', sh: `echo W-2 >> ${runs}`, verify: 'true' }))
    const said = (): string => run.output().stdout
    await waitFor('the refusal to be said', () =>
      said().includes('error reading .tanuki/tasks/W-2.md: field "role": "writter"'),
    )
    expect(said()).toContain('did you mean "writer"?')

    writeFileSync(added, taskText({ id: 'W-2', role: 'writer', sh: `echo W-2 >> ${runs}`, verify: 'true' }))
    await waitFor('W-2 complete', () => fileStatus(added) === 'complete', 30_000)
    expect(runsOf(runs)).toEqual(['W-1', 'W-2'])
    const spawned = readEvents(project.dir).filter((e) => e.event === 'agent:spawned')
    expect(spawned.map((e) => e.role)).toEqual(['writer'])

    const stop = await tanuki(project.dir, 'project', 'stop')
    expect(stop.code).toBe(0)
    await run.done
  })
})

describe('a person editing tasks during a plain `project start`', () => {
  it('a task added while a long first task runs is run in the same start', async () => {
    const { project, runs } = watchedProject()
    // Replace W-1 with a task that waits for a go file, so the run is surely still going.
    const go = join(project.dir, 'go')
    writeFileSync(
      project.taskPath('W-1'),
      taskText({ id: 'W-1', sh: `echo W-1 >> ${runs}; while [ ! -f ${go} ]; do sleep 0.1; done`, verify: 'true' }),
    )
    const run = startTanuki(project.dir, 'project', 'start')
    await waitFor('W-1 started', () => runsOf(runs).length === 1)
    writeFileSync(join(project.tasksDir, 'W-3.md'), taskText({ id: 'W-3', sh: `echo W-3 >> ${runs}`, verify: 'true' }))
    await waitFor(
      'the new task to be seen',
      async () => (await statusJson(project.dir)).tasks.some((t) => t.id === 'W-3'),
      15_000,
    )
    writeFileSync(go, '')
    const ended = await run.done
    expect(ended.code, ended.stderr + ended.stdout).toBe(0)
    expect(runsOf(runs).sort()).toEqual(['W-1', 'W-3'])
    expect(fileStatus(join(project.tasksDir, 'W-3.md'))).toBe('complete')
  })
})

describe('`stopWhenSettled: false` in the config', () => {
  it('keeps `project start` running after everything settled, as --watch does, until stopped', async () => {
    const shared = mkdtempSync(join(tmpdir(), 'tanuki-e2e-watch-'))
    outside.push(shared)
    const runs = join(shared, 'runs.log')
    const project = createProject({
      config: configFor({ default: 1 }, '\n  stopWhenSettled: false,'),
      tasks: [{ id: 'S-1', sh: `echo S-1 >> ${runs}`, verify: 'true' }],
    })
    const run = startTanuki(project.dir, 'project', 'start')
    await waitFor('S-1 complete', async () => (await statusJson(project.dir)).progress.complete === 1)
    // Settled, and still running: a task added now is run by the same start.
    writeFileSync(join(project.tasksDir, 'S-2.md'), taskText({ id: 'S-2', sh: `echo S-2 >> ${runs}`, verify: 'true' }))
    await waitFor('S-2 to run', () => runsOf(runs).length === 2, 30_000)
    // Complete and landed: a run stopped before its complete work landed exits 1.
    await waitFor('S-2 complete and landed', () => allLanded(project.dir), 30_000)
    expect(run.child.exitCode).toBe(null)
    expect((await statusJson(project.dir)).status).toBe('running')
    const stop = await tanuki(project.dir, 'project', 'stop')
    expect(stop.code, stop.stderr).toBe(0)
    const ended = await run.done
    expect(ended.code, ended.stderr).toBe(0)
    expect(runsOf(runs)).toEqual(['S-1', 'S-2'])
  })
})

describe('the reports of a run that took a new task file', () => {
  it('name a task added, or redefined, during the run by its title and role, in the summary and the JUnit report', async () => {
    const { project, runs } = watchedProject()
    writeFileSync(
      join(project.dir, 'tanuki.config.ts'),
      configFor({ default: 1, backend: 1 }, "\n  plugins: [junitReporter({ path: 'junit.xml' })],").replace(
        'import { defineConfig }',
        'import { defineConfig, junitReporter }',
      ),
    )
    // W-1 waits for a go file and then fails its verify, so the added task never runs: it waits
    // on a task in review, and no event of its own but `task:added` names its title or role.
    const go = join(project.dir, 'go')
    writeFileSync(
      project.taskPath('W-1'),
      taskText({
        id: 'W-1',
        sh: `echo W-1 >> ${runs}; while [ ! -f ${go} ]; do sleep 0.1; done`,
        verify: 'false',
        maxIterations: 1,
      }),
    )
    // W-5 waits on W-1 too; its title and role are edited during the run.
    writeFileSync(
      join(project.tasksDir, 'W-5.md'),
      taskText({ id: 'W-5', title: 'Before the edit', dependsOn: ['W-1'], verify: 'true' }),
    )
    const run = startTanuki(project.dir, 'project', 'start')
    await waitFor('W-1 started', () => runsOf(runs).length === 1)
    writeFileSync(
      join(project.tasksDir, 'W-4.md'),
      taskText({ id: 'W-4', title: 'Added mid-run', role: 'backend', dependsOn: ['W-1'], verify: 'true' }),
    )
    writeFileSync(
      join(project.tasksDir, 'W-5.md'),
      taskText({ id: 'W-5', title: 'Retitled mid-run', role: 'backend', dependsOn: ['W-1'], verify: 'true' }),
    )
    await waitFor(
      'the new task and the edit to be seen',
      async () => {
        const tasks = (await statusJson(project.dir)).tasks
        return tasks.some((t) => t.id === 'W-4') && tasks.some((t) => t.title === 'Retitled mid-run')
      },
      15_000,
    )
    writeFileSync(go, '')
    const ended = await run.done
    expect(ended.code, ended.stderr + ended.stdout).not.toBe(0)

    const summary = readFileSync(join(project.dir, '.tanuki', 'summary.md'), 'utf8')
    expect(summary).toContain('| W-4 | Added mid-run | backend | pending |')
    expect(summary).toContain('| W-5 | Retitled mid-run | backend | pending |')
    expect(summary).toContain('| W-1 | Task W-1 | default | review |')
    expect(summary).toContain('- **W-4** (pending): waiting on W-1 (review)')
    const junit = readFileSync(join(project.dir, 'junit.xml'), 'utf8')
    expect(junit).toMatch(/<testsuite name="backend"[^>]*>\s*<testcase name="W-4: Added mid-run" classname="backend"/)
    expect(junit).toContain('<testcase name="W-5: Retitled mid-run" classname="backend"')
    expect(junit).not.toContain('Before the edit')
  })
})
