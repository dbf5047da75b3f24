import { readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { removeTempDirs, tempDir } from '../../test/support/repo.ts'
import { PID_WIDTH, readPidFile, writePidFile } from './pid-file.ts'

afterEach(removeTempDirs)

describe('pid files', () => {
  it('are made once, then written in place: the pid, then blanks', () => {
    const file = join(tempDir('tanuki-pid-file-'), 'agent.pid')
    expect(readPidFile(file)).toBeUndefined()
    writePidFile(file, 4194304)
    const inode = statSync(file).ino
    expect(readFileSync(file, 'utf8')).toBe(`4194304${' '.repeat(PID_WIDTH - 7)}\n`)
    expect(readPidFile(file)).toBe(4194304)
    // A shorter pid covers the longer one before it.
    writePidFile(file, 42)
    expect(readPidFile(file)).toBe(42)
    expect(readFileSync(file, 'utf8')).toBe(`42${' '.repeat(PID_WIDTH - 2)}\n`)
    writePidFile(file, undefined)
    expect(readFileSync(file, 'utf8')).toBe(`${' '.repeat(PID_WIDTH)}\n`)
    expect(readPidFile(file)).toBeUndefined()
    expect(statSync(file).ino).toBe(inode)
  })

  it('read as earlier versions wrote them, and say nothing of what is not a pid', () => {
    const file = join(tempDir('tanuki-pid-file-'), 'agent.pid')
    writeFileSync(file, '1234\n')
    expect(readPidFile(file)).toBe(1234)
    for (const text of ['', '\n', 'x\n', '0\n', '-5\n']) {
      writeFileSync(file, text)
      expect(readPidFile(file)).toBeUndefined()
    }
  })

  it('throw when their folder is gone', () => {
    expect(() => writePidFile(join(tempDir('tanuki-pid-file-'), 'gone', 'agent.pid'), 1)).toThrow(/ENOENT/)
  })
})
