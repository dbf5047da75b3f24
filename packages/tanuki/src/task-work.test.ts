import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { tellingLines } from '@tanuki/core'
import { afterEach, describe, expect, it } from 'vitest'
import { tapRun1 } from '../../core/test/fixtures/node-test-tap.ts'
import { iterationLog, statePaths, taskLogDir } from './paths.ts'
import { lastFailedVerify, lastLanding } from './task-work.ts'

const dirs: string[] = []
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

describe('what `task show` says of a failed verify and a failed landing', () => {
  it("the last verify of a task's logs, when it failed: its header and core's telling lines of its output", () => {
    const paths = statePaths(mkdtempSync(join(tmpdir(), 'tanuki-task-work-')))
    dirs.push(paths.root)
    mkdirSync(taskLogDir(paths, 'T'), { recursive: true })
    writeFileSync(iterationLog(paths, 'T', 1), '## Agent\nworked\n\n## Verify: `npm test` exited 0\nall good\n')
    writeFileSync(iterationLog(paths, 'T', 2), `## Agent\nworked\n\n## Verify: \`node --test\` exited 1\n${tapRun1}`)
    const verify = lastFailedVerify(paths, 'T')
    expect(verify).toEqual({
      log: iterationLog(paths, 'T', 2),
      what: '`node --test` exited 1',
      lines: tellingLines(tapRun1),
    })
    expect(verify?.lines).toContain('not ok 3 - slugify joins words with one dash')
    // The latest passed: nothing failed to show.
    writeFileSync(iterationLog(paths, 'T', 3), '## Agent\nfixed it\n\n## Verify: `node --test` exited 0\n')
    expect(lastFailedVerify(paths, 'T')).toBeUndefined()
  })

  it('the last landing: the gate, its exit and the telling lines of what it printed', () => {
    const said = lastLanding({ kind: 'gate', command: 'node --test', exitCode: 1, output: tapRun1 })
    expect(said?.what).toBe('`node --test` exited 1 on the combined work; it printed')
    expect(said?.lines).toEqual(tellingLines(tapRun1))
    expect(lastLanding(undefined)).toBeUndefined()
  })

  it('a gate that printed nothing (`test -f x`): its exit code, and that it printed nothing, in words', () => {
    for (const output of ['', '\n  \n'])
      expect(lastLanding({ kind: 'gate', command: 'test -f x', exitCode: 1, output })).toEqual({
        what: '`test -f x` exited 1 on the combined work (the command printed nothing)',
        lines: [],
      })
    expect(lastLanding({ kind: 'gate', command: 'test -f x', exitCode: null, output: '' })?.what).toBe(
      '`test -f x` exited without a code on the combined work (the command printed nothing)',
    )
  })

  it('a silent verify in the logs: its header, and no lines to quote', () => {
    const paths = statePaths(mkdtempSync(join(tmpdir(), 'tanuki-task-work-')))
    dirs.push(paths.root)
    mkdirSync(taskLogDir(paths, 'T'), { recursive: true })
    writeFileSync(iterationLog(paths, 'T', 1), '## Agent\nworked\n\n## Verify: `test -f x` exited 1\n\n\n')
    expect(lastFailedVerify(paths, 'T')).toEqual({
      log: iterationLog(paths, 'T', 1),
      what: '`test -f x` exited 1',
      lines: [],
    })
  })
})
