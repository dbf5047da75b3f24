import { existsSync } from 'node:fs'
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import {
  TanukiError,
  pathName,
  type Conflict,
  type ExecOptions,
  type ExecResult,
  type ProjectInfo,
  type Task,
  type TaskContext,
  type TaskStart,
} from '@tanuki/core'
import { removeOwned, type RemoveReport } from './cleanup.ts'
import { projectNotCommitted } from './find-program.ts'
import { setAsideOrphan } from './git/orphan.ts'
import { readOwned, updateOwned } from './git/owned.ts'
import {
  addWorktree,
  commitConfig,
  conflictedFiles,
  git,
  gitOrThrow,
  gitRepository,
  gitSaid,
  isAncestor,
  listWorktrees,
  real,
  revParse,
  samePath,
  serialized,
  type GitResult,
} from './git/run.ts'
import { safeName, taskRef } from './ref-names.ts'
import { worktreesDir } from './worktrees-dir.ts'

export { worktreesDir }

export { TASK_TRAILER } from './git/run.ts'

/** Where an agent works: its own git worktree, the project directory, or `auto` (see README). */
export type WorkspaceMode = 'auto' | 'worktree' | 'shared'

/** An agent's workspace. */
export interface Workspace {
  /** What it is. */
  readonly mode: 'worktree' | 'shared'
  /** The directory the agent's processes and verify commands run in. */
  readonly dir: string
  /**
   * A worktree's top: the whole repository, of which `dir` is the project's folder (the same
   * folder unless the project is a subfolder of its repository). Unset for a shared workspace.
   */
  readonly top?: string
  /** The agent's branch, for a worktree. */
  readonly branch?: string
  /**
   * Prepares the workspace for a task: starts from `context.base` (the landed work), brings in the
   * work of dependencies that has not landed, and carries on the task's earlier work when it comes
   * back after a failed landing. A merge that does not apply is left in progress and returned.
   */
  begin(task: Task, context: TaskContext): Promise<TaskStart>
  /**
   * Commits every change in a worktree on the agent's branch. Resolves with the commit, or
   * undefined when nothing changed (always, for a shared workspace).
   */
  commit(message: string): Promise<string | undefined>
  /**
   * Records a task's work where the lander finds it (`refs/tanuki/<project>/tasks/<id>/…`): when it
   * completed, and when it went to review (see `endTaskWork`).
   */
  publish(task: Task): Promise<void>
  /**
   * The files of the conflict `begin` left that still hold conflict markers. Empty when there was
   * none (always, for a shared workspace). Optional for workspaces of other backends.
   */
  unresolved?(): Promise<string[]>
  /**
   * Runs a role's `setup` (`run`) in the workspace, and keeps what it created that git neither
   * tracks nor ignores (`node_modules/` in a project without a `.gitignore`) out of this and later
   * tasks' commits, for as long as git does not track it. Resolves with `run`'s value and those
   * paths (relative to the repository's top; a folder ends with `/`). Optional for workspaces of
   * other backends.
   */
  setUp?<T>(run: () => Promise<T>): Promise<{ value: T; leftOut: string[] }>
  /**
   * Deletes a worktree and its branch, unless the branch holds work that has not landed (then it
   * is kept, and reported, unless `force`). Does nothing for a shared workspace.
   */
  remove(options?: { force?: boolean }): Promise<RemoveReport>
}

/**
 * Whether a file still holds a conflict git wrote into it: a `<<<<<<< ` line and a `>>>>>>> ` line.
 * A lone `=======` is a Markdown heading's underline as often as a marker.
 */
function hasConflict(text: string): boolean {
  return /^<{7}(?: |$)/m.test(text) && /^>{7}(?: |$)/m.test(text)
}

/** The branch an agent's worktree would like to have (another is chosen when a person's branch has this name). */
export function branchName(agent: string): string {
  return `tanuki/${safeName(agent)}`
}

/**
 * The path of an agent's worktree. The agent's name goes through core's one guard for names that
 * become paths first: one that could leave the folder (`..`, a separator) is refused, not mangled.
 */
export function worktreePath(project: ProjectInfo, agent: string): string {
  return join(worktreesDir(project), safeName(pathName(agent, 'agent name')))
}

/**
 * A workspace's part of `Agent.endTask`: publishes the work of a task that completed, and of one
 * that went to review. A person who approves a review (`tanuki task mark ID complete`) means the
 * work they reviewed, and it must land; by then the agent's branch has moved on to other tasks,
 * so only the task's refs can still say which work that was. A task that failed publishes
 * nothing, nor does a review with a merge conflict left unresolved: its conflict markers would
 * land with it.
 */
export async function endTaskWork(
  workspace: Workspace,
  task: Task,
  outcome: { status: 'complete' | 'review' | 'failed' },
): Promise<void> {
  if (outcome.status === 'failed') return
  if (outcome.status === 'review' && ((await workspace.unresolved?.()) ?? []).length > 0) return
  await workspace.publish(task)
}

/**
 * An agent's `exec`: a role's `setup` (`options.setup`) in a workspace whose work is committed
 * (`commits`) runs through the workspace's `setUp`, so what it creates that git would take, and
 * neither tracks nor ignores, stays out of the task's commits; the result names it (`leftOut`).
 */
export async function execInWorkspace(
  workspace: Workspace,
  commits: boolean,
  options: ExecOptions,
  run: () => Promise<ExecResult>,
): Promise<ExecResult> {
  if (!options.setup || !commits || !workspace.setUp) return run()
  const { value, leftOut } = await workspace.setUp(run)
  return leftOut.length > 0 ? { ...value, leftOut } : value
}

function sharedWorkspace(dir: string): Workspace {
  return {
    mode: 'shared',
    dir,
    begin: async () => ({}),
    commit: async () => undefined,
    publish: async () => {},
    unresolved: async () => [],
    remove: async () => ({ removed: [], kept: [], discarded: [] }),
  }
}

/** A branch name of ours for an agent: the one recorded for it, else a free one (never a person's). */
async function agentBranch(
  project: ProjectInfo,
  agent: string,
  repo: string,
): Promise<{ name: string; exists: boolean }> {
  const owned = readOwned(project)
  const recorded = Object.entries(owned.branches).find(([, entry]) => entry.kind === 'agent' && entry.agent === agent)
  if (recorded && (await revParse(`refs/heads/${recorded[0]}`, repo))) return { name: recorded[0], exists: true }
  for (let n = 1; ; n++) {
    const name = n === 1 ? branchName(agent) : `${branchName(agent)}-${n}`
    if (owned.branches[name]) continue
    if (!(await revParse(`refs/heads/${name}`, repo))) return { name, exists: false }
  }
}

/** The other side's change to conflicted files, for the agent's prompt. */
async function conflictDetail(dir: string, files: string[], from: string, to: string): Promise<string> {
  const diff = await git(['diff', '--no-color', from, to, '--', ...files], dir)
  return diff.stdout.trim() || '(no textual diff: a file was added, deleted or renamed on both sides)'
}

async function openWorktree(
  project: ProjectInfo,
  agent: string,
  repo: { top: string; prefix: string },
): Promise<Workspace> {
  const path = worktreePath(project, agent)
  const dir = repo.prefix ? join(path, repo.prefix) : path
  const branch = await serialized(repo.top, async () => {
    const owned = readOwned(project)
    const recorded = owned.worktrees[real(path)]
    // A respawn (after a crash, a stop, a resume): keep its work.
    if (recorded && existsSync(path)) return recorded.branch
    if (existsSync(path) && !setAsideOrphan(path)) {
      throw new TanukiError(
        'TANUKI_AGENT_SPAWN_FAILED',
        `${path} exists but Tanuki did not make it for agent ${agent}; move it away (Tanuki never takes over a folder or branch it did not create).`,
        { details: { path } },
      )
    }
    await mkdir(worktreesDir(project), { recursive: true })
    const { name, exists } = await agentBranch(project, agent, repo.top)
    const args = exists ? ['worktree', 'add', path, name] : ['worktree', 'add', '-b', name, path, 'HEAD']
    const add = (): Promise<GitResult> => addWorktree(repo.top, args, path, exists ? undefined : name)
    let added = await add()
    if (added.code !== 0 && /already registered|missing but/.test(added.stderr)) {
      // Its folder was deleted by hand: forget the stale registration, then add it again.
      await git(['worktree', 'prune'], repo.top)
      added = await add()
    }
    if (added.code !== 0) {
      throw new TanukiError(
        'TANUKI_AGENT_SPAWN_FAILED',
        `creating the worktree of agent ${agent} failed in ${repo.top}: git ${args.join(' ')}: ${gitSaid(added)}`,
        { details: { args, cwd: repo.top } },
      )
    }
    const at = new Date().toISOString()
    updateOwned(project, (record) => {
      record.branches[name] ??= { kind: 'agent', agent, at }
      record.worktrees[real(path)] = { kind: 'agent', agent, branch: name, at }
    })
    return name
  })
  const inWorktree = (args: readonly string[]): Promise<GitResult> => git(args, path)
  const check = (result: GitResult, what: string): GitResult => {
    if (result.code === 0) return result
    throw new TanukiError('TANUKI_AGENT_FAILED', `agent ${agent}'s worktree ${path}: git ${what}: ${gitSaid(result)}`)
  }
  const commitWith = async (args: string[]): Promise<void> => {
    check(
      await inWorktree([...(await commitConfig(path, safeName(agent))), 'commit', '--quiet', '--no-verify', ...args]),
      'commit',
    )
  }

  /** Pathspecs that keep what setups created out of `git add`. */
  const excludedPaths = async (): Promise<string[]> =>
    (await leftOut()).map((file) => `:(exclude,literal)${file.replace(/\/$/, '')}`)

  /**
   * The worktree's files as a commit on HEAD, made through an index of its own, the branch not
   * moved: for when the worktree's index cannot be used (a lock a killed git left on it).
   */
  const snapshot = async (message: string): Promise<string> => {
    const index = await inGitDir('tanuki-snapshot-index')
    const env = { GIT_INDEX_FILE: index }
    try {
      await rm(index, { force: true })
      check(await git(['read-tree', 'HEAD'], path, env), 'read-tree')
      check(await git(['add', '--all', '--', '.', ...(await excludedPaths())], path, env), 'add')
      const tree = check(await git(['write-tree'], path, env), 'write-tree').stdout.trim()
      const config = await commitConfig(path, safeName(agent))
      return check(
        await git([...config, 'commit-tree', tree, '-p', 'HEAD', '-m', message], path),
        'commit-tree',
      ).stdout.trim()
    } finally {
      await rm(index, { force: true })
    }
  }

  const commit = async (message: string): Promise<string | undefined> => {
    // Every untracked file, whatever the person's `status.showUntrackedFiles` says (`no` would hide
    // work that only adds files, and leave it to be committed in a later task's work).
    const status = check(await inWorktree(['status', '--porcelain', '--untracked-files=all']), 'status')
    const merging = (await revParse('MERGE_HEAD', path)) ?? (await revParse('CHERRY_PICK_HEAD', path))
    if (status.stdout.trim() === '' && !merging) return undefined
    // What a setup created is not the task's work, though git would take it (no .gitignore).
    const excluded = await excludedPaths()
    check(await inWorktree(['add', '--all', '--', '.', ...excluded]), 'add')
    // Nothing but what a setup created changed: nothing to commit. (Without such files, what
    // `status` listed is staged now: no git call to ask, once per iteration.)
    if (!merging && excluded.length > 0 && (await inWorktree(['diff', '--cached', '--quiet'])).code === 0)
      return undefined
    await commitWith(['--allow-empty', '-m', message])
    return (await inWorktree(['rev-parse', 'HEAD'])).stdout.trim()
  }

  /**
   * Applies one commit's change; on a conflict leaves it in progress and says so. `own`: the
   * change is the task's own earlier work, applied uncommitted on what it starts from now: the
   * other side of its conflict is then what changed there since that work began, not the work itself.
   */
  const apply = async (change: string, what: string, own: boolean): Promise<Conflict | undefined> => {
    const commitIt = !own
    const picked = await inWorktree([
      ...(await commitConfig(path, safeName(agent))),
      'cherry-pick',
      '--allow-empty',
      '--keep-redundant-commits',
      ...(commitIt ? [] : ['--no-commit']),
      change,
    ])
    if (picked.code === 0) return undefined
    const files = await conflictedFiles(path)
    if (files.length === 0) {
      await inWorktree(['cherry-pick', '--abort'])
      throw new TanukiError('TANUKI_AGENT_FAILED', `agent ${agent}: bringing in ${what} failed: ${gitSaid(picked)}`)
    }
    if (!own) return { files, what, detail: await conflictDetail(path, files, `${change}^`, change) }
    return { files, what, own: true, detail: await conflictDetail(path, files, `${change}^`, 'HEAD') }
  }

  /**
   * The task this worktree is on and the commit it began from, kept in the worktree's own git
   * folder until the task's work is published: when the agent crashes and its task comes back to
   * this worktree, the earlier attempt's work is carried on instead of thrown away.
   */
  // The worktree's git folder, asked of git once: every iteration reads the conflict file in it.
  let gitDir: string | undefined
  const inGitDir = async (name: string): Promise<string> => {
    gitDir ??= check(await inWorktree(['rev-parse', '--absolute-git-dir']), 'rev-parse').stdout.trim()
    return join(gitDir, name)
  }
  const marker = (): Promise<string> => inGitDir('tanuki-task')
  const readMarker = async (): Promise<{ task: string; base: string } | undefined> => {
    const text = await readFile(await marker(), 'utf8').catch(() => '')
    const [task, base] = text.split('\n')
    return task && base ? { task, base } : undefined
  }

  /**
   * The files of the conflict the last `begin` left for the agent, until it resolved them: kept in
   * the worktree's git folder too, so a new process (a resume) knows them.
   */
  const conflictFile = async (): Promise<string> => `${await marker()}-conflict`
  const readConflicted = async (): Promise<string[]> =>
    (await readFile(await conflictFile(), 'utf8').catch(() => '')).split('\0').filter(Boolean)
  const writeConflicted = async (files: readonly string[]): Promise<void> => {
    if (files.length > 0) await writeFile(await conflictFile(), files.join('\0'))
    else await rm(await conflictFile(), { force: true })
  }
  /** Of `files`, those that still hold a conflict (a file that is gone is resolved). */
  const stillConflicted = async (files: readonly string[]): Promise<string[]> => {
    const left: string[] = []
    for (const file of files) {
      try {
        if (hasConflict(await readFile(join(path, file), 'utf8'))) left.push(file)
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') left.push(file)
      }
    }
    return left
  }

  /**
   * The paths setups created that git neither tracked nor ignored, kept in the worktree's own git
   * folder: the worktree outlives a task, a process and a run, and so does its `node_modules`.
   * Not `info/exclude`: every worktree of the repository shares that one, the person's own too.
   */
  const createdFile = (): Promise<string> => inGitDir('tanuki-setup-created')
  const readCreated = async (): Promise<string[]> =>
    (await readFile(await createdFile(), 'utf8').catch(() => '')).split('\0').filter(Boolean)
  /** What git neither tracks nor ignores, a folder of such files as one (`node_modules/`). */
  const untracked = async (): Promise<string[]> => {
    const listed = await inWorktree([
      'ls-files',
      '-z',
      '--others',
      '--exclude-standard',
      '--directory',
      '--no-empty-directory',
    ])
    return check(listed, 'ls-files').stdout.split('\0').filter(Boolean)
  }
  /** Of what setups created, what git still does not track (landed work may have added it since). */
  const leftOut = async (): Promise<string[]> => {
    const created = await readCreated()
    if (created.length === 0) return []
    const listed = await inWorktree(['ls-files', '-z', '--', ...created.map((file) => `:(literal)${file}`)])
    const tracked = check(listed, 'ls-files').stdout.split('\0').filter(Boolean)
    return created.filter((file) =>
      file.endsWith('/') ? !tracked.some((t) => t.startsWith(file)) : !tracked.includes(file),
    )
  }
  const setUp = async <T>(run: () => Promise<T>): Promise<{ value: T; leftOut: string[] }> => {
    const before = new Set(await untracked())
    const value = await run()
    const created = (await untracked()).filter((file) => !before.has(file))
    if (created.length > 0) {
      const all = new Set([...(await readCreated()), ...created])
      await writeFile(await createdFile(), [...all].join('\0'))
    }
    return { value, leftOut: created }
  }

  const begin = async (task: Task, context: TaskContext): Promise<TaskStart> => {
    const start = await beginTask(task, context)
    await writeConflicted(start.conflict?.files ?? [])
    return start
  }

  const beginTask = async (task: Task, context: TaskContext): Promise<TaskStart> =>
    serialized(repo.top, async () => {
      // A conflict an earlier attempt left unresolved is not work to keep: its markers would be
      // committed and carried on as the attempt's text. The merge is undone; bringing the work in
      // again below meets the conflict again, for the agent to resolve.
      if ((await stillConflicted(await readConflicted())).length > 0) {
        await inWorktree(['cherry-pick', '--abort'])
        await inWorktree(['merge', '--abort'])
        check(await inWorktree(['reset', '--quiet', '--hard', 'HEAD']), 'reset')
      }
      await writeConflicted([])
      // What an earlier run left (a crash mid-iteration, a merge never resolved) is kept on the branch.
      await commit(`tanuki(${agent}): work in progress before ${task.id}`)
      // The work of a task whose publishing failed is recorded now, before the worktree starts
      // over; the same task again carries it on as its interrupted attempt (below).
      const unpublished = await readUnpublished()
      if (unpublished && unpublished.task !== task.id) {
        await record(unpublished.task, unpublished.title, unpublished.was)
      }
      if (unpublished) await rm(await unpublishedFile(), { force: true })
      // The same task again on this worktree (its agent crashed): its earlier attempt, squashed.
      const was = await readMarker()
      let resumed: string | undefined
      if (was?.task === task.id && (await revParse(was.base, path))) {
        const head = (await inWorktree(['rev-parse', 'HEAD'])).stdout.trim()
        if (head !== was.base && (await git(['diff', '--quiet', was.base, head], path)).code !== 0) {
          const config = await commitConfig(path, safeName(agent))
          const squashed = await git(
            [...config, 'commit-tree', `${head}^{tree}`, '-p', was.base, '-m', `earlier attempt at ${task.id}`],
            path,
          )
          resumed = check(squashed, 'commit-tree').stdout.trim()
        }
      }
      if (context.base) {
        const base = await revParse(context.base, path)
        if (!base)
          throw new TanukiError('TANUKI_AGENT_FAILED', `agent ${agent}: the landed work (${context.base}) is missing`)
        // Start from the landed work, keeping the branch's history: a commit with the landed tree
        // whose parents are the branch and the landed work.
        const head = (await inWorktree(['rev-parse', 'HEAD'])).stdout.trim()
        const sameTree = (await git(['diff', '--quiet', head, base], path)).code === 0
        if (!(sameTree && (await isAncestor(base, head, path)))) {
          const config = await commitConfig(path, safeName(agent))
          const started = await git(
            [
              ...config,
              'commit-tree',
              `${base}^{tree}`,
              '-p',
              head,
              '-p',
              base,
              '-m',
              `tanuki(${agent}): start ${task.id} on the landed work`,
            ],
            path,
          )
          check(started, 'commit-tree')
          check(await inWorktree(['reset', '--quiet', '--hard', started.stdout.trim()]), 'reset')
        }
      }
      const notYet: string[] = []
      let conflict: Conflict | undefined
      for (const dep of context.unlanded) {
        const work = await revParse(taskRef(project, dep, 'work'), path)
        if (!work) continue // it ran where nothing is committed
        // Done on this very branch (landing off, the same agent): already here. Not where the tree
        // started over from the landed work above: the branch's history has the dependency's
        // commits, but its tree does not have their change.
        if (!context.base) {
          const tip = await revParse(taskRef(project, dep, 'tip'), path)
          if (tip && (await isAncestor(tip, 'HEAD', path))) continue
        }
        if (conflict) {
          notYet.push(dep)
          continue
        }
        conflict = await apply(work, `the work of ${dep}`, false)
      }
      if (conflict) {
        if (notYet.length > 0) conflict.what += ` (not brought in yet: ${notYet.join(', ')})`
        await git(['update-ref', taskRef(project, task.id, 'base'), 'HEAD'], path)
        await writeFile(await marker(), `${task.id}\n${(await inWorktree(['rev-parse', 'HEAD'])).stdout.trim()}\n`)
        return { conflict }
      }
      check(await git(['update-ref', taskRef(project, task.id, 'base'), 'HEAD'], path), 'update-ref')
      const started = (await inWorktree(['rev-parse', 'HEAD'])).stdout.trim()
      await writeFile(await marker(), `${task.id}\n${started}\n`)
      if (resumed) {
        const carried = await apply(resumed, `the interrupted attempt at ${task.id}`, true)
        return carried ? { conflict: carried } : { carried: true }
      } else if (context.carry) {
        const earlier = await revParse(taskRef(project, task.id, 'work'), path)
        if (earlier) {
          const carried = await apply(earlier, `the earlier work of ${task.id}`, true)
          if (carried) return { conflict: carried }
        }
      }
      return {}
    })

  /**
   * Records a task's work (the worktree's tip since the task's base) in its refs. `was`: the work
   * ref as it stood when the task's publishing failed; the work is recorded only if it still
   * stands so (no later attempt, on another agent, recorded its own since).
   */
  const record = async (id: string, title: string, was?: string, at?: string): Promise<void> => {
    const tip = at ?? (await inWorktree(['rev-parse', 'HEAD'])).stdout.trim()
    const base = (await revParse(taskRef(project, id, 'base'), path)) ?? tip
    const message = `${title}\n\nTanuki-Task: ${id}\nTanuki-Agent: ${agent}\n`
    const config = await commitConfig(path, safeName(agent))
    const work = check(
      await git([...config, 'commit-tree', `${tip}^{tree}`, '-p', base, '-m', message], path),
      'commit-tree',
    )
    // An empty old value: the ref must not exist.
    const expected = was === undefined ? [] : [was]
    const moved = await git(['update-ref', taskRef(project, id, 'work'), work.stdout.trim(), ...expected], path)
    if (moved.code === 0 || was === undefined) {
      check(moved, 'update-ref')
      check(await git(['update-ref', taskRef(project, id, 'tip'), tip], path), 'update-ref')
    }
    await rm(await marker(), { force: true })
  }

  /**
   * A task whose work could not be published (its files could not be committed even through an
   * index of their own: a filter that fails, a full disk) keeps it in the worktree, and a note in its git folder says so: the agent's next
   * task records it first, before anything in the worktree is reset.
   */
  const unpublishedFile = (): Promise<string> => inGitDir('tanuki-unpublished')
  const readUnpublished = async (): Promise<{ task: string; was: string; title: string } | undefined> => {
    const text = await readFile(await unpublishedFile(), 'utf8').catch(() => '')
    const [task, was = '', ...title] = text.split('\n')
    return task ? { task, was, title: title.join('\n') } : undefined
  }

  const publish = async (task: Task): Promise<void> => {
    await serialized(repo.top, async () => {
      const last = `tanuki(${agent}): ${task.id}: last changes`
      try {
        const snapshotted = await commit(last).then(
          () => undefined,
          // The worktree's index is not needed: its files, as they are, are the work that passed.
          async (error: unknown) => snapshot(last).catch(() => Promise.reject(error)),
        )
        await record(task.id, task.title, undefined, snapshotted)
        await rm(await unpublishedFile(), { force: true })
      } catch (error) {
        const was = (await revParse(taskRef(project, task.id, 'work'), path)) ?? ''
        await writeFile(await unpublishedFile(), `${task.id}\n${was}\n${task.title}`).catch(() => {})
        throw new TanukiError(
          'TANUKI_AGENT_FAILED',
          `${(error instanceof Error ? error.message : String(error)).replace(/\.$/, '')}. ` +
            `${task.id}'s work is kept in agent ${agent}'s worktree ${path} (branch ${branch}); it is recorded for ` +
            `${task.id} when that agent begins its next task (\`tanuki task show ${task.id}\` then lists its work). ` +
            `Mark ${task.id} complete after that, not before, to land it, and do not remove the agent until then.`,
          { cause: error, details: { worktree: path, branch, task: task.id } },
        )
      }
    })
  }

  // Markers, not the index: an agent that edited a file right but did not `git add` it is done
  // (the commit adds it); a file it deleted is resolved too.
  const unresolved = async (): Promise<string[]> => {
    const files = await readConflicted()
    if (files.length === 0) return []
    const left = await stillConflicted(files)
    if (left.length === 0) await writeConflicted([])
    return left
  }

  return {
    mode: 'worktree',
    dir,
    top: path,
    branch,
    begin,
    commit,
    publish,
    unresolved,
    setUp,
    remove: (options = {}) =>
      serialized(repo.top, () =>
        removeOwned(project, repo.top, { ...options, only: { worktree: real(path), branch } }),
      ),
  }
}

/**
 * Sets up an agent's workspace. `worktree`: a git worktree of its own (outside the project, see
 * `worktreesDir`) on a branch of its own, reused when it exists. `shared`: the project directory.
 * `auto` (default): a worktree when the project is in a git repository with a commit, else shared.
 *
 * @example
 * const workspace = await openWorkspace({ project, agent: 'backend-1' })
 * console.log(workspace.mode, workspace.dir)
 */
export async function openWorkspace(options: {
  project: ProjectInfo
  agent: string
  mode?: WorkspaceMode
}): Promise<Workspace> {
  const { project, agent } = options
  const mode = options.mode ?? 'auto'
  if (mode === 'shared') return sharedWorkspace(project.root)
  const repo = await gitRepository(project.root)
  if (repo) {
    const workspace = await openWorktree(project, agent, repo)
    // A worktree from an earlier run may lack it until its task begins on the landed work: only
    // a project folder that no commit has is a cause, and the same for every agent of every role.
    const uncommitted = repo.prefix && !existsSync(workspace.dir) ? projectNotCommitted(project.root) : undefined
    if (uncommitted) {
      throw new TanukiError('TANUKI_AGENT_SPAWN_FAILED', `agent ${agent}: ${uncommitted}.`, {
        details: { config: true, path: workspace.dir, root: project.root },
      })
    }
    return workspace
  }
  if (mode === 'auto') return sharedWorkspace(project.root)
  throw new TanukiError(
    'TANUKI_AGENT_SPAWN_FAILED',
    `agent ${agent} needs a git worktree (workspace: "worktree"), but ${project.root} is not in a git repository with at least one commit. ` +
      'Run `git init && git add -A && git commit -m init` there, or set workspace: "shared".',
    { details: { root: project.root } },
  )
}
