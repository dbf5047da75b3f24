import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { createTask, isTanukiError, resolveConfig, type Task } from '@tanuki/core'
import { afterEach, describe, expect, it } from 'vitest'
import { git, gitRepo, project, removeTempDirs, tempDir } from '../../test/support/repo.ts'
import { createGitLander } from './git/lander.ts'
import { readOwned, updateOwned } from './git/owned.ts'
import { workIsOn } from './git/run.ts'
import { removeWorktrees } from './cleanup.ts'
import { taskIdOfRef, taskRef } from './ref-names.ts'
import { endTaskWork, openWorkspace, worktreePath, worktreesDir } from './workspace.ts'

afterEach(removeTempDirs)

/** Makes `git add` fail in every worktree of a repository (a required filter that fails, like git-lfs missing), until `fixAdd`. */
function breakAdd(root: string): void {
  writeFileSync(join(root, '.git', 'info', 'attributes'), '* filter=broken\n')
  git(root, 'config', 'filter.broken.clean', 'false')
  git(root, 'config', 'filter.broken.required', 'true')
}
function fixAdd(root: string): void {
  git(root, 'config', '--remove-section', 'filter.broken')
}

const task = (id: string, dependsOn: string[] = []): Task =>
  createTask({ id, title: `Task ${id}`, dependsOn, completion: { verify: 'true' } })

describe('openWorkspace', () => {
  it('makes a git worktree outside the project, on a branch of its own, and records both', async () => {
    const root = gitRepo()
    const workspace = await openWorkspace({ project: project(root), agent: 'backend-1' })
    expect(workspace.mode).toBe('worktree')
    expect(workspace.dir).toBe(worktreePath(project(root), 'backend-1'))
    // Nothing of the agents' copies is under the project: its test runner and tsc never see them.
    expect(relative(root, workspace.dir).startsWith('..')).toBe(true)
    expect(worktreesDir(project(root))).toContain(join('tanuki', 'projects'))
    expect(workspace.branch).toBe('tanuki/backend-1')
    expect(git(workspace.dir, 'rev-parse', '--abbrev-ref', 'HEAD')).toBe('tanuki/backend-1')
    expect(readFileSync(join(workspace.dir, 'README.md'), 'utf8')).toBe('# test project\n')
    // Nothing new in the project but its state folder (which the CLI keeps out of git with .tanuki/.gitignore).
    expect(git(root, 'status', '--porcelain', '--', '.', ':!.tanuki')).toBe('')
    const owned = readOwned(project(root))
    expect(owned.branches['tanuki/backend-1']).toMatchObject({ kind: 'agent', agent: 'backend-1' })
    expect(Object.values(owned.worktrees)).toEqual([expect.objectContaining({ branch: 'tanuki/backend-1' })])
  })

  it('never takes over a branch it did not create: a person’s tanuki/<agent> stays theirs', async () => {
    const root = gitRepo()
    git(root, 'branch', 'tanuki/a')
    const workspace = await openWorkspace({ project: project(root), agent: 'a' })
    expect(workspace.branch).toBe('tanuki/a-2')
    await workspace.remove({ force: true })
    expect(git(root, 'branch', '--list', 'tanuki/*')).toBe('tanuki/a')
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

  it('says why a commit failed instead of pretending nothing changed', async () => {
    const root = gitRepo()
    const a = await openWorkspace({ project: project(root), agent: 'a' })
    writeFileSync(join(a.dir, 'work.txt'), 'done\n')
    // Another git process (or one that crashed) holds the worktree's index.
    const lock = join(root, '.git', 'worktrees', 'a', 'index.lock')
    writeFileSync(lock, '')
    await expect(a.commit('work\n\nTanuki-Task: T-1\n')).rejects.toThrow(
      /agent a's worktree .*: git add: .*index\.lock/,
    )
    rmSync(lock)
    expect(await a.commit('work\n\nTanuki-Task: T-1\n')).toMatch(/^[0-9a-f]{40}$/)
  })
})

describe('a task in a worktree: begin, work, publish', () => {
  it('publishes the work as one commit on where it started, with its trailer; the branch keeps every iteration', async () => {
    const root = gitRepo()
    const a = await openWorkspace({ project: project(root), agent: 'a' })
    expect(await a.begin(task('T-1'), { unlanded: [], carry: false })).toEqual({})
    writeFileSync(join(a.dir, 'one.txt'), '1\n')
    await a.commit('iteration 1\n\nTanuki-Task: T-1\n')
    writeFileSync(join(a.dir, 'two.txt'), '2\n')
    await a.commit('iteration 2\n\nTanuki-Task: T-1\n')
    await a.publish(task('T-1'))
    const work = taskRef(project(root), 'T-1', 'work')
    expect(git(root, 'log', '-1', '--format=%B', work)).toBe('Task T-1\n\nTanuki-Task: T-1\nTanuki-Agent: a')
    expect(git(root, 'diff', '--name-only', `${work}^`, work).split('\n')).toEqual(['one.txt', 'two.txt'])
    expect(git(root, 'rev-parse', `${work}^`)).toBe(git(root, 'rev-parse', taskRef(project(root), 'T-1', 'base')))
    expect(git(root, 'log', '--format=%s', 'tanuki/a').split('\n').slice(0, 2)).toEqual(['iteration 2', 'iteration 1'])
    // The project's own branch is untouched: landing is what brings work there.
    expect(existsSync(join(root, 'one.txt'))).toBe(false)
  })

  it('starts from the landed work, keeping the branch’s history, and brings in dependencies that have not landed', async () => {
    const root = gitRepo()
    const a = await openWorkspace({ project: project(root), agent: 'a' })
    const b = await openWorkspace({ project: project(root), agent: 'b' })
    // T-1 by a: complete, not landed.
    await a.begin(task('T-1'), { unlanded: [], carry: false })
    writeFileSync(join(a.dir, 'made-by-a.txt'), 'a\n')
    await a.commit('a\n\nTanuki-Task: T-1\n')
    await a.publish(task('T-1'))
    // Something landed meanwhile: the landed work is a branch with a new commit.
    git(root, 'branch', 'landed')
    git(root, 'checkout', '-q', 'landed')
    writeFileSync(join(root, 'landed.txt'), 'landed\n')
    git(root, 'add', '-A')
    git(root, 'commit', '-q', '-m', 'landed work')
    git(root, 'checkout', '-q', 'main')
    // b did something before (history to keep).
    writeFileSync(join(b.dir, 'old.txt'), 'old\n')
    await b.commit('old\n\nTanuki-Task: T-0\n')
    const start = await b.begin(task('T-2', ['T-1', 'T-10']), {
      base: 'refs/heads/landed',
      unlanded: ['T-1', 'T-10'],
      carry: false,
    })
    expect(start).toEqual({})
    expect(readFileSync(join(b.dir, 'landed.txt'), 'utf8')).toBe('landed\n')
    expect(readFileSync(join(b.dir, 'made-by-a.txt'), 'utf8')).toBe('a\n')
    // The tree starts from the landed work: b's earlier file is not in it, but its commit is on the branch.
    expect(existsSync(join(b.dir, 'old.txt'))).toBe(false)
    expect(git(root, 'log', '--format=%s', 'tanuki/b')).toContain('old')
    // Its start point includes the dependency, so T-2's own change will not carry T-1's.
    expect(git(root, 'show', `${taskRef(project(root), 'T-2', 'base')}:made-by-a.txt`)).toBe('a')
  })

  it('carries an interrupted attempt on when its task comes back to the worktree, and never into another task', async () => {
    const root = gitRepo()
    git(root, 'branch', 'landed')
    const begin = (agent: Awaited<ReturnType<typeof openWorkspace>>, id: string) =>
      agent.begin(task(id), { base: 'refs/heads/landed', unlanded: [], carry: false })
    const a = await openWorkspace({ project: project(root), agent: 'a' })
    expect(await begin(a, 'T-1')).toEqual({})
    writeFileSync(join(a.dir, 'iteration-1.txt'), 'committed\n')
    await a.commit('iteration 1\n\nTanuki-Task: T-1\n')
    writeFileSync(join(a.dir, 'half-done.txt'), 'when the agent crashed\n')
    // The agent crashed; it is spawned again on the same worktree and its task comes back.
    const again = await openWorkspace({ project: project(root), agent: 'a' })
    // Said, so the prompt tells the agent its cut-off try's work is there.
    expect(await begin(again, 'T-1')).toEqual({ carried: true })
    expect(readFileSync(join(again.dir, 'iteration-1.txt'), 'utf8')).toBe('committed\n')
    expect(readFileSync(join(again.dir, 'half-done.txt'), 'utf8')).toBe('when the agent crashed\n')
    // Another task on this worktree starts from the landed work, without T-1's unfinished files.
    expect(await begin(again, 'T-2')).toEqual({})
    expect(existsSync(join(again.dir, 'half-done.txt'))).toBe(false)
    expect(existsSync(join(again.dir, 'iteration-1.txt'))).toBe(false)
    // Once published, the task's marker is gone: a rerun starts afresh.
    await again.publish(task('T-2'))
    writeFileSync(join(again.dir, 'after.txt'), 'x\n')
    expect(await begin(again, 'T-2')).toEqual({})
    expect(existsSync(join(again.dir, 'after.txt'))).toBe(false)
  })

  it('brings in a dependency its own agent did, when a task in between started that agent over from the landed work', async () => {
    const root = gitRepo()
    const a = await openWorkspace({ project: project(root), agent: 'a' })
    const landed = { base: 'refs/heads/main', carry: false }
    // T-1 by a: complete, not landed yet (landing off for now, or its gate still running).
    await a.begin(task('T-1'), { ...landed, unlanded: [] })
    writeFileSync(join(a.dir, 'pow.js'), 'pow\n')
    await a.commit('pow\n\nTanuki-Task: T-1\n')
    await a.publish(task('T-1'))
    // a then takes an unrelated task: its tree starts over from the landed work, without T-1's file.
    await a.begin(task('T-3'), { ...landed, unlanded: [] })
    expect(existsSync(join(a.dir, 'pow.js'))).toBe(false)
    writeFileSync(join(a.dir, 'sub.js'), 'sub\n')
    await a.commit('sub\n\nTanuki-Task: T-3\n')
    await a.publish(task('T-3'))
    // T-2 depends on T-1: T-1's commit is in a's history, but not in the tree T-2 starts from.
    expect(await a.begin(task('T-2', ['T-1']), { ...landed, unlanded: ['T-1'] })).toEqual({})
    expect(readFileSync(join(a.dir, 'pow.js'), 'utf8')).toBe('pow\n')
    expect(existsSync(join(a.dir, 'sub.js'))).toBe(false)
  })

  it('leaves a dependency’s conflicting work in progress, with the files and what the other side changed', async () => {
    const root = gitRepo()
    const a = await openWorkspace({ project: project(root), agent: 'a' })
    const b = await openWorkspace({ project: project(root), agent: 'b' })
    await a.begin(task('T-1'), { unlanded: [], carry: false })
    writeFileSync(join(a.dir, 'README.md'), 'from a\n')
    await a.commit('a\n\nTanuki-Task: T-1\n')
    await a.publish(task('T-1'))
    writeFileSync(join(b.dir, 'README.md'), 'from b\n')
    await b.commit('b\n\nTanuki-Task: T-0\n')
    const start = await b.begin(task('T-2', ['T-1']), { unlanded: ['T-1'], carry: false })
    expect(start.conflict).toMatchObject({ files: ['README.md'], what: 'the work of T-1' })
    expect(start.conflict?.detail).toContain('+from a')
    expect(readFileSync(join(b.dir, 'README.md'), 'utf8')).toMatch(/<<<<<<<[^]*from b[^]*=======[^]*from a[^]*>>>>>>>/)
    // Unresolved while its markers are there, even with the file added to the index.
    expect(await b.unresolved!()).toEqual(['README.md'])
    git(b.dir, 'add', 'README.md')
    expect(await b.unresolved!()).toEqual(['README.md'])
    // The agent resolves it (not added: the commit adds it); the iteration's commit concludes the merge.
    writeFileSync(join(b.dir, 'README.md'), 'from a and b\n')
    expect(await b.unresolved!()).toEqual([])
    expect(await b.commit('resolved\n\nTanuki-Task: T-2\n')).toMatch(/^[0-9a-f]{40}$/)
    expect(git(b.dir, 'status', '--porcelain')).toBe('')
  })

  it('records the work of a task that went to review, for a person to approve; not of one that failed, nor a conflict left unresolved', async () => {
    const root = gitRepo()
    const refs = project(root)
    const a = await openWorkspace({ project: refs, agent: 'a' })
    await a.begin(task('T-1'), { unlanded: [], carry: false })
    writeFileSync(join(a.dir, 'README.md'), 'from a\n')
    await a.commit('a\n\nTanuki-Task: T-1\n')
    await endTaskWork(a, task('T-1'), { status: 'review' })
    const work = git(root, 'rev-parse', taskRef(refs, 'T-1', 'work'))
    expect(git(root, 'show', `${work}:README.md`)).toBe('from a')

    await a.begin(task('T-3'), { unlanded: [], carry: false })
    writeFileSync(join(a.dir, 'three.txt'), '3\n')
    await endTaskWork(a, task('T-3'), { status: 'failed' })
    expect(git(root, 'for-each-ref', taskRef(refs, 'T-3', 'work'))).toBe('')

    // B starts from T-1's work, which conflicts with its own, and leaves the markers in.
    const b = await openWorkspace({ project: refs, agent: 'b' })
    writeFileSync(join(b.dir, 'README.md'), 'from b\n')
    await b.commit('b\n\nTanuki-Task: T-0\n')
    expect((await b.begin(task('T-2', ['T-1']), { unlanded: ['T-1'], carry: false })).conflict).toBeDefined()
    await endTaskWork(b, task('T-2'), { status: 'review' })
    expect(git(root, 'for-each-ref', taskRef(refs, 'T-2', 'work'))).toBe('')
  })

  it('tells a conflict left unresolved from a resolved one: both marker lines, any file name, and again at the next begin', async () => {
    const root = gitRepo()
    const a = await openWorkspace({ project: project(root), agent: 'a' })
    const b = await openWorkspace({ project: project(root), agent: 'b' })
    const name = 'café.md'
    await a.begin(task('T-1'), { base: 'refs/heads/main', unlanded: [], carry: false })
    writeFileSync(join(a.dir, name), 'Install\n=======\nfrom a\n')
    await a.commit('a\n\nTanuki-Task: T-1\n')
    await a.publish(task('T-1'))
    await b.begin(task('T-0'), { base: 'refs/heads/main', unlanded: [], carry: false })
    writeFileSync(join(b.dir, name), 'Install\n=======\nfrom b\n')
    await b.commit('b\n\nTanuki-Task: T-0\n')
    const start = await b.begin(task('T-2', ['T-1']), { unlanded: ['T-1'], carry: false })
    expect(start.conflict?.files).toEqual([name])
    expect(await b.unresolved!()).toEqual([name])
    // The next begin of the task (a resume, a rerun) undoes the unresolved merge and meets the
    // conflict again: its markers are neither committed nor carried on as text.
    const again = await b.begin(task('T-2', ['T-1']), { unlanded: ['T-1'], carry: false })
    expect(again.conflict?.files).toEqual([name])
    expect(git(b.dir, 'log', '-p', '--format=%s')).not.toMatch(/^\+<{7}/m)
    expect(await b.unresolved!()).toEqual([name])
    // Resolved, with a heading's underline that looks like a marker line: done.
    writeFileSync(join(b.dir, name), 'Install\n=======\nfrom a and b\n')
    expect(await b.unresolved!()).toEqual([])
    expect(await b.commit('resolved\n\nTanuki-Task: T-2\n')).toMatch(/^[0-9a-f]{40}$/)
  })

  it('carries the task’s earlier work onto the landed work when it comes back after a failed landing', async () => {
    const root = gitRepo()
    const a = await openWorkspace({ project: project(root), agent: 'a' })
    const b = await openWorkspace({ project: project(root), agent: 'b' })
    await a.begin(task('T-1'), { base: 'refs/heads/main', unlanded: [], carry: false })
    writeFileSync(join(a.dir, 'feature.txt'), 'v1\n')
    await a.commit('v1\n\nTanuki-Task: T-1\n')
    await a.publish(task('T-1'))
    // Another agent takes it up again: the earlier work is there, uncommitted, ready to fix.
    expect(await b.begin(task('T-1'), { base: 'refs/heads/main', unlanded: [], carry: true })).toEqual({})
    expect(readFileSync(join(b.dir, 'feature.txt'), 'utf8')).toBe('v1\n')
    writeFileSync(join(b.dir, 'fix.txt'), 'fixed\n')
    await b.commit('fix\n\nTanuki-Task: T-1\n')
    await b.publish(task('T-1'))
    // The new work holds all of it, on the landed work.
    const work = taskRef(project(root), 'T-1', 'work')
    expect(git(root, 'diff', '--name-only', `${work}^`, work).split('\n')).toEqual(['feature.txt', 'fix.txt'])
    expect(git(root, 'rev-parse', `${work}^`)).toBe(git(root, 'rev-parse', 'main'))
  })

  it('a landing’s conflict met again when the work is carried on is the task’s own, with what landed since as the other side', async () => {
    const root = gitRepo()
    const refs = project(root)
    const lander = createGitLander({ project: refs, land: resolveConfig({}).land })
    const a = await openWorkspace({ project: refs, agent: 'a' })
    const b = await openWorkspace({ project: refs, agent: 'b' })
    const base = (await lander.prepare()).base
    // Both start from the same landed work and rewrite the same file.
    await a.begin(task('T-1'), { base, unlanded: [], carry: false })
    await b.begin(task('T-2'), { base, unlanded: [], carry: false })
    writeFileSync(join(a.dir, 'README.md'), 'from a\n')
    await a.publish(task('T-1'))
    writeFileSync(join(b.dir, 'README.md'), 'from b\n')
    await b.publish(task('T-2'))
    const signal = new AbortController().signal
    expect(await lander.land({ task: task('T-1'), signal })).toMatchObject({ status: 'landed' })
    const landing = await lander.land({ task: task('T-2'), signal })
    expect(landing).toMatchObject({ status: 'conflict', files: ['README.md'] })
    // T-2 comes back to its agent: its work, carried onto what landed, meets the same conflict.
    const start = await b.begin(task('T-2'), { base, unlanded: [], carry: true })
    expect(start.conflict).toMatchObject({ files: ['README.md'], what: 'the earlier work of T-2', own: true })
    // The other side is what landed since (as the lander said), not the task's own change.
    expect(start.conflict?.detail).toContain('+from a')
    expect(start.conflict?.detail).not.toContain('+from b')
    expect(readFileSync(join(b.dir, 'README.md'), 'utf8')).toMatch(/<<<<<<<[^]*from a[^]*=======[^]*from b[^]*>>>>>>>/)
    expect(await b.unresolved!()).toEqual(['README.md'])
  })
})

describe('removing what Tanuki made', () => {
  it('keeps a branch holding work that has not landed, naming its tasks, unless forced', async () => {
    const root = gitRepo()
    const a = await openWorkspace({ project: project(root), agent: 'a' })
    writeFileSync(join(a.dir, 'work.txt'), 'w\n')
    await a.commit('work\n\nTanuki-Task: T-7\n')
    expect(await a.remove()).toEqual({ removed: [a.dir], kept: [{ name: 'tanuki/a', tasks: ['T-7'] }], discarded: [] })
    expect(git(root, 'branch', '--list', 'tanuki/a')).toContain('tanuki/a')
    // Forced, it says whose work went with it.
    expect(await removeWorktrees(project(root), { force: true })).toMatchObject({
      removed: ['tanuki/a'],
      discarded: [{ name: 'tanuki/a', tasks: ['T-7'] }],
    })
    expect(git(root, 'branch', '--list', 'tanuki/*')).toBe('')
  })

  it('deletes work already on the target though no landed commit names its task, as `tanuki land` would land nothing of it', async () => {
    const root = gitRepo()
    const info = project(root)
    // The target and its integration branch, recorded: where work lands.
    await createGitLander({ project: info, land: resolveConfig({}).land }).prepare()
    /** An agent's try at a task, recorded as the task's work; `more`: a later try, not recorded. */
    const work = async (agent: string, id: string, text: string, more?: string) => {
      const workspace = await openWorkspace({ project: info, agent })
      await workspace.begin(task(id), { base: 'refs/heads/main', unlanded: [], carry: false })
      writeFileSync(join(workspace.dir, 'same.txt'), text)
      await workspace.commit(`${id}\n\nTanuki-Task: ${id}\n`)
      await workspace.publish(task(id))
      if (more === undefined) return
      writeFileSync(join(workspace.dir, 'more.txt'), more)
      await workspace.commit(`${id} again\n\nTanuki-Task: ${id}\n`)
    }
    await work('a', 'T-1', 'same\n')
    await work('b', 'T-2', 'other\n')
    await work('c', 'T-3', 'same\n', 'a later try\n')
    // T-1's change reached main another way (another task, a person): the lander lands nothing of it.
    writeFileSync(join(root, 'same.txt'), 'same\n')
    git(root, 'add', 'same.txt')
    git(root, 'commit', '-q', '-m', 'same, by hand')

    const report = await removeWorktrees(info)
    expect(report.kept).toEqual([
      { name: 'tanuki/b', tasks: ['T-2'] },
      // T-3's recorded work is on main, but its later try is on its branch only.
      { name: 'tanuki/c', tasks: ['T-3'] },
      { name: 'refs/tanuki/test/tasks/…', tasks: ['T-2'] },
    ])
    expect(report.removed).toContain('tanuki/a')
    expect(git(root, 'for-each-ref', '--format=%(refname)', 'refs/tanuki/test/tasks/T-1/')).toBe('')
  })

  it('removes the refs of landed work whose task id is not a ref name of its own (stored encoded)', async () => {
    const root = gitRepo()
    const info = project(root)
    const lander = createGitLander({ project: info, land: resolveConfig({}).land })
    await lander.prepare()
    const workspace = await openWorkspace({ project: info, agent: 'a' })
    for (const id of ['fix.lock', 'a..b']) {
      await workspace.begin(task(id), { base: 'refs/heads/main', unlanded: [], carry: false })
      writeFileSync(join(workspace.dir, `${id.replace(/\W/g, '-')}.txt`), `${id}\n`)
      await workspace.commit(`${id}\n\nTanuki-Task: ${id}\n`)
      await workspace.publish(task(id))
    }
    expect(taskRef(info, 'fix.lock', 'work')).toMatch(/\/x-[0-9a-f]+\/work$/)
    expect(await lander.land({ task: task('fix.lock'), signal: new AbortController().signal })).toMatchObject({
      status: 'landed',
    })
    await lander.close?.()
    const report = await removeWorktrees(info, {})
    // The landed one's refs go; the other's work has not landed and is kept, named by its id.
    expect(report.kept).toContainEqual({ name: 'refs/tanuki/test/tasks/…', tasks: ['a..b'] })
    expect(git(root, 'for-each-ref', '--format=%(refname)', 'refs/tanuki/test/tasks/')).not.toContain(
      taskRef(info, 'fix.lock', 'work').split('/').at(-2),
    )
  })

  it('keeps its record (owned.json) true to what went and what stayed, for one agent and for all', async () => {
    const root = gitRepo()
    const info = project(root)
    const lander = createGitLander({ project: info, land: resolveConfig({}).land })
    await lander.prepare()
    const agents = {} as Record<string, Awaited<ReturnType<typeof openWorkspace>>>
    for (const name of ['a', 'b', 'c', 'd']) agents[name] = await openWorkspace({ project: info, agent: name })
    // a's work lands; b's is recorded but waits; c and d did nothing.
    for (const [name, id] of [
      ['a', 'T-1'],
      ['b', 'T-2'],
    ] as const) {
      const workspace = agents[name]!
      await workspace.begin(task(id), { base: 'refs/heads/main', unlanded: [], carry: false })
      writeFileSync(join(workspace.dir, `${id}.txt`), `${id}\n`)
      await workspace.commit(`${id}\n\nTanuki-Task: ${id}\n`)
      await workspace.publish(task(id))
    }
    expect(await lander.land({ task: task('T-1'), signal: new AbortController().signal })).toMatchObject({
      status: 'landed',
      moved: true,
    })
    await lander.close?.()
    const landDir = lander.integration!.dir
    const recorded = readOwned(info)
    expect(Object.keys(recorded.branches).sort()).toEqual([
      'tanuki/a',
      'tanuki/b',
      'tanuki/c',
      'tanuki/d',
      'tanuki/land/main',
    ])
    expect(Object.keys(recorded.worktrees)).toHaveLength(5)

    // One agent's removal changes its own entries only.
    expect(await agents.d!.remove()).toMatchObject({ removed: [expect.any(String), 'tanuki/d'], kept: [] })
    const afterOne = readOwned(info)
    expect(Object.keys(afterOne.branches).sort()).toEqual(['tanuki/a', 'tanuki/b', 'tanuki/c', 'tanuki/land/main'])
    expect(
      Object.values(afterOne.worktrees)
        .map((entry) => entry.branch)
        .sort(),
    ).toEqual(['tanuki/a', 'tanuki/b', 'tanuki/c', 'tanuki/land/main'])

    // All of them: every worktree goes; b's branch stays, recorded as before; the landing branch
    // goes, its target remembered. The file says just that, whatever order the changes came in.
    const report = await removeWorktrees(info)
    expect(report.kept).toEqual([
      { name: 'tanuki/b', tasks: ['T-2'] },
      { name: 'refs/tanuki/test/tasks/…', tasks: ['T-2'] },
    ])
    expect(report.removed).toEqual(expect.arrayContaining([landDir, 'tanuki/a', 'tanuki/c', 'tanuki/land/main']))
    expect(readOwned(info)).toEqual({
      branches: { 'tanuki/b': recorded.branches['tanuki/b'] },
      worktrees: {},
      targets: ['main'],
    })
    expect(JSON.parse(readFileSync(join(info.stateDir, 'owned.json'), 'utf8'))).toEqual(readOwned(info))

    // Forced: b's branch goes too; the target stays known, so landed work is never called unlanded.
    expect(await removeWorktrees(info, { force: true })).toMatchObject({
      removed: ['tanuki/b'],
      discarded: [
        { name: 'tanuki/b', tasks: ['T-2'] },
        { name: 'refs/tanuki/test/tasks/…', tasks: ['T-2'] },
      ],
    })
    expect(readOwned(info)).toEqual({ branches: {}, worktrees: {}, targets: ['main'] })
    expect(git(root, 'branch', '--list', 'tanuki/*')).toBe('')
  })

  it('keeps a branch with a commit made by hand, and commits what was left uncommitted before deleting its worktree', async () => {
    const root = gitRepo()
    const info = project(root)
    await createGitLander({ project: info, land: resolveConfig({}).land }).prepare()
    const a = await openWorkspace({ project: info, agent: 'a' })
    const b = await openWorkspace({ project: info, agent: 'b' })
    // a's task went to review, its work recorded; then a person fixed it by hand there and committed.
    await a.begin(task('T-1'), { base: 'refs/heads/main', unlanded: [], carry: false })
    writeFileSync(join(a.dir, 'fix.txt'), 'wrong\n')
    await a.commit('T-1\n\nTanuki-Task: T-1\n')
    await a.publish(task('T-1'))
    writeFileSync(join(a.dir, 'fix.txt'), 'right\n')
    git(a.dir, 'commit', '-q', '-am', 'fix the typo')
    // b: the person's fix left uncommitted, beside what a setup created (not theirs to keep).
    await b.setUp?.(async () => {
      mkdirSync(join(b.dir, 'node_modules', 'x'), { recursive: true })
      writeFileSync(join(b.dir, 'node_modules', 'x', 'index.js'), '\n')
    })
    writeFileSync(join(b.dir, 'by-hand.txt'), 'mine\n')

    const report = await removeWorktrees(info)
    const fix = git(root, 'rev-parse', '--short=7', 'tanuki/a')
    expect(report.kept).toContainEqual({
      name: 'tanuki/a',
      tasks: ['T-1'],
      commits: { count: 1, sha: fix, subject: 'fix the typo' },
    })
    expect(report.kept).toContainEqual({
      name: 'tanuki/b',
      tasks: [],
      commits: {
        count: 1,
        sha: expect.any(String),
        subject: 'tanuki(b): what was left uncommitted in its worktree, kept at removal',
      },
    })
    expect(existsSync(b.dir)).toBe(false)
    expect(git(root, 'show', 'tanuki/b:by-hand.txt')).toBe('mine')
    expect(git(root, 'ls-tree', '-r', '--name-only', 'tanuki/b')).not.toContain('node_modules')

    // Forced, both go, and the report says what went with them.
    const forced = await removeWorktrees(info, { force: true })
    expect(forced.discarded).toContainEqual({
      name: 'tanuki/b',
      tasks: [],
      commits: expect.objectContaining({ count: 1 }),
    })
    expect(git(root, 'branch', '--list', 'tanuki/a', 'tanuki/b')).toBe('')
  })

  it('deletes a branch whose only commits are tasks’ recorded work or start over on the landed work', async () => {
    const root = gitRepo()
    const info = project(root)
    const lander = createGitLander({ project: info, land: resolveConfig({}).land })
    await lander.prepare()
    const a = await openWorkspace({ project: info, agent: 'a' })
    await a.begin(task('T-1'), { base: 'refs/heads/main', unlanded: [], carry: false })
    writeFileSync(join(a.dir, 'one.txt'), '1\n')
    await a.commit('T-1\n\nTanuki-Task: T-1\n')
    await a.publish(task('T-1'))
    expect(await lander.land({ task: task('T-1'), signal: new AbortController().signal })).toMatchObject({
      status: 'landed',
    })
    await lander.close?.()
    // The next task starts over on the landed work, then the run stops before it did anything.
    await a.begin(task('T-2'), { base: 'refs/heads/main', unlanded: [], carry: false })
    const report = await removeWorktrees(info)
    expect(report.kept).toEqual([])
    expect(report.removed).toContain('tanuki/a')
  })

  it('removes every worktree and branch it made, and only those, even one whose folder is gone', async () => {
    const root = gitRepo()
    const a = await openWorkspace({ project: project(root), agent: 'a' })
    await openWorkspace({ project: project(root), agent: 'b' })
    git(root, 'branch', 'keep-me')
    git(root, 'branch', 'tanuki/mine')
    // A worktree directory deleted by hand leaves its branch behind.
    git(root, 'worktree', 'remove', '--force', a.dir)
    const report = await removeWorktrees(project(root))
    expect(report.kept).toEqual([])
    expect(git(root, 'branch', '--list', 'tanuki/*')).toBe('tanuki/mine')
    expect(git(root, 'branch', '--list', 'keep-me')).toContain('keep-me')
    expect(git(root, 'worktree', 'list', '--porcelain').match(/^worktree /gm)).toHaveLength(1)
    expect(readOwned(project(root))).toEqual({ branches: {}, worktrees: {} })
  })
})

describe('names that become paths', () => {
  it('reads a task id back from its ref name, encoded or not, an id shaped like an encoded one too', () => {
    const info = project(tempDir())
    for (const id of ['T-1', 'a..b', 'fix.lock', '.hidden', 'x-12', 'x-cafe', 'x-41']) {
      const component = taskRef(info, id, 'work').split('/').at(-2)!
      expect(taskIdOfRef(component), id).toBe(id)
    }
  })

  it('refuses an agent name that would leave the worktrees folder, instead of mangling it', () => {
    const info = project(tempDir())
    for (const agent of ['../x', '..', 'a/b', '']) {
      let error: unknown
      try {
        worktreePath(info, agent)
      } catch (e) {
        error = e
      }
      expect(isTanukiError(error, 'TANUKI_NAME_INVALID'), agent).toBe(true)
    }
    expect(worktreePath(info, 'web-1')).toBe(join(worktreesDir(info), 'web-1'))
  })

  it('takes a project folder or name with spaces and other characters', () => {
    const root = join(tempDir(), 'my project (copy)')
    mkdirSync(root)
    const info = { ...project(root), name: 'my project' }
    expect(worktreePath(info, 'web-1')).toMatch(/\/my-project-copy--?[0-9a-f]{10}\/worktrees\/web-1$/)
    expect(taskRef(info, 'T-1', 'tip')).toBe('refs/tanuki/my-project/tasks/T-1/tip')
  })
})

describe('workIsOn: whether a task’s recorded work is on a branch', () => {
  it('is for its commits there, or a change the branch has already; never for a change of nothing', async () => {
    const root = gitRepo()
    const main = git(root, 'rev-parse', 'main')
    git(root, 'checkout', '-q', '-b', 'side')
    writeFileSync(join(root, 'same.txt'), 'same\n')
    git(root, 'add', 'same.txt')
    git(root, 'commit', '-q', '-m', 'a change')
    const change = git(root, 'rev-parse', 'HEAD')
    // A try that found its work done already: its commit changes nothing.
    git(root, 'commit', '-q', '--allow-empty', '-m', 'nothing')
    const nothing = git(root, 'rev-parse', 'HEAD')
    git(root, 'checkout', '-q', 'main')
    expect(await workIsOn(change, 'main', root)).toBe(false)
    // It applies to main without a trace, yet says nothing of where the change went.
    expect(await workIsOn(nothing, 'main', root)).toBe(false)
    expect(await workIsOn(nothing, 'side', root)).toBe(true)
    // The same change made on main another way: on main.
    writeFileSync(join(root, 'same.txt'), 'same\n')
    git(root, 'add', 'same.txt')
    git(root, 'commit', '-q', '-m', 'same, by hand')
    expect(await workIsOn(change, 'main', root)).toBe(true)
    expect(await workIsOn(main, 'main', root)).toBe(true)
  })
})

describe('Workspace.setUp', () => {
  it('keeps what a setup created, untracked and not ignored, out of the commits, until git tracks it', async () => {
    const root = gitRepo()
    const workspace = await openWorkspace({ project: project(root), agent: 'a' })
    const { leftOut } = await workspace.setUp!(async () => {
      mkdirSync(join(workspace.dir, 'node_modules', 'x'), { recursive: true })
      writeFileSync(join(workspace.dir, 'node_modules', 'x', 'index.js'), 'x\n')
      writeFileSync(join(workspace.dir, 'made.txt'), 'made\n')
      writeFileSync(join(workspace.dir, 'README.md'), '# rewritten by setup\n')
    })
    expect(leftOut).toEqual(['made.txt', 'node_modules/'])
    // A tracked file the setup changed is the task's work; what it created is not.
    const first = await workspace.commit('setup changes')
    expect(git(workspace.dir, 'show', '--name-only', '--format=', first!)).toBe('README.md')
    // Only what the setup made changes (a later task's setup, the agent's npm install): nothing to commit.
    writeFileSync(join(workspace.dir, 'node_modules', 'x', 'more.js'), 'more\n')
    expect(await workspace.commit('nothing')).toBeUndefined()
    // Once git tracks it (landed work added it), a change to it is work like any other.
    git(workspace.dir, 'add', '-f', 'made.txt')
    git(workspace.dir, '-c', 'user.name=t', '-c', 'user.email=t@t.invalid', 'commit', '-qm', 'made.txt is tracked')
    writeFileSync(join(workspace.dir, 'made.txt'), 'changed\n')
    const second = await workspace.commit('made.txt changed')
    expect(git(workspace.dir, 'show', '--name-only', '--format=', second!)).toBe('made.txt')
    // What a setup finds already there was not its making.
    expect((await workspace.setUp!(async () => {})).leftOut).toEqual([])
  })
})

describe("Tanuki's own git, whatever the person's git config and hooks", () => {
  it('commits and lands work that only adds a file, with status.showUntrackedFiles set to no', async () => {
    const root = gitRepo()
    git(root, 'config', 'status.showUntrackedFiles', 'no')
    const refs = project(root)
    const lander = createGitLander({ project: refs, land: resolveConfig({}).land })
    const a = await openWorkspace({ project: refs, agent: 'a' })
    await a.begin(task('T-1'), { base: (await lander.prepare()).base, unlanded: [], carry: false })
    mkdirSync(join(a.dir, 'src'))
    writeFileSync(join(a.dir, 'src', 'add.js'), 'export const add = (a, b) => a + b\n')
    await a.publish(task('T-1'))
    const work = taskRef(refs, 'T-1', 'work')
    expect(git(root, 'diff', '--name-only', `${work}^`, work)).toBe('src/add.js')
    expect(await lander.land({ task: task('T-1'), signal: new AbortController().signal })).toMatchObject({
      status: 'landed',
    })
    expect(git(root, 'show', 'main:src/add.js')).toBe('export const add = (a, b) => a + b')
  })

  it('runs none of the repository’s hooks: worktrees, commits, refs and landings work when every hook fails', async () => {
    const root = gitRepo()
    const ran = join(tempDir(), 'hooks-ran')
    // A person's hooks folder (husky sets core.hooksPath): each hook notes it ran, then fails.
    const hooks = join(root, '.husky')
    mkdirSync(hooks)
    for (const hook of [
      'pre-commit',
      'prepare-commit-msg',
      'commit-msg',
      'post-commit',
      'post-checkout',
      'post-merge',
      'post-rewrite',
      'reference-transaction',
    ]) {
      writeFileSync(join(hooks, hook), `#!/bin/sh\necho ${hook} >> '${ran}'\nexit 1\n`, { mode: 0o755 })
    }
    git(root, 'config', 'core.hooksPath', '.husky')
    const refs = project(root)
    const lander = createGitLander({ project: refs, land: resolveConfig({}).land })
    const a = await openWorkspace({ project: refs, agent: 'a' })
    await a.begin(task('T-1'), { base: (await lander.prepare()).base, unlanded: [], carry: false })
    writeFileSync(join(a.dir, 'one.txt'), '1\n')
    expect(await a.commit('iteration 1\n\nTanuki-Task: T-1\n')).toMatch(/^[0-9a-f]{40}$/)
    writeFileSync(join(a.dir, 'two.txt'), '2\n')
    await endTaskWork(a, task('T-1'), { status: 'complete' })
    expect(await lander.land({ task: task('T-1'), signal: new AbortController().signal })).toMatchObject({
      status: 'landed',
    })
    expect(git(root, 'show', 'main:two.txt')).toBe('2')
    expect(existsSync(ran) ? readFileSync(ran, 'utf8') : 'no hook ran').toBe('no hook ran')
  })

  it('undoes a worktree it could not make, naming why: no branch is left behind to push the next one to another name', async () => {
    const root = gitRepo()
    // Files stored by git-lfs, on a machine without it: the worktree's checkout fails.
    writeFileSync(join(root, '.gitattributes'), '*.bin filter=lfs -text\n')
    writeFileSync(join(root, 'data.bin'), 'data\n')
    git(root, 'add', '-A')
    git(root, 'commit', '-q', '-m', 'lfs files')
    git(root, 'config', 'filter.lfs.process', 'git-lfs-not-installed filter-process')
    git(root, 'config', 'filter.lfs.required', 'true')
    await expect(openWorkspace({ project: project(root), agent: 'a' })).rejects.toThrow(
      /creating the worktree of agent a failed .*git-lfs-not-installed/,
    )
    expect(git(root, 'branch', '--list', 'tanuki/*')).toBe('')
    expect(git(root, 'worktree', 'list', '--porcelain').match(/^worktree /gm)).toHaveLength(1)
    expect(readOwned(project(root)).worktrees).toEqual({})
    // Once the filter is there (here: gone), the next try makes the worktree on the agent's own branch.
    git(root, 'config', '--remove-section', 'filter.lfs')
    const a = await openWorkspace({ project: project(root), agent: 'a' })
    expect(git(a.dir, 'rev-parse', '--abbrev-ref', 'HEAD')).toBe('tanuki/a')
  })

  it('records the work of a passed task when the worktree’s index is locked (a git the agent left killed)', async () => {
    const root = gitRepo()
    const refs = project(root)
    const lander = createGitLander({ project: refs, land: resolveConfig({}).land })
    const a = await openWorkspace({ project: refs, agent: 'a' })
    const base = (await lander.prepare()).base
    await a.begin(task('T-1'), { base, unlanded: [], carry: false })
    writeFileSync(join(a.dir, 'feature.txt'), 'the passed work\n')
    writeFileSync(join(root, '.git', 'worktrees', 'a', 'index.lock'), '')
    await endTaskWork(a, task('T-1'), { status: 'complete' })
    expect(await lander.land({ task: task('T-1'), signal: new AbortController().signal })).toMatchObject({
      status: 'landed',
    })
    expect(git(root, 'show', 'main:feature.txt')).toBe('the passed work')
  })

  it('keeps the work of a task whose publishing failed, and records it for that task before the agent’s next task starts over', async () => {
    const root = gitRepo()
    const refs = project(root)
    const lander = createGitLander({ project: refs, land: resolveConfig({}).land })
    const a = await openWorkspace({ project: refs, agent: 'a' })
    const base = (await lander.prepare()).base
    await a.begin(task('T-1'), { base, unlanded: [], carry: false })
    writeFileSync(join(a.dir, 'feature.txt'), 'the passed work\n')
    breakAdd(root)
    const failed = endTaskWork(a, task('T-1'), { status: 'complete' })
    await expect(failed).rejects.toThrow(/external filter 'false' failed/)
    await expect(failed).rejects.toThrow(
      `T-1's work is kept in agent a's worktree ${worktreePath(refs, 'a')} (branch tanuki/a); it is recorded for T-1 when that agent begins its next task`,
    )
    expect(git(root, 'for-each-ref', taskRef(refs, 'T-1', 'work'))).toBe('')
    // The agent's next task cannot start over while the work cannot be recorded: nothing is reset.
    await expect(a.begin(task('T-2'), { base, unlanded: [], carry: false })).rejects.toThrow(/filter/)
    expect(readFileSync(join(a.dir, 'feature.txt'), 'utf8')).toBe('the passed work\n')
    fixAdd(root)
    // Its next task starts from the landed work, which T-1's is not: T-1's is recorded first.
    await a.begin(task('T-2'), { base, unlanded: [], carry: false })
    expect(existsSync(join(a.dir, 'feature.txt'))).toBe(false)
    const work = taskRef(refs, 'T-1', 'work')
    expect(git(root, 'show', `${work}:feature.txt`)).toBe('the passed work')
    expect(git(root, 'log', '-1', '--format=%B', work)).toBe('Task T-1\n\nTanuki-Task: T-1\nTanuki-Agent: a')
    // A person marks it complete; it lands.
    expect(await lander.land({ task: task('T-1'), signal: new AbortController().signal })).toMatchObject({
      status: 'landed',
    })
    expect(git(root, 'show', 'main:feature.txt')).toBe('the passed work')
  })

  it('does not record a failed publishing’s work over a later attempt’s, made on another agent', async () => {
    const root = gitRepo()
    const refs = project(root)
    const a = await openWorkspace({ project: refs, agent: 'a' })
    const b = await openWorkspace({ project: refs, agent: 'b' })
    await a.begin(task('T-1'), { unlanded: [], carry: false })
    writeFileSync(join(a.dir, 'feature.txt'), 'first attempt\n')
    breakAdd(root)
    await expect(a.publish(task('T-1'))).rejects.toThrow(/filter/)
    fixAdd(root)
    // A person reran T-1; agent b did it again.
    await b.begin(task('T-1'), { unlanded: [], carry: false })
    writeFileSync(join(b.dir, 'feature.txt'), 'second attempt\n')
    await b.publish(task('T-1'))
    await a.begin(task('T-2'), { unlanded: [], carry: false })
    expect(git(root, 'show', `${taskRef(refs, 'T-1', 'work')}:feature.txt`)).toBe('second attempt')
  })

  it('records a landing worktree git made but no record names (a post-checkout hook failed its add), so removing the agents removes it', async () => {
    const root = gitRepo()
    const refs = project(root)
    await createGitLander({ project: refs, land: resolveConfig({}).land }).prepare()
    const landing = join(worktreesDir(refs), '_land-main')
    // What an add that failed after its checkout left: the worktree, on Tanuki's landing branch, unrecorded.
    updateOwned(refs, (owned) => {
      owned.worktrees = {}
    })
    await createGitLander({ project: refs, land: resolveConfig({}).land }).prepare()
    expect(Object.values(readOwned(refs).worktrees)).toMatchObject([{ kind: 'land', for: 'main' }])
    await removeWorktrees(refs, { force: true })
    expect(existsSync(landing)).toBe(false)
  })
})
