import { execFile } from 'node:child_process'
import { existsSync, realpathSync } from 'node:fs'
import { mkdir, writeFile } from 'node:fs/promises'
import { join, relative, resolve, sep } from 'node:path'
import { TanukiError, pathName, type ProjectInfo } from '@tanuki/core'

/** Where an agent works: its own git worktree, the project directory, or `auto` (see README). */
export type WorkspaceMode = 'auto' | 'worktree' | 'shared'

/** An agent's workspace. */
export interface Workspace {
  /** What it is. */
  readonly mode: 'worktree' | 'shared'
  /** The directory the agent's processes and verify commands run in. */
  readonly dir: string
  /** The agent's branch (`tanuki/<agent>`), for a worktree. */
  readonly branch?: string
  /**
   * Commits every change in a worktree on the agent's branch. Resolves with the commit, or
   * undefined when nothing changed (always, for a shared workspace).
   */
  commit(message: string): Promise<string | undefined>
  /**
   * Merges into a worktree the latest commits made for these tasks (by any agent), so a task sees
   * its dependencies' work. Resolves with one line per merge, or per merge that failed.
   */
  mergeTasks(taskIds: readonly string[]): Promise<string[]>
  /** Deletes a worktree and its branch. Does nothing for a shared workspace. */
  remove(): Promise<void>
}

interface GitResult {
  code: number
  stdout: string
  stderr: string
}

/** The trailer that ties a commit to the task it was made for. */
export const TASK_TRAILER = 'Tanuki-Task'

function git(args: readonly string[], cwd: string): Promise<GitResult> {
  return new Promise((done) => {
    execFile(
      'git',
      args,
      { cwd, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, GIT_TERMINAL_PROMPT: '0' } },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 127) : 0
        done({
          code,
          stdout: stdout.toString(),
          stderr: stderr.toString() || (error && code === 127 ? error.message : ''),
        })
      },
    )
  })
}

async function gitOrThrow(args: readonly string[], cwd: string, what: string): Promise<string> {
  const result = await git(args, cwd)
  if (result.code !== 0) {
    throw new TanukiError(
      'TANUKI_AGENT_SPAWN_FAILED',
      `${what} failed in ${cwd}: git ${args.join(' ')}: ${result.stderr.trim() || `exit code ${result.code}`}`,
      {
        details: { args, cwd },
      },
    )
  }
  return result.stdout
}

/** Git operations on one repository's worktrees and refs run one at a time: git locks them. */
const queues = new Map<string, Promise<unknown>>()
function serialized<T>(key: string, work: () => Promise<T>): Promise<T> {
  const previous = queues.get(key) ?? Promise.resolve()
  const next = previous.then(work, work)
  const settled = next.catch(() => {})
  queues.set(key, settled)
  void settled.then(() => {
    if (queues.get(key) === settled) queues.delete(key)
  })
  return next
}

/**
 * Agent names become branch, worktree and pid file names. A name that could leave its folder
 * (`..`, a separator) is refused by core's one guard for names that become paths; the others keep
 * to the characters git and file systems take everywhere.
 */
export function safeName(agent: string): string {
  pathName(agent, 'agent name')
  return agent.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[.-]+/, '') || 'agent'
}

/** The agent's branch. */
export function branchName(agent: string): string {
  return `tanuki/${safeName(agent)}`
}

/** The directory under which the project's worktrees live. */
export function worktreesDir(project: ProjectInfo): string {
  return join(project.stateDir, 'worktrees')
}

/** The path of an agent's worktree. */
export function worktreePath(project: ProjectInfo, agent: string): string {
  return join(worktreesDir(project), safeName(agent))
}

/** The project's git repository, when it is one with at least one commit. */
export async function gitRepository(root: string): Promise<{ top: string; prefix: string } | undefined> {
  if (!existsSync(root)) return undefined
  const head = await git(['rev-parse', '--verify', '--quiet', 'HEAD'], root)
  if (head.code !== 0) return undefined
  const info = await git(['rev-parse', '--show-toplevel', '--show-prefix'], root)
  if (info.code !== 0) return undefined
  const [top = root, prefix = ''] = info.stdout.split('\n')
  return { top, prefix: prefix.replace(/\/+$/, '') }
}

function sharedWorkspace(dir: string): Workspace {
  return {
    mode: 'shared',
    dir,
    commit: async () => undefined,
    mergeTasks: async () => [],
    remove: async () => {},
  }
}

/** Registered worktrees of a repository, by absolute path. */
async function listWorktrees(repo: string): Promise<{ path: string; branch?: string }[]> {
  const out = await git(['worktree', 'list', '--porcelain'], repo)
  const list: { path: string; branch?: string }[] = []
  for (const entry of out.stdout.split('\n\n')) {
    const path = /^worktree (.+)$/m.exec(entry)?.[1]
    if (!path) continue
    const branch = /^branch refs\/heads\/(.+)$/m.exec(entry)?.[1]
    list.push(branch ? { path, branch } : { path })
  }
  return list
}

/** Git prints real paths; ours may go through a symlink (macOS's /tmp). */
function real(path: string): string {
  try {
    return realpathSync(path)
  } catch {
    return resolve(path)
  }
}

function samePath(a: string, b: string): boolean {
  return real(a) === real(b)
}

/** `-c` options for commits Tanuki makes: an identity when the repository has none, no signing prompt. */
async function commitConfig(dir: string, agent: string): Promise<string[]> {
  const config = ['-c', 'commit.gpgsign=false']
  const email = await git(['config', 'user.email'], dir)
  if (email.code !== 0 || email.stdout.trim() === '') {
    config.push('-c', `user.name=tanuki ${safeName(agent)}`, '-c', `user.email=${safeName(agent)}@tanuki.invalid`)
  }
  return config
}

/** A regular expression matching exactly the trailer line of one task. */
function trailerPattern(taskId: string): string {
  return `^${TASK_TRAILER}: ${taskId.replace(/[.[\]*^$\\+?(){}|]/g, '\\$&')}$`
}

async function openWorktree(
  project: ProjectInfo,
  agent: string,
  repo: { top: string; prefix: string },
): Promise<Workspace> {
  const path = worktreePath(project, agent)
  const branch = branchName(agent)
  const dir = repo.prefix ? join(path, repo.prefix) : path
  await serialized(repo.top, async () => {
    await mkdir(worktreesDir(project), { recursive: true })
    // Keeps the agents' checkouts out of the project's own `git status`.
    const ignore = join(worktreesDir(project), '.gitignore')
    if (!existsSync(ignore)) await writeFile(ignore, '*\n')
    await git(['worktree', 'prune'], repo.top)
    const existing = (await listWorktrees(repo.top)).find((tree) => samePath(tree.path, path))
    if (existing) return // a respawn (after a crash, a stop, a resume): keep its work
    const hasBranch = (await git(['rev-parse', '--verify', '--quiet', `refs/heads/${branch}`], repo.top)).code === 0
    const args = hasBranch ? ['worktree', 'add', path, branch] : ['worktree', 'add', '-b', branch, path, 'HEAD']
    await gitOrThrow(args, repo.top, `creating the worktree of agent ${agent}`)
  })
  const inWorktree = (args: readonly string[]): Promise<GitResult> => git(args, path)

  const commit = async (message: string): Promise<string | undefined> => {
    const check = (result: GitResult, what: string): GitResult => {
      if (result.code === 0) return result
      throw new TanukiError(
        'TANUKI_AGENT_FAILED',
        `could not commit ${agent}'s work in ${path}: git ${what}: ${result.stderr.trim().split('\n')[0] || `exit code ${result.code}`}`,
      )
    }
    const status = check(await inWorktree(['status', '--porcelain']), 'status')
    if (status.stdout.trim() === '') return undefined
    check(await inWorktree(['add', '--all']), 'add')
    const config = await commitConfig(path, agent)
    check(await inWorktree([...config, 'commit', '--quiet', '--no-verify', '-m', message]), 'commit')
    return (await inWorktree(['rev-parse', 'HEAD'])).stdout.trim()
  }

  /** Merges the latest commit made for each task (on any agent's branch) into this worktree. */
  const mergeAll = async (taskIds: readonly string[]): Promise<string[]> => {
    const notes: string[] = []
    for (const taskId of taskIds) {
      const found = await inWorktree([
        'log',
        '--branches=tanuki/*',
        '-1',
        '--format=%H',
        `--grep=${trailerPattern(taskId)}`,
      ])
      const sha = found.stdout.trim()
      if (found.code !== 0) {
        notes.push(
          `could not look up the work of ${taskId}: ${found.stderr.trim().split('\n')[0]}; continuing without it`,
        )
        continue
      }
      // No commit for it: the dependency changed nothing (or ran in a shared workspace).
      if (sha === '') continue
      if ((await inWorktree(['merge-base', '--is-ancestor', sha, 'HEAD'])).code === 0) continue
      try {
        await commit(`tanuki(${agent}): work in progress before merging ${taskId}`)
      } catch (error) {
        notes.push(`${(error as Error).message}; not merging the work of ${taskId}`)
        continue
      }
      const config = await commitConfig(path, agent)
      const merged = await inWorktree([
        ...config,
        'merge',
        '--no-edit',
        '--no-verify',
        '-m',
        `tanuki(${agent}): bring in the work of ${taskId}`,
        sha,
      ])
      if (merged.code === 0) {
        notes.push(`merged the work of ${taskId} (${sha.slice(0, 10)}) into ${branch}`)
      } else {
        await inWorktree(['merge', '--abort'])
        notes.push(
          `could not merge the work of ${taskId} (${sha.slice(0, 10)}) into ${branch}: ${(merged.stdout + merged.stderr).trim().split('\n')[0]}; continuing without it`,
        )
      }
    }
    return notes
  }

  return {
    mode: 'worktree',
    dir,
    branch,
    commit,
    async mergeTasks(taskIds) {
      // One at a time with worktree creation: a sibling's `worktree add` in progress must not be
      // seen half-made (its placeholder HEAD made lookups fail, and the merge was skipped).
      return serialized(repo.top, () => mergeAll(taskIds))
    },
    async remove() {
      await serialized(repo.top, async () => {
        await git(['worktree', 'remove', '--force', '--force', path], repo.top)
        await git(['branch', '-D', branch], repo.top)
        await git(['worktree', 'prune'], repo.top)
      })
    },
  }
}

/**
 * Sets up an agent's workspace. `worktree`: a git worktree at `.tanuki/worktrees/<agent>` on
 * branch `tanuki/<agent>`, reused when it exists. `shared`: the project directory. `auto`
 * (default): a worktree when the project is in a git repository with a commit, else shared.
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
  if (repo) return openWorktree(project, agent, repo)
  if (mode === 'auto') return sharedWorkspace(project.root)
  throw new TanukiError(
    'TANUKI_AGENT_SPAWN_FAILED',
    `agent ${agent} needs a git worktree (workspace: "worktree"), but ${project.root} is not in a git repository with at least one commit. ` +
      'Run `git init && git add -A && git commit -m init` there, or set workspace: "shared".',
    { details: { root: project.root } },
  )
}

/**
 * Removes every Tanuki worktree of a project and their `tanuki/*` branches, including those of
 * agents that are not running (after a crash or a stop).
 */
export async function removeWorktrees(project: ProjectInfo): Promise<void> {
  const repo = await gitRepository(project.root)
  if (!repo) return
  const base = real(worktreesDir(project))
  await serialized(repo.top, async () => {
    for (const tree of await listWorktrees(repo.top)) {
      const rel = relative(base, real(tree.path))
      if (rel === '' || rel.startsWith('..') || rel.includes(sep)) continue
      await git(['worktree', 'remove', '--force', '--force', tree.path], repo.top)
      if (tree.branch?.startsWith('tanuki/')) await git(['branch', '-D', tree.branch], repo.top)
    }
    await git(['worktree', 'prune'], repo.top)
    // Branches whose worktree is already gone (deleted by hand, or a crash mid-removal).
    const refs = await git(['for-each-ref', '--format=%(refname:short)', 'refs/heads/tanuki/'], repo.top)
    for (const branch of refs.stdout.split('\n').filter(Boolean)) await git(['branch', '-D', branch], repo.top)
  })
}
