import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import {
  TanukiError,
  landingMessage,
  type Conflict,
  type LandOutcome,
  type Lander,
  type LandingRecord,
  type LandingStart,
  type LandRequest,
  type ProjectInfo,
  type ResolvedConfig,
  type TargetPush,
  type Task,
} from '@tanuki/core'
import { execShell } from '../process.ts'
import { taskRef } from '../ref-names.ts'
import {
  commitConfig,
  conflictedFiles,
  git,
  gitOrThrow,
  gitSaid,
  gitWithPersonHooks,
  isAncestor,
  listWorktrees,
  operationOn,
  revParse,
  serialized,
} from './run.ts'
import {
  LAND_ERROR,
  catchUpConflict,
  predictLandings,
  relandNote,
  rewrittenNote,
  type LandingPrediction,
} from './dry-run.ts'
import { gateAlone, targetTip } from './gate-alone.ts'
import {
  WORK_TRAILER,
  canRebuild,
  conflictingWork,
  foundLandings,
  landingsNotOn,
  landingsOnTarget,
  type LandingHistory,
} from './landings.ts'
import {
  failedFor,
  goneBranches,
  inspectTarget,
  locateTarget,
  openIntegration,
  repairIntegration,
  type Integration,
  type LandingTarget,
  type TargetOptions,
} from './target.ts'

export { WORK_TRAILER }

/** A `catchUp` that met a conflict: the files, and what a person is to do. */
interface CatchUpConflict {
  status: 'conflict'
  files: string[]
  message: string
}

/**
 * Why a push failed, on one line: what the remote's hook said (`remote: …`), git's verdict on the
 * ref (`! [remote rejected] main -> main (pre-receive hook declined)`), or its error; not the
 * `To <url>` line, nor hints.
 */
function pushSaid(result: Awaited<ReturnType<typeof git>>): string {
  const lines = result.stderr
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !/^(To |hint:)/.test(line) && !/^error: failed to push some refs/.test(line))
    .map((line) => line.replace(/^remote:\s*/, '').replace(/^! /, ''))
    .filter(Boolean)
  return lines.length > 0 ? lines.slice(0, 3).join('; ') : gitSaid(result)
}

/** Whether the target moved (`note`: why not, or that its push failed), and how pushing it went. */
interface Moved {
  moved: boolean
  note?: string
  push?: TargetPush
}

/** Why the target did not move, if it did not: a push that failed after it moved is `push`'s to say. */
function noteOf(moved: Moved): string | undefined {
  return moved.moved && moved.push?.error !== undefined ? undefined : moved.note
}

/**
 * A `catchUp` that found landings waiting on the integration branch on the target already, in
 * commits of its own (`on`: by task, the target's commit): a person's rebase rewrote them there.
 * `missing`: the waiting landings the target lacks, oldest first.
 */
interface CatchUpRewritten {
  status: 'rewritten'
  on: Map<string, string>
  missing: { taskId: string; commit: string }[]
}

/** What merging the target in gave: the integration tip with the target's new commits in, or a conflict. */
type Merged = { status: 'caught-up'; head: string } | CatchUpConflict

/** What `catchUp` found: what merging the target in gave, or landings rewritten there (nothing merged). */
type CatchUp = Merged | CatchUpRewritten

export interface GitLanderOptions {
  project: ProjectInfo
  /** `land` of the resolved config: target, strategy, gate, push. */
  land: ResolvedConfig['land']
  /** Longest a gate command may run. Default 5 minutes. */
  verifyTimeoutMs?: number
  /**
   * A git remote shared with agents on other machines (remote workers): the integration branch is
   * pushed there when a run starts and after each landing, so their tasks start from the landed
   * work, and a task's refs are fetched from there when this repository lacks them. Default: none.
   */
  remote?: string
  /** Where `land.into` came from when not the config (`--into`), for messages. */
  intoFrom?: string
}

/** The git lander: a merge queue's hands. */
export interface GitLander extends Lander {
  /** The integration branch and worktree, once prepared. */
  readonly integration: Integration | undefined
  /**
   * What `prepare` would find (the target, the landings a crash left), found without writing
   * anything: no branch, worktree or ref is made or moved (`tanuki land --dry-run`).
   */
  inspect(recorded?: LandingRecord): Promise<LandingStart>
  /**
   * What would land, in order, and the conflicts it would meet, or that a task would land nothing
   * (`empty`), after `prepare` or `inspect`, without touching any worktree or ref (`tanuki land --dry-run`).
   */
  predict(tasks: readonly Task[]): Promise<LandingPrediction[]>
}

/**
 * Lands completed tasks with git: each task's work (recorded by its agent's workspace under
 * `refs/tanuki/<project>/tasks/<id>/`) becomes one commit on an integration branch of Tanuki's own
 * (`tanuki/land/<target>`), in its own worktree outside the project; the task's verify and
 * `land.verify` run there on the combined work; then the target moves forward to it, as
 * `git merge --ff-only` would move it: a person's working tree on the target is updated only when
 * none of their uncommitted changes would be overwritten, and otherwise nothing of theirs is
 * touched (the work waits on the integration branch for `tanuki land`).
 *
 * Crash safety: the trailer `Tanuki-Task: <id>` on the landed commit is the record. `prepare`
 * finds the landings a crash left unrecorded, and repairs the integration worktree.
 *
 * @example
 * const lander = createGitLander({ project, land: config.land })
 * const start = await lander.prepare()
 */
export function createGitLander(options: GitLanderOptions): GitLander {
  const { project, land } = options
  let repo: string | undefined
  let target: string | undefined
  /** Why the target is not the branch checked out, at a fresh start (a detached HEAD). */
  let notice: string | undefined
  let integration: Integration | undefined
  /** The integration worktree sits on its branch's tip, clean: the last landing ended well. */
  let clean = false
  /** The target's tip as this lander last saw or set it. */
  let knownTarget: string | undefined
  /** The integration branch's tip as this lander last saw or set it. */
  let knownTip: string | undefined
  /** The target could not move forward to the last landing: it lags the integration branch. */
  let behind = false
  /** Where the repository keeps its refs as files (loose and packed); unset for other ref stores. */
  let refFiles: string | undefined

  /**
   * False when the repository certainly has no work recorded for a task, asked of its ref files
   * rather than of a git process (each costs one, 30–100 ms on a busy machine, and a run of quick
   * tasks in the shared workspace lands a thousand tasks without work): neither a loose ref nor a
   * packed one. Undefined when only git can tell.
   */
  const recordedWork = (taskId: string): boolean | undefined => {
    if (!refFiles || options.remote) return undefined
    const ref = taskRef(project, taskId, 'work')
    if (existsSync(join(refFiles, ref))) return undefined
    let packed = ''
    try {
      packed = readFileSync(join(refFiles, 'packed-refs'), 'utf8')
    } catch {
      // No packed refs.
    }
    return packed.includes(` ${ref}\n`) ? undefined : false
  }

  /** Where `locateTarget` looks for the target. */
  const where: TargetOptions = { project, into: land.into, intoFrom: options.intoFrom }
  /** Remembers the repository and target found. */
  const settle = (located: LandingTarget): LandingTarget => {
    repo = located.repo
    target = located.target
    notice = located.notice
    refFiles = located.refFiles
    return located
  }

  const inLand = (args: readonly string[]) => git(args, integration!.dir)
  const must = async (args: readonly string[], what: string): Promise<string> =>
    gitOrThrow(args, integration!.dir, what, LAND_ERROR)

  const repair = (): Promise<void> => repairIntegration(integration!)

  const history = (): LandingHistory => ({ repo: repo!, project, target: target! })

  /**
   * Brings the target's own new commits (a person committed) into the integration branch: the
   * integration tip after, or the files in which those commits conflict with the landings waiting
   * there (the merge aborted, the branch as it was). Where the target holds landings that wait
   * there already, rewritten (a person's `git pull --rebase`), nothing is merged: merging would
   * put their work on the target twice (`rewritten`). The target's tip is remembered, so while
   * nobody else moves it this costs one `rev-parse`.
   */
  const catchUp = async (): Promise<CatchUp> => {
    const found = await git(['rev-parse', `refs/heads/${target}`, 'HEAD'], integration!.dir)
    const [tip, head] = found.stdout.trim().split('\n') as [string, string]
    if (found.code !== 0 || tip === knownTarget || (await isAncestor(tip, head, integration!.dir))) {
      knownTarget = tip
      knownTip = found.code === 0 ? head : undefined
      return { status: 'caught-up', head }
    }
    // Nothing waits where the integration branch is behind the target: the merge fast-forwards.
    if (!(await isAncestor(head, tip, integration!.dir))) {
      const { ahead } = await foundLandings(history(), integration!.branch)
      const on = await landingsOnTarget(history(), integration!.branch, ahead)
      if (on.size > 0) return { status: 'rewritten', on, missing: ahead.filter(({ taskId }) => !on.has(taskId)) }
    }
    return mergeTarget(tip)
  }

  /** `catchUp`'s merge of the target's tip `tip` into the integration branch. */
  const mergeTarget = async (tip: string): Promise<Merged> => {
    const merged = await inLand([
      ...(await commitConfig(integration!.dir, 'lander')),
      'merge',
      '--no-edit',
      '--no-verify',
      '-m',
      `tanuki: bring ${target}'s new commits into the landing branch`,
      tip,
    ])
    if (merged.code !== 0) {
      // The files, not git's first line (`Auto-merging notes.txt`), say what a person must merge.
      const files = await conflictedFiles(integration!.dir)
      await inLand(['merge', '--abort'])
      const what = files.length > 0 ? files.join(', ') : gitSaid(merged)
      return { status: 'conflict', files, message: catchUpConflict(target!, integration!.branch, what) }
    }
    knownTarget = tip
    knownTip = (await must(['rev-parse', 'HEAD'], 'bringing the target in')).trim()
    return { status: 'caught-up', head: knownTip }
  }

  /** The error of a `catchUp` that met a conflict: a person's to merge. */
  const catchUpFailed = ({ files, message }: CatchUpConflict): TanukiError =>
    new TanukiError(LAND_ERROR, message, { details: { files } })

  /** The integration branch and worktree start again from the target's tip (Tanuki's own branch): where it was. */
  const startAgain = async (what: string): Promise<string> => {
    const [was, tip] = (await must(['rev-parse', 'HEAD', `refs/heads/${target}`], what)).trim().split('\n') as [
      string,
      string,
    ]
    await must(['reset', '--quiet', '--hard', tip], what)
    knownTarget = tip
    knownTip = tip
    return was
  }

  /**
   * Where the target holds landings waiting on the integration branch already (`rewritten`), that
   * branch starts again from the target, when nothing else is only there (`canRebuild`): the
   * landings the target lacks (`missing`) are taken off it to land again from their work. The
   * target is never touched. Resolves with the note that says so, or none where it cannot start
   * again (a person's commit is on the integration branch, or a missing landing's work is gone).
   */
  const startAgainFrom = async ({ on, missing }: CatchUpRewritten): Promise<string | undefined> => {
    for (const { taskId } of missing) await fetchTask(taskId)
    if (!(await canRebuild(history(), integration!.branch, missing, land.strategy))) return undefined
    const was = await startAgain('starting the landing branch again from the target')
    return rewrittenNote(
      target!,
      integration!.branch,
      on,
      missing.map(({ taskId }) => taskId),
      was,
    )
  }

  /**
   * `catchUp`; where the target's own new commits (a person's) conflict with the landings waiting
   * on the integration branch, that branch starts again from the target instead, and those
   * landings are taken off it to land again from their work (gated, in order; one that conflicts
   * goes to an agent, as any conflict does). Only where nothing else is on the branch alone and
   * every such landing's work is there (`canRebuild`): otherwise the conflict is still a person's
   * to merge. The target is never touched. Resolves with the landings taken off, and a note.
   */
  const catchUpOrRebuild = async (): Promise<{ relanding: { taskId: string; commit: string }[]; note?: string }> => {
    let caught = await catchUp()
    if (caught.status === 'rewritten') {
      const note = await startAgainFrom(caught)
      if (note) return { relanding: caught.missing, note }
      // Only a person can tell what of the integration branch is to stay: as before a rebase.
      caught = await mergeTarget((await must(['rev-parse', `refs/heads/${target}`], 'bringing the target in')).trim())
    }
    if (caught.status === 'caught-up') return { relanding: [] }
    const { branch } = integration!
    const { ahead } = await foundLandings(history(), branch)
    for (const { taskId } of ahead) await fetchTask(taskId)
    if (!(await canRebuild(history(), branch, ahead, land.strategy))) throw catchUpFailed(caught)
    const was = await startAgain('starting the landing branch again from the target')
    return {
      relanding: ahead,
      note: relandNote(
        target!,
        branch,
        ahead.map(({ taskId }) => taskId),
        caught.files.join(', '),
        was,
      ),
    }
  }

  /**
   * `catchUp` before a landing: where the target holds every landing that waits on the integration
   * branch already (rewritten), that branch starts again from the target. Where it lacks some, only
   * a start may take them off the branch to land again: refused, and a run settles the target
   * again (as `prepare` does) before it lands on.
   */
  const catchUpToLand = async (): Promise<Merged> => {
    const caught = await catchUp()
    if (caught.status !== 'rewritten') return caught
    if (caught.missing.length > 0) {
      const ids = caught.missing.map(({ taskId }) => taskId).join(', ')
      throw new TanukiError(
        LAND_ERROR,
        `${target} holds ${[...caught.on.keys()].join(', ')} already, in commits of its own (a rebase rewrote them), ` +
          `and ${ids} waits on ${integration!.branch}: \`tanuki land\` starts ${integration!.branch} again from ${target} ` +
          `and lands ${ids} again from its work.`,
      )
    }
    if (await startAgainFrom(caught)) return { status: 'caught-up', head: knownTip! }
    return mergeTarget((await must(['rev-parse', `refs/heads/${target}`], 'bringing the target in')).trim())
  }

  /**
   * Moves the target forward to the integration tip. Where it is checked out, as
   * `git merge --ff-only` would (never overwriting a person's changes); elsewhere, the ref alone.
   * Then pushes it to `land.push` (`push`: how that went).
   */
  const moveTarget = async (to: string): Promise<Moved> => {
    const moved = await moveTargetTo(to)
    behind = !moved.moved
    return moved
  }
  /** `moveTarget`'s work; `moveTarget` remembers whether it left the target behind. */
  const moveTargetTo = async (to: string): Promise<Moved> => {
    const ref = `refs/heads/${target}`
    const movedMeanwhile = {
      moved: false,
      note: `${target} moved meanwhile; the work waits on ${integration!.branch}, and the next landing (or \`tanuki land\`) brings ${target} up to date.`,
    }
    // No ancestry check first: the fast-forward (or the ref's compare-and-swap) refuses by itself
    // when the target moved, and each git call costs a process.
    const trees = await listWorktrees(repo!)
    const checkedOut = trees.find((tree) => tree.branch === target)
    // Being rebased (or bisected) where its HEAD is detached: the rebase moves it at its end, and
    // fails there if it moved meanwhile. Git counts it as checked out, and so does this.
    const busy = checkedOut
      ? undefined
      : trees.flatMap((tree) => {
          const doing = tree.branch ? undefined : operationOn(tree.path, target!)
          return doing ? [{ path: tree.path, doing }] : []
        })[0]
    if (busy) {
      const what = busy.doing === 'rebase' ? 'rebase' : 'bisect'
      return {
        moved: false,
        note:
          `${target} is being ${what === 'rebase' ? 'rebased' : 'bisected'} in ${busy.path}; moving it now would make the ` +
          `${what} fail at its end, so nothing of yours was touched. The work waits on ${integration!.branch}: ` +
          `finish the ${what} (or abort it), then run \`tanuki land\`.`,
      }
    }
    if (checkedOut) {
      const ff = await git(['merge', '--ff-only', '--quiet', to], checkedOut.path)
      if (ff.code !== 0) {
        if (/fast-forward|diverg/i.test(ff.stderr)) return movedMeanwhile
        // git names the files on the lines after its first, indented.
        const files = ff.stderr
          .split('\n')
          .filter((line) => /^\s+\S/.test(line) && !/^\s*(Please|Aborting|hint:)/.test(line))
          .map((line) => line.trim())
        const untracked = /untracked working tree files/.test(ff.stderr)
        const changed = !untracked || /local changes/.test(ff.stderr)
        const yours = [changed && 'uncommitted changes', untracked && 'untracked files'].filter(Boolean).join(' and ')
        const fix = [changed && 'commit or stash your changes', untracked && 'move the untracked files away']
          .filter(Boolean)
          .join(', ')
        return {
          moved: false,
          note:
            `your ${yours} in ${checkedOut.path}${files.length > 0 ? ` (${files.join(', ')})` : ''} would be overwritten by the landed work` +
            `${files.length > 0 ? '' : ` (${gitSaid(ff)})`}; nothing of yours was touched. The work waits on ${integration!.branch}: ` +
            `${fix}, then run \`tanuki land\`.`,
        }
      }
    } else {
      const swapped = await git(['update-ref', ref, to, ...(knownTarget ? [knownTarget] : [])], repo!)
      if (swapped.code !== 0) return movedMeanwhile
    }
    knownTarget = to
    if (land.push) {
      // The person's delivery to their remote: their `pre-push` runs, as for their own push.
      const pushed = await gitWithPersonHooks(['push', '--quiet', land.push, `${ref}:${ref}`], repo!)
      const push: TargetPush = { remote: land.push, branch: target! }
      if (pushed.code !== 0) {
        const error = pushSaid(pushed)
        return {
          moved: true,
          note: `landed, but pushing ${target} to ${land.push} failed: ${error}`,
          push: { ...push, error },
        }
      }
      return { moved: true, push }
    }
    return { moved: true }
  }

  /** The integration branch on `options.remote`, where remote workers start from; a note when the push failed. */
  const share = async (): Promise<string | undefined> => {
    if (!options.remote) return undefined
    const ref = `refs/heads/${integration!.branch}`
    // Tanuki owns the branch: the remote's copy follows it, even after a person reset it here.
    const pushed = await git(['push', '--quiet', '--force', options.remote, `${ref}:${ref}`], repo!)
    return pushed.code === 0
      ? undefined
      : `pushing ${integration!.branch} to ${options.remote} failed (${gitSaid(pushed)}); remote agents start from what it had before`
  }

  /** A task's refs from `options.remote`, when a remote agent recorded them there and they are not here. */
  const fetchTask = async (taskId: string): Promise<void> => {
    if (!options.remote || (await revParse(taskRef(project, taskId, 'work'), repo!))) return
    const refs = taskRef(project, taskId, 'work').slice(0, -'/work'.length)
    await git(['fetch', '--quiet', '--no-write-fetch-head', options.remote, `+${refs}/*:${refs}/*`], repo!)
  }

  const message = (task: Task, agent: string | undefined, work: string): string =>
    landingMessage(
      task,
      [
        `Tanuki-Task: ${task.id}`,
        ...(agent ? [`Tanuki-Agent: ${agent}`] : []),
        // Which work this is: a task rerun later has other work, which must land again.
        `${WORK_TRAILER}: ${work}`,
      ],
      land.message,
    )

  /** The conflict a cherry-pick or merge left, described for the agent; the integration worktree is restored. */
  const conflictOf = async (files: string[], what: string, base: string): Promise<Conflict> => {
    const detail = await inLand(['diff', '--no-color', base, 'HEAD', '--', ...files])
    await repair()
    return {
      files,
      what,
      detail: detail.stdout.trim() || `(no textual diff between ${base.slice(0, 10)} and the landed work)`,
    }
  }

  /**
   * Builds the commit that lands a task's work on the integration tip (one commit, or its commits
   * for rebase) without moving the branch: the worktree and index hold its tree, for the gate.
   * Resolves with the commit, the conflict it met, `'no work'` when the task has no recorded work
   * (marked complete by hand, or it ran where nothing is committed), or `'nothing new'` when its
   * work is already on the integration tip (a rerun that changed nothing): nothing to land either way.
   */
  const apply = async (
    task: Task,
    agent: string | undefined,
    before: string,
  ): Promise<string | Conflict | 'no work' | 'nothing new'> => {
    const config = await commitConfig(integration!.dir, 'lander')
    const ref = taskRef(project, task.id, 'work')
    // One call for all three: the work, where it started (a missing ref fails it), and the tree a
    // landing must differ from to carry anything.
    const found = await git(['rev-parse', '--quiet', `${ref}^{commit}`, `${ref}^`, `${before}^{tree}`], repo!)
    if (found.code !== 0) return 'no work'
    const [work, base, beforeTree] = found.stdout.trim().split('\n') as [string, string, string]
    const text = message(task, agent, work)
    const conflicted = async (what: Awaited<ReturnType<typeof inLand>>): Promise<Conflict> => {
      const files = await conflictedFiles(integration!.dir)
      // Named for the other side, the landed work it met: the task's own work is what was applied.
      if (files.length > 0)
        return conflictOf(
          files,
          await conflictingWork(integration!.dir, { base, tip: before, files, own: task.id }),
          base,
        )
      await repair()
      throw new TanukiError(LAND_ERROR, `applying the work of ${task.id} failed: ${gitSaid(what)}`)
    }
    /** The index as a commit on `parents`, message and all; none when it changes nothing. */
    const commitIndex = async (parents: string[]): Promise<string | 'nothing new'> => {
      const tree = (await must(['write-tree'], 'recording the landing')).trim()
      if (tree === beforeTree) return 'nothing new'
      const args = [...config, 'commit-tree', tree, ...parents.flatMap((parent) => ['-p', parent]), '-m', text]
      return (await must(args, 'recording the landing')).trim()
    }
    if (land.strategy === 'rebase') {
      const tip = (await revParse(taskRef(project, task.id, 'tip'), repo!)) ?? work
      const commits = (await git(['rev-list', '--reverse', '--no-merges', `${base}..${tip}`], repo!)).stdout
        .split('\n')
        .filter(Boolean)
      // Its commits one by one, on a detached HEAD; the branch moves after the gate.
      await must(['checkout', '--quiet', '--detach'], 'preparing the landing')
      for (const commit of commits) {
        const picked = await inLand([...config, 'cherry-pick', '--allow-empty', '--keep-redundant-commits', commit])
        if (picked.code !== 0) return conflicted(picked)
      }
      await must([...config, 'commit', '--quiet', '--no-verify', '--allow-empty', '-m', text], 'recording the landing')
      const [commit, tree] = (await must(['rev-parse', 'HEAD', 'HEAD^{tree}'], 'recording the landing'))
        .trim()
        .split('\n') as [string, string]
      return tree === beforeTree ? 'nothing new' : commit
    }
    // The task's change (from where it started to its work) applied to the landed tip. For
    // `merge` too: its branch's history can hold commits of an earlier task its start dropped
    // (each task starts from the landed work, keeping the branch's history), and a plain merge
    // would take their change back out of landed work. The tip becomes the second parent.
    const picked = await inLand([...config, 'cherry-pick', '--no-commit', work])
    if (picked.code !== 0) return conflicted(picked)
    if (land.strategy === 'merge') {
      const tip = (await revParse(taskRef(project, task.id, 'tip'), repo!)) ?? work
      return commitIndex([before, tip])
    }
    return commitIndex([before])
  }

  /** Whether landing this task runs any gate command. */
  /** The task's own verify, as its landing runs it: not for work a person accepted as it is. */
  const ownVerify = (request: LandRequest): string | undefined =>
    request.accepted ? undefined : request.task.completion.verify

  const gateRan = (request: LandRequest): boolean => Boolean(ownVerify(request) || land.verify)

  /**
   * The role's setup (what the gate needs: installed dependencies), then the task's verify, then
   * `land.verify`, on the combined work; the first that fails. No gate, no setup: nothing needs it.
   */
  const gate = async (request: LandRequest, base: string): Promise<LandOutcome | undefined> => {
    if (!gateRan(request)) return undefined
    const setup = request.setup ? [{ command: request.setup, setup: true }] : []
    const checks = [ownVerify(request), land.verify].map((command) => ({ command, setup: false }))
    for (const { command, setup: isSetup } of [...setup, ...checks]) {
      if (!command) continue
      const env = { TANUKI_TASK_ID: request.task.id, TANUKI_LANDING: '1' }
      const common = {
        timeoutMs: options.verifyTimeoutMs ?? 5 * 60_000,
        signal: request.signal,
        ...(request.onOutput ? { onOutput: request.onOutput } : {}),
      }
      request.onGate?.({ command, setup: isSetup })
      // Where the task's agents ran (their container) when its backend can; else here.
      const ran = request.exec
        ? await request.exec(command, integration!.cwd, { ...common, env, top: integration!.dir })
        : await execShell(command, integration!.cwd, { ...common, env: { ...process.env, ...env } })
      if (request.signal.aborted) throw new TanukiError('TANUKI_ABORTED', `Aborted: landing ${request.task.id}`)
      if (ran.exitCode !== 0) {
        return {
          status: 'gate-failed',
          command,
          exitCode: ran.exitCode,
          output: ran.timedOut ? `${ran.output}\n(timed out)` : ran.output,
          // A setup's failure stops landing whatever the base: only a gate's needs it.
          ...(isSetup ? { setup: true } : { base }),
        }
      }
    }
    return undefined
  }

  /** Where `predict` starts when the lander was only inspected: the integration tip `prepare` would reach. */
  let inspectedTip: string | undefined

  const lander: GitLander = {
    name: 'git',
    get integration() {
      return integration
    },

    async prepare(recorded = {}): Promise<LandingStart> {
      const located = settle(await locateTarget(where, recorded))
      return serialized(located.repo, async () => {
        integration = await openIntegration(project, located)
        const { branch } = integration
        const rebuilt = await catchUpOrRebuild()
        const { landed, ahead } = await foundLandings({ repo: repo!, project, target: target! }, branch)
        const head = (await inLand(['rev-parse', 'HEAD'])).stdout.trim()
        knownTip = head
        const move = await moveTarget(head)
        const gone = await goneBranches(located.repo, recorded.waitingFor ?? [])
        const notHere = await landingsNotOn(located.repo, recorded.landings ?? [], head)
        const shared = await share()
        if (shared)
          throw new TanukiError(
            LAND_ERROR,
            `${shared}. Check the remote (\`git remote -v\`) and that it accepts pushes.`,
          )
        // On its branch's tip and clean, made or repaired: the first landing need not repair it.
        clean = true
        return {
          target: target!,
          ...(move.push ? { push: move.push } : {}),
          ...(notice ? { notice } : {}),
          base: `refs/heads/${branch}`,
          landed: [...landed].map(([taskId, commit]) => ({ taskId, commit })),
          ...(ahead.length > 0 ? (move.moved ? { caughtUp: ahead } : { held: ahead }) : {}),
          ...(rebuilt.relanding.length > 0 ? { relanding: rebuilt.relanding } : {}),
          // A push that failed is `push`'s to say: the note is for a target that did not move.
          ...(noteOf(move) || rebuilt.note ? { note: noteOf(move) ?? rebuilt.note } : {}),
          ...(gone.length > 0 ? { gone } : {}),
          ...(notHere.length > 0 ? { notHere } : {}),
        }
      }).catch((error: unknown) => {
        // Said of this target only: work waiting for another branch waits for its own reasons.
        throw failedFor(error, located.target)
      })
    },

    async land(request): Promise<LandOutcome> {
      if (!integration || !repo) throw new TanukiError(LAND_ERROR, 'the git lander was not prepared')
      return serialized(repo, async () => {
        // Nothing recorded, and certainly so without asking git: nothing to land, nothing to run.
        // (With the target behind, the landing below brings in its new commits and moves it.)
        if (knownTip && !behind && recordedWork(request.task.id) === false)
          return { status: 'landed', commit: knownTip, moved: true, empty: 'no-work' }
        // A landing that ended cleanly left the worktree on the branch's tip: nothing to repair.
        if (!clean) await repair()
        clean = false
        const caught = await catchUpToLand()
        if (caught.status === 'conflict') throw catchUpFailed(caught)
        const before = caught.head
        await fetchTask(request.task.id)
        const built = await apply(request.task, request.agent, before)
        if (built === 'no work' || built === 'nothing new') {
          // Work that adds nothing left the worktree off its branch's tip (rebase) or with a
          // merge under way: the next landing repairs it.
          clean = built === 'no work'
          // Nothing of its own, but the target still has to reach what landed before it.
          const moved: Moved = behind ? await moveTarget(before) : { moved: true }
          return {
            status: 'landed',
            commit: before,
            moved: moved.moved,
            ...(moved.push ? { push: moved.push } : {}),
            empty: built === 'no work' ? 'no-work' : 'no-changes',
            ...(moved.note ? { note: moved.note } : {}),
          }
        }
        if (typeof built !== 'string') return { status: 'conflict', ...built }
        // The branch moves only once the gate passed: a crash before that leaves it as it was.
        const failed = await gate(request, before)
        if (failed) return failed
        await must(['update-ref', `refs/heads/${integration!.branch}`, built, before], 'recording the landing')
        knownTip = built
        if (land.strategy === 'rebase')
          await must(['checkout', '--quiet', integration!.branch], 'finishing the landing')
        // The worktree now matches the branch, unless the gate changed tracked files (then the
        // next landing starts with a repair); files it created stay, as a CI workspace keeps them.
        // Checked while the target moves: they touch different worktrees.
        const [unchanged, moved, shared] = await Promise.all([
          gateRan(request)
            ? inLand(['status', '--porcelain', '--untracked-files=no']).then((r) => r.stdout === '')
            : true,
          moveTarget(built),
          share(),
        ])
        clean = unchanged
        const note = [moved.note, shared].filter(Boolean).join('; ')
        return {
          status: 'landed',
          commit: built,
          moved: moved.moved,
          ...(note ? { note } : {}),
          ...(moved.push ? { push: moved.push } : {}),
        }
      })
    },

    async gateAlone(request) {
      if (!integration || !repo) return undefined
      const timeoutMs = options.verifyTimeoutMs ?? 5 * 60_000
      return serialized(repo, () => {
        clean = false
        return gateAlone({ repo: repo!, integration: integration!, target: target!, knownTarget, timeoutMs }, request)
      })
    },

    targetTip: () => targetTip(repo, target),

    async inspect(recorded = {}): Promise<LandingStart> {
      const { located, start, tip } = await inspectTarget(where, recorded, land.strategy)
      settle(located)
      inspectedTip = tip
      return start
    },

    async predict(tasks) {
      if (!repo || !(integration || inspectedTip))
        throw new TanukiError(LAND_ERROR, 'the git lander was neither prepared nor inspected')
      const tip = inspectedTip ?? (await inLand(['rev-parse', 'HEAD'])).stdout.trim()
      return predictLandings({ repo, project }, tip, tasks, { remote: Boolean(options.remote) })
    },
  }
  return lander
}
