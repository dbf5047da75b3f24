import { existsSync } from 'node:fs'
import type { ProjectInfo } from '@tanuki/core'
import { readOwned, writeOwned, type Owned } from './git/owned.ts'
import { git, gitRepository, isAncestor, revParse, serialized, taskTrailers, workIsOn } from './git/run.ts'
import { taskIdOfRef, taskRef, taskRefs } from './ref-names.ts'
import { removeEmptyStateFolder } from './worktrees-dir.ts'

/** What removing a workspace did. */
export interface RemoveReport {
  /** Branches and worktrees deleted. */
  removed: string[]
  /** Kept because they hold work that has not landed (pass `force` to delete them anyway). */
  kept: { name: string; tasks: string[] }[]
  /** Deleted with `force` though they held work that had not landed, with those tasks. */
  discarded: { name: string; tasks: string[] }[]
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
 * target (another task, or a person, made the same change), or its commits are there. `tanuki
 * land` would land nothing of it, and deleting it loses nothing. Targets only: work on an
 * integration branch may wait there for its target.
 */
async function workLanded(ref: string, targets: readonly string[], repo: string): Promise<boolean> {
  const work = await revParse(ref, repo)
  if (!work) return false
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
 * branches. A branch holding work that has not landed (its tasks' trailers are not on the target
 * or the integration branch, nor is their work: see `unlandedOn`) is kept and reported unless
 * `force`. `only` limits it to one agent's.
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
  for (const [path, entry] of Object.entries(owned.worktrees)) {
    if (options.only && path !== options.only.worktree) continue
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
    if (unlanded.length > 0 && !options.force) {
      report.kept.push({ name: branch, tasks: unlanded })
      continue
    }
    const deleted = await git(['branch', '-D', branch], repo)
    if (deleted.code === 0) {
      report.removed.push(branch)
      if (unlanded.length > 0) report.discarded.push({ name: branch, tasks: unlanded })
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
