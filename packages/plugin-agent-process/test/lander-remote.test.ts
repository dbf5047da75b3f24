import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { createTask, type ResolvedConfig } from '@tanuki/core'
import { afterEach, describe, expect, it } from 'vitest'
import { createGitLander } from '../src/kit/git/lander.ts'
import { taskRef } from '../src/kit/ref-names.ts'
import { openWorkspace } from '../src/kit/workspace.ts'
import { git, gitRepo, project, removeTempDirs, tempDir } from './support/repo.ts'

afterEach(removeTempDirs)

const land: ResolvedConfig['land'] = { enabled: true, auto: true, strategy: 'squash' }

/** A project whose repository shares a bare remote, and a second clone of it (another machine). */
function shared(): { root: string; bare: string; other: string } {
  const root = gitRepo()
  const bare = join(tempDir('tanuki-bare-'), 'shared.git')
  git(root, 'init', '-q', '--bare', '-b', 'main', bare)
  git(root, 'remote', 'add', 'origin', bare)
  git(root, 'push', '-q', 'origin', 'main')
  const other = join(tempDir('tanuki-other-'), 'other')
  git(root, 'clone', '-q', bare, other)
  git(other, 'config', 'user.name', 'Other')
  git(other, 'config', 'user.email', 'other@example.invalid')
  return { root, bare, other }
}

describe('the git lander with a shared remote', () => {
  it('pushes the landing branch there at start and after each landing, and lands work it fetched from there', async () => {
    const { root, bare, other } = shared()
    const lander = createGitLander({ project: project(root), land, remote: 'origin' })
    const start = await lander.prepare()
    expect(git(bare, 'rev-parse', start.base)).toBe(git(root, 'rev-parse', start.base))

    // Another machine works on the task from the landed work and shares its refs on the remote only.
    const task = createTask({ id: 'T-1', title: 'Add a file', completion: { signal: 'DONE' } })
    git(other, 'fetch', '-q', 'origin', `+${start.base}:${start.base}`)
    const workspace = await openWorkspace({ project: project(other), agent: 'far-1' })
    await workspace.begin(task, { base: start.base, unlanded: [], carry: false })
    writeFileSync(join(workspace.dir, 'far.txt'), 'from afar\n')
    await workspace.publish(task)
    const refs = taskRef(project(other), 'T-1', 'work').slice(0, -'/work'.length)
    git(other, 'push', '-q', 'origin', `${refs}/*:${refs}/*`)
    expect(git(root, 'for-each-ref', refs)).toBe('')

    const outcome = await lander.land({ task, signal: new AbortController().signal })
    expect(outcome).toMatchObject({ status: 'landed', moved: true })
    expect(git(root, 'show', 'main:far.txt')).toBe('from afar')
    // The next task, anywhere, starts from what just landed.
    expect(git(bare, 'rev-parse', start.base)).toBe(git(root, 'rev-parse', start.base))
    expect(git(bare, 'show', `${start.base}:far.txt`)).toBe('from afar')
  })

  it('refuses to start when the landing branch cannot be shared, saying where', async () => {
    const root = gitRepo()
    git(root, 'remote', 'add', 'origin', join(tempDir(), 'missing.git'))
    const lander = createGitLander({ project: project(root), land, remote: 'origin' })
    await expect(lander.prepare()).rejects.toMatchObject({
      code: 'TANUKI_LAND_FAILED',
      message: expect.stringMatching(/pushing tanuki\/land\/main to origin failed/),
    })
  })
})
