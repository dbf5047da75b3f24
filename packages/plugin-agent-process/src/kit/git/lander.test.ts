import { execFileSync, spawnSync } from 'node:child_process'
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { createTask, resolveConfig, type Task } from '@tanuki/core'
import { afterEach, describe, expect, it } from 'vitest'
import { git, gitRepo, initRepo, project, removeTempDirs, tempDir } from '../../../test/support/repo.ts'
import { removeWorktrees } from '../cleanup.ts'
import { taskRef } from '../ref-names.ts'
import { openWorkspace } from '../workspace.ts'
import { createGitLander, type GitLander } from './lander.ts'

afterEach(removeTempDirs)

const task = (id: string): Task => createTask({ id, title: `Task ${id}` })
const lines = Array.from({ length: 20 }, (_, i) => `line ${i + 1}`)
const signal = new AbortController().signal

/** A repository whose notes.txt an agent edits (line 20 for T-1, line 10 for T-2), recorded as their work. */
async function withWork(): Promise<string> {
  const root = gitRepo()
  writeFileSync(join(root, 'notes.txt'), `${lines.join('\n')}\n`)
  git(root, 'add', '-A')
  git(root, 'commit', '-q', '-m', 'notes')
  const agent = await openWorkspace({ project: project(root), agent: 'a' })
  for (const [id, line] of [
    ['T-1', 20],
    ['T-2', 10],
  ] as const) {
    await agent.begin(task(id), { unlanded: [], carry: false })
    const text = readFileSync(join(agent.dir, 'notes.txt'), 'utf8')
    writeFileSync(join(agent.dir, 'notes.txt'), text.replace(`line ${line}\n`, `line ${line}, by an agent\n`))
    await agent.commit(`${id}\n\nTanuki-Task: ${id}\n`)
    await agent.publish(task(id))
  }
  return root
}

/** `withWork`, T-1 landed and held back by the person's uncommitted edit of line 1; the lander still open. */
async function heldBack(): Promise<{ root: string; lander: ReturnType<typeof createGitLander> }> {
  const root = await withWork()
  writeFileSync(join(root, 'notes.txt'), `line 1, by a person\n${lines.slice(1).join('\n')}\n`)
  const lander = createGitLander({ project: project(root), land: resolveConfig({}).land })
  await lander.prepare()
  expect(await lander.land({ task: task('T-1'), signal })).toMatchObject({ moved: false })
  return { root, lander }
}

/** The person commits their own edit of line 20, which T-1 changed too. */
function commitConflicting(root: string): void {
  writeFileSync(
    join(root, 'notes.txt'),
    `line 1, by a person\n${lines.slice(1, 19).join('\n')}\nline 20, by a person\n`,
  )
  git(root, 'commit', '-qam', 'my lines')
}

describe('the git lander, when a person’s changes hold the target back', () => {
  it('says every landing waits, a task without work too, and the next prepare says which the target reached', async () => {
    const root = await withWork()
    const main = git(root, 'rev-parse', 'main')
    // The person's uncommitted edit of line 1, in the file the landings change.
    const mine = `line 1, by a person\n${lines.slice(1).join('\n')}\n`
    writeFileSync(join(root, 'notes.txt'), mine)
    const land = resolveConfig({}).land
    const lander = createGitLander({ project: project(root), land })
    expect(await lander.prepare()).toEqual({ target: 'main', base: 'refs/heads/tanuki/land/main', landed: [] })

    const first = await lander.land({ task: task('T-1'), signal })
    expect(first).toEqual({
      status: 'landed',
      commit: expect.stringMatching(/^[0-9a-f]{40}$/),
      moved: false,
      note: expect.stringMatching(
        /^your uncommitted changes in .+ \(notes\.txt\) would be overwritten by the landed work; nothing of yours was touched\. The work waits on tanuki\/land\/main: commit or stash your changes, then run `tanuki land`\.$/,
      ),
    })
    // A task with no work lands nothing, but the target is still behind: it says so, not "moved".
    expect(await lander.land({ task: task('T-0'), signal })).toMatchObject({
      status: 'landed',
      moved: false,
      empty: 'no-work',
      note: first.status === 'landed' ? first.note : '',
    })
    const second = await lander.land({ task: task('T-2'), signal })
    expect(second).toMatchObject({ status: 'landed', moved: false })
    await lander.close?.()
    expect(git(root, 'rev-parse', 'main')).toBe(main)
    expect(readFileSync(join(root, 'notes.txt'), 'utf8')).toBe(mine)

    // Still there at the next start: the landings that wait, oldest first.
    const held = await createGitLander({ project: project(root), land }).prepare({ target: 'main' })
    const commits = {
      'T-1': first.status === 'landed' && first.commit,
      'T-2': second.status === 'landed' && second.commit,
    }
    expect(held).toMatchObject({
      held: [
        { taskId: 'T-1', commit: commits['T-1'] },
        { taskId: 'T-2', commit: commits['T-2'] },
      ],
      note: expect.stringContaining('(notes.txt) would be overwritten'),
    })
    expect(held.caughtUp).toBeUndefined()

    // Committed: the next start moves main, and says which landings it reached.
    git(root, 'commit', '-q', '-am', 'my note')
    const moved = await createGitLander({ project: project(root), land }).prepare({ target: 'main' })
    expect(moved.caughtUp).toEqual([
      { taskId: 'T-1', commit: commits['T-1'] },
      { taskId: 'T-2', commit: commits['T-2'] },
    ])
    expect(moved.held).toBeUndefined()
    expect(moved.note).toBeUndefined()
    const notes = readFileSync(join(root, 'notes.txt'), 'utf8')
    expect(notes).toContain('line 1, by a person\n')
    expect(notes).toContain('line 10, by an agent\n')
    expect(notes).toContain('line 20, by an agent\n')
    // Nothing waits any more: a later start says nothing of them.
    const later = await createGitLander({ project: project(root), land }).prepare({ target: 'main' })
    expect(later.caughtUp).toBeUndefined()
    expect(later.held).toBeUndefined()
  }, 60_000) // Three lander starts and four landings, each several git processes: 20 s at load 17.

  it('a task without work moves the target once nothing holds it back any more', async () => {
    const { root, lander } = await heldBack()
    git(root, 'stash', '-q')
    expect(await lander.land({ task: task('T-0'), signal })).toEqual({
      status: 'landed',
      commit: git(root, 'rev-parse', 'tanuki/land/main'),
      moved: true,
      empty: 'no-work',
    })
    expect(git(root, 'rev-parse', 'main')).toBe(git(root, 'rev-parse', 'tanuki/land/main'))
    git(root, 'stash', 'pop', '-q')
    expect(readFileSync(join(root, 'notes.txt'), 'utf8')).toContain('line 1, by a person\nline 2\n')
    expect(readFileSync(join(root, 'notes.txt'), 'utf8')).toContain('line 20, by an agent\n')
  })
})

describe('a target whose own new commits conflict with the work waiting for it', () => {
  /** T-1 landed on the integration branch, held back; then the person commits their own edit of its line. */
  async function heldThenConflicting(): Promise<{ root: string; waited: string }> {
    const { root, lander } = await heldBack()
    await lander.close?.()
    commitConflicting(root)
    return { root, waited: git(root, 'rev-parse', 'tanuki/land/main') }
  }

  it('starts the integration branch again from the target: the waiting landing lands again from its work, and conflicts', async () => {
    const { root, waited } = await heldThenConflicting()
    const main = git(root, 'rev-parse', 'main')
    const lander = createGitLander({ project: project(root), land: resolveConfig({}).land })
    const start = await lander.prepare({ target: 'main' })
    expect(start).toEqual({
      target: 'main',
      base: 'refs/heads/tanuki/land/main',
      landed: [],
      relanding: [{ taskId: 'T-1', commit: waited }],
      note: expect.stringMatching(
        /^main has commits that conflict with work that waited on tanuki\/land\/main \(notes\.txt\): tanuki\/land\/main starts again from main \(it was at \w{12}\), and T-1 lands again/,
      ),
    })
    // The person's branch untouched; the integration branch on it.
    expect(git(root, 'rev-parse', 'main')).toBe(main)
    expect(git(root, 'rev-parse', 'tanuki/land/main')).toBe(main)
    // T-1 lands again from its work: it meets the person's line, a conflict for an agent.
    expect(await lander.land({ task: task('T-1'), signal })).toMatchObject({ status: 'conflict', files: ['notes.txt'] })
    // T-2's work does not conflict: it lands, and main moves forward to it.
    expect(await lander.land({ task: task('T-2'), signal })).toMatchObject({ status: 'landed', moved: true })
    expect(git(root, 'rev-parse', 'main^')).toBe(main)
  })

  it('is still refused, naming the target and the files, when a waiting landing’s work is gone: only a person can merge it', async () => {
    const { root, waited } = await heldThenConflicting()
    git(root, 'update-ref', '-d', taskRef(project(root), 'T-1', 'work'))
    const land = resolveConfig({}).land
    await expect(createGitLander({ project: project(root), land }).prepare({ target: 'main' })).rejects.toMatchObject({
      code: 'TANUKI_LAND_FAILED',
      message: expect.stringMatching(
        /^main has commits that conflict with work landed on tanuki\/land\/main \(notes\.txt\)/,
      ),
      details: { target: 'main', files: ['notes.txt'] },
    })
    expect(git(root, 'rev-parse', 'tanuki/land/main')).toBe(waited)
    // Refused before it could settle anything: a target that is not a branch is named too.
    await expect(createGitLander({ project: project(root), land }).prepare({ target: 'gone' })).rejects.toMatchObject({
      details: { target: 'gone' },
    })
  })

  it('refuses a landing while it runs, naming the files, when the person commits meanwhile: the waiting work stays as it was', async () => {
    const { root, lander } = await heldBack()
    const waited = git(root, 'rev-parse', 'tanuki/land/main')
    commitConflicting(root)
    // Only a start may take the waiting landings off the branch: a landing leaves the merge to a person.
    await expect(lander.land({ task: task('T-2'), signal })).rejects.toMatchObject({
      code: 'TANUKI_LAND_FAILED',
      message:
        'main has commits that conflict with work landed on tanuki/land/main (notes.txt). ' +
        'Merge tanuki/land/main into main by hand, then run `tanuki land`.',
      details: { files: ['notes.txt'] },
    })
    expect(git(root, 'rev-parse', 'tanuki/land/main')).toBe(waited)
    const dir = lander.integration!.dir
    expect(git(dir, 'rev-parse', 'HEAD')).toBe(waited)
    expect(git(dir, 'status', '--porcelain')).toBe('')
    await lander.close?.()
  })
})

describe('the branches work waits for', () => {
  it('are said gone when they are no branch any more, and only then', async () => {
    const root = gitRepo()
    git(root, 'branch', 'dev')
    // A branch that shares its name with a tag is a branch all the same.
    git(root, 'branch', 'v2')
    git(root, 'tag', 'v2')
    const lander = createGitLander({ project: project(root), land: resolveConfig({}).land })
    const start = await lander.prepare({ fresh: true, waitingFor: ['dev', 'v2', 'merged-and-deleted', 'main'] })
    expect(start).toMatchObject({ target: 'main', gone: ['merged-and-deleted'] })
    const none = await createGitLander({ project: project(root), land: resolveConfig({}).land }).prepare({
      waitingFor: ['dev'],
    })
    expect(none.gone).toBeUndefined()
  })
})

describe('landings of earlier runs that work still to do builds on', () => {
  it('are said not here when the landed work lacks them, with the branches that hold them', async () => {
    const root = gitRepo()
    /** A commit adding `file` on a new branch `branch` off main; main checked out again. */
    const commitOn = (branch: string, file: string): string => {
      git(root, 'checkout', '-q', '-b', branch, 'main')
      writeFileSync(join(root, file), `${file}\n`)
      git(root, 'add', file)
      git(root, 'commit', '-q', '-m', file)
      git(root, 'checkout', '-q', 'main')
      return git(root, 'rev-parse', branch)
    }
    const onFeature = commitOn('feature', 'f.txt')
    const merged = commitOn('merged', 'm.txt')
    git(root, 'merge', '-q', '--ff-only', 'merged')
    // Squash-merged: its change is on main as another commit.
    const squashed = commitOn('squashed', 's.txt')
    git(root, 'checkout', '-q', 'squashed', '--', 's.txt')
    git(root, 'commit', '-q', '-m', 'squash of s.txt')
    const deleted = commitOn('deleted', 'd.txt')
    git(root, 'branch', '-q', '-D', 'deleted')
    const start = await createGitLander({ project: project(root), land: resolveConfig({}).land }).prepare({
      fresh: true,
      landings: [onFeature, merged, squashed, deleted, 'f'.repeat(40)],
    })
    expect(start.notHere).toEqual([
      { commit: onFeature, branches: ['feature'] },
      { commit: deleted, branches: [] },
    ])
  })
})

describe('a landing target that is not a branch', () => {
  it('is refused, by inspect as by prepare, with the near miss and the branches there are', async () => {
    const root = gitRepo()
    git(root, 'branch', 'dev')
    // The project's own config file is the one named: `tanuki.config.ts` beside it would be read instead.
    const lander = createGitLander({
      project: { ...project(root), configFile: 'tanuki.config.mjs' },
      land: resolveConfig({ land: { into: 'mian' } }).land,
    })
    const said =
      'The landing target "mian" (land.into) is not a branch of ' +
      `${root} (did you mean "main"?). Its branches: dev, main. ` +
      'Create it, or set land.into in tanuki.config.mjs to the branch to land on.'
    await expect(lander.inspect()).rejects.toThrow(said)
    await expect(lander.prepare()).rejects.toThrow(said)
    // Given on the command line: said so.
    const given = createGitLander({
      project: project(root),
      land: resolveConfig({ land: { into: 'mian' } }).land,
      intoFrom: '--into',
    })
    await expect(given.inspect()).rejects.toThrow(
      `"mian" (--into) is not a branch of ${root} (did you mean "main"?). Its branches: dev, main. Create it, or give --into the branch to land on.`,
    )
    // Where the last run landed, gone since: said so, and no guess when nothing is close.
    const recorded = createGitLander({ project: project(root), land: resolveConfig({}).land })
    await expect(recorded.inspect({ target: 'release' })).rejects.toThrow(
      `The landing target "release" (where the last run landed) is not a branch of ${root}. Its branches: dev, main.`,
    )
  })
})

describe('a project deleted and made again at the same path', () => {
  it('sets the old landing and agent worktrees aside, and makes new ones', async () => {
    const root = gitRepo()
    const info = { ...project(root), worktreesDir: tempDir('tanuki-worktrees-') }
    const land = resolveConfig({}).land
    await createGitLander({ project: info, land }).prepare()
    const agent = await openWorkspace({ project: info, agent: 'a' })
    writeFileSync(join(agent.dir, 'draft.txt'), 'an agent’s uncommitted draft\n')
    // The person deletes the project and clones it afresh where it was: the state folder stays.
    rmSync(root, { recursive: true, force: true })
    mkdirSync(root)
    initRepo(root, '# test project, again\n')

    const start = await createGitLander({ project: info, land }).prepare()
    expect(start).toMatchObject({ target: 'main', landed: [] })
    const again = await openWorkspace({ project: info, agent: 'a' })
    expect(again.dir).toBe(agent.dir)
    expect(readFileSync(join(again.dir, 'README.md'), 'utf8')).toBe('# test project, again\n')
    // Nothing was deleted: the old folders are beside the new ones, the draft in its own.
    const aside = readdirSync(info.worktreesDir).filter((name) => name.includes('.orphaned-'))
    expect(aside.map((name) => name.split('.orphaned-')[0]).sort()).toEqual(['_land-main', 'a'])
    const oldAgent = aside.find((name) => name.startsWith('a.'))!
    expect(readFileSync(join(info.worktreesDir, oldAgent, 'draft.txt'), 'utf8')).toBe('an agent’s uncommitted draft\n')
  })

  it('leaves alone a folder whose repository is still there, and refuses it as before', async () => {
    const root = gitRepo()
    const other = gitRepo()
    const info = { ...project(root), worktreesDir: tempDir('tanuki-worktrees-') }
    // A worktree of another repository, where the landing worktree would go.
    git(other, 'worktree', 'add', '-q', join(info.worktreesDir, '_land-main'))
    await expect(createGitLander({ project: info, land: resolveConfig({}).land }).prepare()).rejects.toThrow(
      /exists but is not Tanuki's landing worktree; move it away/,
    )
    expect(readdirSync(info.worktreesDir)).toEqual(['_land-main'])
  })
})

describe('the git lander’s dry run', () => {
  it('predicts what the landing finds: work already on the target, and no work, land nothing', async () => {
    const root = await withWork()
    // A person made T-1's change on main by hand: the agent's work of T-1 adds nothing any more.
    writeFileSync(join(root, 'notes.txt'), `${lines.join('\n').replace('line 20', 'line 20, by an agent')}\n`)
    git(root, 'commit', '-q', '-am', 'line 20, by hand')
    const land = resolveConfig({}).land
    const dry = createGitLander({ project: project(root), land })
    await dry.inspect()
    const tasks = [task('T-1'), task('T-0'), task('T-2')]
    expect(await dry.predict(tasks)).toEqual([
      { taskId: 'T-1', conflicts: [], empty: 'no-changes' },
      { taskId: 'T-0', conflicts: [], empty: 'no-work' },
      { taskId: 'T-2', conflicts: [] },
    ])
    // The landing does what the dry run said.
    const lander = createGitLander({ project: project(root), land })
    await lander.prepare()
    const outcomes = []
    for (const each of tasks) outcomes.push(await lander.land({ task: each, signal }))
    expect(outcomes.map((outcome) => outcome.status === 'landed' && (outcome.empty ?? 'landed'))).toEqual([
      'no-changes',
      'no-work',
      'landed',
    ])
  })
})

describe('project stop --remove, after work was held back', () => {
  it('keeps the integration branch, where the work waits, though a rerun of the task recorded a change of nothing', async () => {
    const root = await withWork()
    const info = project(root)
    writeFileSync(join(root, 'notes.txt'), `line 1, by a person\n${lines.slice(1).join('\n')}\n`)
    const lander = createGitLander({ project: info, land: resolveConfig({}).land })
    await lander.prepare()
    expect(await lander.land({ task: task('T-1'), signal })).toMatchObject({ status: 'landed', moved: false })
    await lander.close?.()
    // T-1 ran again on the landed work and changed nothing: its try, recorded, is an empty change.
    const held = git(root, 'rev-parse', 'tanuki/land/main')
    const empty = git(root, 'commit-tree', `${held}^{tree}`, '-p', held, '-m', 'T-1 again\n\nTanuki-Task: T-1')
    for (const kind of ['work', 'tip'] as const) git(root, 'update-ref', taskRef(info, 'T-1', kind), empty)

    const report = await removeWorktrees(info)
    expect(report.kept).toContainEqual({ name: 'tanuki/land/main', tasks: ['T-1'] })
    expect(git(root, 'rev-parse', 'tanuki/land/main')).toBe(held)
  })
})

describe('the merge and rebase strategies', () => {
  it.each(['merge', 'rebase'] as const)(
    '%s keeps landed work when the agent’s branch holds an earlier task’s commits that its next task started without',
    async (strategy) => {
      const root = gitRepo()
      writeFileSync(join(root, 'notes.txt'), `${lines.join('\n')}\n`)
      git(root, 'add', '-A')
      git(root, 'commit', '-q', '-m', 'notes')
      const agent = await openWorkspace({ project: project(root), agent: 'a' })
      const edit = async (id: string, line: number): Promise<void> => {
        // Each task starts from the landed work: T-2 before T-1 landed, so without T-1's change,
        // though T-1's commit stays on the agent's branch (the start commit's other parent).
        await agent.begin(task(id), { base: 'refs/heads/main', unlanded: [], carry: false })
        const text = readFileSync(join(agent.dir, 'notes.txt'), 'utf8')
        writeFileSync(join(agent.dir, 'notes.txt'), text.replace(`line ${line}\n`, `line ${line}, by an agent\n`))
        await agent.commit(`${id}\n\nTanuki-Task: ${id}\n`)
        await agent.publish(task(id))
      }
      await edit('T-1', 20)
      await edit('T-2', 10)
      const lander = createGitLander({ project: project(root), land: resolveConfig({ land: { strategy } }).land })
      await lander.prepare()
      expect(await lander.land({ task: task('T-1'), signal })).toMatchObject({ status: 'landed', moved: true })
      const second = await lander.land({ task: task('T-2'), signal })
      expect(second).toMatchObject({ status: 'landed', moved: true })
      const notes = readFileSync(join(root, 'notes.txt'), 'utf8')
      expect(notes).toContain('line 10, by an agent\n')
      // T-2's start did not have T-1's change: merging its branch must not take T-1's change back out.
      expect(notes).toContain('line 20, by an agent\n')
      const commit = second.status === 'landed' ? second.commit : ''
      // Still a merge of the task's branch (--no-ff): the tip is its second parent.
      if (strategy === 'merge')
        expect(git(root, 'rev-parse', `${commit}^2`)).toBe(git(root, 'rev-parse', taskRef(project(root), 'T-2', 'tip')))
      // Its commits, then the one with the trailers.
      else expect(git(root, 'log', '--format=%s', '-2', commit).split('\n')).toEqual(['Task T-2', 'T-2'])
    },
  )

  it('merge: an earlier task whose commits a later landing brought into the history is not taken for landed', async () => {
    const root = gitRepo()
    writeFileSync(join(root, 'notes.txt'), `${lines.join('\n')}\n`)
    git(root, 'add', '-A')
    git(root, 'commit', '-q', '-m', 'notes')
    const agent = await openWorkspace({ project: project(root), agent: 'a' })
    for (const [id, line] of [
      ['T-1', 20],
      ['T-2', 10],
    ] as const) {
      await agent.begin(task(id), { base: 'refs/heads/main', unlanded: [], carry: false })
      const text = readFileSync(join(agent.dir, 'notes.txt'), 'utf8')
      writeFileSync(join(agent.dir, 'notes.txt'), text.replace(`line ${line}\n`, `line ${line}, by an agent\n`))
      await agent.commit(`${id}\n\nTanuki-Task: ${id}\n`)
      await agent.publish(task(id))
    }
    const land = resolveConfig({ land: { strategy: 'merge' } }).land
    const lander = createGitLander({ project: project(root), land })
    await lander.prepare()
    // T-2 lands first: its tip's history holds T-1's commit, which main now reaches.
    expect(await lander.land({ task: task('T-2'), signal })).toMatchObject({ status: 'landed', moved: true })
    expect(git(root, 'merge-base', '--is-ancestor', taskRef(project(root), 'T-1', 'tip'), 'main')).toBe('')
    expect(readFileSync(join(root, 'notes.txt'), 'utf8')).not.toContain('line 20, by an agent')
    // A later start does not record T-1 landed: its change is not on main.
    const again = createGitLander({ project: project(root), land })
    expect((await again.prepare()).landed.map((each) => each.taskId)).not.toContain('T-1')
    expect(await again.land({ task: task('T-1'), signal })).toMatchObject({ status: 'landed', moved: true })
    expect(readFileSync(join(root, 'notes.txt'), 'utf8')).toContain('line 20, by an agent')
  })
})

describe('a target a person is rebasing', () => {
  it('does not move under their rebase: the work waits, the rebase ends well, and the next landing moves it', async () => {
    const root = await withWork()
    writeFileSync(join(root, 'mine.txt'), 'mine\n')
    git(root, 'add', 'mine.txt')
    git(root, 'commit', '-q', '-m', 'mine')
    const lander = createGitLander({ project: project(root), land: resolveConfig({}).land })
    await lander.prepare()
    // `git rebase -i HEAD~1`, stopped to edit the person's commit: HEAD is detached, main is theirs.
    execFileSync('git', ['rebase', '-q', '-i', 'HEAD~1'], {
      cwd: root,
      env: { ...process.env, GIT_SEQUENCE_EDITOR: "sed -i -e '1s/^pick/edit/'" },
      stdio: 'ignore',
    })
    const before = git(root, 'rev-parse', 'main')
    const first = await lander.land({ task: task('T-1'), signal })
    expect(first).toMatchObject({
      status: 'landed',
      moved: false,
      note: expect.stringMatching(
        /^main is being rebased in .+; moving it now would make the rebase fail at its end, so nothing of yours was touched\. The work waits on tanuki\/land\/main: finish the rebase \(or abort it\), then run `tanuki land`\.$/,
      ),
    })
    expect(git(root, 'rev-parse', 'main')).toBe(before)
    git(root, 'commit', '-q', '--amend', '-m', 'mine, reworded')
    git(root, 'rebase', '--continue')
    expect(git(root, 'log', '-1', '--format=%s', 'main')).toBe('mine, reworded')
    // Done: the next landing brings the rebased commit in and moves main.
    expect(await lander.land({ task: task('T-2'), signal })).toMatchObject({ status: 'landed', moved: true })
    const notes = readFileSync(join(root, 'notes.txt'), 'utf8')
    expect(notes).toContain('line 10, by an agent\n')
    expect(notes).toContain('line 20, by an agent\n')
    expect(git(root, 'log', '--format=%s', 'main')).toContain('mine, reworded')
  })
})

describe("a role's setup at landing", () => {
  const gated = (id: string, verify: string): Task => createTask({ id, title: `Task ${id}`, completion: { verify } })

  it('runs in the integration worktree before the gate, which then finds what it installed', async () => {
    const root = await withWork()
    // What an install leaves, which git does not track: the gate needs it, the project does not have it.
    writeFileSync(join(root, '.gitignore'), 'deps/\n')
    git(root, 'add', '-A')
    git(root, 'commit', '-q', '-m', 'ignore deps')
    const lander = createGitLander({ project: project(root), land: resolveConfig({}).land })
    await lander.prepare()
    const verify = 'test -f deps/ready'
    expect(await lander.land({ task: gated('T-1', verify), signal })).toMatchObject({
      status: 'gate-failed',
      command: verify,
      exitCode: 1,
    })
    const landed = await lander.land({
      task: gated('T-1', verify),
      setup: 'mkdir -p deps && touch deps/ready',
      signal,
    })
    expect(landed).toMatchObject({ status: 'landed', moved: true })
    expect(readFileSync(join(root, 'notes.txt'), 'utf8')).toContain('line 20, by an agent\n')
    // Installed where the gate ran, never landed.
    expect(readdirSync(lander.integration!.dir)).toContain('deps')
    expect(git(root, 'ls-tree', '-r', '--name-only', 'main')).not.toContain('deps/ready')
  })

  it('work a person accepted lands without its own verify, and land.verify still gates it', async () => {
    const root = await withWork()
    const land = resolveConfig({ land: { verify: 'test -f notes.txt' } }).land
    const lander = createGitLander({ project: project(root), land })
    await lander.prepare()
    const steps: string[] = []
    const task = gated('T-1', 'false')
    expect(await lander.land({ task, signal })).toMatchObject({ status: 'gate-failed', command: 'false' })
    const landed = await lander.land({ task, accepted: true, signal, onGate: ({ command }) => steps.push(command) })
    expect(landed).toMatchObject({ status: 'landed', moved: true })
    expect(steps).toEqual(['test -f notes.txt'])
  })

  it('says as each command of the gate starts: the setup, the task’s verify, then land.verify, in order', async () => {
    const root = await withWork()
    const land = resolveConfig({ land: { verify: 'test -f notes.txt' } }).land
    const lander = createGitLander({ project: project(root), land })
    await lander.prepare()
    const steps: { command: string; setup: boolean }[] = []
    const landed = await lander.land({
      task: gated('T-1', 'true'),
      setup: 'true',
      signal,
      onGate: (step) => steps.push(step),
    })
    expect(landed).toMatchObject({ status: 'landed', moved: true })
    expect(steps).toEqual([
      { command: 'true', setup: true },
      { command: 'true', setup: false },
      { command: 'test -f notes.txt', setup: false },
    ])
  })

  it('that fails ends the landing as a setup failure, with its output; nothing moves; with no gate it does not run', async () => {
    const root = await withWork()
    const main = git(root, 'rev-parse', 'main')
    const lander = createGitLander({ project: project(root), land: resolveConfig({}).land })
    await lander.prepare()
    const setup = 'echo "npm ERR! code ENOTCACHED" >&2; exit 3'
    expect(await lander.land({ task: gated('T-1', 'true'), setup, signal })).toEqual({
      status: 'gate-failed',
      command: setup,
      exitCode: 3,
      output: 'npm ERR! code ENOTCACHED\n',
      setup: true,
    })
    expect(git(root, 'rev-parse', 'main')).toBe(main)
    // Nothing to check the work with, nothing to set up for.
    const marker = join(tempDir(), 'ran')
    expect(await lander.land({ task: task('T-2'), setup: `touch ${marker}; exit 1`, signal })).toMatchObject({
      status: 'landed',
      moved: true,
    })
    expect(readdirSync(join(marker, '..'))).toEqual([])
  })
})

describe('a project in a subfolder of its repository', () => {
  it('runs the setup and the gate in the project folder of the landing worktree, as the agents run them in theirs', async () => {
    const top = gitRepo()
    const root = join(top, 'services', 'api')
    mkdirSync(root, { recursive: true })
    writeFileSync(join(root, 'package.json'), '{}\n')
    git(top, 'add', '-A')
    git(top, 'commit', '-q', '-m', 'api')
    const agent = await openWorkspace({ project: project(root), agent: 'a' })
    await agent.begin(task('T-1'), { unlanded: [], carry: false })
    writeFileSync(join(agent.dir, 'add.js'), 'export const add = (a, b) => a + b\n')
    await agent.commit('T-1\n\nTanuki-Task: T-1\n')
    await agent.publish(task('T-1'))

    const where = join(tempDir(), 'where')
    const land = resolveConfig({ land: { verify: `pwd >> ${where} && test -f package.json` } }).land
    const lander = createGitLander({ project: project(root), land })
    await lander.prepare()
    const gated = createTask({ id: 'T-1', title: 'Task T-1', completion: { verify: 'test -f add.js' } })
    expect(await lander.land({ task: gated, setup: `pwd >> ${where}`, signal })).toMatchObject({
      status: 'landed',
      moved: true,
    })
    const cwd = join(lander.integration!.dir, 'services', 'api')
    expect(lander.integration!.cwd).toBe(cwd)
    expect(readFileSync(where, 'utf8')).toBe(`${cwd}\n${cwd}\n`)
    expect(git(top, 'show', 'main:services/api/add.js')).toBe('export const add = (a, b) => a + b')

    // A target that fails the gate by itself is judged there too.
    const alone = await lander.gateAlone!({
      base: git(top, 'rev-parse', 'main'),
      command: 'test -f package.json',
      signal,
    })
    expect(alone).toMatchObject({ passed: true })
  })
})

describe('a landing that conflicts', () => {
  /** T-1 and T-2 both edit line 10 of notes.txt, from the same start; T-3 edits line 20. */
  async function rivals(): Promise<string> {
    const root = gitRepo()
    writeFileSync(join(root, 'notes.txt'), `${lines.join('\n')}\n`)
    git(root, 'add', '-A')
    git(root, 'commit', '-q', '-m', 'notes')
    for (const [id, line] of [
      ['T-1', 10],
      ['T-2', 10],
      ['T-3', 20],
    ] as const) {
      // An agent each: every task starts from the same commit.
      const agent = await openWorkspace({ project: project(root), agent: id.toLowerCase() })
      await agent.begin(task(id), { unlanded: [], carry: false })
      const text = readFileSync(join(agent.dir, 'notes.txt'), 'utf8')
      writeFileSync(join(agent.dir, 'notes.txt'), text.replace(`line ${line}\n`, `line ${line}, by ${id}\n`))
      await agent.commit(`${id}\n\nTanuki-Task: ${id}\n`)
      await agent.publish(task(id))
    }
    return root
  }

  it.each(['squash', 'merge', 'rebase'] as const)(
    'names the task whose landed work it met, not its own (%s)',
    async (strategy) => {
      const root = await rivals()
      const lander = createGitLander({ project: project(root), land: resolveConfig({ land: { strategy } }).land })
      await lander.prepare()
      expect(await lander.land({ task: task('T-1'), signal })).toMatchObject({ status: 'landed' })
      // T-3's landing changed another line of that file since T-2 began: named too, as git cannot tell.
      expect(await lander.land({ task: task('T-3'), signal })).toMatchObject({ status: 'landed' })
      expect(await lander.land({ task: task('T-2'), signal })).toMatchObject({
        status: 'conflict',
        files: ['notes.txt'],
        what: 'the work of T-1 and T-3',
      })
      await lander.close?.()
    },
    60_000,
  )

  it('says "work landed since it began" for changes no task’s trailer names (a person’s commit)', async () => {
    const root = await rivals()
    writeFileSync(
      join(root, 'notes.txt'),
      `${lines.slice(0, 9).join('\n')}\nline 10, by a person\n${lines.slice(10).join('\n')}\n`,
    )
    git(root, 'commit', '-qam', 'my line')
    const lander = createGitLander({ project: project(root), land: resolveConfig({}).land })
    await lander.prepare()
    expect(await lander.land({ task: task('T-1'), signal })).toMatchObject({
      status: 'conflict',
      what: 'work landed since it began',
    })
    await lander.close?.()
  })
})

describe('a target a person rebased onto its remote after its push was refused', () => {
  const land = resolveConfig({ land: { push: 'origin' } }).land
  /** Task ids of the landings on a branch, newest first: each once, or a landing came twice. */
  const landedOn = (dir: string, branch = 'main'): string[] =>
    git(dir, 'log', '--format=%(trailers:key=Tanuki-Task,valueonly)', branch).split('\n').filter(Boolean)

  /**
   * `withWork` with a bare remote `origin` holding main, where another clone pushed a commit
   * first (changing line `line` of notes.txt, or a file of its own); T-1 landed, its push refused.
   */
  async function refused(line?: number): Promise<{ root: string; bare: string; lander: GitLander }> {
    const root = await withWork()
    const bare = join(tempDir('tanuki-bare-'), 'shared.git')
    git(root, 'init', '-q', '--bare', '-b', 'main', bare)
    git(root, 'remote', 'add', 'origin', bare)
    git(root, 'push', '-q', 'origin', 'main')
    const other = join(tempDir('tanuki-other-'), 'other')
    git(root, 'clone', '-q', bare, other)
    if (line === undefined) writeFileSync(join(other, 'theirs.txt'), 'theirs\n')
    else {
      const text = readFileSync(join(other, 'notes.txt'), 'utf8')
      writeFileSync(join(other, 'notes.txt'), text.replace(`line ${line}\n`, `line ${line}, by someone else\n`))
    }
    git(other, 'add', '-A')
    git(other, '-c', 'user.name=Other', '-c', 'user.email=other@example.invalid', 'commit', '-qm', 'theirs')
    git(other, 'push', '-q', 'origin', 'main')
    const lander = createGitLander({ project: project(root), land })
    await lander.prepare()
    expect(await lander.land({ task: task('T-1'), signal })).toMatchObject({
      status: 'landed',
      moved: true,
      push: {
        remote: 'origin',
        branch: 'main',
        error: expect.stringMatching(/\[rejected\] +main -> main \(fetch first\)/),
      },
    })
    return { root, bare, lander }
  }

  /** What the person does on git's hint: `git pull --rebase`, then `git push` (the landing rewritten on the remote's commit). */
  function pullRebaseAndPush(root: string): void {
    git(root, 'pull', '-q', '--rebase', 'origin', 'main')
    git(root, 'push', '-q', 'origin', 'main')
  }

  it('takes the landing rewritten there for landed: the landing branch starts again from the target, and nothing lands twice', async () => {
    const { root, bare, lander } = await refused()
    await lander.close?.()
    const waited = git(root, 'rev-parse', 'tanuki/land/main')
    pullRebaseAndPush(root)
    const main = git(root, 'rev-parse', 'main')
    expect(main).not.toBe(waited)

    // The dry run says as much, and moves nothing.
    const dry = await createGitLander({ project: project(root), land }).inspect({ target: 'main' })
    expect(dry).toMatchObject({ landed: [{ taskId: 'T-1', commit: main }] })
    expect(dry.held).toBeUndefined()
    expect(dry.note).toMatch(
      /\(T-1 as \w{12}\): `tanuki land` starts tanuki\/land\/main again from main, so nothing lands twice\./,
    )
    expect(git(root, 'rev-parse', 'tanuki/land/main')).toBe(waited)

    const again = createGitLander({ project: project(root), land })
    const start = await again.prepare({ target: 'main' })
    // The push goes through (the remote has main already): the failure it recorded clears.
    expect(start.push).toEqual({ remote: 'origin', branch: 'main' })
    expect(start.landed).toEqual([{ taskId: 'T-1', commit: main }])
    expect(start.relanding).toBeUndefined()
    expect(start.caughtUp).toBeUndefined()
    expect(start.note).toMatch(
      /^main holds work that waited on tanuki\/land\/main already, rewritten by a rebase \(`git pull --rebase`\) into commits of its own \(T-1 as \w{12}\): tanuki\/land\/main starts again from main \(it was at \w{12}\), so nothing lands twice\./,
    )
    // Nothing merged: main as the person left it, the landing branch on it.
    expect(git(root, 'rev-parse', 'main')).toBe(main)
    expect(git(root, 'rev-parse', 'tanuki/land/main')).toBe(main)
    expect(landedOn(root)).toEqual(['T-1'])

    // The next landing goes on the person's main, and reaches the remote.
    expect(await again.land({ task: task('T-2'), signal })).toMatchObject({
      status: 'landed',
      moved: true,
      push: { remote: 'origin', branch: 'main' },
    })
    expect(landedOn(root)).toEqual(['T-2', 'T-1'])
    expect(git(root, 'rev-parse', 'main^')).toBe(main)
    expect(git(bare, 'rev-parse', 'main')).toBe(git(root, 'rev-parse', 'main'))
    await again.close?.()
  })

  it('during a run too: the next landing goes on the rewritten target, not on a merge of both copies', async () => {
    const { root, bare, lander } = await refused()
    pullRebaseAndPush(root)
    const main = git(root, 'rev-parse', 'main')
    expect(await lander.land({ task: task('T-2'), signal })).toMatchObject({
      status: 'landed',
      moved: true,
      push: { remote: 'origin', branch: 'main' },
    })
    expect(landedOn(root)).toEqual(['T-2', 'T-1'])
    expect(git(root, 'rev-parse', 'main^')).toBe(main)
    expect(git(bare, 'rev-parse', 'main')).toBe(git(root, 'rev-parse', 'main'))
    await lander.close?.()
  })

  it('lands again from its work only what the target lacks: a landing that waited behind the person’s changes', async () => {
    const { root, lander } = await refused()
    // The person's uncommitted edit holds T-2's landing back on the integration branch.
    writeFileSync(join(root, 'notes.txt'), `line 1, by a person\n${lines.slice(1).join('\n')}\n`)
    expect(await lander.land({ task: task('T-2'), signal })).toMatchObject({ status: 'landed', moved: false })
    await lander.close?.()
    const waited = git(root, 'rev-parse', 'tanuki/land/main')
    git(root, 'pull', '-q', '--rebase', '--autostash', 'origin', 'main')
    git(root, 'push', '-q', 'origin', 'main')
    const main = git(root, 'rev-parse', 'main')

    const again = createGitLander({ project: project(root), land })
    const start = await again.prepare({ target: 'main' })
    expect(start).toMatchObject({
      landed: [{ taskId: 'T-1', commit: main }],
      relanding: [{ taskId: 'T-2', commit: waited }],
      note: expect.stringMatching(
        /starts again from main \(it was at \w{12}\), so nothing lands twice, and T-2 lands again from its work, gated\./,
      ),
    })
    expect(git(root, 'rev-parse', 'tanuki/land/main')).toBe(main)
    // T-2 lands again on the person's main (and waits again for their uncommitted edit).
    expect(await again.land({ task: task('T-2'), signal })).toMatchObject({ status: 'landed', moved: false })
    expect(landedOn(root, 'tanuki/land/main')).toEqual(['T-2', 'T-1'])
    expect(git(root, 'rev-parse', 'tanuki/land/main^')).toBe(main)
    await again.close?.()
  })

  it('whose rebase met a conflict the person resolved: no merge by hand is asked, nothing lands again, though its work is gone', async () => {
    // Someone else changed line 20, which T-1 changed too: the rebase stops, the person resolves it.
    const { root, lander } = await refused(20)
    await lander.close?.()
    const pulled = spawnSync('git', ['pull', '-q', '--rebase', 'origin', 'main'], { cwd: root, encoding: 'utf8' })
    expect(pulled.status).not.toBe(0)
    const text = readFileSync(join(root, 'notes.txt'), 'utf8')
    writeFileSync(
      join(root, 'notes.txt'),
      text.replace(/<<<<<<< [^\n]*\n[^]*?>>>>>>> [^\n]*\n/, 'line 20, by someone else and an agent\n'),
    )
    git(root, 'add', 'notes.txt')
    git(root, '-c', 'core.editor=true', 'rebase', '--continue')
    git(root, 'push', '-q', 'origin', 'main')
    const main = git(root, 'rev-parse', 'main')
    // The change differs from the landing's (resolved), the trailers are the same.
    git(root, 'update-ref', '-d', taskRef(project(root), 'T-1', 'work'))

    const start = await createGitLander({ project: project(root), land }).prepare({ target: 'main' })
    expect(start).toMatchObject({
      landed: [{ taskId: 'T-1', commit: main }],
      push: { remote: 'origin', branch: 'main' },
    })
    expect(start.relanding).toBeUndefined()
    expect(start.note).not.toMatch(/by hand/)
    expect(git(root, 'rev-parse', 'tanuki/land/main')).toBe(main)
    expect(git(root, 'rev-parse', 'main')).toBe(main)
    expect(landedOn(root)).toEqual(['T-1'])
  })
})

describe('land.message', () => {
  it('writes each landing commit from the template, with every strategy, its trailers still trailers to git', async () => {
    for (const strategy of ['squash', 'merge', 'rebase'] as const) {
      const root = await withWork()
      const land = resolveConfig({ land: { strategy, message: 'feat({role}): {title}\n\nRefs: #{id}' } }).land
      const lander = createGitLander({ project: project(root), land })
      await lander.prepare()
      expect(await lander.land({ task: task('T-1'), signal })).toMatchObject({ status: 'landed', moved: true })
      const [subject, ...rest] = git(root, 'log', '-1', '--format=%B', 'main').trim().split('\n')
      expect(subject).toBe('feat(default): Task T-1')
      expect(rest.slice(0, 3)).toEqual(['', 'Refs: #T-1', 'Tanuki-Task: T-1'])
      // One paragraph of trailers: git reads the person's and Tanuki's alike.
      expect(
        git(root, 'log', '-1', '--format=%(trailers:key=Refs,valueonly)%(trailers:key=Tanuki-Task,valueonly)', 'main'),
      ).toBe('#T-1\nT-1')
      expect(readFileSync(join(root, 'notes.txt'), 'utf8')).toContain('line 20, by an agent')
    }
  })

  it("stops landing without moving anything when the config's function throws, naming the task", async () => {
    const root = await withWork()
    const main = git(root, 'rev-parse', 'main')
    const message = (t: Task): string => {
      if (!t.extra.ticket) throw new Error(`${t.id} has no ticket`)
      return t.title
    }
    const lander = createGitLander({ project: project(root), land: resolveConfig({ land: { message } }).land })
    await lander.prepare()
    await expect(lander.land({ task: task('T-1'), signal })).rejects.toThrow(
      'land.message failed for T-1: T-1 has no ticket. Fix the function in your config, then `tanuki land`.',
    )
    expect(git(root, 'rev-parse', 'main')).toBe(main)
    expect(git(lander.integration!.dir, 'status', '--porcelain')).toBe('')
  })
})
