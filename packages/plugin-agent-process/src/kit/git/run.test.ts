import { afterEach, describe, expect, it } from 'vitest'
import { gitRepo, removeTempDirs } from '../../../test/support/repo.ts'
import { git } from './run.ts'

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
