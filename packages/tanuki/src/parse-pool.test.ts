import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import type { TanukiError } from '@tanuki/core'
import { FileTaskSource } from './file-source.ts'
import { PARALLEL_PARSE_MIN_FILES, parseThreads, readTaskFiles } from './parse-pool.ts'

const dirs: string[] = []
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

// Thousands of files, read twice, and workers that compile TypeScript as they start: slow on a busy machine.
/** 3,000 task files in a few folders, every 97th one broken in its own way. */
function project(): string {
  const root = mkdtempSync(join(tmpdir(), 'tanuki-parse-pool-'))
  dirs.push(root)
  const broken = [
    (id: string) => `---\nid: ${id}\ntitle: Bad priority\npriority: urgent\n---\n`,
    (id: string) => `---\nid: ${id}\ntitle: [unclosed\n---\n`,
    () => `---\ntitle: No id\n---\n`,
    (id: string) => `---\nid: ${id}\ntitle: Bad max\ncompletion:\n  max_iterations: -1\n---\n`,
    () => `---\nid: T-0001\ntitle: Duplicate of the first\n---\n`,
    (id: string) => `---\nid: ${id}\ntitle: Unknown dependency is fine here\ndepends_on: [NOPE]\n---\n`,
    () => 'no front matter at all\n',
  ]
  for (let i = 1; i <= 3000; i++) {
    const id = `T-${String(i).padStart(4, '0')}`
    const folder = join(root, '.tanuki', 'tasks', `part-${i % 7}`)
    mkdirSync(folder, { recursive: true })
    const text =
      i % 97 === 0
        ? broken[(i / 97) % broken.length]!(id)
        : `---\nid: ${id}\ntitle: Task ${i}\nrole: r${i % 5}\npriority: ${['low', 'high'][i % 2]}\n` +
          `depends_on: [${i > 1 ? `T-${String(i - 1).padStart(4, '0')}` : ''}]\ntags: [a, b]\nowner: someone # kept\n` +
          `completion:\n  verify: "test -f out-${i}"\n  signal: DONE\n---\nBody of ${i}, ünïcödé.\n`
    writeFileSync(join(folder, `${id}.md`), text)
  }
  // Bytes that are not UTF-8.
  writeFileSync(
    join(root, '.tanuki', 'tasks', 'part-1', 'latin1.md'),
    Buffer.from('---\nid: L\ntitle: caf\xe9\n---\n', 'latin1'),
  )
  return root
}

const facts = (errors: TanukiError[]) =>
  errors.map((error) => ({ code: error.code, message: error.message, details: error.details }))

describe('reading task files in parallel', () => {
  it('gives the same tasks and the same problems (file, field) as reading them one by one', async () => {
    const root = project()
    const one = new FileTaskSource({ root, parseThreads: 0 })
    const alone = one.scan()
    const pooled = new FileTaskSource({ root, parseThreads: 2 })
    const parallel = await pooled.scanAsync()

    expect(alone.tasks.length).toBeGreaterThan(2900)
    expect(alone.errors.length).toBeGreaterThan(20)
    expect(parallel.tasks).toEqual(alone.tasks)
    expect(facts(parallel.errors)).toEqual(facts(alone.errors))
    expect(facts(parallel.errors).map((e) => e.code)).toEqual(
      expect.arrayContaining(['TANUKI_TASK_INVALID', 'TANUKI_TASK_DUPLICATE']),
    )
    expect(parallel.errors.some((e) => e.message.includes('latin1.md') && e.message.includes('not UTF-8'))).toBe(true)
    expect(parallel.errors.some((e) => e.message.includes('"priority"'))).toBe(true)
    // The source knows every file either way: status writes and the watcher depend on it.
    for (const task of alone.tasks.slice(0, 50)) expect(pooled.pathOf(task.id)).toBe(one.pathOf(task.id))
  }, 60_000)

  it('shares the files out between the main thread and the workers, in order', async () => {
    const root = project()
    const source = new FileTaskSource({ root, parseThreads: 0 })
    const { tasks } = source.scan()
    const files = tasks.map((task) => [source.pathOf(task.id)!, task.source!] as const)
    const counts = { main: 0, workers: 0 }
    const read = await readTaskFiles(files, 1, counts)
    expect(counts.workers).toBeGreaterThanOrEqual(1)
    expect(counts.main + counts.workers).toBe(Math.ceil(files.length / 256))
    expect(read.map((file) => ('task' in file ? file.task : file.error))).toEqual(tasks)
  }, 60_000)

  it('is used from a few thousand files and 4 CPUs on, unless TANUKI_PARSE_THREADS says otherwise', () => {
    expect(parseThreads(PARALLEL_PARSE_MIN_FILES, undefined, 8)).toBe(7)
    expect(parseThreads(PARALLEL_PARSE_MIN_FILES - 1, undefined, 8)).toBe(0)
    expect(parseThreads(100_000, undefined, 2)).toBe(0)
    expect(parseThreads(10, '3', 2)).toBe(3)
    expect(parseThreads(100_000, '0', 8)).toBe(0)
    expect(parseThreads(100_000, 'lots', 8)).toBe(7)
  })
})
