import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { FileTaskSource } from './file-source.ts'
import { STATE_GITIGNORE, statePaths } from './paths.ts'
import { prescan, takePrescan } from './prescan.ts'

const dirs: string[] = []
const saved = { list: process.env.TANUKI_LIST_THREAD, cache: process.env.TANUKI_TASK_CACHE }
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
  for (const [name, value] of [
    ['TANUKI_LIST_THREAD', saved.list],
    ['TANUKI_TASK_CACHE', saved.cache],
  ] as const) {
    if (value === undefined) delete process.env[name]
    else process.env[name] = value
  }
  // Nothing left for the next test.
  takePrescan('', '')
})

const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 2100))

/**
 * A project whose task cache is large (over a megabyte) as a project of thousands of files has:
 * three files, and a line the cache skips (no tabs) to make up the size.
 */
async function project(): Promise<{ root: string; tasks: string; cacheFile: string }> {
  const root = mkdtempSync(join(tmpdir(), 'tanuki-prescan-'))
  dirs.push(root)
  mkdirSync(join(root, '.tanuki'), { recursive: true })
  writeFileSync(join(root, '.tanuki', '.gitignore'), STATE_GITIGNORE)
  const past = new Date(Date.now() - 60_000)
  for (const id of ['a', 'b', 'c']) {
    const path = join(root, 'tasks', `${id}.md`)
    mkdirSync(join(path, '..'), { recursive: true })
    writeFileSync(path, `---\nid: ${id}\ntitle: Task ${id}\ncompletion:\n  verify: "true"\n---\nDo ${id}.\n`)
    utimesSync(path, past, past)
  }
  await settle()
  const cacheFile = statePaths(root).taskCache
  const source = new FileTaskSource({ root, cacheFile })
  source.scan()
  source.saveCache()
  appendFileSync(cacheFile, `${'x'.repeat(1 << 20)}\n`)
  return { root, tasks: join(root, 'tasks'), cacheFile }
}

describe('the scan the CLI starts before it loads (prescan)', () => {
  it('starts for `project start` and `project resume` with a large cache, at --cwd; taken once, by that folder only', async () => {
    const { root, tasks, cacheFile } = await project()
    prescan(['project', 'start', '--cwd', root])
    expect(takePrescan(join(root, 'elsewhere'), cacheFile)).toBeUndefined()
    // A wrong guess is dropped: the source then scans on its own.
    expect(takePrescan(tasks, cacheFile)).toBeUndefined()

    prescan(['--cwd', relative(process.cwd(), root), 'project', 'resume', '--quiet'])
    const scan = takePrescan(tasks, cacheFile)
    expect(scan).toBeDefined()
    expect(takePrescan(tasks, cacheFile)).toBeUndefined()
    const listing = await scan!.listing
    expect((await scan!.cache)?.length).toBeGreaterThan(1 << 20)
    expect(listing.files.map((path) => relative(tasks, path))).toEqual(['a.md', 'b.md', 'c.md'])
    const stats: string[] = []
    for await (const chunk of listing.stats()) stats.push(...chunk)
    expect(stats).toHaveLength(3)
    expect(stats.every((stat) => stat !== '')).toBe(true)

    prescan([`--cwd=${root}`, 'project', 'start'])
    expect(takePrescan(tasks, cacheFile)).toBeDefined()
  })

  it('does not start for other commands, a small cache, or with the worker or the cache turned off', async () => {
    const { root, tasks, cacheFile } = await project()
    for (const argv of [
      ['project', 'status', '--cwd', root],
      ['task', 'list', '--cwd', root],
      ['--cwd', root, 'land'],
      ['--cwd', root, '--', 'project', 'start'],
    ]) {
      prescan(argv)
      expect(takePrescan(tasks, cacheFile), argv.join(' ')).toBeUndefined()
    }
    process.env.TANUKI_LIST_THREAD = '0'
    prescan(['project', 'start', '--cwd', root])
    expect(takePrescan(tasks, cacheFile)).toBeUndefined()
    process.env.TANUKI_LIST_THREAD = '1'
    process.env.TANUKI_TASK_CACHE = '0'
    prescan(['project', 'start', '--cwd', root])
    expect(takePrescan(tasks, cacheFile)).toBeUndefined()
    delete process.env.TANUKI_TASK_CACHE
    writeFileSync(cacheFile, readFileSync(cacheFile, 'latin1').split('\n').slice(0, 4).join('\n'))
    prescan(['project', 'start', '--cwd', root])
    expect(takePrescan(tasks, cacheFile)).toBeUndefined()
  })

  it('reads the files on the worker for a first start (no cache): the same tasks and problems as a scan of its own', async () => {
    const { root, tasks, cacheFile } = await project()
    rmSync(cacheFile)
    writeFileSync(join(tasks, 'bad.md'), '---\nid: bad one\ntitle: Bad\n---\nNo.\n')
    writeFileSync(join(tasks, 'latin1.md'), Buffer.from('---\nid: x\ntitle: caf\xe9\n---\n', 'latin1'))
    const alone = new FileTaskSource({ root }).scan()
    expect(alone.errors).toHaveLength(2)
    prescan(['project', 'start', '--cwd', root])
    const source = new FileTaskSource({ root, cacheFile })
    const early = await source.scanAsync()
    expect(early.listedOnWorker).toBe(true)
    // Every file but the one that is not UTF-8, which cannot be read as text.
    expect(early.parsed).toBe(4)
    expect(early.tasks).toEqual(alone.tasks)
    expect(early.errors.map((error) => [error.code, error.message])).toEqual(
      alone.errors.map((error) => [error.code, error.message]),
    )
    // What it parsed is cached: the next start parses only the file with a problem again.
    source.saveCache()
    const next = new FileTaskSource({ root, cacheFile }).scan()
    expect(next.tasks).toEqual(alone.tasks)
    expect(next.parsed).toBe(1)
  })

  it("gives the task source the worker's listing: the same tasks as a scan of its own", async () => {
    const { root, cacheFile } = await project()
    const alone = new FileTaskSource({ root, cacheFile }).scan()
    prescan(['project', 'start', '--cwd', root])
    // Set after the prescan: on its own, the source would now scan on this thread.
    process.env.TANUKI_LIST_THREAD = '0'
    const early = await new FileTaskSource({ root, cacheFile }).scanAsync()
    expect(early.listedOnWorker).toBe(true)
    expect(early.parsed).toBe(0)
    expect(early.errors).toEqual([])
    expect(early.tasks).toEqual(alone.tasks)
  })

  it('reads the file of a cached task that is not JSON: one bad line costs one file, not the scan', async () => {
    const { root, cacheFile } = await project()
    const alone = new FileTaskSource({ root, cacheFile }).scan()
    const lines = readFileSync(cacheFile, 'latin1').split('\n')
    const b = lines.findIndex((line) => line.startsWith(JSON.stringify(join(root, 'tasks', 'b.md'))))
    lines[b] = `${lines[b]!.slice(0, lines[b]!.lastIndexOf('\t') + 1)}{"id": "b", cut short`
    writeFileSync(cacheFile, lines.join('\n'))
    prescan(['project', 'start', '--cwd', root])
    const source = new FileTaskSource({ root, cacheFile })
    const early = await source.scanAsync()
    expect(early.listedOnWorker).toBe(true)
    expect(early.parsed).toBe(1)
    expect(early.tasks).toEqual(alone.tasks)
    // The cache written then has b's line mended between the two kept as they were.
    source.saveCache()
    const written = readFileSync(cacheFile, 'latin1').trimEnd().split('\n')
    expect(written.slice(1).map((line) => JSON.parse(line.split('\t')[0]!))).toEqual(
      ['a', 'b', 'c'].map((id) => join(root, 'tasks', `${id}.md`)),
    )
    const again = new FileTaskSource({ root, cacheFile }).scan()
    expect(again.parsed).toBe(0)
    expect(again.tasks).toEqual(alone.tasks)
  })

  it('lists again when a folder changed after the early listing (a config that writes task files)', async () => {
    const { root, tasks, cacheFile } = await project()
    prescan(['project', 'start', '--cwd', root])
    // Time for the worker to list (it does so at once) before the new file comes.
    await new Promise((resolve) => setTimeout(resolve, 1000))
    writeFileSync(join(tasks, 'd.md'), '---\nid: d\ntitle: Task d\ncompletion:\n  verify: "true"\n---\nDo d.\n')
    const scanned = await new FileTaskSource({ root, cacheFile }).scanAsync()
    expect(scanned.tasks.map((task) => task.id)).toEqual(['a', 'b', 'c', 'd'])
    expect(scanned.listedOnWorker).toBe(false)
  })
})
