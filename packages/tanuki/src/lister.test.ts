import { spawnSync } from 'node:child_process'
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join, sep } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { FileTaskSource } from './file-source.ts'
import { markdownFiles, parserKey, scanOnWorker, statKey } from './lister.ts'
import { STATE_GITIGNORE, statePaths } from './paths.ts'
import { textHash } from './task-file.ts'

const dirs: string[] = []
const setting = process.env.TANUKI_LIST_THREAD
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
  if (setting === undefined) delete process.env.TANUKI_LIST_THREAD
  else process.env.TANUKI_LIST_THREAD = setting
})

/** A file's change time cannot be set back: past two seconds, its stat says something (`statKey`). */
const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 2100))

const task = (id: string): string =>
  `---\nid: ${id}\ntitle: Task ${id}\ncompletion:\n  verify: "true"\n---\nDo ${id}.\n`

/** A project with a state folder and task files, nested and hidden ones among them, dated a minute ago. */
function project(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'tanuki-lister-'))
  dirs.push(root)
  mkdirSync(join(root, '.tanuki'), { recursive: true })
  writeFileSync(join(root, '.tanuki', '.gitignore'), STATE_GITIGNORE)
  const past = new Date(Date.now() - 60_000)
  for (const [name, text] of Object.entries(files)) {
    const path = join(root, 'tasks', name)
    mkdirSync(join(path, '..'), { recursive: true })
    writeFileSync(path, text)
    utimesSync(path, past, past)
  }
  return root
}

const files = {
  'b.md': task('b'),
  'a.md': task('a'),
  'api/c.md': task('c'),
  'api/deep/d.md': task('d'),
  '.hidden/e.md': task('e'),
  'api/.drafts/f.md': task('f'),
  '.g.md': task('g'),
  'notes.txt': 'not a task',
}

describe('scanning the task files on a worker thread', () => {
  it('finds the files and folders the main thread finds, in order, with the same stats', async () => {
    const root = project(files)
    const dir = join(root, 'tasks')
    await settle()
    const folders: string[] = []
    const here = markdownFiles({ existsSync, readdirSync }, sep, dir, folders)
    expect(here.map((path) => path.slice(dir.length + 1))).toEqual(['a.md', 'api/c.md', 'api/deep/d.md', 'b.md'])
    // No cache yet: every file is changed, with its stat.
    const scanned = await scanOnWorker(dir, statePaths(root).taskCache)
    expect(scanned.files).toEqual(here)
    expect(scanned.folders.sort()).toEqual(folders.sort())
    expect(scanned.cache).toBeUndefined()
    expect([...scanned.changed]).toEqual([0, 1, 2, 3])
    const now = Date.now()
    expect(scanned.stats).toEqual(
      here.map((path) => {
        const s = statSync(path)
        return statKey(s.size, s.mtimeMs, s.ctimeMs, s.ino, now)
      }),
    )
    expect(scanned.stats.every((stat) => stat !== '')).toBe(true)
  })

  it('lists nothing for a folder that does not exist, and stats nothing', async () => {
    const scanned = await scanOnWorker(join(tmpdir(), 'tanuki-lister-none', 'tasks'), join(tmpdir(), 'tanuki-none'))
    expect(scanned.files).toEqual([])
    expect([...scanned.changed]).toEqual([])
  })

  it('hands over the tasks of the files whose stat the cache recorded, as one JSON array, and names the others', async () => {
    const root = project(files)
    await settle()
    const cacheFile = statePaths(root).taskCache
    const plain = new FileTaskSource({ root, cacheFile })
    const alone = plain.scan()
    plain.saveCache()
    writeFileSync(join(root, 'tasks', 'api', 'c.md'), task('c').replace('Task c', 'Task c, renamed'))
    const scanned = await scanOnWorker(join(root, 'tasks'), cacheFile)
    // api/c.md (the second file) was just written: its stat proves nothing, and it is read again.
    expect([...scanned.changed]).toEqual([1])
    expect(scanned.stats).toEqual([''])
    expect(scanned.cache?.count).toBe(4)
    // Each unchanged file's hash, then its task.
    const kept = alone.tasks.filter((t) => t.id !== 'c')
    expect([...scanned.cache!.ends]).toEqual([scanned.cache!.tasks.length])
    expect(JSON.parse(scanned.cache!.tasks.toString('latin1'))).toEqual(
      kept.flatMap((t) => [textHash(readFileSync(join(root, t.source!), 'utf8')), { ...t }]),
    )
    // Another parser's cache (a rebuilt or upgraded Tanuki) is not used at all.
    const foreign = await scanOnWorker(join(root, 'tasks'), cacheFile, JSON.stringify('another parser'))
    expect(foreign.cache).toBeUndefined()
    expect([...foreign.changed]).toEqual([0, 1, 2, 3])
    expect(parserKey()).toBe(readFileSync(cacheFile, 'latin1').split('\n')[0])
  })

  it('runs when the code is compiled keeping function names (tsx), as it is when run from source', () => {
    const root = project(files)
    const dir = join(root, 'tasks')
    const script = join(dir, '..', 'list.mts')
    writeFileSync(
      script,
      `import { scanOnWorker } from ${JSON.stringify(new URL('./lister.ts', import.meta.url).pathname)}\n` +
        `const scanned = await scanOnWorker(${JSON.stringify(dir)}, ${JSON.stringify(statePaths(root).taskCache)})\n` +
        'console.log(scanned.files.length, scanned.changed.length)\n',
    )
    const run = spawnSync(process.execPath, ['--import', 'tsx', script], { encoding: 'utf8' })
    expect(run.stderr).toBe('')
    expect(run.stdout.trim()).toBe('4 4')
  }, 60_000)

  it("gives a scan the tasks of the main thread's scan, uses the cache and sees a file changed since", async () => {
    const root = project(files)
    await settle()
    const cacheFile = statePaths(root).taskCache
    const plain = new FileTaskSource({ root, cacheFile })
    const alone = plain.scan()
    plain.saveCache()
    expect(alone.parsed).toBe(4)
    process.env.TANUKI_LIST_THREAD = '1'
    const listed = await new FileTaskSource({ root, cacheFile }).scanAsync()
    expect(listed.listedOnWorker).toBe(true)
    expect(listed.parsed).toBe(0)
    expect(listed.tasks).toEqual(alone.tasks)
    expect(listed.errors).toEqual([])
    writeFileSync(join(root, 'tasks', 'api', 'c.md'), task('c').replace('Task c', 'Task c, renamed'))
    const changed = await new FileTaskSource({ root, cacheFile }).scanAsync()
    expect(changed.parsed).toBe(1)
    expect(changed.tasks.find((t) => t.id === 'c')?.title).toBe('Task c, renamed')
  })

  it('hands the tasks over in pieces of at most 64 KB, which the scan puts back in order', async () => {
    const many: Record<string, string> = {}
    for (let i = 0; i < 300; i++)
      many[`t${String(i).padStart(3, '0')}.md`] = task(`t${i}`).replace('Do', 'x'.repeat(400))
    const root = project(many)
    await settle()
    const cacheFile = statePaths(root).taskCache
    const plain = new FileTaskSource({ root, cacheFile })
    const alone = plain.scan()
    plain.saveCache()
    const scanned = await scanOnWorker(join(root, 'tasks'), cacheFile)
    const { tasks, ends } = scanned.cache!
    expect(ends.length).toBeGreaterThan(1)
    let start = 0
    const pieces = [...ends].map((end) => {
      expect(end - start).toBeLessThanOrEqual(1 << 16)
      return JSON.parse(tasks.toString('latin1', start, (start = end)))
    })
    expect(pieces.flat().filter((_: unknown, i: number) => i % 2 === 1)).toEqual(alone.tasks)
    process.env.TANUKI_LIST_THREAD = '1'
    const listed = await new FileTaskSource({ root, cacheFile }).scanAsync()
    expect(listed.listedOnWorker).toBe(true)
    expect(listed.parsed).toBe(0)
    expect(listed.tasks).toEqual(alone.tasks)
  })
})
