import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { findProgram } from './find-program.ts'

describe('findProgram', () => {
  let dir: string
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tanuki-find-program-'))
    mkdirSync(join(dir, 'a'))
    mkdirSync(join(dir, 'b'))
    writeFileSync(join(dir, 'a', 'tool'), 'not a program\n', { mode: 0o644 })
    writeFileSync(join(dir, 'b', 'tool'), '#!/bin/sh\n', { mode: 0o755 })
  })
  afterEach(() => rmSync(dir, { recursive: true, force: true }))

  it('goes on past a file it may not run, as execvp does', () => {
    const path = [join(dir, 'a'), join(dir, 'b')].join(':')
    expect(findProgram('tool', { path, cwd: dir })).toEqual({ found: join(dir, 'b', 'tool') })
    expect(findProgram('tool', { path: join(dir, 'a'), cwd: dir })).toEqual({ notExecutable: join(dir, 'a', 'tool') })
  })

  it('takes relative PATH entries and paths from cwd, and a folder is not a program', () => {
    expect(findProgram('tool', { path: 'b', cwd: dir })).toEqual({ found: join(dir, 'b', 'tool') })
    expect(findProgram('./b/tool', { path: '', cwd: dir })).toEqual({ found: join(dir, 'b', 'tool') })
    expect(findProgram('b', { path: ':', cwd: dir })).toEqual({ missing: 'name', looked: ':' })
    expect(findProgram('./c/tool', { path: undefined, cwd: dir })).toEqual({
      missing: 'path',
      looked: join(dir, 'c', 'tool'),
    })
  })
})
