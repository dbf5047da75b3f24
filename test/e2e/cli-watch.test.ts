// A person edits task files while a project runs: new tasks run, a task set back to pending runs
// again, and Tanuki never overwrites what the person wrote.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import {
  cleanup,
  createProject,
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

    // A new file, written the way an editor might: in a subfolder, depending on the finished task.
    const added = join(project.tasksDir, 'later', 'W-2.md')
    const { mkdirSync } = await import('node:fs')
    mkdirSync(join(project.tasksDir, 'later'))
    writeFileSync(added, taskText({ id: 'W-2', dependsOn: ['W-1'], sh: `echo W-2 >> ${runs}`, verify: 'true' }))
    await waitFor('W-2 complete', () => fileStatus(added) === 'complete', 30_000)
    expect(runsOf(runs)).toEqual(['W-1', 'W-2'])

    // Set W-1 back to pending, with a note of the person's own at the end of the file.
    const path = project.taskPath('W-1')
    const edited =
      readFileSync(path, 'utf8').replace(/^status: complete$/m, 'status: pending') +
      '\nNote from a person: run it again.\n'
    writeFileSync(path, edited)
    await waitFor('W-1 to run again', () => runsOf(runs).length === 3, 30_000)
    await waitFor('W-1 complete again', () => fileStatus(path) === 'complete', 30_000)
    expect(runsOf(runs)).toEqual(['W-1', 'W-2', 'W-1'])
    expect(readFileSync(path, 'utf8')).toContain('\nNote from a person: run it again.\n')

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
