import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { resolveTasksDir } from '../lister.ts'
import { planTasks } from './init.ts'

const dirs: string[] = []
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

const task = (id: string): string => `---\nid: ${id}\ntitle: Task ${id}\n---\nDo ${id}.\n`

/** A project folder with these files (path → text) and these empty folders. */
function project(files: Record<string, string>, folders: string[] = []): string {
  const root = mkdtempSync(join(tmpdir(), 'tanuki-init-'))
  dirs.push(root)
  for (const folder of folders) mkdirSync(join(root, folder), { recursive: true })
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true })
    writeFileSync(join(root, path), text)
  }
  return root
}

describe('planTasks', () => {
  it('puts the sample in .tanuki/tasks of a project with no tasks', () => {
    const root = project({})
    expect(planTasks(root)).toEqual({
      dir: join(root, '.tanuki', 'tasks'),
      sample: join(root, '.tanuki', 'tasks', 'TASK-001.md'),
      notes: [],
    })
  })

  it('leaves tasks/ the folder tasks are read from: no sample, no .tanuki/tasks', () => {
    const root = project({ 'tasks/T1.md': task('T1') })
    const plan = planTasks(root)
    expect(plan.sample).toBeUndefined()
    expect(plan.dir).toBe(join(root, 'tasks'))
    expect(plan.dir).toBe(resolveTasksDir(root))
    expect(plan.notes).toEqual([
      'Tasks: 1 task file in tasks/ (there is no .tanuki/tasks/); Tanuki reads them from there. Wrote no sample task, and no .tanuki/tasks/, which would come before tasks/ and hide them.',
    ])
  })

  it('adds no sample to a backlog in .tanuki/tasks, nested files counted', () => {
    const files: Record<string, string> = {}
    for (let n = 1; n <= 13; n++) files[`.tanuki/tasks/${n % 2 ? 'api/' : ''}T${n}.md`] = task(`T${n}`)
    const plan = planTasks(project(files))
    expect(plan.sample).toBeUndefined()
    expect(plan.notes).toEqual([
      'Tasks: 13 task files in .tanuki/tasks/; Tanuki reads them from there. Wrote no sample task.',
    ])
  })

  it('names task files in tasks/ that an empty .tanuki/tasks hides, and adds no sample', () => {
    const root = project({ 'tasks/T1.md': task('T1'), 'tasks/T2.md': task('T2') }, ['.tanuki/tasks'])
    const plan = planTasks(root)
    expect(plan.sample).toBeUndefined()
    expect(plan.dir).toBe(join(root, '.tanuki', 'tasks'))
    expect(plan.notes).toEqual([
      "tasks/ has 2 task files that Tanuki does not read: .tanuki/tasks/ exists and comes first (it has no task files). To use them, move them into .tanuki/tasks/, remove .tanuki/tasks/, or set `tasksDir: 'tasks'` in tanuki.config.ts.",
      'Wrote no sample task: the project has task files already.',
    ])
  })

  it("puts the sample in the config's tasksDir when it has no tasks, and names the files it does not read", () => {
    expect(planTasks(project({}), { tasksDir: 'work' }).sample).toMatch(/work[\\/]TASK-001\.md$/)
    const root = project({ '.tanuki/tasks/A.md': task('A') })
    const plan = planTasks(root, { tasksDir: 'work', file: 'tanuki.config.mjs' })
    expect(plan.sample).toBeUndefined()
    expect(plan.notes[0]).toBe(
      '.tanuki/tasks/ has 1 task file that Tanuki does not read: `tasksDir` in tanuki.config.mjs names work/. To use them, move them into work/, or point `tasksDir` in tanuki.config.mjs at .tanuki/tasks/.',
    )
  })

  it('does not count hidden files or files that are not Markdown as tasks', () => {
    const root = project({ 'tasks/build.js': '', 'tasks/.draft.md': task('D') })
    // tasks/ exists, so tasks are read from it: the sample goes there, not into a new .tanuki/tasks.
    expect(planTasks(root).sample).toBe(join(root, 'tasks', 'TASK-001.md'))
  })
})
