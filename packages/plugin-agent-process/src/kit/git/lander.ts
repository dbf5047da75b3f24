import { existsSync, readFileSync } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import {
  TanukiError,
  didYouMean,
  type Conflict,
  type LandOutcome,
  type Lander,
  type LandingRecord,
  type LandingStart,
  type LandRequest,
  type ProjectInfo,
  type ResolvedConfig,
  type Task,
} from '@tanuki/core'
import { execShell } from '../process.ts'
import { safeName, taskRef } from '../ref-names.ts'
import { worktreesDir } from '../workspace.ts'
import { setAsideOrphan } from './orphan.ts'
import { readOwned, updateOwned } from './owned.ts'
import {
  commitConfig,
  conflictedFiles,
  git,
  gitOrThrow,
  gitRepository,
  gitSaid,
  isAncestor,
  listWorktrees,
  operationOn,
  real,
  revParse,
  samePath,
  serialized,
} from './run.ts'
import { LAND_ERROR, catchUpConflict, inspectLandings, predictLandings, type LandingPrediction } from './dry-run.ts'
import { WORK_TRAILER, foundLandings } from './landings.ts'

export { WORK_TRAILER }

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
  readonly integration: { branch: string; dir: string } | undefined
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
  let integration: { branch: string; dir: string } | undefined
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

  const inLand = (args: readonly string[]) => git(args, integration!.dir)
  const must = async (args: readonly string[], what: string): Promise<string> =>
    gitOrThrow(args, integration!.dir, what, LAND_ERROR)

  /** The integration worktree back on its branch's tip, clean, whatever a crash left in it. */
  const repair = async (): Promise<void> => {
    await inLand(['cherry-pick', '--abort'])
    await inLand(['merge', '--abort'])
    await must(['checkout', '--quiet', '--force', integration!.branch], 'cleaning the integration worktree')
    await must(['reset', '--quiet', '--hard', 'HEAD'], 'cleaning the integration worktree')
    await must(['clean', '-fdq'], 'cleaning the integration worktree')
  }

  /**
   * Brings the target's own new commits (a person committed) into the integration branch; resolves
   * with the integration tip. The target's tip is remembered, so while nobody else moves it this
   * costs one `rev-parse`.
   */
  const catchUp = async (): Promise<string> => {
    const found = await git(['rev-parse', `refs/heads/${target}`, 'HEAD'], integration!.dir)
    const [tip, head] = found.stdout.trim().split('\n') as [string, string]
    if (found.code !== 0 || tip === knownTarget || (await isAncestor(tip, head, integration!.dir))) {
      knownTarget = tip
      knownTip = found.code === 0 ? head : undefined
      return head
    }
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
      throw new TanukiError(
        LAND_ERROR,
        catchUpConflict(target!, integration!.branch, files.length > 0 ? files.join(', ') : gitSaid(merged)),
        {
          details: { files },
        },
      )
    }
    knownTarget = tip
    knownTip = (await must(['rev-parse', 'HEAD'], 'bringing the target in')).trim()
    return knownTip
  }

  /**
   * Moves the target forward to the integration tip. Where it is checked out, as
   * `git merge --ff-only` would (never overwriting a person's changes); elsewhere, the ref alone.
   */
  const moveTarget = async (to: string): Promise<{ moved: boolean; note?: string }> => {
    const moved = await moveTargetTo(to)
    behind = !moved.moved
    return moved
  }
  /** `moveTarget`'s work; `moveTarget` remembers whether it left the target behind. */
  const moveTargetTo = async (to: string): Promise<{ moved: boolean; note?: string }> => {
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
      const pushed = await git(['push', '--quiet', land.push, `${ref}:${ref}`], repo!)
      if (pushed.code !== 0)
        return { moved: true, note: `landed, but pushing ${target} to ${land.push} failed: ${gitSaid(pushed)}` }
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
  const fetchTask = async (task: Task): Promise<void> => {
    if (!options.remote || (await revParse(taskRef(project, task.id, 'work'), repo!))) return
    const refs = taskRef(project, task.id, 'work').slice(0, -'/work'.length)
    await git(['fetch', '--quiet', '--no-write-fetch-head', options.remote, `+${refs}/*:${refs}/*`], repo!)
  }

  const message = (task: Task, agent: string | undefined, work: string): string => {
    const summary = task.body
      .trim()
      .split('\n')
      .find((line) => line.trim() && !line.startsWith('```'))
    return [
      task.title,
      '',
      ...(summary ? [summary.length > 200 ? `${summary.slice(0, 197)}…` : summary, ''] : []),
      `Tanuki-Task: ${task.id}`,
      ...(agent ? [`Tanuki-Agent: ${agent}`] : []),
      // Which work this is: a task rerun later has other work, which must land again.
      `${WORK_TRAILER}: ${work}`,
    ].join('\n')
  }

  /** The conflict a cherry-pick or merge left, described for the agent; the integration worktree is restored. */
  const conflictOf = async (what: string, base: string): Promise<Conflict> => {
    const files = await conflictedFiles(integration!.dir)
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
      if ((await conflictedFiles(integration!.dir)).length > 0) return conflictOf(`the work of ${task.id}`, base)
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
  const gateRan = (request: LandRequest): boolean => Boolean(request.task.completion.verify || land.verify)

  /**
   * The role's setup (what the gate needs: installed dependencies), then the task's verify, then
   * `land.verify`, on the combined work; the first that fails. No gate, no setup: nothing needs it.
   */
  const gate = async (request: LandRequest): Promise<LandOutcome | undefined> => {
    if (!gateRan(request)) return undefined
    const setup = request.setup ? [{ command: request.setup, setup: true }] : []
    const checks = [request.task.completion.verify, land.verify].map((command) => ({ command, setup: false }))
    for (const { command, setup: isSetup } of [...setup, ...checks]) {
      if (!command) continue
      const env = { TANUKI_TASK_ID: request.task.id, TANUKI_LANDING: '1' }
      const common = {
        timeoutMs: options.verifyTimeoutMs ?? 5 * 60_000,
        signal: request.signal,
        ...(request.onOutput ? { onOutput: request.onOutput } : {}),
      }
      // Where the task's agents ran (their container) when its backend can; else here.
      const ran = request.exec
        ? await request.exec(command, integration!.dir, { ...common, env })
        : await execShell(command, integration!.dir, { ...common, env: { ...process.env, ...env } })
      if (request.signal.aborted) throw new TanukiError('TANUKI_ABORTED', `Aborted: landing ${request.task.id}`)
      if (ran.exitCode !== 0) {
        return {
          status: 'gate-failed',
          command,
          exitCode: ran.exitCode,
          output: ran.timedOut ? `${ran.output}\n(timed out)` : ran.output,
          ...(isSetup ? { setup: true } : {}),
        }
      }
    }
    return undefined
  }

  /** The integration branch for the target: the one recorded for it, else a free name. */
  const integrationBranch = async (): Promise<string> => {
    const owned = readOwned(project)
    const recorded = Object.entries(owned.branches).find(([, entry]) => entry.kind === 'land' && entry.for === target)
    if (recorded) return recorded[0]
    for (let n = 1; ; n++) {
      const name = `tanuki/land/${target}${n === 1 ? '' : `-${n}`}`
      if (!owned.branches[name] && !(await revParse(`refs/heads/${name}`, repo!))) return name
    }
  }

  /**
   * Finds the repository and the target, asking git only (nothing is written): the target is
   * `land.into`; else, for a fresh start, the branch checked out (the recorded one when nothing
   * is: a detached HEAD, said in `notice`); else the one an earlier run recorded, else the branch
   * checked out.
   */
  const locate = async (recorded: LandingRecord): Promise<void> => {
    const found = await gitRepository(project.root)
    if (!found) {
      throw new TanukiError(
        LAND_ERROR,
        `${project.root} is not a git repository with a commit, so there is nowhere to land work. Set \`land: false\` in tanuki.config.ts, or run \`git init && git add -A && git commit -m init\`.`,
      )
    }
    repo = found.top
    // Refs as files (not reftable): `recordedWork` can read them.
    const common = await git(['rev-parse', '--git-common-dir'], repo)
    const commonDir = resolve(repo, common.stdout.trim())
    refFiles = common.code === 0 && !existsSync(join(commonDir, 'reftable')) ? commonDir : undefined
    const current = (await git(['symbolic-ref', '--quiet', '--short', 'HEAD'], project.root)).stdout.trim()
    notice = undefined
    if (land.into !== undefined) target = land.into
    else if (recorded.fresh && current) target = current
    else target = recorded.target ?? (current || undefined)
    if (recorded.fresh && land.into === undefined && !current && target) {
      // A rebase or bisect in progress detaches HEAD too: landing where the last run did is what
      // the person most likely wants, and said, so it surprises nobody.
      notice =
        `${project.root} has no branch checked out (a detached HEAD), so work lands on ${target}, where the last run landed. ` +
        `To land elsewhere, check out that branch before \`tanuki project start\`, or set \`land: { into: '<branch>' }\` in tanuki.config.ts.`
    }
    if (!target) {
      throw new TanukiError(
        LAND_ERROR,
        `${project.root} has no branch checked out (a detached HEAD), so Tanuki does not know where to land work. Check out a branch, or set \`land: { into: 'main' }\` in tanuki.config.ts.`,
      )
    }
    if (!(await revParse(`refs/heads/${target}`, repo))) {
      // A person's branches, not Tanuki's own: one of them is what a misspelt land.into meant.
      const listed = await git(['for-each-ref', '--format=%(refname:short)', 'refs/heads/'], repo)
      const branches = listed.stdout.split('\n').filter((name) => name !== '' && !name.startsWith('tanuki/'))
      const given = options.intoFrom ?? 'land.into'
      const named =
        land.into !== undefined ? ` (${given})` : target === recorded.target ? ' (where the last run landed)' : ''
      const some = branches.length > 10 ? `${branches.slice(0, 10).join(', ')}, …` : branches.join(', ')
      const fix = options.intoFrom
        ? `give ${options.intoFrom} the branch to land on`
        : 'set land.into in tanuki.config.ts to the branch to land on'
      throw new TanukiError(
        LAND_ERROR,
        `The landing target "${target}"${named} is not a branch of ${repo}${didYouMean(target, branches)}. ` +
          (branches.length > 0 ? `Its branches: ${some}. ` : '') +
          `Create it, or ${fix}.`,
      )
    }
  }

  /** Where `predict` starts when the lander was only inspected: the integration tip `prepare` would reach. */
  let inspectedTip: string | undefined

  const lander: GitLander = {
    name: 'git',
    get integration() {
      return integration
    },

    async prepare(recorded = {}): Promise<LandingStart> {
      await locate(recorded)
      return serialized(repo!, async () => {
        const branch = await integrationBranch()
        const dir = join(worktreesDir(project), `_land-${safeName(target!)}`)
        await mkdir(worktreesDir(project), { recursive: true })
        await git(['worktree', 'prune'], repo!)
        const at = new Date().toISOString()
        if (!(await revParse(`refs/heads/${branch}`, repo!))) {
          await gitOrThrow(['branch', branch, `refs/heads/${target}`], repo!, 'creating the landing branch', LAND_ERROR)
        }
        updateOwned(project, (owned) => {
          owned.branches[branch] ??= { kind: 'land', for: target!, at }
        })
        const tree = (await listWorktrees(repo!)).find((each) => samePath(each.path, dir))
        if (tree) {
          integration = { branch, dir }
          await repair()
        } else {
          // A new worktree is on its branch's tip and clean: nothing to repair (five git processes,
          // one of them a second checkout of the whole tree).
          // One whose repository is gone (the project was made again at this path) is set aside.
          if (existsSync(dir) && !setAsideOrphan(dir)) {
            throw new TanukiError(LAND_ERROR, `${dir} exists but is not Tanuki's landing worktree; move it away.`)
          }
          await gitOrThrow(
            ['worktree', 'add', '--quiet', dir, branch],
            repo!,
            'creating the landing worktree',
            LAND_ERROR,
          )
          updateOwned(project, (owned) => {
            owned.worktrees[real(dir)] = { kind: 'land', for: target!, branch, at }
          })
          integration = { branch, dir }
        }
        await catchUp()
        const { landed, ahead } = await foundLandings({ repo: repo!, project, target: target! }, branch)
        const head = (await inLand(['rev-parse', 'HEAD'])).stdout.trim()
        knownTip = head
        const move = await moveTarget(head)
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
          ...(notice ? { notice } : {}),
          base: `refs/heads/${branch}`,
          landed: [...landed].map(([taskId, commit]) => ({ taskId, commit })),
          ...(ahead.length > 0 ? (move.moved ? { caughtUp: ahead } : { held: ahead }) : {}),
          ...(move.note ? { note: move.note } : {}),
        }
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
        const before = await catchUp()
        await fetchTask(request.task)
        const built = await apply(request.task, request.agent, before)
        if (built === 'no work' || built === 'nothing new') {
          // Work that adds nothing left the worktree off its branch's tip (rebase) or with a
          // merge under way: the next landing repairs it.
          clean = built === 'no work'
          // Nothing of its own, but the target still has to reach what landed before it.
          const moved = behind ? await moveTarget(before) : { moved: true }
          return {
            status: 'landed',
            commit: before,
            moved: moved.moved,
            empty: built === 'no work' ? 'no-work' : 'no-changes',
            ...(moved.note ? { note: moved.note } : {}),
          }
        }
        if (typeof built !== 'string') return { status: 'conflict', ...built }
        // The branch moves only once the gate passed: a crash before that leaves it as it was.
        const failed = await gate(request)
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
        return { status: 'landed', commit: built, moved: moved.moved, ...(note ? { note } : {}) }
      })
    },

    async inspect(recorded = {}): Promise<LandingStart> {
      await locate(recorded)
      const branch = await integrationBranch()
      const { start, tip } = await inspectLandings({ repo: repo!, project, target: target! }, branch)
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
