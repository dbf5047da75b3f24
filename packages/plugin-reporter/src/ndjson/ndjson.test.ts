import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { TanukiEvents } from '@tanuki/core'
import { loadFixture, replay } from '../../test/support.ts'
import { runScenario } from '../../test/scenario.ts'
import { createNdjsonReporter, ndjsonReporter } from './index.ts'

const events = loadFixture()
let dir: string
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tanuki-ndjson-'))
})
afterEach(async () => {
  await rm(dir, { recursive: true, force: true })
})

/** A `project:loaded` of `count` pending tasks without dependencies. */
function projectLoaded(count: number, at: number): TanukiEvents['project:loaded'] {
  const tasks = Array.from({ length: count }, (_, i) => ({
    id: `T-${i}`,
    title: `Task ${i}`,
    role: 'default',
    priority: 'medium' as const,
    status: 'pending' as const,
    dependsOn: [],
  }))
  return { total: count, ready: count, recovered: [], tasks, at }
}

function parseLines(text: string): Record<string, unknown>[] {
  expect(text.endsWith('\n')).toBe(true)
  return text
    .slice(0, -1)
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, unknown>)
}

describe('ndjson reporter', () => {
  it('writes every event as one JSON line, in order, none lost', async () => {
    const path = join(dir, 'nested', 'events.ndjson')
    await replay(createNdjsonReporter({ path }), events)
    const lines = parseLines(await readFile(path, 'utf8'))
    expect(lines).toHaveLength(events.length)
    lines.forEach((line, i) => {
      const { event, ...payload } = line
      expect(event).toBe(events[i]!.name)
      expect(payload).toEqual(events[i]!.payload)
    })
  })

  it('writes agents’ output in batches, soon and always before the next other event', async () => {
    const path = join(dir, 'events.ndjson')
    const reporter = createNdjsonReporter({ path })
    const output = (text: string) => ({ taskId: 'a', agent: 'a-1', iteration: 1, stream: 'stdout' as const, text })
    reporter.onEvent!('iteration:output', output('one\n'))
    reporter.onEvent!('iteration:output', output('two\n'))
    const lines = async () => {
      const text = await readFile(path, 'utf8').catch(() => '')
      return text === '' ? [] : parseLines(text).map((line) => line.text ?? line.event)
    }
    // Held for a moment…
    expect(await lines()).toEqual([])
    // …and written before the event that follows, in order, when the turn that reported it ends.
    reporter.onEvent!('task:completed', { taskId: 'a', agent: 'a-1', iterations: 1, durationMs: 5, at: 1 })
    await Promise.resolve()
    expect(await lines()).toEqual(['one\n', 'two\n', 'task:completed'])
    // Alone, output is on disk within its 50 ms.
    reporter.onEvent!('iteration:output', output('three\n'))
    await new Promise((resolve) => setTimeout(resolve, 150))
    expect((await lines()).at(-1)).toBe('three\n')
    reporter.onEvent!('iteration:output', output('four\n'))
    await reporter.onClose!()
    expect((await lines()).at(-1)).toBe('four\n')
  })

  it('keeps output of any size and alphabet whole and in order, however it is batched', async () => {
    const path = join(dir, 'events.ndjson')
    const reporter = createNdjsonReporter({ path })
    const texts = ['{"a":"b"}\n', '狸'.repeat(30_000), 'déjà vu\n', 'x'.repeat(300_000), '"\\\n', '✓'.repeat(50_000)]
    for (const text of texts)
      reporter.onEvent!('iteration:output', { taskId: 'a', agent: 'a-1', iteration: 1, stream: 'stdout', text })
    reporter.onEvent!('task:completed', { taskId: 'a', agent: 'a-1', iterations: 1, durationMs: 5, at: 1 })
    await reporter.onClose!()
    const lines = parseLines(await readFile(path, 'utf8'))
    expect(lines.map((line) => line.text ?? line.event)).toEqual([...texts, 'task:completed'])
  })

  it('has each line on disk as soon as its event is reported', async () => {
    const path = join(dir, 'events.ndjson')
    const reporter = createNdjsonReporter({ path })
    for (const [i, { name, payload }] of events.slice(0, 10).entries()) {
      await reporter.onEvent?.(name, payload)
      // Read while the reporter is still open, as a crash would leave it.
      expect(parseLines(await readFile(path, 'utf8'))).toHaveLength(i + 1)
    }
    await reporter.onClose?.()
  })

  it('writes the lines of one turn in one write, and those of a turn an uncaught error ends', async () => {
    const path = join(dir, 'events.ndjson')
    const reporter = createNdjsonReporter({ path })
    for (const { name, payload } of events.slice(0, 5)) reporter.onEvent?.(name, payload)
    // Nothing yet within the turn… (read synchronously: an `await` would end the turn, and an
    // async read could then see the turn's write, as it did on a loaded machine)
    expect(existsSync(path) ? readFileSync(path, 'utf8') : '').toBe('')
    await reporter.onClose?.()
    expect(parseLines(await readFile(path, 'utf8'))).toHaveLength(5)

    // A process that throws before its turn ends still has the turn's lines on disk.
    const script = join(dir, 'crash.mts')
    const module = new URL('./index.ts', import.meta.url).pathname
    await writeFile(
      script,
      `import { createNdjsonReporter } from ${JSON.stringify(module)}\n` +
        `const reporter = createNdjsonReporter({ path: ${JSON.stringify(join(dir, 'crash.ndjson'))} })\n` +
        "reporter.onEvent('task:queued', { taskId: 'a', role: 'default', at: 1 })\n" +
        "reporter.onEvent('task:assigned', { taskId: 'a', agent: 'a-1', at: 2 })\n" +
        "throw new Error('boom')\n",
    )
    const run = spawnSync(process.execPath, ['--import', 'tsx', script], { encoding: 'utf8' })
    expect(run.status).not.toBe(0)
    expect(run.stderr).toContain('boom')
    expect(parseLines(await readFile(join(dir, 'crash.ndjson'), 'utf8')).map((line) => line.event)).toEqual([
      'task:queued',
      'task:assigned',
    ])
  }, 60_000)

  it('writes a big project:loaded just after its turn, before every later line, and at an exit', async () => {
    const path = join(dir, 'events.ndjson')
    const reporter = createNdjsonReporter({ path })
    const loaded = projectLoaded(1500, 2)
    reporter.onEvent!('orchestrator:state', { from: 'stopped', to: 'starting', at: 1 })
    reporter.onEvent!('project:loaded', loaded)
    reporter.onEvent!('task:assigned', { taskId: 'T-0', agent: 'default-1', role: 'default', at: 3 })
    // The turn ends: the line before it is written, the big one and the one after it are not yet.
    await Promise.resolve()
    expect(parseLines(readFileSync(path, 'utf8')).map((line) => line.event)).toEqual(['orchestrator:state'])
    await new Promise((resolve) => setImmediate(resolve))
    const lines = parseLines(readFileSync(path, 'utf8'))
    expect(lines.map((line) => line.event)).toEqual(['orchestrator:state', 'project:loaded', 'task:assigned'])
    expect(lines[1]).toEqual({ event: 'project:loaded', ...loaded })
    await reporter.onClose!()

    // A process that exits before the next turn still writes it, in its place.
    const script = join(dir, 'exit.mts')
    const module = new URL('./index.ts', import.meta.url).pathname
    await writeFile(
      script,
      `import { createNdjsonReporter } from ${JSON.stringify(module)}\n` +
        `const reporter = createNdjsonReporter({ path: ${JSON.stringify(join(dir, 'exit.ndjson'))} })\n` +
        `reporter.onEvent('project:loaded', ${JSON.stringify(loaded)})\n` +
        "reporter.onEvent('task:assigned', { taskId: 'T-0', agent: 'a-1', at: 3 })\n" +
        'process.exit(0)\n',
    )
    const run = spawnSync(process.execPath, ['--import', 'tsx', script], { encoding: 'utf8' })
    expect(run.stderr).toBe('')
    expect(parseLines(await readFile(join(dir, 'exit.ndjson'), 'utf8')).map((line) => line.event)).toEqual([
      'project:loaded',
      'task:assigned',
    ])
  }, 60_000)

  it('reports a write that fails after its event at the next event, where the run reports it', async () => {
    const folder = join(dir, 'logs')
    const reporter = createNdjsonReporter({ path: join(folder, 'events.ndjson') })
    reporter.onEvent!('project:loaded', projectLoaded(1000, 1))
    // The log's folder is made a file before the line is written (synchronously: the write comes
    // on the next turn).
    writeFileSync(folder, 'not a folder')
    await new Promise((resolve) => setImmediate(resolve))
    expect(() =>
      reporter.onEvent!('task:assigned', { taskId: 'T-0', agent: 'default-1', role: 'default', at: 2 }),
    ).toThrow(/ndjson reporter cannot write/)
    // That event's own line fails at the end of its turn: reported by the next one, or at close.
    await Promise.resolve()
    expect(() => reporter.onClose!()).toThrow(/ndjson reporter cannot write/)
  })

  it('appends to the log of an earlier run unless asked to truncate', async () => {
    const path = join(dir, 'events.ndjson')
    await writeFile(path, `${JSON.stringify({ event: 'earlier' })}\n`)
    await replay(createNdjsonReporter({ path }), events.slice(0, 3))
    expect(parseLines(await readFile(path, 'utf8')).map((l) => l.event)).toEqual([
      'earlier',
      ...events.slice(0, 3).map((e) => e.name),
    ])
    await replay(createNdjsonReporter({ path, truncate: true }), events.slice(0, 2))
    expect(parseLines(await readFile(path, 'utf8'))).toHaveLength(2)
  })

  it('logs a live run into the state dir, as the plugin, with exactly the events emitted', async () => {
    const { events: emitted } = await runScenario({
      config: { plugins: [ndjsonReporter()] },
      project: { root: dir, stateDir: join(dir, '.state') },
    })
    const lines = parseLines(await readFile(join(dir, '.state', 'events.ndjson'), 'utf8'))
    expect(lines).toHaveLength(emitted.length)
    lines.forEach((line, i) => {
      const { event, ...payload } = line
      expect(event).toBe(emitted[i]!.name)
      expect(payload).toEqual(emitted[i]!.payload)
    })
    expect(lines.at(-1)).toMatchObject({ event: 'orchestrator:state', to: 'stopped' })
  })

  it('defaults to <root>/.tanuki/events.ndjson and refuses an unwritable path at setup', async () => {
    await runScenario({ config: { plugins: [ndjsonReporter()] }, project: { root: dir } })
    expect((await readFile(join(dir, '.tanuki', 'events.ndjson'), 'utf8')).length).toBeGreaterThan(0)
    await writeFile(join(dir, 'a-file'), '')
    await expect(
      runScenario({ config: { plugins: [ndjsonReporter({ path: 'a-file/events.ndjson' })] }, project: { root: dir } }),
    ).rejects.toThrow(/ndjson reporter cannot write .*a-file\/events\.ndjson/)
  })
})
