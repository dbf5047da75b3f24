import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { git as gitSync, gitRepo, removeTempDirs, tempDir } from '../../../test/support/repo.ts'
import { addWorktree, git, gitSaid } from './run.ts'

afterEach(removeTempDirs)

describe('git', () => {
  it('gives git an empty stdin: a git that reads it finds its end, and never waits for a person', async () => {
    const root = gitRepo()
    // The id of the empty blob: what git read from stdin was nothing.
    expect(await git(['hash-object', '--stdin'], root)).toEqual({
      code: 0,
      stdout: 'e69de29bb2d1d6434b8b29ae775ad8c2e48c5391\n',
      stderr: '',
    })
  }, 10_000)

  it('runs with no hooks, whatever core.hooksPath the repository sets', async () => {
    const root = gitRepo()
    await git(['config', 'core.hooksPath', '.husky'], root)
    expect((await git(['config', '--local', 'core.hooksPath'], root)).stdout.trim()).toBe('.husky')
    expect((await git(['config', 'core.hooksPath'], root)).stdout.trim()).toBe('/dev/null')
  })
})

describe('addWorktree', () => {
  it('undoes a worktree add that failed after making the folder: no folder, registration or new branch is left', async () => {
    const root = gitRepo()
    // A failing post-checkout hook fails `worktree add` after its checkout. Tanuki's own git runs
    // no hook: here a later -c turns them back on, for a failure that comes that late.
    const hooks = join(root, '.hooks')
    mkdirSync(hooks)
    writeFileSync(join(hooks, 'post-checkout'), '#!/bin/sh\necho "git-lfs was not found" >&2\nexit 1\n', {
      mode: 0o755,
    })
    const dir = join(tempDir(), 'agent')
    const args = ['-c', 'core.hooksPath=.hooks', 'worktree', 'add', '-b', 'tanuki/x', dir, 'HEAD']
    const added = await addWorktree(root, args, dir, 'tanuki/x')
    expect(gitSaid(added)).toBe('git-lfs was not found')
    expect(existsSync(dir)).toBe(false)
    expect(gitSync(root, 'worktree', 'list', '--porcelain').match(/^worktree /gm)).toHaveLength(1)
    expect(gitSync(root, 'branch', '--list', 'tanuki/*')).toBe('')
  })

  it('leaves a folder that was there before alone', async () => {
    const root = gitRepo()
    const dir = tempDir()
    writeFileSync(join(dir, 'mine.txt'), 'a person’s file\n')
    expect((await addWorktree(root, ['worktree', 'add', dir, 'HEAD'], dir)).code).not.toBe(0)
    expect(existsSync(join(dir, 'mine.txt'))).toBe(true)
  })
})
