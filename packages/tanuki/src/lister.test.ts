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
import { markdownFiles, startLister, statKey, type Listing } from './lister.ts'
import { STATE_GITIGNORE, statePaths } from './paths.ts'

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

/** Every stat a listing gives, and the text of each file as its chunk comes (once taken, a text is gone). */
async function drain(listing: Listing): Promise<{ stats: string[]; texts: (string | undefined)[] }> {
  const stats: string[] = []
  const texts: (string | undefined)[] = []
  for await (const chunk of listing.stats()) {
    for (const stat of chunk) {
      texts.push(listing.text(stats.length))
      stats.push(stat)
    }
  }
  return { stats, texts }
}

describe('listing the task files on a worker thread', () => {
  it('finds the files and folders the main thread finds, in order, with the same stats', async () => {
    const dir = join(project(files), 'tasks')
    await settle()
    const folders: string[] = []
    const here = markdownFiles({ existsSync, readdirSync }, sep, dir, folders)
    expect(here.map((path) => path.slice(dir.length + 1))).toEqual(['a.md', 'api/c.md', 'api/deep/d.md', 'b.md'])
    const listing = await startLister(dir).listing
    expect(listing.files).toEqual(here)
    expect(listing.folders.sort()).toEqual(folders.sort())
    const stats: string[] = []
    for await (const chunk of listing.stats()) stats.push(...chunk)
    const now = Date.now()
    expect(stats).toEqual(
      here.map((path) => {
        const s = statSync(path)
        return statKey(s.size, s.mtimeMs, s.ctimeMs, s.ino, now)
      }),
    )
    expect(stats.every((stat) => stat !== '')).toBe(true)
  })

  it('reads the files when asked (a first start): their texts once each, with the stats of the open files', async () => {
    const root = project({ ...files, 'api/latin1.md': '' })
    const dir = join(root, 'tasks')
    // Not UTF-8: left to the main thread, which says why.
    writeFileSync(join(dir, 'api', 'latin1.md'), Buffer.from('---\nid: x\ntitle: caf\xe9\n---\n', 'latin1'))
    utimesSync(join(dir, 'api', 'latin1.md'), new Date(Date.now() - 60_000), new Date(Date.now() - 60_000))
    await settle()
    const listing = await startLister(dir, undefined, { read: true }).listing
    expect(listing.files.map((path) => path.slice(dir.length + 1))).toEqual([
      'a.md',
      'api/c.md',
      'api/deep/d.md',
      'api/latin1.md',
      'b.md',
    ])
    const { stats, texts } = await drain(listing)
    const now = Date.now()
    listing.files.forEach((path, i) => {
      if (path.endsWith('latin1.md')) {
        expect(texts[i]).toBeUndefined()
        expect(stats[i]).toBe('')
        return
      }
      expect(texts[i]).toBe(readFileSync(path, 'utf8'))
      const s = statSync(path)
      expect(stats[i]).toBe(statKey(s.size, s.mtimeMs, s.ctimeMs, s.ino, now))
    })
    // Given once: the text is not kept after it was taken.
    expect(listing.text(0)).toBeUndefined()
  })

  it('stops reading past its byte budget, and only stats the rest', async () => {
    const dir = join(project(files), 'tasks')
    await settle()
    const listing = await startLister(dir, undefined, { read: true, readBytes: 1 }).listing
    const { stats, texts } = await drain(listing)
    const now = Date.now()
    expect(texts).toEqual([readFileSync(listing.files[0]!, 'utf8'), undefined, undefined, undefined])
    expect(stats).toEqual(
      listing.files.map((path) => {
        const s = statSync(path)
        return statKey(s.size, s.mtimeMs, s.ctimeMs, s.ino, now)
      }),
    )
  })

  it('lists nothing for a folder that does not exist, and stats nothing', async () => {
    const listing = await startLister(join(tmpdir(), 'tanuki-lister-none', 'tasks')).listing
    expect(listing.files).toEqual([])
    const chunks: string[][] = []
    for await (const chunk of listing.stats()) chunks.push(chunk)
    expect(chunks).toEqual([])
  })

  it('runs when the code is compiled keeping function names (tsx), as it is when run from source', () => {
    const dir = join(project(files), 'tasks')
    const script = join(dir, '..', 'list.mts')
    writeFileSync(
      script,
      `import { startLister } from ${JSON.stringify(new URL('./lister.ts', import.meta.url).pathname)}\n` +
        `const listing = await startLister(${JSON.stringify(dir)}).listing\n` +
        'let stats = 0\n' +
        'for await (const chunk of listing.stats()) stats += chunk.length\n' +
        'console.log(listing.files.length, stats)\n',
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

  it('reads the task cache first when given it, and hands its bytes over; none when there is no cache', async () => {
    const root = project(files)
    const cacheFile = statePaths(root).taskCache
    const none = startLister(join(root, 'tasks'), cacheFile)
    expect(await none.cache).toBeNull()
    expect((await none.listing).files).toHaveLength(4)
    const source = new FileTaskSource({ root, cacheFile })
    source.scan()
    source.saveCache()
    const lister = startLister(join(root, 'tasks'), cacheFile)
    const bytes = await lister.cache
    expect(bytes?.equals(readFileSync(cacheFile))).toBe(true)
    const listing = await lister.listing
    let stats = 0
    for await (const chunk of listing.stats()) stats += chunk.length
    expect(stats).toBe(4)
  })
})
