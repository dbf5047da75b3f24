import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { emptyRunState } from '@tanuki/core'
import { FileJournal, appendDurably, openJournal, readJournal } from './journal.ts'

const dirs: string[] = []
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})
function journalPath(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tanuki-journal-'))
  dirs.push(dir)
  return join(dir, 'journal.ndjson')
}
const lines = (path: string): string[] => readFileSync(path, 'utf8').split('\n').filter(Boolean)

describe('FileJournal', () => {
  it('group commits: everything appended in one turn goes out in one write', async () => {
    const path = journalPath()
    const journal = openJournal(path)
    for (let i = 0; i < 100; i++) journal.append({ t: 'task', id: `t${i}`, status: 'complete' })
    await journal.flush()
    expect(journal.writes).toBe(1)
    journal.append({ t: 'task', id: 't0', status: 'pending' })
    await new Promise((done) => setImmediate(done))
    await journal.flush()
    expect(journal.writes).toBe(2)
    await journal.close()
    expect(lines(path)).toHaveLength(101)
    expect(openJournal(path).load().tasks.t0?.status).toBe('pending')
  })

  it('group commits across turns: what is appended while a write is under way goes out in the next one', async () => {
    const path = journalPath()
    const journal = openJournal(path)
    // One record a turn, as agents finishing one after another make them.
    for (let i = 0; i < 50; i++) {
      journal.append({ t: 'task', id: `t${i}`, status: 'complete' })
      await new Promise((done) => setImmediate(done))
    }
    await journal.flush()
    // Each write waits for the one before it; the turns meanwhile share the next write.
    expect(journal.writes).toBeLessThan(50)
    expect(journal.writes).toBeGreaterThan(0)
    await journal.close()
    expect(lines(path)).toHaveLength(50)
    expect(Object.keys(openJournal(path).load().tasks)).toHaveLength(50)
  })

  it('flush waits for a record appended while a write is under way', async () => {
    const path = journalPath()
    const journal = openJournal(path)
    journal.append({ t: 'task', id: 'a', status: 'complete' })
    const first = journal.flush()
    journal.append({ t: 'task', id: 'b', status: 'failed' })
    await journal.flush()
    await first
    expect(readJournal(path).state.tasks.b?.status).toBe('failed')
    await journal.close()
  })

  it('drops a torn last line, and what is appended next starts on a line of its own', async () => {
    const path = journalPath()
    writeFileSync(path, '{"t":"task","id":"a","status":"complete"}\n{"t":"task","id":"b","sta')
    expect(readJournal(path)).toMatchObject({ torn: 25, skipped: 0 })
    const journal = openJournal(path)
    expect(journal.load().tasks).toEqual({ a: { status: 'complete', iterations: 0, attempts: 0 } })
    journal.append({ t: 'task', id: 'b', status: 'failed' })
    await journal.close()
    expect(lines(path)).toEqual([
      '{"t":"task","id":"a","status":"complete"}',
      '{"t":"task","id":"b","status":"failed"}',
    ])
  })

  it('compacts into a snapshot plus its tail, and the state reads back the same', async () => {
    const path = journalPath()
    const journal = openJournal(path, { compactAfter: 10 })
    for (let i = 0; i < 25; i++) {
      journal.append({ t: 'task', id: `t${i % 3}`, status: i % 2 ? 'complete' : 'pending', iterations: i })
      await journal.flush()
    }
    journal.append({ t: 'park', key: 'claude:KEY', until: 5, reason: 'limit' })
    await journal.close()
    const kept = lines(path)
    expect(kept.length).toBeLessThan(10)
    expect(JSON.parse(kept[0]!).t).toBe('snapshot')
    expect(readJournal(path).state).toEqual(journal.load())
    expect(journal.load().tasks.t0).toEqual({ status: 'pending', iterations: 24, attempts: 0 })
  })

  it('a write that fails (a full disk) is an error, and so is every flush after it', async () => {
    const path = journalPath()
    // /dev/full answers every write with ENOSPC, as a full disk does, even for root.
    symlinkSync('/dev/full', path)
    const journal = new FileJournal(path, { state: emptyRunState(), tail: 0, torn: 0, skipped: 0 })
    journal.append({ t: 'task', id: 'a', status: 'complete' })
    await expect(journal.flush()).rejects.toMatchObject({
      code: 'TANUKI_STATE_WRITE',
      message: expect.stringContaining('ENOSPC'),
    })
    journal.append({ t: 'task', id: 'b', status: 'complete' })
    await expect(journal.flush()).rejects.toMatchObject({ code: 'TANUKI_STATE_WRITE' })
  })

  it('appendDurably adds records for commands run while no orchestrator runs', () => {
    const path = journalPath()
    writeFileSync(path, '{"t":"task","id":"a","status":"complete"}\n{"t":"ta')
    appendDurably(path, [{ t: 'task', id: 'a', status: 'pending', attempts: 0 }])
    expect(readJournal(path)).toMatchObject({ torn: 0, state: { tasks: { a: { status: 'pending' } } } })
  })
})
