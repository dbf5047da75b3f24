import { TanukiError, type EmptyLanding, type LandingStart, type Task } from '@tanuki/core'
import { taskRef } from '../ref-names.ts'
import { canRebuild, foundLandings, landingsOnTarget, type LandingHistory } from './landings.ts'
import { commitConfig, git, gitSaid, isAncestor, pickInMemory, revParse } from './run.ts'

export const LAND_ERROR = 'TANUKI_LAND_FAILED'

/** One task of `tanuki land --dry-run`'s plan: the conflicts its landing would meet, or why it would land nothing. */
export interface LandingPrediction {
  taskId: string
  /** Files where its work would conflict with the work landed before it. */
  conflicts: string[]
  /** It would be settled with nothing to land, as the lander settles it (`no-work`, `no-changes`). */
  empty?: EmptyLanding
}

/** Why the target's own new commits cannot come into the integration branch `branch`, and what to do. */
export function catchUpConflict(target: string, branch: string, what: string): string {
  return (
    `${target} has commits that conflict with work landed on ${branch} (${what}). ` +
    `Merge ${branch} into ${target} by hand, then run \`tanuki land\`.`
  )
}

/**
 * What a start says when the target's own new commits conflicted with the work waiting on the
 * integration branch `branch`, and that branch started again from the target (it was at `was`):
 * the tasks `ids` land again from their work. With `was` unset, what it would do (a dry run).
 */
export function relandNote(target: string, branch: string, ids: readonly string[], what: string, was?: string): string {
  const tasks = ids.join(', ')
  const one = ids.length === 1
  const conflict = `${target} has commits that conflict with work that ${was === undefined ? 'waits' : 'waited'} on ${branch} (${what})`
  if (was === undefined) {
    return (
      `${conflict}: \`tanuki land\` starts ${branch} again from ${target} and lands ${tasks} again from ` +
      `${one ? 'its' : 'their'} work (in the plan above); a task whose work conflicts goes back to an agent.`
    )
  }
  return (
    `${conflict}: ${branch} starts again from ${target} (it was at ${was.slice(0, 12)}), and ${tasks} ` +
    `land${one ? 's' : ''} again from ${one ? 'its' : 'their'} work, gated; a task whose work conflicts goes ` +
    `back to an agent with the conflict. Nothing of yours was touched.`
  )
}

/**
 * What a start says when the target holds landings that waited on the integration branch `branch`
 * already, in commits of its own (`on`: by task, the target's commit), rewritten by a person's
 * rebase: that branch starts again from the target (it was at `was`), and the waiting landings the
 * target lacks (`missing`) land again from their work. With `was` unset, what it would do (a dry run).
 */
export function rewrittenNote(
  target: string,
  branch: string,
  on: ReadonlyMap<string, string>,
  missing: readonly string[],
  was?: string,
): string {
  const there = [...on].map(([id, commit]) => `${id} as ${commit.slice(0, 12)}`).join(', ')
  const one = missing.length === 1
  const again =
    missing.length === 0
      ? ''
      : `, and ${missing.join(', ')} ${was === undefined ? 'would land' : one ? 'lands' : 'land'} again from ${one ? 'its' : 'their'} work, gated`
  const restart =
    was === undefined
      ? `\`tanuki land\` starts ${branch} again from ${target}`
      : `${branch} starts again from ${target} (it was at ${was.slice(0, 12)})`
  return (
    `${target} holds work that ${was === undefined ? 'waits' : 'waited'} on ${branch} already, rewritten by a rebase ` +
    `(\`git pull --rebase\`) into commits of its own (${there}): ${restart}, so nothing lands twice${again}. Nothing of yours was touched.`
  )
}

/**
 * What `prepare` would find (the target, the landings a crash left), found without writing
 * anything: no branch, worktree or ref is made or moved (`tanuki land --dry-run`). `tip`: the
 * integration tip `prepare` would reach, where `predictLandings` starts.
 */
export async function inspectLandings(
  history: LandingHistory,
  branch: string,
  strategy = 'squash',
): Promise<{ start: LandingStart; tip: string }> {
  const { repo, target } = history
  const onBranch = await revParse(`refs/heads/${branch}`, repo)
  const onTarget = (await revParse(`refs/heads/${target}`, repo))!
  let tip = onTarget
  /** Files where the target's own new commits conflict with the work waiting on the branch. */
  let conflicts: string[] = []
  if (onBranch && onBranch !== onTarget && !(await isAncestor(onBranch, onTarget, repo))) {
    if (!(await isAncestor(onTarget, onBranch, repo))) {
      // Waiting landings the target holds already, rewritten by a person's rebase: `prepare` would
      // start the branch again from the target, the rest to land again from their work.
      const found = await foundLandings(history, branch)
      const on = await landingsOnTarget(history, branch, found.ahead)
      const missing = found.ahead.filter(({ taskId }) => !on.has(taskId))
      if (on.size > 0 && (await canRebuild(history, branch, missing, strategy))) {
        for (const { taskId } of missing) found.landed.delete(taskId)
        for (const [taskId, commit] of on) found.landed.set(taskId, commit)
        return {
          tip: onTarget,
          start: {
            target,
            base: `refs/heads/${branch}`,
            landed: [...found.landed].map(([taskId, commit]) => ({ taskId, commit })),
            ...(missing.length > 0 ? { relanding: missing } : {}),
            note: rewrittenNote(
              target,
              branch,
              on,
              missing.map(({ taskId }) => taskId),
            ),
          },
        }
      }
    }
    tip = onBranch
    // Diverged: a person committed on the target. `prepare` would merge it in; so does this, in memory.
    if (!(await isAncestor(onTarget, onBranch, repo))) {
      const merged = await git(['merge-tree', '--write-tree', '--name-only', onBranch, onTarget], repo)
      const [first = '', ...rest] = merged.stdout.split('\n')
      const tree = first.trim()
      if (merged.code === 1) conflicts = rest.slice(0, rest.indexOf('')).filter(Boolean)
      if (merged.code === 0 && tree) {
        const config = await commitConfig(repo, 'lander')
        const made = await git(
          [...config, 'commit-tree', tree, '-p', onBranch, '-p', onTarget, '-m', 'predicted catch-up'],
          repo,
        )
        if (made.code === 0) tip = made.stdout.trim()
      }
    }
  }
  const found = await foundLandings(history, onBranch ? branch : undefined)
  if (conflicts.length > 0 && (await canRebuild(history, branch, found.ahead, strategy))) {
    // `prepare` would start the branch again from the target: the waiting work lands again from
    // the target's tip, as the plan predicts.
    for (const { taskId } of found.ahead) found.landed.delete(taskId)
    return {
      tip: onTarget,
      start: {
        target,
        base: `refs/heads/${branch}`,
        landed: [...found.landed].map(([taskId, commit]) => ({ taskId, commit })),
        relanding: found.ahead,
        note: relandNote(
          target,
          branch,
          found.ahead.map(({ taskId }) => taskId),
          conflicts.join(', '),
        ),
      },
    }
  }
  // The work waiting on the branch is not on the target, and a dry run does not move it: said
  // as `prepare` says it when the target cannot move (and never as caught up).
  return {
    tip,
    start: {
      target,
      base: onBranch ? `refs/heads/${branch}` : `refs/heads/${target}`,
      landed: [...found.landed].map(([taskId, commit]) => ({ taskId, commit })),
      ...(found.ahead.length > 0 ? { held: found.ahead } : {}),
      ...(conflicts.length > 0 ? { note: catchUpConflict(target, branch, conflicts.join(', ')) } : {}),
    },
  }
}

/**
 * What would land, in order, and the conflicts it would meet, starting at the integration tip
 * `tip`, without touching any worktree or ref (`tanuki land --dry-run`). A task the lander would
 * settle with nothing to land says so (`empty`), for the same reasons: no work was recorded for it,
 * or its work changes nothing on the tip it would land on (it is already there).
 */
export async function predictLandings(
  { repo, project }: Pick<LandingHistory, 'repo' | 'project'>,
  start: string,
  tasks: readonly Task[],
  options: { remote?: boolean } = {},
): Promise<LandingPrediction[]> {
  const config = await commitConfig(repo, 'lander')
  let tip = start
  const predictions: LandingPrediction[] = []
  for (const task of tasks) {
    const work = await revParse(taskRef(project, task.id, 'work'), repo)
    if (!work) {
      // With a shared remote the lander fetches the work a remote agent recorded there, which a
      // dry run does not: it would land, with conflicts unknown.
      predictions.push({ taskId: task.id, conflicts: [], ...(options.remote ? {} : { empty: 'no-work' as const }) })
      continue
    }
    const picked = await pickInMemory(work, tip, repo)
    if ('failed' in picked) {
      throw new TanukiError(LAND_ERROR, `predicting the landing of ${task.id} failed: ${gitSaid(picked.failed)}`)
    }
    const { tree, conflicts } = picked
    // The lander's test too: a landing whose tree is the tip's own lands no commit.
    if (conflicts.length === 0 && tree === (await git(['rev-parse', `${tip}^{tree}`], repo)).stdout.trim()) {
      predictions.push({ taskId: task.id, conflicts: [], empty: 'no-changes' })
      continue
    }
    predictions.push({ taskId: task.id, conflicts })
    // The next task lands on this one's result (a conflict's tree holds its markers: still the
    // best guess of what comes next).
    const next = await git([...config, 'commit-tree', tree, '-p', tip, '-m', `predicted ${task.id}`], repo)
    if (next.code === 0) tip = next.stdout.trim()
  }
  return predictions
}
