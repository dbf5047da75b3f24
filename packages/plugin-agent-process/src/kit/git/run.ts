import { execFile } from 'node:child_process'
import { existsSync, readFileSync, realpathSync, rmSync, statSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { TanukiError } from '@tanuki/core'

/** How a git command ended. */
export interface GitResult {
  code: number
  stdout: string
  stderr: string
}

/**
 * What every git process of Tanuki's own runs with, before its subcommand: no hooks. `--no-verify`
 * skips only `pre-commit` and `commit-msg`; a person's `prepare-commit-msg` (husky, commitizen
 * reading `/dev/tty`), `post-checkout` (git-lfs), `post-commit`, `reference-transaction` or
 * `pre-push` would otherwise run on the commits, worktrees and refs Tanuki makes for itself, fail
 * them, or prompt on the person's terminal mid-run. The agents' own git (a coding agent committing
 * in its worktree) does not go through here: their hooks are theirs. Nor does the push of the
 * target to `land.push` (`gitWithPersonHooks`): its `pre-push` runs.
 */
export const OWN_GIT_CONFIG: readonly string[] = ['-c', 'core.hooksPath=/dev/null']

/**
 * Runs git; never throws (look at `code`). No prompt ever waits for a person: no terminal prompt,
 * no hook, and stdin is closed (a git that reads it sees its end, instead of waiting forever).
 */
export function git(args: readonly string[], cwd: string, env: Record<string, string> = {}): Promise<GitResult> {
  return runGit([...OWN_GIT_CONFIG, ...args], cwd, env)
}

/**
 * Runs git as `git` does, but with the person's hooks: for the push of their target branch to
 * their remote (`land.push`), their delivery, where their `pre-push` (tests before a push) is
 * their policy. stdin stays closed: a hook that needs a terminal fails, and so does the push.
 */
export function gitWithPersonHooks(args: readonly string[], cwd: string): Promise<GitResult> {
  return runGit(args, cwd, {})
}

function runGit(argv: readonly string[], cwd: string, env: Record<string, string>): Promise<GitResult> {
  return new Promise((done) => {
    const child = execFile(
      'git',
      [...argv],
      { cwd, maxBuffer: 256 * 1024 * 1024, env: { ...process.env, GIT_TERMINAL_PROMPT: '0', ...env } },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 127) : 0
        done({
          code,
          stdout: stdout.toString(),
          stderr: stderr.toString() || (error && code === 127 ? error.message : ''),
        })
      },
    )
    // A git that was never started has no stdin to close; the callback above says why.
    child.stdin?.on('error', () => {})
    child.stdin?.end()
  })
}

/** What git prints before the work of `worktree add` and `reset`: never why a command failed. */
const PROGRESS = /^(Preparing worktree \(|HEAD is now at )/

/** The first line of what a failed git command said (its progress lines skipped). */
export function gitSaid(result: GitResult): string {
  const lines = (result.stderr.trim() || result.stdout.trim()).split('\n')
  return lines.find((line) => line.trim() !== '' && !PROGRESS.test(line)) || lines[0] || `exit code ${result.code}`
}

/**
 * `git worktree add` of a folder Tanuki makes (`dir`, not there yet), undone when it fails:
 * a failure after git made the folder and registered it (a checkout cut short) would leave a
 * worktree no record names, and `newBranch`, made by `-b` before the checkout, a branch that keeps
 * its name from the next try. Resolves with git's result.
 */
export async function addWorktree(
  repo: string,
  args: readonly string[],
  dir: string,
  newBranch?: string,
): Promise<GitResult> {
  // A folder that was there is not ours to remove (callers set such a folder aside first).
  const existed = existsSync(dir)
  const added = await git(args, repo)
  if (added.code === 0 || existed) return added
  if ((await listWorktrees(repo)).some((each) => samePath(each.path, dir)))
    await git(['worktree', 'remove', '--force', '--force', dir], repo)
  rmSync(dir, { recursive: true, force: true })
  await git(['worktree', 'prune'], repo)
  if (newBranch) await git(['branch', '-D', newBranch], repo)
  return added
}

/** Runs git and returns its stdout; throws a `TanukiError` saying what was being done. */
export async function gitOrThrow(
  args: readonly string[],
  cwd: string,
  what: string,
  code: `TANUKI_${string}` = 'TANUKI_GIT_FAILED',
): Promise<string> {
  const result = await git(args, cwd)
  if (result.code !== 0) {
    throw new TanukiError(code, `${what} failed in ${cwd}: git ${args.join(' ')}: ${gitSaid(result)}`, {
      details: { args, cwd },
    })
  }
  return result.stdout
}

/** Git operations on one repository's worktrees and refs run one at a time: git locks them. */
const queues = new Map<string, Promise<unknown>>()
export function serialized<T>(key: string, work: () => Promise<T>): Promise<T> {
  const previous = queues.get(key) ?? Promise.resolve()
  const next = previous.then(work, work)
  const settled = next.catch(() => {})
  queues.set(key, settled)
  void settled.then(() => {
    if (queues.get(key) === settled) queues.delete(key)
  })
  return next
}

/** The project's git repository, when it is one with at least one commit. */
export async function gitRepository(root: string): Promise<{ top: string; prefix: string } | undefined> {
  if (!existsSync(root)) return undefined
  // One call: it fails outside a repository and in one without a commit (no HEAD to resolve).
  const info = await git(['rev-parse', '--show-toplevel', '--show-prefix', 'HEAD^{commit}'], root)
  if (info.code !== 0) return undefined
  const [top = root, prefix = ''] = info.stdout.split('\n')
  return { top, prefix: prefix.replace(/\/+$/, '') }
}

/** Registered worktrees of a repository. */
export async function listWorktrees(repo: string): Promise<{ path: string; branch?: string; head?: string }[]> {
  const out = await git(['worktree', 'list', '--porcelain'], repo)
  const list: { path: string; branch?: string; head?: string }[] = []
  for (const entry of out.stdout.split('\n\n')) {
    const path = /^worktree (.+)$/m.exec(entry)?.[1]
    if (!path) continue
    const branch = /^branch refs\/heads\/(.+)$/m.exec(entry)?.[1]
    const head = /^HEAD ([0-9a-f]+)$/m.exec(entry)?.[1]
    list.push({ path, ...(branch ? { branch } : {}), ...(head ? { head } : {}) })
  }
  return list
}

/**
 * Whether a person is rebasing or bisecting `branch` in a worktree (its HEAD detached meanwhile).
 * Git counts such a branch as checked out there (`git branch -f` refuses it): a rebase moves it at
 * its end, and fails when the branch moved under it. Read from the worktree's git folder, with no
 * git process.
 */
export function operationOn(worktree: string, branch: string): 'rebase' | 'bisect' | undefined {
  let dir = join(worktree, '.git')
  const read = (path: string): string | undefined => {
    try {
      return readFileSync(path, 'utf8').trim()
    } catch {
      return undefined
    }
  }
  try {
    // A linked worktree's `.git` is a file naming its folder in the repository.
    if (!statSync(dir).isDirectory()) {
      const named = /^gitdir: (.+)$/m.exec(read(dir) ?? '')?.[1]
      if (!named) return undefined
      dir = resolve(worktree, named)
    }
  } catch {
    return undefined
  }
  const ref = `refs/heads/${branch}`
  if ([read(join(dir, 'rebase-merge', 'head-name')), read(join(dir, 'rebase-apply', 'head-name'))].includes(ref))
    return 'rebase'
  const bisected = read(join(dir, 'BISECT_START'))
  return bisected === branch || bisected === ref ? 'bisect' : undefined
}

/** Git prints real paths; ours may go through a symlink (macOS's /tmp). */
export function real(path: string): string {
  try {
    return realpathSync(path)
  } catch {
    return resolve(path)
  }
}

export function samePath(a: string, b: string): boolean {
  return real(a) === real(b)
}

/** The commit a ref points at, or undefined. */
export async function revParse(ref: string, cwd: string): Promise<string | undefined> {
  const result = await git(['rev-parse', '--verify', '--quiet', `${ref}^{commit}`], cwd)
  return result.code === 0 ? result.stdout.trim() : undefined
}

/** Whether `ancestor` is an ancestor of (or the same as) `of`. */
export async function isAncestor(ancestor: string, of: string, cwd: string): Promise<boolean> {
  return (await git(['merge-base', '--is-ancestor', ancestor, of], cwd)).code === 0
}

/** `-c` options for commits Tanuki makes: an identity when the repository has none, no signing (`git` runs no hooks). */
export async function commitConfig(dir: string, who: string): Promise<string[]> {
  const config = ['-c', 'commit.gpgsign=false']
  let hasIdentity = identities.get(dir)
  if (hasIdentity === undefined) {
    const email = await git(['config', 'user.email'], dir)
    hasIdentity = email.code === 0 && email.stdout.trim() !== ''
    identities.set(dir, hasIdentity)
  }
  if (!hasIdentity) config.push('-c', `user.name=tanuki ${who}`, '-c', `user.email=${who}@tanuki.invalid`)
  return config
}

/** Whether a directory's repository has an identity for commits, asked once per directory. */
const identities = new Map<string, boolean>()

/** Files with unresolved conflicts in a worktree. */
export async function conflictedFiles(dir: string): Promise<string[]> {
  // Names as they are (no quoting of bytes beyond ASCII), NUL-separated.
  const out = await git(['-c', 'core.quotePath=false', 'diff', '-z', '--name-only', '--diff-filter=U'], dir)
  return out.stdout.split('\0').filter(Boolean)
}

/** The trailer that ties a commit to the task it was made for. */
export const TASK_TRAILER = 'Tanuki-Task'

/** The trailer that names the work a landing commit carries (the task's work commit). */
export const WORK_TRAILER = 'Tanuki-Work'

/**
 * The ids named by `Tanuki-Task` trailers of the commits in a range (`git log` arguments), each
 * with its newest commit. With `landings`, of landing commits only, for telling what landed (its
 * landing is on the target) from what did not: a landing names its work (`Tanuki-Work`); an
 * agent's own commits name only their task, and reach the target's history without their change
 * when a `merge` landing brings in the agent's branch.
 */
export async function taskTrailers(
  range: readonly string[],
  cwd: string,
  options: { landings?: boolean } = {},
): Promise<Map<string, string>> {
  const out = await git(
    [
      'log',
      '--no-show-signature',
      `--format=%H%x00%(trailers:key=${TASK_TRAILER},valueonly,separator=%x01)%x00%(trailers:key=${WORK_TRAILER},valueonly)`,
      ...range,
    ],
    cwd,
  )
  const found = new Map<string, string>()
  if (out.code !== 0) return found
  for (const line of out.stdout.split('\n')) {
    const [sha, ids, work] = line.split('\0')
    if (!sha || !ids || (options.landings && !work?.trim())) continue
    // Newest first: the first commit seen for an id is its latest.
    for (const id of ids
      .split('\x01')
      .map((each) => each.trim())
      .filter(Boolean))
      if (!found.has(id)) found.set(id, sha)
  }
  return found
}

/**
 * What cherry-picking `work` onto `onto` gives, found in memory as a merge of trees, with no
 * worktree or ref touched: the tree, and the files that conflict (the tree then holds their
 * markers). The lander's own cherry-pick decides what lands; this says what it would find, for
 * `tanuki land --dry-run` and for telling work already on the target from work that is not.
 */
export async function pickInMemory(
  work: string,
  onto: string,
  repo: string,
): Promise<{ tree: string; conflicts: string[] } | { failed: GitResult }> {
  const config = await commitConfig(repo, 'lander')
  // The cherry-pick's merge base is where the work started. `merge-tree --merge-base` needs git
  // 2.40: a commit of the tip's tree on the work's parent gives the same merge from git 2.38.
  const ours = await git([...config, 'commit-tree', `${onto}^{tree}`, '-p', `${work}^`, '-m', 'predicted'], repo)
  if (ours.code !== 0) return { failed: ours }
  const merged = await git(['merge-tree', '--write-tree', '--name-only', ours.stdout.trim(), work], repo)
  if (merged.code !== 0 && merged.code !== 1) return { failed: merged }
  const [tree = '', ...rest] = merged.stdout.split('\n')
  return { tree: tree.trim(), conflicts: merged.code === 1 ? rest.slice(0, rest.indexOf('')).filter(Boolean) : [] }
}

/**
 * Whether `work` (a task's change as one commit) is already on `onto`: its commits are there, or
 * applying its change there changes nothing, which the lander settles as "nothing to land (its
 * work is already on the target)".
 */
export async function workIsOn(work: string, onto: string, repo: string): Promise<boolean> {
  if (await isAncestor(work, onto, repo)) return true
  // A change that changes nothing (a try that found its work done already) applies to any
  // branch without a trace: it says nothing of where the task's earlier work went.
  const [own, parent] = await Promise.all([
    git(['rev-parse', `${work}^{tree}`], repo),
    git(['rev-parse', `${work}^^{tree}`], repo),
  ])
  if (own.code !== 0 || parent.code !== 0 || own.stdout.trim() === parent.stdout.trim()) return false
  const [picked, tree] = await Promise.all([pickInMemory(work, onto, repo), git(['rev-parse', `${onto}^{tree}`], repo)])
  return 'tree' in picked && picked.conflicts.length === 0 && tree.code === 0 && picked.tree === tree.stdout.trim()
}
