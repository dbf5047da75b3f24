import type { ProjectInfo } from '@tanuki/core'
import { taskRef, taskRefs } from '../ref-names.ts'
import { TASK_TRAILER, WORK_TRAILER, git, taskTrailers, workIsOn } from './run.ts'

export { WORK_TRAILER }

const LANDINGS = { landings: true }

/** Where the landings are read from: the repository, the project (its task refs), the target branch. */
export interface LandingHistory {
  repo: string
  project: ProjectInfo
  target: string
}

/**
 * Tasks whose found landing carries other work than their work ref holds now: rerun (or reset
 * and run again) since that landing. One `git log` over the commits and one `for-each-ref`.
 */
async function supersededLandings(
  { repo, project }: LandingHistory,
  landed: ReadonlyMap<string, string>,
): Promise<string[]> {
  if (landed.size === 0) return []
  const works = new Map<string, string>()
  const refs = await git(['for-each-ref', '--format=%(refname) %(objectname)', taskRefs(project)], repo)
  for (const line of refs.stdout.split('\n')) {
    const [name, sha] = line.split(' ')
    if (name && sha && name.endsWith('/work')) works.set(name, sha)
  }
  const shas = [...new Set(landed.values())]
  const log = await git(
    ['show', '--no-patch', `--format=%H%x00%(trailers:key=${WORK_TRAILER},valueonly)`, ...shas],
    repo,
  )
  const workOf = new Map<string, string>()
  for (const line of log.stdout.split('\n')) {
    const [sha, work] = line.split('\0')
    if (sha && work?.trim()) workOf.set(sha, work.trim())
  }
  return [...landed].flatMap(([id, sha]) => {
    const landedWork = workOf.get(sha)
    const now = works.get(taskRef(project, id, 'work'))
    return landedWork && now && landedWork !== now ? [id] : []
  })
}

/**
 * What the history says landed, by task: on the integration branch `branch` (the trailer is the
 * record; a crash may have left it there, not on the target yet and not in the journal), and on
 * the target. A landing of work the task no longer has (it was rerun since) is not its landing.
 * `ahead`: the landings on the integration branch only, oldest first.
 */
export async function foundLandings(
  history: LandingHistory,
  branch: string | undefined,
): Promise<{ landed: Map<string, string>; ahead: { taskId: string; commit: string }[] }> {
  const { repo, target } = history
  const ahead = branch
    ? await taskTrailers([`refs/heads/${branch}`, `^refs/heads/${target}`, '--max-count=10000'], repo, LANDINGS)
    : new Map<string, string>()
  const landed = new Map(ahead)
  const onTarget = await taskTrailers([`refs/heads/${target}`, '--max-count=10000'], repo, LANDINGS)
  for (const [id, sha] of onTarget) if (!landed.has(id)) landed.set(id, sha)
  for (const id of await supersededLandings(history, landed)) landed.delete(id)
  return {
    landed,
    ahead: [...ahead]
      .filter(([id, sha]) => landed.get(id) === sha)
      .reverse()
      .map(([taskId, commit]) => ({ taskId, commit })),
  }
}

/**
 * Of the landings waiting on the integration branch `branch` (`ahead`, as `foundLandings` found
 * them), those the target holds already in commits of its own: a person rebased the target's
 * landed commits onto its remote's (`git pull --rebase` after a push was rejected), which rewrote
 * them. A target commit since the branches parted that carries the same task's same work (its
 * `Tanuki-Task` and `Tanuki-Work` trailers, which a rebase keeps), or the same change (`git cherry`
 * marks it `-`). Each with the target's commit that holds it (the landing's own where only the
 * change tells). Two `git log`s and a `git cherry`; none when nothing waits.
 */
export async function landingsOnTarget(
  { repo, target }: LandingHistory,
  branch: string,
  ahead: readonly { taskId: string; commit: string }[],
): Promise<Map<string, string>> {
  const there = new Map<string, string>()
  if (ahead.length === 0) return there
  const format = `--format=%H%x00%(trailers:key=${TASK_TRAILER},valueonly,separator=%x01)%x00%(trailers:key=${WORK_TRAILER},valueonly)`
  /** Each commit's task ids and work, by the key a rewritten copy shares: `<id> <work>`. */
  const keys = (out: string): [string, string][] =>
    out.split('\n').flatMap((line) => {
      const [sha, ids = '', work = ''] = line.split('\0')
      if (!sha || !work.trim()) return []
      return ids
        .split('\x01')
        .map((id) => id.trim())
        .filter(Boolean)
        .map((id): [string, string] => [`${id} ${work.trim()}`, sha])
    })
  const [onTarget, waiting, cherry] = await Promise.all([
    git(
      ['log', '--no-show-signature', format, '--max-count=10000', `refs/heads/${target}`, `^refs/heads/${branch}`],
      repo,
    ),
    git(['show', '--no-patch', '--no-show-signature', format, ...ahead.map(({ commit }) => commit)], repo),
    git(['cherry', `refs/heads/${target}`, `refs/heads/${branch}`], repo),
  ])
  if (onTarget.code !== 0 || waiting.code !== 0) return there
  const held = new Map(keys(onTarget.stdout))
  const key = new Map(keys(waiting.stdout).map(([each, sha]) => [sha, each]))
  const same = new Set(
    cherry.code === 0
      ? cherry.stdout.split('\n').flatMap((line) => (line.startsWith('- ') ? [line.slice(2)] : []))
      : [],
  )
  for (const { taskId, commit } of ahead) {
    const copy = held.get(key.get(commit) ?? '')
    if (copy) there.set(taskId, copy)
    else if (same.has(commit)) there.set(taskId, commit)
  }
  return there
}

/**
 * Of `commits` (landings of earlier runs), those the work at `tip` lacks: neither in its history nor
 * a change already there (a squash merge brought it in), each with the person's branches that
 * hold it. One `git rev-list` when every landing is there; a few processes for each that is not.
 * A commit the repository lacks is no evidence of anything: left out.
 */
export async function landingsNotOn(
  repo: string,
  commits: readonly string[],
  tip: string,
): Promise<{ commit: string; branches: string[] }[]> {
  if (commits.length === 0) return []
  const off = await git(['rev-list', '--ignore-missing', ...commits, `^${tip}`], repo)
  if (off.code !== 0) return []
  const outside = new Set(off.stdout.split('\n'))
  const missing: { commit: string; branches: string[] }[] = []
  for (const commit of commits) {
    if (!outside.has(commit) || (await workIsOn(commit, tip, repo))) continue
    const holders = await git(
      ['for-each-ref', '--contains', commit, '--format=%(refname:lstrip=2)', 'refs/heads/'],
      repo,
    )
    const branches = holders.stdout.split('\n').filter((name) => name !== '' && !name.startsWith('tanuki/'))
    missing.push({ commit, branches })
  }
  return missing
}

/**
 * Whether the integration branch `branch` can start again from the target, its waiting landings
 * (`ahead`, as `foundLandings` found them) to land again from their work: every commit it has that
 * the target lacks is Tanuki's (a landing, the commits a `rebase` landing carries, or its merge of
 * the target's earlier commits, which the target still holds), and every waiting landing's work ref
 * is there. Otherwise (a person committed on it, a work ref is gone) only a person can merge it:
 * nothing that is only there is dropped. One `git log` and one `for-each-ref`, plus one check per
 * merge of the target.
 */
export async function canRebuild(
  { repo, project, target }: LandingHistory,
  branch: string,
  ahead: readonly { taskId: string }[],
  strategy: string,
): Promise<boolean> {
  const refs = await git(['for-each-ref', '--format=%(refname)', taskRefs(project)], repo)
  if (refs.code !== 0) return false
  const works = new Set(refs.stdout.split('\n'))
  if (!ahead.every(({ taskId }) => works.has(taskRef(project, taskId, 'work')))) return false
  const log = await git(
    [
      'log',
      '--first-parent',
      '--no-show-signature',
      `--format=%H%x00%P%x00%s%x00%(trailers:key=Tanuki-Task,valueonly,separator=%x01)`,
      `refs/heads/${branch}`,
      `^refs/heads/${target}`,
    ],
    repo,
  )
  if (log.code !== 0) return false
  /** Newest first: a `rebase` landing's own commits come after (older than) its trailer commit. */
  let inLanding = false
  for (const line of log.stdout.split('\n')) {
    if (!line) continue
    const [, parents = '', subject = '', ids = ''] = line.split('\0')
    const [, second, ...more] = parents.split(' ')
    if (ids.trim()) {
      inLanding = strategy === 'rebase'
      continue
    }
    if (second !== undefined && more.length === 0 && subject.startsWith('tanuki: bring ')) {
      // Its merge of the target's commits: those must still be on the target, or only this branch holds them.
      const held = await git(['merge-base', '--is-ancestor', second, `refs/heads/${target}`], repo)
      // Or each of them is there as a copy: a person rebased the target (`git pull --rebase`).
      if (held.code !== 0 && !(await copiedOn(repo, second, target))) return false
      inLanding = false
      continue
    }
    if (!inLanding || second !== undefined) return false
  }
  return true
}

/** Whether every commit of `commit`'s history that the target lacks is there as the same change. */
async function copiedOn(repo: string, commit: string, target: string): Promise<boolean> {
  const cherry = await git(['cherry', `refs/heads/${target}`, commit], repo)
  return cherry.code === 0 && !cherry.stdout.split('\n').some((line) => line.startsWith('+'))
}

/** Tasks a conflict names at most; the rest are counted. */
const NAMED = 4

/**
 * What a task's work met when it did not apply on the landed work, as a conflict's `what`: the
 * tasks whose landed work changed those files since the task's work began ("the work of M-04"),
 * read from the `Tanuki-Task` trailers of the branch's own commits (`--first-parent`: a landing,
 * a `rebase` landing's commits) that touch them; "work landed since it began" for what carries
 * none (a person's commits, brought in from the target) or when git cannot tell.
 */
export async function conflictingWork(
  cwd: string,
  { base, tip, files, own }: { base: string; tip: string; files: readonly string[]; own: string },
): Promise<string> {
  const since = 'work landed since it began'
  if (files.length === 0) return since
  const log = await git(
    [
      'log',
      '--first-parent',
      '--reverse',
      '--no-show-signature',
      `--format=%x00%(trailers:key=${TASK_TRAILER},valueonly,separator=%x01)`,
      `${base}..${tip}`,
      '--',
      ...files,
    ],
    cwd,
  )
  if (log.code !== 0) return since
  const ids: string[] = []
  let other = false
  for (const entry of log.stdout.split('\0').slice(1)) {
    const found = entry
      .split('\x01')
      .map((id) => id.trim())
      .filter(Boolean)
    // The task's own earlier landing (a rerun's) is landed work too, but naming it would read as
    // the task conflicting with itself.
    const others = found.filter((id) => id !== own)
    if (others.length < found.length || found.length === 0) other = true
    for (const id of others) if (!ids.includes(id)) ids.push(id)
  }
  if (ids.length === 0) return since
  const named = ids.length > NAMED ? [...ids.slice(0, NAMED - 1), `${ids.length - NAMED + 1} other tasks`] : ids
  const list = named.length === 1 ? named[0]! : `${named.slice(0, -1).join(', ')} and ${named.at(-1)!}`
  return other ? `the work of ${list}, and other work landed since it began` : `the work of ${list}`
}
