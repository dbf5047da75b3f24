import { existsSync } from 'node:fs'
import type { ProjectInfo } from '@tanuki/core'
import { commitLeftovers } from './cleanup.ts'
import { readOwned } from './git/owned.ts'
import { TASK_TRAILER, commitConfig, git, gitRepository, isAncestor, revParse, serialized } from './git/run.ts'
import { safeName, taskRef } from './ref-names.ts'

/** What `takeHandWork` took into a task's work. */
export interface HandWork {
  /** The agent's branch the commits are on. */
  branch: string
  /** How many commits after the task's recorded tip. */
  count: number
  /** The newest's short sha and subject. */
  sha: string
  subject: string
}

/**
 * A person who fixed a task in review by hand in its agent's worktree, then accepts it (`tanuki
 * task mark ID complete`), means the work with their fix: the task's work is recorded again from
 * the agent's branch. Only when the branch is still where the task left it plus commits of no task
 * (no `Tanuki-Task` trailer, no merge: the agent has not begun another task there); what is left
 * uncommitted in the worktree is committed first. The agent is the one the work's
 * `Tanuki-Agent` trailer names. The caller holds the project's lock: no run uses the worktree.
 * Resolves with what it took, or undefined when there was nothing to take.
 */
export async function takeHandWork(project: ProjectInfo, id: string): Promise<HandWork | undefined> {
  const repo = await gitRepository(project.root)
  if (!repo) return undefined
  return serialized(repo.top, async () => {
    const [tip, work] = [
      await revParse(taskRef(project, id, 'tip'), repo.top),
      await revParse(taskRef(project, id, 'work'), repo.top),
    ]
    if (!tip || !work) return undefined
    const agent = (
      await git(['log', '-1', '--format=%(trailers:key=Tanuki-Agent,valueonly)', work], repo.top)
    ).stdout.trim()
    if (!agent) return undefined
    const owned = readOwned(project)
    const branch = Object.entries(owned.branches).find(
      ([, entry]) => entry.kind === 'agent' && entry.agent === agent,
    )?.[0]
    if (!branch) return undefined
    const ref = `refs/heads/${branch}`
    const head = await revParse(ref, repo.top)
    if (!head || !(await isAncestor(tip, head, repo.top))) return undefined
    const worktree = Object.entries(owned.worktrees).find(([, entry]) => entry.branch === branch)?.[0]
    if (worktree && existsSync(worktree)) {
      // Only a worktree still on the task's line of work: one that moved on is the agent's next task.
      const at = (await git(['rev-parse', 'HEAD'], worktree)).stdout.trim()
      if (at !== head) return undefined
      const failed = await commitLeftovers(
        worktree,
        agent,
        `tanuki(${safeName(agent)}): what was left uncommitted in its worktree, taken for ${id}`,
      )
      if (failed) return undefined
    }
    const newest = (await revParse(ref, repo.top))!
    if (newest === tip) return undefined
    const log = await git(
      [
        'log',
        '--no-show-signature',
        `--format=%h%x00%P%x00%(trailers:key=${TASK_TRAILER},valueonly)%x00%s`,
        `${tip}..${newest}`,
      ],
      repo.top,
    )
    const commits = log.stdout
      .split('\n')
      .filter(Boolean)
      .map((line) => line.split('\0'))
    if (
      commits.length === 0 ||
      commits.some(([, parents = '', trailers = '']) => parents.includes(' ') || trailers.trim() !== '')
    )
      return undefined
    const base = (await revParse(taskRef(project, id, 'base'), repo.top)) ?? (await revParse(`${work}^`, repo.top))
    if (!base) return undefined
    const message = (await git(['log', '-1', '--format=%B', work], repo.top)).stdout
    const config = await commitConfig(repo.top, safeName(agent))
    const made = await git([...config, 'commit-tree', `${newest}^{tree}`, '-p', base, '-m', message], repo.top)
    if (made.code !== 0) return undefined
    // The work first, then the tip: a crash between them leaves the work taken and the tip behind.
    if ((await git(['update-ref', taskRef(project, id, 'work'), made.stdout.trim(), work], repo.top)).code !== 0)
      return undefined
    await git(['update-ref', taskRef(project, id, 'tip'), newest], repo.top)
    const [sha = '', , , subject = ''] = commits[0]!
    return { branch, count: commits.length, sha, subject }
  })
}
