import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { KeptWork, ProjectInfo } from '@tanuki/core'
import { readOwned, writeOwned, type Owned } from './git/owned.ts'
import {
  TASK_TRAILER,
  commitConfig,
  git,
  gitRepository,
  gitSaid,
  isAncestor,
  revParse,
  serialized,
  taskTrailers,
  workIsOn,
} from './git/run.ts'
import { safeName, taskIdOfRef, taskRef, taskRefs } from './ref-names.ts'
import { removeEmptyStateFolder } from './worktrees-dir.ts'

/** What removing a workspace did. */
export interface RemoveReport {
  /** Branches and worktrees deleted. */
  removed: string[]
  /**
   * Kept because they hold work that has not landed: tasks' work, or commits that are no task's
   * (a person's, see `othersOn`). Pass `force` to delete them anyway.
   */
  kept: KeptWork[]
  /** Deleted with `force` though they held work that had not landed, with that work. */
  discarded: KeptWork[]
}

/** The subject of the commit that keeps a worktree's uncommitted changes when it is removed. */
export function leftUncommittedSubject(agent: string): string {
  return `tanuki(${agent}): what was left uncommitted in its worktree, kept at removal`
}

/**
 * Commits what is uncommitted in an agent's worktree on its branch, before the worktree is
 * deleted: a person may have fixed a task by hand there and not committed it, and
 * `git worktree remove --force` would drop it. What setups created that git neither tracks nor
 * ignores (`node_modules/`, listed in the worktree's git folder, see `Workspace.setUp`) is left
 * out, as from every commit of the agent's. Resolves with an error message when it could not.
 */
export async function commitLeftovers(
  path: string,
  agent: string,
  subject = leftUncommittedSubject(agent),
): Promise<string | undefined> {
  if (!existsSync(path)) return undefined
  const status = await git(['status', '--porcelain', '--untracked-files=all'], path)
  // No worktree git can read (its folder half gone): nothing of it can be committed, nor lost.
  if (status.code !== 0) return undefined
  if (status.stdout.trim() === '') return undefined
  const gitDir = (await git(['rev-parse', '--absolute-git-dir'], path)).stdout.trim()
  const created = (await readFile(join(gitDir, 'tanuki-setup-created'), 'utf8').catch(() => ''))
    .split('\0')
    .filter(Boolean)
  const tracked =
    created.length > 0
      ? (await git(['ls-files', '-z', '--', ...created.map((file) => `:(literal)${file}`)], path)).stdout
          .split('\0')
          .filter(Boolean)
      : []
  const excluded = created
    .filter((file) => (file.endsWith('/') ? !tracked.some((t) => t.startsWith(file)) : !tracked.includes(file)))
    .map((file) => `:(exclude,literal)${file.replace(/\/$/, '')}`)
  const added = await git(['add', '--all', '--', '.', ...excluded], path)
  if (added.code !== 0) return `git add: ${gitSaid(added)}`
  if ((await git(['diff', '--cached', '--quiet'], path)).code === 0) return undefined
  const config = await commitConfig(path, safeName(agent))
  const committed = await git([...config, 'commit', '--quiet', '--no-verify', '-m', subject], path)
  return committed.code === 0 ? undefined : `git commit: ${gitSaid(committed)}`
}

/**
 * Commits on an agent's branch that are no task's and that no other ref holds: not on a landed
 * branch, not in any task's recorded work (its refs), not on a person's branch, carrying no task's trailer (those are a task's work, see `unlandedOn`),
 * and changing something (a `start … on the landed work` commit of a task that recorded nothing
 * only has the landed tree). What is left is a person's: a fix made by hand in the worktree, or
 * what was left uncommitted there (`commitLeftovers`). Deleting the branch would lose it.
 */
async function othersOn(branch: string, agentBranches: readonly string[], repo: string): Promise<KeptWork['commits']> {
  // Every ref but the agents' branches: the person's branches, tags, the targets, the integration
  // branch, the tasks' refs. A commit one of them holds is not lost with the branch.
  const log = await git(
    [
      'log',
      '--no-show-signature',
      `--format=%H%x00%T%x00%P%x00%(trailers:key=${TASK_TRAILER},valueonly,separator=%x01)%x00%s`,
      `refs/heads/${branch}`,
      '--not',
      ...agentBranches.map((name) => `--exclude=refs/heads/${name}`),
      '--all',
    ],
    repo,
  )
  if (log.code !== 0 || log.stdout.trim() === '') return undefined
  const commits = log.stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [sha = '', tree = '', parents = '', trailers = '', subject = ''] = line.split('\0')
      return { sha, tree, parents: parents.split(' ').filter(Boolean), trailers: trailers.trim(), subject }
    })
  const trees = new Map(commits.map((commit) => [commit.sha, commit.tree]))
  const treeOf = async (sha: string): Promise<string | undefined> =>
    trees.get(sha) ?? (await revParse(`${sha}^{tree}`, repo))
  const others: typeof commits = []
  for (const commit of commits) {
    if (commit.trailers !== '') continue
    let changes = true
    for (const parent of commit.parents) if ((await treeOf(parent)) === commit.tree) changes = false
    if (changes) others.push(commit)
  }
  const newest = others[0]
  if (!newest) return undefined
  return { count: others.length, sha: newest.sha.slice(0, 7), subject: newest.subject }
}

/** Where landed work is: the targets the project landed on, and its integration branches. */
function landedRefs(owned: Owned): string[] {
  const refs = new Set<string>((owned.targets ?? []).map((target) => `refs/heads/${target}`))
  for (const [branch, entry] of Object.entries(owned.branches)) {
    if (entry.kind !== 'land') continue
    refs.add(`refs/heads/${branch}`)
    if (entry.for) refs.add(`refs/heads/${entry.for}`)
  }
  return [...refs]
}

/**
 * The targets the project landed on, without its integration branches: work there is delivered,
 * while work on an integration branch may still wait for its target.
 */
function targetRefs(owned: Owned): string[] {
  const refs = new Set<string>((owned.targets ?? []).map((target) => `refs/heads/${target}`))
  for (const entry of Object.values(owned.branches))
    if (entry.kind === 'land' && entry.for) refs.add(`refs/heads/${entry.for}`)
  return [...refs]
}

/** Of the refs where work lands, those that exist. */
async function presentRefs(landedOn: readonly string[], repo: string): Promise<string[]> {
  const present = [] as string[]
  for (const ref of landedOn) if (await revParse(ref, repo)) present.push(ref)
  return present
}

/**
 * Whether the work recorded for a task (its `work` ref) is on a target though no commit there
 * carries its trailer: the lander settled it with nothing to land, its work being already on the
 * target (another task, or a person, made the same change), or its commits are there; or it
 * changes nothing. `tanuki land` would land nothing of it, and deleting it loses nothing. Targets
 * only: work on an integration branch may wait there for its target.
 */
async function workLanded(ref: string, targets: readonly string[], repo: string): Promise<boolean> {
  const work = await revParse(ref, repo)
  if (!work) return false
  // `work` is the task's whole change as one commit on its base: with the base's tree, the task
  // changed nothing. Its refs were kept as unlanded work forever ("N complete in its task refs").
  const [own, base] = await Promise.all([
    git(['rev-parse', '--verify', '--quiet', `${work}^{tree}`], repo),
    git(['rev-parse', '--verify', '--quiet', `${work}^^{tree}`], repo),
  ])
  if (own.code === 0 && base.code === 0 && own.stdout.trim() === base.stdout.trim()) return true
  for (const onto of targets) if (await workIsOn(work, onto, repo)) return true
  return false
}

/**
 * Tasks whose work is on a branch but has not landed: trailers on it that the landed branches lack,
 * but for a task whose recorded work is on one of `targets` all the same (`workLanded`) and which
 * has nothing on the branch newer than that work (a later try, not recorded, would be lost).
 * Without `targets` (an integration branch, whose work is what waits for its target), trailers
 * alone decide.
 */
async function unlandedOn(
  project: ProjectInfo,
  branch: string,
  landedOn: readonly string[],
  repo: string,
  targets?: readonly string[],
): Promise<string[]> {
  const present = await presentRefs(landedOn, repo)
  const onTargets = targets ? await presentRefs(targets, repo) : []
  const onBranch = await taskTrailers([branch, ...present.map((ref) => `^${ref}`)], repo)
  if (onBranch.size === 0) return []
  const landed = present.length > 0 ? await taskTrailers(present, repo, { landings: true }) : new Map<string, string>()
  const unlanded: string[] = []
  for (const [id, last] of onBranch) {
    if (landed.has(id)) continue
    if (!targets) {
      unlanded.push(id)
      continue
    }
    const tip = await revParse(taskRef(project, id, 'tip'), repo)
    const recorded = tip !== undefined && (await isAncestor(last, tip, repo))
    if (recorded && (await workLanded(taskRef(project, id, 'work'), onTargets, repo))) continue
    unlanded.push(id)
  }
  return unlanded.sort()
}

/**
 * Takes a deleted branch out of the record. An integration branch's target is remembered: the
 * agents' branches kept hold landed work too, and a later cleanup must still see it landed.
 */
function forget(owned: Owned, branch: string): void {
  const target = owned.branches[branch]?.kind === 'land' ? owned.branches[branch]?.for : undefined
  delete owned.branches[branch]
  if (target && !owned.targets?.includes(target)) owned.targets = [...(owned.targets ?? []), target]
}

/** What `removeOwned` may do: `force` deletes unlanded work too; `only` limits it to one agent's. */
interface RemoveOptions {
  force?: boolean
  only?: { worktree: string; branch: string }
}

/**
 * Deletes what Tanuki created for a project, and only that (its records say what): worktrees, then
 * branches. What is uncommitted in an agent's worktree is committed on its branch first
 * (`commitLeftovers`). A branch holding work that has not landed (its tasks' trailers are not on
 * the target or the integration branch, nor is their work: see `unlandedOn`; or commits that are
 * no task's: see `othersOn`) is kept and reported unless `force`. `only` limits it to one agent's.
 */
export async function removeOwned(
  project: ProjectInfo,
  repo: string,
  options: RemoveOptions = {},
): Promise<RemoveReport> {
  return removeRecorded(project, repo, readOwned(project), options)
}

/**
 * `removeOwned` with the record already read: `owned` is the one copy of it for the whole removal,
 * changed as each worktree or branch goes and written after each (so a crash midway leaves a true
 * record). It is not read again: the caller holds the repository's lock, and no run writes it
 * meanwhile (`stop --remove` waits for the run to stop; an agent's own removal runs in its run).
 */
async function removeRecorded(
  project: ProjectInfo,
  repo: string,
  owned: Owned,
  options: RemoveOptions,
): Promise<RemoveReport> {
  const report: RemoveReport = { removed: [], kept: [], discarded: [] }
  const change = (edit: (record: Owned) => void): void => {
    edit(owned)
    writeOwned(project, owned)
  }
  // Before any change: deleting the integration branch below deletes its record, which names its target.
  const landedOn = landedRefs(owned)
  const targets = targetRefs(owned)
  const agentBranches = Object.keys(owned.branches).filter((name) => owned.branches[name]?.kind === 'agent')
  for (const [path, entry] of Object.entries(owned.worktrees)) {
    if (options.only && path !== options.only.worktree) continue
    // A person's edit there, uncommitted, goes to the branch, which is then kept for it (below).
    const left = entry.kind === 'agent' ? await commitLeftovers(path, entry.agent ?? entry.branch) : undefined
    if (left) {
      report.kept.push({ name: `${path} (${entry.branch})`, tasks: [] })
      continue
    }
    const removed = await git(['worktree', 'remove', '--force', '--force', path], repo)
    if (removed.code === 0 || !existsSync(path)) {
      report.removed.push(path)
      change((record) => delete record.worktrees[path])
    } else {
      report.kept.push({ name: `${path} (${entry.branch})`, tasks: [] })
    }
  }
  await git(['worktree', 'prune'], repo)
  for (const [branch, entry] of Object.entries(owned.branches)) {
    if (options.only && branch !== options.only.branch) continue
    if (!(await revParse(`refs/heads/${branch}`, repo))) {
      change((record) => forget(record, branch))
      continue
    }
    const unlanded =
      entry.kind === 'land'
        ? await unlandedOn(
            project,
            `refs/heads/${branch}`,
            landedOn.filter((ref) => ref !== `refs/heads/${branch}`),
            repo,
          )
        : await unlandedOn(project, `refs/heads/${branch}`, landedOn, repo, targets)
    const others = entry.kind === 'agent' ? await othersOn(branch, agentBranches, repo) : undefined
    const work: KeptWork = { name: branch, tasks: unlanded, ...(others ? { commits: others } : {}) }
    if ((unlanded.length > 0 || others) && !options.force) {
      report.kept.push(work)
      continue
    }
    const deleted = await git(['branch', '-D', branch], repo)
    if (deleted.code === 0) {
      report.removed.push(branch)
      if (unlanded.length > 0 || others) report.discarded.push(work)
      change((record) => forget(record, branch))
    } else {
      report.kept.push({ name: branch, tasks: [] })
    }
  }
  return report
}

/**
 * Removes every worktree and branch Tanuki created for a project (its records say which), and the
 * task refs of work that landed, including those of agents that are not running. Work that has not
 * landed is kept (and reported) unless `force`.
 */
export async function removeWorktrees(project: ProjectInfo, options: { force?: boolean } = {}): Promise<RemoveReport> {
  const repo = await gitRepository(project.root)
  if (!repo) return { removed: [], kept: [], discarded: [] }
  return serialized(repo.top, async () => {
    const owned = readOwned(project)
    // Where work lands, found before the landing branch's record goes with it.
    const landedOn = landedRefs(owned)
    const targets = await presentRefs(targetRefs(owned), repo.top)
    const report = await removeRecorded(project, repo.top, owned, options)
    const refs = await git(['for-each-ref', '--format=%(refname)', `${taskRefs(project)}/`], repo.top)
    const byTask = new Map<string, string[]>()
    for (const ref of refs.stdout.split('\n').filter(Boolean)) {
      const id = taskIdOfRef(ref.slice(taskRefs(project).length + 1).split('/')[0]!)
      byTask.set(id, [...(byTask.get(id) ?? []), ref])
    }
    const present = await presentRefs(landedOn, repo.top)
    const landed =
      present.length > 0 ? await taskTrailers(present, repo.top, { landings: true }) : new Map<string, string>()
    const unlanded: string[] = []
    for (const [id, list] of byTask) {
      const work = list.find((ref) => ref.endsWith('/work'))
      if (!landed.has(id) && work && !(await workLanded(work, targets, repo.top))) {
        unlanded.push(id)
        if (!options.force) continue
      }
      for (const ref of list) await git(['update-ref', '-d', ref], repo.top)
    }
    if (unlanded.length > 0)
      report[options.force ? 'discarded' : 'kept'].push({ name: `${taskRefs(project)}/…`, tasks: unlanded.sort() })
    removeEmptyStateFolder(project)
    return report
  })
}
