import { spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { parseTask, type Task } from '@tanuki/core'
import { FileTaskSource, type ScanResult } from './file-source.ts'
import { STATE_GITIGNORE, statePaths } from './paths.ts'
import { textHash } from './task-file.ts'

const dirs: string[] = []
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

const task = (id: string, extra = ''): string =>
  `---\nid: ${id}\ntitle: Task ${id}\ncompletion:\n  verify: "true"\n${extra}---\nDo ${id}.\n`

/** A project with a state folder and task files, each file's times set back a minute (not "racy"). */
function project(files: Record<string, string>, options: { stateDir?: boolean } = {}): string {
  const root = mkdtempSync(join(tmpdir(), 'tanuki-cache-'))
  dirs.push(root)
  mkdirSync(join(root, 'tasks'))
  if (options.stateDir !== false) stateDir(root)
  for (const [name, text] of Object.entries(files)) write(root, name, text)
  return root
}

/** The state folder as a run makes it, with its .gitignore. */
function stateDir(root: string): void {
  mkdirSync(join(root, '.tanuki'), { recursive: true })
  writeFileSync(join(root, '.tanuki', '.gitignore'), STATE_GITIGNORE)
}

/** Writes a task file dated a minute ago: older than the two seconds in which a stat proves nothing. */
function write(root: string, name: string, text: string): void {
  const path = join(root, 'tasks', name)
  writeFileSync(path, text)
  const past = new Date(Date.now() - 60_000)
  utimesSync(path, past, past)
}

/** A fresh source, as a new `tanuki` process makes; its cache is written as the process exits. */
function source(root: string): { scan(): ScanResult } {
  const files = new FileTaskSource({ root, cacheFile: statePaths(root).taskCache })
  return {
    scan() {
      const result = files.scan()
      files.saveCache()
      return result
    },
  }
}

/**
 * Starts of a project as processes of their own, as `tanuki` makes them (the cache is then the
 * parser's of tsx): each scans and prints what it found; a `run` start then makes the writes
 * `run` (statements with `source` in scope) before it exits, as a run's status mirror does.
 */
function starts(root: string, run: string): (mode: 'run' | 'scan') => { parsed: number; tasks: Task[] } {
  const script = join(root, 'run.mts')
  writeFileSync(
    script,
    `import { FileTaskSource } from ${JSON.stringify(new URL('./file-source.ts', import.meta.url).pathname)}\n` +
      `const source = new FileTaskSource({ root: ${JSON.stringify(root)}, cacheFile: ${JSON.stringify(statePaths(root).taskCache)} })\n` +
      'const { parsed, tasks } = source.scan()\n' +
      'console.log(JSON.stringify({ parsed, tasks }))\n' +
      `if (process.argv[2] === 'run') {\n${run}}\n` +
      'process.exit(0)\n',
  )
  return (mode) => {
    const started = spawnSync(process.execPath, ['--import', 'tsx', script, mode], { encoding: 'utf8' })
    expect(started.stderr).toBe('')
    return JSON.parse(started.stdout) as { parsed: number; tasks: Task[] }
  }
}

describe('the cache of parsed task files', () => {
  it('parses each file once: the next start takes its task from the cache, equal to a fresh parse', () => {
    const extra = 'nested: { list: [1, two, null], when: 2026-11-29, yes: true }\n'
    const root = project({ 'A.md': task('A', extra), 'B.md': task('B'), 'C.md': task('C', 'depends_on: [A, B]\n') })
    const first = source(root).scan()
    expect(first.parsed).toBe(3)
    const second = source(root).scan()
    expect(second.parsed).toBe(0)
    expect(second.errors).toEqual([])
    expect(second.tasks).toEqual(first.tasks)
    const a = second.tasks.find((t) => t.id === 'A')!
    expect(a).toStrictEqual(parseTask(task('A', extra), a.source!))
  })

  it('keeps a task as parsed, though the run sets its status in place before the cache is written', () => {
    const root = project({ 'A.md': task('A'), 'B.md': task('B', 'status: review\n') })
    const files = new FileTaskSource({ root, cacheFile: statePaths(root).taskCache })
    const first = files.scan()
    const parsed = structuredClone(first.tasks)
    // As the orchestrator does with the tasks a scan gives it, a moment before the cache's write.
    for (const t of first.tasks) {
      t.status = 'in_progress'
      t.assignedTo = 'agent-1'
    }
    files.saveCache()
    const next = source(root).scan()
    expect(next.parsed).toBe(0)
    expect(next.tasks).toEqual(parsed)
  })

  it('does not keep a task JSON would change (.inf, -0): it is parsed every time, as it was', () => {
    const root = project({ 'A.md': task('A', 'weight: .inf\nshift: -0\n'), 'B.md': task('B') })
    source(root).scan()
    const scan = source(root).scan()
    expect(scan.parsed).toBe(1)
    const a = scan.tasks.find((t) => t.id === 'A')!
    expect(a.extra.weight).toBe(Number.POSITIVE_INFINITY)
    expect(Object.is(a.extra.shift, -0)).toBe(true)
  })

  it("keeps each file's task and the hash of its text, not the text", () => {
    // A comment is in the text and not in the task: the cache must not need it to know the file.
    const text = task('A', '# a comment only the text has\n')
    const root = project({ 'A.md': text })
    source(root).scan()
    const cache = readFileSync(statePaths(root).taskCache, 'utf8')
    expect(cache).not.toContain('a comment only the text has')
    expect(cache).toContain(`\t${textHash(text)}\t`)
    // The same text is still known: rewritten with a new time (racy), it is compared by hash.
    writeFileSync(join(root, 'tasks', 'A.md'), text)
    expect(source(root).scan().parsed).toBe(0)
    writeFileSync(join(root, 'tasks', 'A.md'), text.replace('only the text', 'only the new text'))
    expect(source(root).scan().parsed).toBe(1)
  })

  it('keeps text beyond ASCII exactly (the file itself is ASCII), and a second scan in the same process uses it', () => {
    const title = 'Café ☕ 日本語 😀 "quoted" \\ back'
    const text = `---\nid: U\ntitle: ${JSON.stringify(title)}\ncompletion:\n  verify: "true"\n---\nÜber 😀.\n`
    const root = project({ 'U.md': text, 'A.md': task('A') })
    const files = new FileTaskSource({ root, cacheFile: statePaths(root).taskCache })
    expect(files.scan().parsed).toBe(2)
    // The same source scanning again (the dashboard's task view does): nothing parsed twice.
    const again = files.scan()
    expect(again.parsed).toBe(0)
    files.saveCache()
    const bytes = readFileSync(statePaths(root).taskCache)
    expect(bytes.every((byte) => byte < 128)).toBe(true)
    const next = source(root).scan()
    expect(next.parsed).toBe(0)
    const u = next.tasks.find((t) => t.id === 'U')!
    expect(u.title).toBe(title)
    expect(u).toStrictEqual(parseTask(text, u.source!))
  })

  it('keeps lines across its chunks of bytes, and a line longer than a chunk (1 MB)', () => {
    const files: Record<string, string> = {}
    // ~2,600 lines of ~400 bytes: more than one chunk; and one task of 1.5 MB.
    for (let i = 0; i < 2600; i++) files[`T${i}.md`] = task(`T${i}`, `note: ${'x'.repeat(200)}\n`)
    files['BIG.md'] = task('BIG').replace('Do BIG.', 'y'.repeat(1_500_000))
    const root = project(files)
    const first = source(root).scan()
    expect(first.parsed).toBe(2601)
    const next = source(root).scan()
    expect(next.parsed).toBe(0)
    expect(next.tasks).toEqual(first.tasks)
    expect(next.tasks.find((t) => t.id === 'BIG')!.body.length).toBeGreaterThan(1_500_000)
    // One file changed: the file is written again from the lines as read and one new line.
    write(root, 'T5.md', files['T5.md']!.replace('Task T5', 'Task T5 again'))
    expect(source(root).scan().parsed).toBe(1)
    const after = source(root).scan()
    expect(after.parsed).toBe(0)
    expect(after.tasks).toEqual(first.tasks.map((t) => (t.id === 'T5' ? { ...t, title: 'Task T5 again' } : t)))
  })

  it('ignores the torn end of a cache file cut short, keeping the lines before it', () => {
    const root = project({ 'A.md': task('A'), 'B.md': task('B') })
    source(root).scan()
    const file = statePaths(root).taskCache
    const text = readFileSync(file, 'utf8')
    writeFileSync(file, text.slice(0, text.length - 20))
    const scan = source(root).scan()
    expect(scan.parsed).toBe(1)
    expect(scan.tasks.map((t) => t.id)).toEqual(['A', 'B'])
    expect(source(root).scan().parsed).toBe(0)
  })

  it('parses again what changed: an edit (even one that keeps the size and the time), a new file; drops a removed one', () => {
    const root = project({ 'A.md': task('A'), 'B.md': task('B'), 'C.md': task('C') })
    source(root).scan()
    const path = join(root, 'tasks', 'A.md')
    const before = statSync(path)
    // Same length, same modification time: only the change time (and the text) tell.
    writeFileSync(path, task('A').replace('Task A', 'Task Z'))
    utimesSync(path, before.atime, before.mtime)
    write(root, 'D.md', task('D'))
    rmSync(join(root, 'tasks', 'C.md'))
    const scan = source(root).scan()
    expect(scan.parsed).toBe(2)
    expect(scan.tasks.map((t) => [t.id, t.title])).toEqual([
      ['A', 'Task Z'],
      ['B', 'Task B'],
      ['D', 'Task D'],
    ])
    expect(source(root).scan().parsed).toBe(0)
  })

  it('compares the text of a file modified a moment ago, whose stat proves nothing yet', () => {
    const root = project({ 'A.md': task('A') })
    writeFileSync(join(root, 'tasks', 'A.md'), task('A')) // just now: "racy"
    expect(source(root).scan().parsed).toBe(1)
    // Same text: taken from the cache after reading it.
    expect(source(root).scan().parsed).toBe(0)
    writeFileSync(join(root, 'tasks', 'A.md'), task('A').replace('Task A', 'Task Q'))
    const scan = source(root).scan()
    expect(scan.parsed).toBe(1)
    expect(scan.tasks[0]!.title).toBe('Task Q')
  })

  it('never keeps a file with a problem: it is reported on every start', () => {
    const root = project({ 'A.md': task('A'), 'BAD.md': '---\nid: BAD\n---\nno title\n' })
    for (let start = 0; start < 2; start++) {
      const scan = source(root).scan()
      expect(scan.errors.map((e) => e.message)).toEqual([expect.stringMatching(/BAD\.md.*title/)])
      expect(scan.tasks.map((t) => t.id)).toEqual(['A'])
    }
  })

  it('hands out tasks its holder may change without changing what the next start gets', () => {
    const root = project({ 'A.md': task('A') })
    const first = source(root).scan().tasks[0]!
    first.status = 'complete'
    first.dependsOn.push('X')
    const second = source(root).scan().tasks[0]!
    second.title = 'changed by the run'
    const third = source(root).scan()
    expect(third.parsed).toBe(0)
    expect(third.tasks[0]).toMatchObject({ status: 'pending', dependsOn: [], title: 'Task A' })
  })

  it('ignores a broken or foreign cache file and writes a good one', () => {
    const root = project({ 'A.md': task('A') })
    const file = statePaths(root).taskCache
    mkdirSync(join(root, '.tanuki', 'cache'))
    writeFileSync(file, 'not a cache')
    const scan = source(root).scan()
    expect(scan.parsed).toBe(1)
    expect(scan.tasks[0]!.id).toBe('A')
    expect(readFileSync(file).toString()).not.toBe('not a cache')
    expect(source(root).scan().parsed).toBe(0)
  })

  it("removes the temp copies of writers that are gone (killed mid-write), not a live one's", () => {
    const root = project({ 'A.md': task('A') })
    const file = statePaths(root).taskCache
    mkdirSync(join(root, '.tanuki', 'cache'))
    // A process that has exited: its pid names no process now.
    const gone = spawnSync(process.execPath, ['-e', '0']).pid
    const live = process.ppid
    for (const pid of [gone, live]) writeFileSync(`${file}.${pid}.tmp`, 'half a cache')
    writeFileSync(join(root, '.tanuki', 'cache', 'notes.tmp'), 'not ours')
    source(root).scan()
    expect(readdirSync(join(root, '.tanuki', 'cache')).sort()).toEqual(['notes.tmp', 'tasks', `tasks.${live}.tmp`])
    expect(source(root).scan().parsed).toBe(0)
  })

  it('writes only into a state folder Tanuki made: never creates one; a run writes it once it has', () => {
    const root = project({ 'A.md': task('A') }, { stateDir: false })
    const first = new FileTaskSource({ root, cacheFile: statePaths(root).taskCache })
    first.scan()
    first.saveCache()
    expect(() => statSync(join(root, '.tanuki'))).toThrow()
    // A .tanuki folder of the person's (tasks in it, no .gitignore of Tanuki's): nothing written either.
    mkdirSync(join(root, '.tanuki'))
    first.saveCache()
    expect(() => statSync(statePaths(root).taskCache)).toThrow()
    stateDir(root)
    first.saveCache()
    expect(statSync(statePaths(root).taskCache).isFile()).toBe(true)
    expect(source(root).scan().parsed).toBe(0)
  })

  it('is written off the way of a start: a moment later, or as the process exits', () => {
    const root = project({ 'A.md': task('A'), 'B.md': task('B') })
    const script = join(root, 'scan.mts')
    writeFileSync(
      script,
      `import { FileTaskSource } from ${JSON.stringify(new URL('./file-source.ts', import.meta.url).pathname)}\n` +
        `const source = new FileTaskSource({ root: ${JSON.stringify(root)}, cacheFile: ${JSON.stringify(statePaths(root).taskCache)} })\n` +
        'console.log(source.scan().parsed)\n' +
        'process.exit(0)\n',
    )
    const run = spawnSync(process.execPath, ['--import', 'tsx', script], { encoding: 'utf8' })
    expect(run.stderr).toBe('')
    expect(run.stdout.trim()).toBe('2')
    // One line for the parser it was made by, then one per file.
    const lines = readFileSync(statePaths(root).taskCache, 'utf8').trimEnd().split('\n')
    expect(lines.slice(1).map((line) => JSON.parse(line.split('\t')[0]!))).toEqual([
      join(root, 'tasks', 'A.md'),
      join(root, 'tasks', 'B.md'),
    ])
  }, 60_000)

  it('keeps the task of each file the status mirror rewrote: a start after a run parses none of them', () => {
    const root = project({ 'A.md': task('A'), 'B.md': task('B'), 'C.md': task('C') })
    const start = starts(
      root,
      "  await source.update('A', { status: 'in_progress', assigned_to: 'default-1' })\n" +
        "  await source.update('A', { status: 'complete', assigned_to: null })\n" +
        "  await source.update('B', { status: 'failed', failure: 'verify failed' })\n",
    )
    const lines = (): number => readFileSync(statePaths(root).taskCache, 'utf8').trimEnd().split('\n').length
    expect(start('run').parsed).toBe(3)
    // The scan's three lines, then one for each file written (A's in-flight status is not kept:
    // another write always follows it).
    expect(lines()).toBe(1 + 3 + 2)
    const next = start('scan')
    expect(next.parsed).toBe(0)
    const fresh = ['A', 'B', 'C'].map((id) =>
      parseTask(readFileSync(join(root, 'tasks', `${id}.md`), 'utf8'), `tasks/${id}.md`),
    )
    expect(next.tasks).toEqual(JSON.parse(JSON.stringify(fresh)))
    expect(next.tasks.map((t) => t.status)).toEqual(['complete', 'failed', 'pending'])
    // That start wrote the cache again, one line a file; an edit by a person after the write is seen.
    expect(lines()).toBe(1 + 3)
    const a = join(root, 'tasks', 'A.md')
    writeFileSync(a, readFileSync(a, 'utf8').replace('Task A', 'Task A, edited'))
    const edited = start('scan')
    expect(edited.parsed).toBe(1)
    expect(edited.tasks[0]!.title).toBe('Task A, edited')
  }, 60_000)

  it('appends at most one line a file between scans; the later line of a file wins', () => {
    const root = project({ 'A.md': task('A'), 'B.md': task('B') })
    // A second between writes: each goes into a batch of its own.
    const start = starts(
      root,
      '  const batch = () => new Promise((resolve) => setTimeout(resolve, 1200))\n' +
        "  await source.update('A', { status: 'complete' })\n" +
        '  await batch()\n' +
        "  await source.update('A', { status: 'failed', failure: 'reviewed' })\n" +
        '  await batch()\n' +
        "  await source.update('B', { status: 'complete' })\n",
    )
    start('run')
    // Two files scanned: two lines appended at most (A's two batches), B's dropped.
    expect(readFileSync(statePaths(root).taskCache, 'utf8').trimEnd().split('\n')).toHaveLength(1 + 2 + 2)
    const next = start('scan')
    expect(next.parsed).toBe(1)
    expect(next.tasks.map((t) => t.status)).toEqual(['failed', 'complete'])
  }, 60_000)

  it('is off with TANUKI_TASK_CACHE=0: every start parses every file, and nothing is written', () => {
    const root = project({ 'A.md': task('A'), 'B.md': task('B') })
    process.env.TANUKI_TASK_CACHE = '0'
    try {
      expect(source(root).scan().parsed).toBe(2)
      expect(source(root).scan().parsed).toBe(2)
      expect(() => statSync(statePaths(root).taskCache)).toThrow()
    } finally {
      delete process.env.TANUKI_TASK_CACHE
    }
    expect(source(root).scan().parsed).toBe(2)
    expect(source(root).scan().parsed).toBe(0)
  })

  it('async scans (the parallel read included) use and fill the same cache', async () => {
    const files = Object.fromEntries(Array.from({ length: 600 }, (_, i) => [`T${i}.md`, task(`T${i}`)]))
    const root = project(files)
    const threaded = new FileTaskSource({ root, cacheFile: statePaths(root).taskCache, parseThreads: 1 })
    const first = await threaded.scanAsync()
    threaded.saveCache()
    expect(first.parsed).toBe(600)
    write(root, 'T7.md', task('T7').replace('Task T7', 'Task seven'))
    const second = await new FileTaskSource({
      root,
      cacheFile: statePaths(root).taskCache,
      parseThreads: 1,
    }).scanAsync()
    expect(second.parsed).toBe(1)
    expect(second.tasks).toHaveLength(600)
    expect(second.tasks.find((t) => t.id === 'T7')!.title).toBe('Task seven')
  }, 60_000)
})
