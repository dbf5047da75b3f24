import { execFileSync, spawn } from 'node:child_process'
import {
  appendFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, dirname, join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { isTanukiError, type TaskChange } from '@tanuki/core'
import { FileTaskSource, resolveTasksDir } from './file-source.ts'
import type { SwapStep } from './swap.ts'

const dirs: string[] = []
const stops: (() => void)[] = []
afterEach(() => {
  for (const stop of stops.splice(0)) stop()
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

function project(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'tanuki-source-'))
  dirs.push(root)
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true })
    writeFileSync(join(root, path), text)
  }
  return root
}

const task = (id: string, extra = ''): string =>
  `---\nid: ${id}\ntitle: Task ${id}\ncompletion:\n  verify: "true"\n${extra}---\nDo ${id}.\n`

describe('where tasks are found', () => {
  it('.tanuki/tasks/**/*.md, recursively, skipping other files and hidden folders', async () => {
    const root = project({
      '.tanuki/tasks/A.md': task('A'),
      '.tanuki/tasks/deep/er/B.md': task('B'),
      '.tanuki/tasks/notes.txt': 'not a task',
      '.tanuki/tasks/.drafts/C.md': task('C'),
      'tasks/IGNORED.md': task('IGNORED'),
    })
    const source = new FileTaskSource({ root })
    expect(source.dir).toBe(join(root, '.tanuki', 'tasks'))
    const tasks = await source.load()
    expect(tasks.map((t) => t.id).sort()).toEqual(['A', 'B'])
    expect(tasks.find((t) => t.id === 'B')!.source).toBe(join('.tanuki', 'tasks', 'deep', 'er', 'B.md'))
  })

  it('tasks/**/*.md when there is no .tanuki/tasks', async () => {
    const root = project({ 'tasks/A.md': task('A'), 'tasks/sub/B.md': task('B') })
    expect(resolveTasksDir(root)).toBe(join(root, 'tasks'))
    expect((await new FileTaskSource({ root }).load()).map((t) => t.id).sort()).toEqual(['A', 'B'])
  })

  it('tasksDir from the config wins over both', async () => {
    const root = project({ '.tanuki/tasks/A.md': task('A'), 'tasks/B.md': task('B'), 'work/items/C.md': task('C') })
    const source = new FileTaskSource({ root, tasksDir: 'work/items' })
    expect((await source.load()).map((t) => t.id)).toEqual(['C'])
  })

  it('no folder at all is no tasks, not an error', async () => {
    expect(await new FileTaskSource({ root: project({}) }).load()).toEqual([])
  })

  it('refuses a duplicate id, naming both files', async () => {
    const root = project({
      '.tanuki/tasks/one.md': task('SAME'),
      '.tanuki/tasks/sub/two.md': task('SAME'),
      '.tanuki/tasks/ok.md': task('OK'),
    })
    const source = new FileTaskSource({ root })
    const error = await source.load().then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(isTanukiError(error, 'TANUKI_TASK_DUPLICATE')).toBe(true)
    expect((error as Error).message).toContain('"SAME"')
    expect((error as Error).message).toContain(join('.tanuki', 'tasks', 'one.md'))
    expect((error as Error).message).toContain(join('.tanuki', 'tasks', 'sub', 'two.md'))
    // scan() keeps the good tasks and lists the problem.
    const scan = source.scan()
    expect(scan.tasks.map((t) => t.id).sort()).toEqual(['OK', 'SAME'])
    expect(scan.errors).toHaveLength(1)
  })

  it('reports every invalid file at once, each by its path', async () => {
    const root = project({
      '.tanuki/tasks/a.md': task('A', 'priority: urgent\n'),
      '.tanuki/tasks/b.md': '---\ntitle: no id\n---\n',
    })
    const error = await new FileTaskSource({ root }).load().catch((e: Error) => e)
    expect((error as Error).message).toContain('2 task files have problems')
    expect((error as Error).message).toContain(`${join('.tanuki', 'tasks', 'a.md')}: field "priority"`)
    expect((error as Error).message).toContain(`${join('.tanuki', 'tasks', 'b.md')}: field "id"`)
  })
})

describe('update()', () => {
  const text = [
    '---',
    '# A comment the person wrote',
    'id: U-1',
    'title: "Quoted: title"',
    'owner: someone   # not a Tanuki key',
    'status: pending',
    'completion:',
    '  verify: "test -f x"',
    '---',
    'Body with trailing spaces   ',
    '',
    '```sh',
    'echo hi',
    '```',
    '',
  ].join('\n')

  it("changes only Tanuki's keys; everything else stays byte for byte", async () => {
    const root = project({ '.tanuki/tasks/U-1.md': text })
    const source = new FileTaskSource({ root })
    await source.load()
    await source.update('U-1', { status: 'review', assigned_to: 'agent-1', iterations: 2 })
    const after = readFileSync(join(root, '.tanuki/tasks/U-1.md'), 'utf8')
    const expected = text
      .replace('status: pending', 'status: review')
      .replace('  verify: "test -f x"\n', '  verify: "test -f x"\nassigned_to: agent-1\niterations: 2\n')
    expect(after).toBe(expected)
    await source.update('U-1', { status: 'pending', assigned_to: null, iterations: null })
    expect(readFileSync(join(root, '.tanuki/tasks/U-1.md'), 'utf8')).toBe(text)
  })

  it("writes through a temp file and a rename (the file's inode changes, no temp file is left)", async () => {
    const root = project({ '.tanuki/tasks/U-1.md': text })
    const path = join(root, '.tanuki/tasks/U-1.md')
    const source = new FileTaskSource({ root })
    await source.load()
    const inode = (): number => Number(execFileSync('stat', ['-c', '%i', path], { encoding: 'utf8' }))
    const before = inode()
    await source.update('U-1', { status: 'complete' })
    expect(inode()).not.toBe(before)
    expect(readdirSync(join(root, '.tanuki/tasks'))).toEqual(['U-1.md'])
  })

  it("reads the file afresh, so a person's edit made since the load survives", async () => {
    const root = project({ '.tanuki/tasks/U-1.md': text })
    const path = join(root, '.tanuki/tasks/U-1.md')
    const source = new FileTaskSource({ root })
    await source.load()
    const edited = text
      .replace('Body with trailing spaces', 'A person rewrote the body')
      .replace('owner: someone', 'owner: someone-else')
    writeFileSync(path, edited)
    await source.update('U-1', { status: 'review' })
    expect(readFileSync(path, 'utf8')).toBe(edited.replace('status: pending', 'status: review'))
  })

  it("writes one file's updates in the order they were asked for, each atomically", async () => {
    const root = project({ '.tanuki/tasks/U-1.md': text })
    const path = join(root, '.tanuki/tasks/U-1.md')
    const source = new FileTaskSource({ root })
    await source.load()
    const inode = (): number => Number(execFileSync('stat', ['-c', '%i', path], { encoding: 'utf8' }))
    const before = inode()
    const writes = [
      source.update('U-1', { status: 'assigned', assigned_to: 'agent-1' }),
      source.update('U-1', { status: 'in_progress', started_at: '2026-01-01T00:00:00.000Z' }),
      source.update('U-1', { status: 'complete', iterations: 1 }),
    ]
    await Promise.all(writes)
    await source.settled()
    // Replaced by a rename, never written in place: a reader sees the old file or the new one.
    expect(inode()).not.toBe(before)
    const done = readFileSync(path, 'utf8')
    expect(done).toContain('status: complete\n')
    expect(done).toContain('assigned_to: agent-1\nstarted_at: "2026-01-01T00:00:00.000Z"\niterations: 1\n')
  })

  it('writes through a temp folder out of git’s sight, and sweeps the temps of processes that are gone', async () => {
    const root = project({ 'tasks/U-1.md': text, 'tasks/sub/U-2.md': task('U-2'), '.tanuki/.gitignore': '*\n' })
    const temp = join(root, '.tanuki', 'tmp')
    mkdirSync(temp, { recursive: true })
    // What a killed Tanuki left: a pid that no longer runs. And a live process's temp, mid-write.
    const gone = execFileSync('sh', ['-c', 'echo $$'], { encoding: 'utf8' }).trim()
    writeFileSync(join(temp, `${gone}-7.tmp`), 'half a task')
    writeFileSync(join(temp, `${process.ppid}-1.tmp`), 'being written')
    // Where the old way would write U-1's temp, a folder: only the temp folder can do it.
    const beside = join(root, 'tasks', `U-1.md.tanuki-${process.pid}.tmp`)
    mkdirSync(beside)
    const source = new FileTaskSource({ root, tasksDir: 'tasks', tempDir: temp })
    await source.load()
    await Promise.all([source.update('U-1', { status: 'complete' }), source.update('U-2', { status: 'failed' })])
    rmSync(beside, { recursive: true })
    expect(readFileSync(join(root, 'tasks/U-1.md'), 'utf8')).toContain('status: complete\n')
    expect(readFileSync(join(root, 'tasks/sub/U-2.md'), 'utf8')).toContain('status: failed\n')
    expect(readdirSync(join(root, 'tasks')).sort()).toEqual(['U-1.md', 'sub'])
    expect(readdirSync(join(root, 'tasks', 'sub'))).toEqual(['U-2.md'])
    expect(readdirSync(temp)).toEqual([`${process.ppid}-1.tmp`])

    // A temp folder that cannot be made (a file is in the way), or a state folder Tanuki has not
    // made yet (no .gitignore): beside the file, as without one.
    const blocked = join(root, 'blocked')
    writeFileSync(blocked, '')
    for (const [tempDir, status] of [
      [join(blocked, 'tmp'), 'review'],
      [join(root, 'state', 'tmp'), 'pending'],
    ] as const) {
      const fallback = new FileTaskSource({ root, tasksDir: 'tasks', tempDir })
      await fallback.load()
      await fallback.update('U-1', { status })
      expect(readFileSync(join(root, 'tasks/U-1.md'), 'utf8')).toContain(`status: ${status}\n`)
      expect(readdirSync(join(root, 'tasks')).sort()).toEqual(['U-1.md', 'sub'])
    }
    expect(readdirSync(root)).not.toContain('state')
  })

  it('an unknown task is a clear error', async () => {
    const source = new FileTaskSource({ root: project({}) })
    await expect(source.update('NOPE', { status: 'complete' })).rejects.toThrow(/No file for task "NOPE"/)
  })
})

describe("a person's save while a status is written", () => {
  /** A project with task A, whose source writes temps in the state folder (`state`) or beside the file. */
  async function racing(
    temps: 'state' | 'beside',
    person: (path: string, step: SwapStep) => void,
  ): Promise<{ root: string; path: string; source: FileTaskSource }> {
    const root = project({ '.tanuki/.gitignore': '*\n', '.tanuki/tasks/A.md': task('A') })
    const tempDir = join(root, '.tanuki', 'tmp')
    const path = join(root, '.tanuki', 'tasks', 'A.md')
    const source = new FileTaskSource({ root, ...(temps === 'state' ? { tempDir } : {}), beforeRename: person })
    await source.load()
    return { root, path, source }
  }
  /** A save the way `sed -i` and many editors do it: a new file renamed over the old. */
  const saveByRename = (path: string, text: string): void => {
    writeFileSync(`${path}.swp`, text)
    renameSync(`${path}.swp`, path)
  }
  /** Everything in the state folder: no temp file may be left behind. */
  const leftOver = (root: string): string[] =>
    readdirSync(join(root, '.tanuki'), { recursive: true }).map(String).sort()

  for (const temps of ['state', 'beside'] as const) {
    it(`keeps a save made after the write read the file, and writes the status into it (temps ${temps})`, async () => {
      let saved = false
      const { root, path, source } = await racing(temps, (path, step) => {
        if (step !== 'written' || saved) return
        saved = true
        saveByRename(path, readFileSync(path, 'utf8').replace('title: Task A', 'title: Task A, retitled'))
      })
      const changes: TaskChange[] = []
      stops.push(source.watch((change) => changes.push(change)))
      await source.update('A', { status: 'review' })
      expect(saved).toBe(true)
      expect(readFileSync(path, 'utf8')).toBe(
        task('A')
          .replace('title: Task A', 'title: Task A, retitled')
          .replace('verify: "true"\n', 'verify: "true"\nstatus: review\n'),
      )
      expect(leftOver(root)).toEqual([
        '.gitignore',
        'tasks',
        join('tasks', 'A.md'),
        ...(temps === 'state' ? ['tmp'] : []),
      ])
      // The save came in Tanuki's write: the watcher reports it rather than taking it for an echo.
      for (let waited = 0; !changes.some((c) => c.type === 'changed'); waited += 20) {
        if (waited > 5_000) throw new Error('the save was not reported within 5 s')
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
      expect(changes.at(-1)).toEqual({
        type: 'changed',
        task: expect.objectContaining({ id: 'A', title: 'Task A, retitled', status: 'review' }),
      })
    })

    it(`keeps a line appended, or a save, that lands after the check and before the rename (temps ${temps})`, async () => {
      for (const how of ['append', 'rename'] as const) {
        let saved = false
        const { path, source } = await racing(temps, (path, step) => {
          if (step !== 'checked' || saved) return
          saved = true
          if (how === 'append') appendFileSync(path, 'A line the person added.\n')
          else saveByRename(path, `${readFileSync(path, 'utf8')}A line the person added.\n`)
        })
        await source.update('A', { status: 'complete', iterations: 1 })
        expect(saved).toBe(true)
        expect(readFileSync(path, 'utf8')).toBe(
          `${task('A').replace('verify: "true"\n', 'verify: "true"\nstatus: complete\niterations: 1\n')}A line the person added.\n`,
        )
      }
    })
  }

  it("clears a backup a killed process of the same pid left beside the file, and still keeps a person's line", async () => {
    let saved = false
    const { root, path, source } = await racing('beside', (path, step) => {
      if (step !== 'checked' || saved) return
      saved = true
      appendFileSync(path, 'A line the person added.\n')
    })
    // What a Tanuki of this pid (a container's pids repeat) killed mid-write left.
    writeFileSync(`${path}.old.tanuki-${process.pid}.tmp`, 'an old text')
    await source.update('A', { status: 'complete' })
    expect(readFileSync(path, 'utf8')).toBe(
      `${task('A').replace('verify: "true"\n', 'verify: "true"\nstatus: complete\n')}A line the person added.\n`,
    )
    expect(leftOver(root)).toEqual(['.gitignore', 'tasks', join('tasks', 'A.md')])
  })

  it("keeps a person's late save, and says where, when the file cannot be put back", async () => {
    const { root, path, source } = await racing('state', (path, step) => {
      // A line written into the file after the check: it is in the file the rename replaces.
      if (step === 'checked') appendFileSync(path, 'A line the person added.\n')
      // Then the task file cannot take that file back (here: a folder now stands in its place).
      if (step === 'renamed') {
        rmSync(path)
        mkdirSync(join(path, 'in-the-way'), { recursive: true })
      }
    })
    const error = await source.update('A', { status: 'complete' }).catch((e: unknown) => e)
    expect(isTanukiError(error, 'TANUKI_TASK_UNWRITABLE')).toBe(true)
    const kept = (error as { details: { kept: string } }).details.kept
    expect((error as Error).message).toContain(kept)
    expect(readFileSync(kept, 'utf8')).toBe(`${task('A')}A line the person added.\n`)
    // In the temp folder, by a name its sweep of dead processes' temps (*.tmp) leaves alone.
    expect(dirname(kept)).toBe(join(root, '.tanuki', 'tmp'))
    expect(kept).toMatch(/\.kept$/)
    expect(readdirSync(dirname(kept))).toEqual([basename(kept)])
  })

  it('gives up, leaving the file as the person saved it, when it changes at every try', async () => {
    let saves = 0
    let saving = true
    const { root, path, source } = await racing('state', (path, step) => {
      if (saving && step === 'written') appendFileSync(path, `save ${++saves}\n`)
    })
    const error = await source.update('A', { status: 'complete' }).catch((e: unknown) => e)
    expect(isTanukiError(error, 'TANUKI_TASK_UNWRITABLE')).toBe(true)
    expect((error as Error).message).toContain(join('.tanuki', 'tasks', 'A.md'))
    expect(saves).toBe(5)
    expect(readFileSync(path, 'utf8')).toBe(`${task('A')}save 1\nsave 2\nsave 3\nsave 4\nsave 5\n`)
    expect(leftOver(root)).toEqual(['.gitignore', 'tasks', join('tasks', 'A.md'), 'tmp'])
    // The next write, once the person stops, goes through.
    saving = false
    await source.update('A', { status: 'complete' })
    expect(readFileSync(path, 'utf8')).toContain('status: complete\n')
  })

  it('loses next to no line of a person appending to task files while many statuses are written', async () => {
    // The trial that found the race: a loop appending to every task file while a project ran.
    // Three lines in four were lost before; what is left (see `swapIfUnchanged`) is an append whose `open`
    // came before the rename and whose write came after the replaced file was read again.
    const ids = ['A', 'B', 'C', 'D', 'E', 'F']
    const root = project({
      '.tanuki/.gitignore': '*\n',
      ...Object.fromEntries(ids.map((id) => [`.tanuki/tasks/${id}.md`, task(id)])),
    })
    const source = new FileTaskSource({ root, tempDir: join(root, '.tanuki', 'tmp') })
    await source.load()
    const files = ids.map((id) => join(root, '.tanuki', 'tasks', `${id}.md`))
    const rounds = 50
    const loop = `for i in $(seq ${rounds}); do for f in "$@"; do echo "note $i" >> "$f"; done; sleep 0.02; done`
    const person = spawn('sh', ['-c', loop, 'sh', ...files], { stdio: 'ignore' })
    let ended = false
    const exited = new Promise<number | null>((resolve) => person.on('exit', resolve)).finally(() => {
      ended = true
    })
    const statuses = ['assigned', 'in_progress', 'review', 'complete'] as const
    const failures: unknown[] = []
    let writes = 0
    while (!ended) {
      const patch = { status: statuses[writes % statuses.length]!, iterations: writes++ }
      await Promise.all(ids.map((id) => source.update(id, patch).catch((error: unknown) => failures.push(error))))
    }
    expect(await exited).toBe(0)
    const notes = Array.from({ length: rounds }, (_, i) => `note ${i + 1}`)
    let lost = 0
    const keptIn = new Map<string, string[]>()
    for (const file of files) {
      const kept: string[] = readFileSync(file, 'utf8').match(/^note \d+$/gm) ?? []
      // Whatever is kept is the person's, in order: nothing doubled, nothing reordered.
      expect(kept).toEqual(notes.filter((note) => kept.includes(note)))
      keptIn.set(file, kept)
      lost += rounds - kept.length
    }
    // Statuses written back to back, as no run writes them (the mirror writes a task once a
    // window): at most 1 % of the lines, here, while the CI machine ran other suites alongside.
    expect(lost).toBeLessThanOrEqual((rounds * files.length) / 100)
    // On a busy machine a write can meet a new line at every try and give up; it says so.
    for (const error of failures) expect(isTanukiError(error, 'TANUKI_TASK_UNWRITABLE')).toBe(true)
    expect(failures.length).toBeLessThan((writes * ids.length) / 2)
    // With the person done, the next status goes in, next to every line the file holds.
    await Promise.all(ids.map((id) => source.update(id, { status: 'complete', iterations: writes })))
    for (const file of files) {
      const text = readFileSync(file, 'utf8')
      expect(text).toContain(`status: complete\niterations: ${writes}\n`)
      expect(text.match(/^note \d+$/gm) ?? []).toEqual(keptIn.get(file))
    }
  })
})

describe('watch()', () => {
  /** Starts watching and returns the changes seen so far (a live array). */
  async function watching(root: string): Promise<{ source: FileTaskSource; changes: TaskChange[] }> {
    const source = new FileTaskSource({ root })
    await source.load()
    const changes: TaskChange[] = []
    stops.push(source.watch((change) => changes.push(change)))
    return { source, changes }
  }
  const until = async (what: string, check: () => boolean): Promise<void> => {
    for (let waited = 0; !check(); waited += 20) {
      if (waited > 5_000) throw new Error(`no ${what} within 5 s`)
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
  }
  const quiet = (ms = 300): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

  it('reports a new task file, also in a folder made while watching', async () => {
    const root = project({ '.tanuki/tasks/A.md': task('A') })
    const { changes } = await watching(root)
    writeFileSync(join(root, '.tanuki/tasks/B.md'), task('B'))
    mkdirSync(join(root, '.tanuki/tasks/later'))
    writeFileSync(join(root, '.tanuki/tasks/later/C.md'), task('C'))
    await until('added tasks', () => changes.filter((c) => c.type === 'added').length === 2)
    expect(changes.map((c) => (c.type === 'added' ? c.task.id : c.type)).sort()).toEqual(['B', 'C'])
  })

  it('watches the folders the load went through: nested ones, empty ones; never hidden ones', async () => {
    const root = project({
      '.tanuki/tasks/A.md': task('A'),
      '.tanuki/tasks/area/deep/B.md': task('B'),
      '.tanuki/tasks/.drafts/D.md': task('D'),
    })
    mkdirSync(join(root, '.tanuki/tasks/empty'))
    const { changes } = await watching(root)
    writeFileSync(join(root, '.tanuki/tasks/area/deep/B.md'), task('B').replace('Task B', 'Task B2'))
    writeFileSync(join(root, '.tanuki/tasks/empty/E.md'), task('E'))
    writeFileSync(join(root, '.tanuki/tasks/.drafts/F.md'), task('F'))
    await until('the edit and the new file', () => changes.length >= 2)
    await quiet()
    expect(
      changes.map((c) => (c.type === 'removed' || c.type === 'invalid' ? c.type : `${c.type} ${c.task.id}`)).sort(),
    ).toEqual(['added E', 'changed B'])
  })

  it("reports a person setting a complete task back to pending, even after Tanuki's own writes replaced the file", async () => {
    const root = project({ '.tanuki/tasks/A.md': task('A') })
    const path = join(root, '.tanuki/tasks/A.md')
    const { source, changes } = await watching(root)
    await source.update('A', { status: 'in_progress' })
    await source.update('A', { status: 'complete', iterations: 1 })
    await quiet()
    // Tanuki's own writes are not echoed back.
    expect(changes).toEqual([])
    // A person's edit the way `sed -i` and many editors do it: a new file renamed over the old.
    writeFileSync(`${path}.swp`, readFileSync(path, 'utf8').replace('status: complete', 'status: pending'))
    renameSync(`${path}.swp`, path)
    await until('the edit', () => changes.length > 0)
    expect(changes).toEqual([{ type: 'changed', task: expect.objectContaining({ id: 'A', status: 'pending' }) }])
  })

  it("reports a person's edit that Tanuki's own status write carried along, instead of taking it for an echo", async () => {
    const root = project({ '.tanuki/tasks/A.md': task('A') })
    const path = join(root, '.tanuki/tasks/A.md')
    const { source, changes } = await watching(root)
    // The person retitles the task; Tanuki writes a status before the watcher has reported it.
    writeFileSync(path, readFileSync(path, 'utf8').replace('title: Task A', 'title: Task A, retitled'))
    await source.update('A', { status: 'review' })
    expect(readFileSync(path, 'utf8')).toContain('title: Task A, retitled')
    await until('the edit', () => changes.some((c) => c.type === 'changed'))
    expect(changes.at(-1)).toEqual({
      type: 'changed',
      task: expect.objectContaining({ id: 'A', title: 'Task A, retitled', status: 'review' }),
    })
  })

  it('reports a removed file and an invalid edit (keeping quiet about files that did not change)', async () => {
    const root = project({ '.tanuki/tasks/A.md': task('A'), '.tanuki/tasks/B.md': task('B') })
    const { changes } = await watching(root)
    rmSync(join(root, '.tanuki/tasks/A.md'))
    writeFileSync(join(root, '.tanuki/tasks/B.md'), task('B', 'priority: whenever\n'))
    await until('two changes', () => changes.length >= 2)
    await quiet()
    expect(changes).toHaveLength(2)
    expect(changes).toContainEqual({ type: 'removed', id: 'A' })
    const invalid = changes.find((c) => c.type === 'invalid')
    expect(invalid).toMatchObject({ type: 'invalid', source: join('.tanuki', 'tasks', 'B.md') })
    expect((invalid as { error: Error }).error.message).toContain('field "priority"')
  })

  it('stops reporting once unsubscribed', async () => {
    const root = project({ '.tanuki/tasks/A.md': task('A') })
    const source = new FileTaskSource({ root })
    await source.load()
    const changes: TaskChange[] = []
    const stop = source.watch((change) => changes.push(change))
    stop()
    writeFileSync(join(root, '.tanuki/tasks/B.md'), task('B'))
    await quiet()
    expect(changes).toEqual([])
  })
})

describe('files that must stay valid', () => {
  it('refuses bytes that are not UTF-8 at load, naming the file and the line, and never rewrites them', async () => {
    const root = project({ '.tanuki/tasks/A.md': task('A') })
    const path = join(root, '.tanuki', 'tasks', 'L.md')
    const latin1 = Buffer.concat([
      Buffer.from('---\nid: L\ntitle: Caf'),
      Buffer.from([0xe9]),
      Buffer.from('\n---\nBody.\n'),
    ])
    writeFileSync(path, latin1)
    const source = new FileTaskSource({ root })
    const { tasks, errors } = source.scan()
    expect(tasks.map((t) => t.id)).toEqual(['A'])
    expect(errors).toHaveLength(1)
    expect(errors[0]!.code).toBe('TANUKI_TASK_INVALID')
    expect(errors[0]!.message).toBe(
      `${join('.tanuki', 'tasks', 'L.md')}: is not UTF-8 text (byte 0xe9 on line 3); save it as UTF-8 (e.g. \`iconv -f latin1 -t utf-8\`)`,
    )
    expect(readFileSync(path).equals(latin1)).toBe(true)
  })

  it('keeps a byte-order mark through a status write', async () => {
    const root = project({ '.tanuki/tasks/A.md': `\uFEFF${task('A')}` })
    const source = new FileTaskSource({ root })
    await source.load()
    await source.update('A', { status: 'complete' })
    const bytes = readFileSync(join(root, '.tanuki', 'tasks', 'A.md'))
    expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf])
    expect(bytes.toString('utf8')).toContain('status: complete')
  })

  it('writes status into flow-style and indented front matter, and both still load', async () => {
    const root = project({
      '.tanuki/tasks/F.md': '---\n{id: F, title: Flow, completion: {verify: "true"}}\n---\nDo F.\n',
      '.tanuki/tasks/I.md': '---\n  id: I\n  title: Indented\n  completion:\n    verify: "true"\n---\nDo I.\n',
    })
    const source = new FileTaskSource({ root })
    await source.load()
    await source.update('F', { status: 'complete', completed_at: '2025-01-01T00:00:00.000Z' })
    await source.update('I', { status: 'failed', failure: 'verify: exit 1' })
    expect(readFileSync(join(root, '.tanuki', 'tasks', 'F.md'), 'utf8')).toBe(
      '---\n{id: F, title: Flow, completion: {verify: "true"}, status: complete, completed_at: "2025-01-01T00:00:00.000Z"}\n---\nDo F.\n',
    )
    const again = new FileTaskSource({ root }).scan()
    expect(again.errors).toEqual([])
    expect(Object.fromEntries(again.tasks.map((t) => [t.id, t.status]))).toEqual({ F: 'complete', I: 'failed' })
  })

  it('refuses to write, and leaves the file as it is, when the result would not read back', async () => {
    const root = project({ '.tanuki/tasks/A.md': task('A') })
    const source = new FileTaskSource({ root })
    await source.load()
    // Edited by hand while the run goes on, into a shape status cannot be spliced into.
    const edited = '---\nid: A\ntitle: Task A\nstatus: &s pending\nfailure: *s\n---\nDo A.\n'
    writeFileSync(join(root, '.tanuki', 'tasks', 'A.md'), edited)
    const error = await source.update('A', { status: 'complete' }).catch((e: unknown) => e)
    expect(isTanukiError(error, 'TANUKI_TASK_UNWRITABLE')).toBe(true)
    expect(readFileSync(join(root, '.tanuki', 'tasks', 'A.md'), 'utf8')).toBe(edited)
    expect(readdirSync(join(root, '.tanuki', 'tasks'))).toEqual(['A.md'])
  })
})
