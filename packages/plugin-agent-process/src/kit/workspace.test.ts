import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { isTanukiError } from '@tanuki/core'
import { afterEach, describe, expect, it } from 'vitest'
import { git, gitRepo, project, removeTempDirs, tempDir } from '../../test/support/repo.ts'
import { openWorkspace, removeWorktrees, worktreePath } from './workspace.ts'

afterEach(removeTempDirs)

describe('openWorkspace', () => {
  it('makes a git worktree on branch tanuki/<agent> in a repository with a commit', async () => {
    const root = gitRepo()
    const workspace = await openWorkspace({ project: project(root), agent: 'backend-1' })
    expect(workspace.mode).toBe('worktree')
    expect(workspace.dir).toBe(join(root, '.tanuki', 'worktrees', 'backend-1'))
    expect(workspace.branch).toBe('tanuki/backend-1')
    expect(git(workspace.dir, 'rev-parse', '--abbrev-ref', 'HEAD')).toBe('tanuki/backend-1')
    expect(readFileSync(join(workspace.dir, 'README.md'), 'utf8')).toBe('# test project\n')
    // The agents' checkouts stay out of the project's own status.
    expect(git(root, 'status', '--porcelain')).toBe('')
  })

  it('reuses the worktree, with its changes, when the agent is spawned again', async () => {
    const root = gitRepo()
    const first = await openWorkspace({ project: project(root), agent: 'a' })
    writeFileSync(join(first.dir, 'work.txt'), 'in progress\n')
    const again = await openWorkspace({ project: project(root), agent: 'a' })
    expect(again.dir).toBe(first.dir)
    expect(readFileSync(join(again.dir, 'work.txt'), 'utf8')).toBe('in progress\n')
  })

  it("makes several worktrees at once without tripping over git's locks", async () => {
    const root = gitRepo()
    const names = ['a', 'b', 'c', 'd']
    const workspaces = await Promise.all(names.map((agent) => openWorkspace({ project: project(root), agent })))
    expect(workspaces.map((w) => git(w.dir, 'rev-parse', '--abbrev-ref', 'HEAD'))).toEqual(
      names.map((n) => `tanuki/${n}`),
    )
  })

  it('removes the worktree and its branch', async () => {
    const root = gitRepo()
    const workspace = await openWorkspace({ project: project(root), agent: 'a' })
    writeFileSync(join(workspace.dir, 'dirty.txt'), 'x')
    await workspace.remove()
    expect(existsSync(workspace.dir)).toBe(false)
    expect(git(root, 'branch', '--list', 'tanuki/*')).toBe('')
    expect(git(root, 'worktree', 'list')).not.toContain('worktrees/a')
  })

  it('uses the project directory outside a git repository, or in one without a commit', async () => {
    const plain = tempDir()
    expect(await openWorkspace({ project: project(plain), agent: 'a' })).toMatchObject({ mode: 'shared', dir: plain })
    const empty = tempDir()
    git(empty, 'init', '-q')
    expect(await openWorkspace({ project: project(empty), agent: 'a' })).toMatchObject({ mode: 'shared', dir: empty })
  })

  it('refuses workspace "worktree" outside git, saying what to do', async () => {
    const plain = tempDir()
    const error = await openWorkspace({ project: project(plain), agent: 'a', mode: 'worktree' }).catch(
      (e: unknown) => e,
    )
    expect(isTanukiError(error, 'TANUKI_AGENT_SPAWN_FAILED')).toBe(true)
    expect((error as Error).message).toContain('git init')
  })

  it('works in the same subdirectory when the project is inside a larger repository', async () => {
    const top = gitRepo()
    const root = join(top, 'app')
    mkdirSync(root)
    writeFileSync(join(root, 'app.txt'), 'app\n')
    git(top, 'add', '-A')
    git(top, 'commit', '-q', '-m', 'app')
    const workspace = await openWorkspace({ project: project(root), agent: 'a' })
    expect(workspace.dir).toBe(join(worktreePath(project(root), 'a'), 'app'))
    expect(readFileSync(join(workspace.dir, 'app.txt'), 'utf8')).toBe('app\n')
  })

  it("commits an agent's changes and merges a dependency's work into another agent's worktree", async () => {
    const root = gitRepo()
    const a = await openWorkspace({ project: project(root), agent: 'a' })
    const b = await openWorkspace({ project: project(root), agent: 'b' })
    expect(await a.commit('nothing\n\nTanuki-Task: T-1\n')).toBeUndefined()
    writeFileSync(join(a.dir, 'made-by-a.txt'), 'a\n')
    const sha = await a.commit('made a file\n\nTanuki-Task: T-1\n')
    expect(sha).toMatch(/^[0-9a-f]{40}$/)
    expect(git(a.dir, 'log', '-1', '--format=%s')).toBe('made a file')
    // T-10 must not be mistaken for T-1.
    expect(await b.mergeTasks(['T-10'])).toEqual([])
    const notes = await b.mergeTasks(['T-1'])
    expect(notes).toHaveLength(1)
    expect(notes[0]).toContain('merged the work of T-1')
    expect(readFileSync(join(b.dir, 'made-by-a.txt'), 'utf8')).toBe('a\n')
    expect(await b.mergeTasks(['T-1'])).toEqual([])
    // The project's own branch is untouched: merging is the user's call.
    expect(existsSync(join(root, 'made-by-a.txt'))).toBe(false)
  })

  it("merges a dependency even while another agent's worktree is half made", async () => {
    // The demo once skipped a merge silently: the lookup ran while a sibling's `git worktree add`
    // was under way, whose HEAD is not a commit yet, so `git log --all` failed and the failure was
    // taken for "no commit yet". Leave such a half-made worktree behind, as `worktree add` does.
    const root = gitRepo()
    const a = await openWorkspace({ project: project(root), agent: 'a' })
    const b = await openWorkspace({ project: project(root), agent: 'b' })
    writeFileSync(join(a.dir, 'made-by-a.txt'), 'a\n')
    await a.commit('made a file\n\nTanuki-Task: T-1\n')
    const half = join(root, '.git', 'worktrees', 'half')
    mkdirSync(half, { recursive: true })
    writeFileSync(join(half, 'HEAD'), '0000000000000000000000000000000000000000\n')
    writeFileSync(join(half, 'gitdir'), join(root, 'half-made', '.git') + '\n')
    writeFileSync(join(half, 'commondir'), '../..\n')
    expect(await b.mergeTasks(['T-1'])).toEqual([expect.stringContaining('merged the work of T-1')])
    expect(readFileSync(join(b.dir, 'made-by-a.txt'), 'utf8')).toBe('a\n')
  })

  it('says why a commit failed instead of pretending nothing changed', async () => {
    const root = gitRepo()
    const a = await openWorkspace({ project: project(root), agent: 'a' })
    writeFileSync(join(a.dir, 'work.txt'), 'done\n')
    // Another git process (or one that crashed) holds the worktree's index.
    writeFileSync(join(root, '.git', 'worktrees', 'a', 'index.lock'), '')
    await expect(a.commit('work\n\nTanuki-Task: T-1\n')).rejects.toThrow(
      /could not commit a's work in .*: git add: .*index\.lock/,
    )
    rmSync(join(root, '.git', 'worktrees', 'a', 'index.lock'))
    expect(await a.commit('work\n\nTanuki-Task: T-1\n')).toMatch(/^[0-9a-f]{40}$/)
  })

  it('reports a merge conflict and leaves the worktree clean', async () => {
    const root = gitRepo()
    const a = await openWorkspace({ project: project(root), agent: 'a' })
    const b = await openWorkspace({ project: project(root), agent: 'b' })
    writeFileSync(join(a.dir, 'README.md'), 'from a\n')
    await a.commit('a\n\nTanuki-Task: T-1\n')
    writeFileSync(join(b.dir, 'README.md'), 'from b\n')
    const notes = await b.mergeTasks(['T-1'])
    expect(notes[0]).toContain('could not merge the work of T-1')
    expect(readFileSync(join(b.dir, 'README.md'), 'utf8')).toBe('from b\n')
    expect(git(b.dir, 'status', '--porcelain')).toBe('')
  })
})

describe('removeWorktrees', () => {
  it('removes every agent worktree and tanuki branch of the project, even one whose directory is gone', async () => {
    const root = gitRepo()
    const a = await openWorkspace({ project: project(root), agent: 'a' })
    await openWorkspace({ project: project(root), agent: 'b' })
    git(root, 'branch', 'keep-me')
    // A worktree directory deleted by hand leaves its branch behind.
    git(root, 'worktree', 'remove', '--force', a.dir)
    await removeWorktrees(project(root))
    expect(git(root, 'branch', '--list', 'tanuki/*')).toBe('')
    expect(git(root, 'branch', '--list', 'keep-me')).toContain('keep-me')
    expect(git(root, 'worktree', 'list', '--porcelain').match(/^worktree /gm)).toHaveLength(1)
  })
})
