import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { createTask, type ResolvedConfig } from '@tanuki/core'
import { afterEach, describe, expect, it } from 'vitest'
import { createGitLander } from '../src/kit/git/lander.ts'
import { openWorkspace } from '../src/kit/workspace.ts'
import { git, gitRepo, project, removeTempDirs } from './support/repo.ts'

afterEach(removeTempDirs)

const land: ResolvedConfig['land'] = { enabled: true, auto: true, strategy: 'squash' }
const signal = new AbortController().signal
const task = (id: string) => createTask({ id, title: `Task ${id}`, completion: { signal: 'DONE' } })

/** A task's work recorded by an agent's worktree, as a run records it. */
async function work(root: string, base: string, id: string, file: string): Promise<void> {
  const workspace = await openWorkspace({ project: project(root), agent: `agent-${id}` })
  await workspace.begin(task(id), { base, unlanded: [], carry: false })
  writeFileSync(join(workspace.dir, file), `${id}\n`)
  await workspace.publish(task(id))
}

describe('the git lander and tasks without work', () => {
  it('lands a task with no work recorded as nothing to land, at the landing tip, between tasks that have work', async () => {
    const root = gitRepo()
    const lander = createGitLander({ project: project(root), land })
    const start = await lander.prepare()
    await work(root, start.base, 'A', 'a.txt')
    expect(await lander.land({ task: task('A'), signal })).toMatchObject({ status: 'landed', moved: true })
    const tip = git(root, 'rev-parse', start.base)

    const none = await lander.land({ task: task('NONE'), signal })
    expect(none).toEqual({
      status: 'landed',
      commit: tip,
      moved: true,
      empty: 'no-work',
    })
    expect(git(root, 'rev-parse', start.base)).toBe(tip)

    // A work ref that git packed (gc, pack-refs) is work all the same.
    await work(root, start.base, 'B', 'b.txt')
    git(root, 'pack-refs', '--all')
    expect(await lander.land({ task: task('B'), signal })).toMatchObject({ status: 'landed', moved: true })
    expect(git(root, 'show', 'main:b.txt')).toBe('B')
    expect(git(root, 'show', 'main:a.txt')).toBe('A')
  })

  it('after a person committed on the target, a task without work still lands as nothing, and the next work brings their commit along', async () => {
    const root = gitRepo()
    const lander = createGitLander({ project: project(root), land })
    const start = await lander.prepare()
    writeFileSync(join(root, 'mine.txt'), 'mine\n')
    git(root, 'add', 'mine.txt')
    git(root, 'commit', '-q', '-m', 'a person commits')
    expect(await lander.land({ task: task('NONE'), signal })).toMatchObject({
      status: 'landed',
      moved: true,
      empty: 'no-work',
    })
    await work(root, start.base, 'C', 'c.txt')
    expect(await lander.land({ task: task('C'), signal })).toMatchObject({ status: 'landed', moved: true })
    expect(git(root, 'show', 'main:mine.txt')).toBe('mine')
    expect(git(root, 'show', 'main:c.txt')).toBe('C')
  })
})

describe('the git lander and work already landed', () => {
  for (const strategy of ['squash', 'rebase', 'merge'] as const) {
    it(`${strategy}: a rerun whose work is already on the target lands nothing new, and the next work lands`, async () => {
      const root = gitRepo()
      const lander = createGitLander({ project: project(root), land: { ...land, strategy } })
      const start = await lander.prepare()
      await work(root, start.base, 'A', 'a.txt')
      const first = await lander.land({ task: task('A'), signal })
      expect(first).toMatchObject({ status: 'landed', moved: true })
      const tip = git(root, 'rev-parse', 'main')

      // The rerun makes the same change again: other work, nothing new.
      await work(root, start.base, 'A', 'a.txt')
      expect(await lander.land({ task: task('A'), signal })).toEqual({
        status: 'landed',
        commit: tip,
        moved: true,
        empty: 'no-changes',
      })
      expect(git(root, 'rev-parse', 'main')).toBe(tip)
      expect(git(root, 'rev-parse', start.base)).toBe(tip)

      await work(root, start.base, 'B', 'b.txt')
      expect(await lander.land({ task: task('B'), signal })).toMatchObject({ status: 'landed', moved: true })
      expect(git(root, 'show', 'main:b.txt')).toBe('B')
      expect(git(root, 'show', 'main:a.txt')).toBe('A')
    })
  }
})
