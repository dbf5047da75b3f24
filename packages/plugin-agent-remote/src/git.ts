import { TanukiError, type ProjectInfo } from '@tanuki/core'
import { git, revParse, serialized, taskRef } from '@tanuki/plugin-agent-process/kit'

/** A task's commits as its workspace recorded them (see `Workspace.publish`). */
export interface TaskCommits {
  base?: string
  tip?: string
  work: string
}

const WHICH = ['base', 'tip', 'work'] as const

/** `refs/tanuki/<project>/tasks/<id>`: where a task's `base`, `tip` and `work` refs live. */
export function taskRefsOf(project: ProjectInfo, taskId: string): string {
  return taskRef(project, taskId, 'work').slice(0, -'/work'.length)
}

/**
 * `refs/tanuki/<project>/attempts/<token>/<id>`: where a worker pushes a task's refs. Only the
 * holder of that token writes there, so a worker that lost its session can never overwrite
 * another's work; the orchestrator copies what it accepted to the task's own refs.
 */
export function attemptRefsOf(project: ProjectInfo, taskId: string, token: number): string {
  return taskRefsOf(project, taskId).replace(/\/tasks\/([^/]+)$/, `/attempts/${token}/$1`)
}

async function mustGit(args: string[], cwd: string, what: string): Promise<string> {
  const result = await git(args, cwd)
  if (result.code !== 0) {
    const said = (result.stderr.trim() || result.stdout.trim()).split('\n')[0]
    throw new TanukiError('TANUKI_REMOTE_GIT', `${what} failed in ${cwd}: git ${args.join(' ')}: ${said}`, {
      details: { args, cwd },
    })
  }
  return result.stdout
}

/** How long a worker waits for the landed work it was told to start from to reach the remote. */
export const BASE_WAIT_MS = 60_000

/**
 * Worker side, before a task begins: the landed work and the refs of the task's dependencies
 * that have not landed (and its own, when it comes back to be fixed), from the shared remote
 * into the worker's clone. One fetch per clone at a time.
 *
 * The orchestrator names the exact landed commit to start from as soon as its landing branch has
 * it, and pushes the branch to the remote right after: under load that push can come seconds
 * later than the task. The worker fetches again (after 0.25 s, 0.5 s, … at most 5 s apart) until
 * the commit is there, for up to `waitMs`, before it calls the push failed.
 */
export async function fetchForTask(options: {
  repo: string
  remote: string
  project: ProjectInfo
  base?: string | undefined
  baseCommit?: string | undefined
  refsOf: string[]
  waitMs?: number
}): Promise<void> {
  const { repo, remote, project } = options
  const specs: string[] = []
  if (options.base) specs.push(`+${options.base}:${options.base}`)
  for (const id of options.refsOf) {
    const refs = taskRefsOf(project, id)
    specs.push(`+${refs}/*:${refs}/*`)
  }
  if (specs.length === 0) return
  const fetch = (): Promise<string> =>
    serialized(repo, () =>
      mustGit(
        ['fetch', '--quiet', '--no-write-fetch-head', remote, ...specs],
        repo,
        `fetching the landed work and dependencies' refs from ${remote}`,
      ),
    )
  await fetch()
  if (!options.baseCommit) return
  const until = Date.now() + (options.waitMs ?? BASE_WAIT_MS)
  for (let pause = 250; !(await revParse(options.baseCommit, repo)); pause = Math.min(pause * 2, 5000)) {
    if (Date.now() + pause > until) {
      throw new TanukiError(
        'TANUKI_REMOTE_GIT',
        `the landed work ${options.baseCommit.slice(0, 12)} (${options.base}) did not reach ${remote} within ${Math.round((options.waitMs ?? BASE_WAIT_MS) / 1000)} s: the orchestrator could not push it there. Check that ${remote} accepts its pushes.`,
      )
    }
    await new Promise((resolve) => setTimeout(resolve, pause))
    await fetch()
  }
}

/** Worker side, after a task completed: its refs pushed to the attempt's own namespace on the remote. */
export async function pushAttempt(options: {
  repo: string
  remote: string
  project: ProjectInfo
  taskId: string
  token: number
}): Promise<TaskCommits | undefined> {
  const { repo, remote, project, taskId, token } = options
  const from = taskRefsOf(project, taskId)
  const to = attemptRefsOf(project, taskId, token)
  const commits: Partial<TaskCommits> = {}
  for (const which of WHICH) {
    const sha = await revParse(`${from}/${which}`, repo)
    if (sha) commits[which] = sha
  }
  // Nothing recorded (a shared workspace, or commits off): nothing to land.
  if (!commits.work) return undefined
  const specs = WHICH.filter((which) => commits[which]).map((which) => `+${from}/${which}:${to}/${which}`)
  await serialized(repo, () =>
    mustGit(['push', '--quiet', remote, ...specs], repo, `pushing the work of ${taskId} to ${remote}`),
  )
  return commits as TaskCommits
}

/**
 * Orchestrator side, once it accepted a task's end from the session that holds its lease: the
 * attempt's refs fetched into the task's own refs (checked against what the worker reported),
 * then the task's refs pushed to the remote (for the workers of its dependents) and the attempt's
 * refs deleted there.
 */
export async function acceptAttempt(options: {
  repo: string
  remote: string
  project: ProjectInfo
  taskId: string
  token: number
  commits: TaskCommits
}): Promise<void> {
  const { repo, remote, project, taskId, token, commits } = options
  const own = taskRefsOf(project, taskId)
  const attempt = attemptRefsOf(project, taskId, token)
  const which = WHICH.filter((each) => commits[each])
  await mustGit(
    ['fetch', '--quiet', '--no-write-fetch-head', remote, ...which.map((each) => `+${attempt}/${each}:${own}/${each}`)],
    repo,
    `fetching the work of ${taskId} from ${remote}`,
  )
  for (const each of which) {
    const sha = await revParse(`${own}/${each}`, repo)
    // Only the token's holder pushes there, so this would mean someone else wrote to its refs.
    if (sha !== commits[each]) {
      throw new TanukiError(
        'TANUKI_REMOTE_GIT',
        `the ${each} of ${taskId} on ${remote} (${sha?.slice(0, 12) ?? 'missing'}) is not what its worker reported (${commits[each]!.slice(0, 12)}); something else wrote to ${attempt}. Run the task again.`,
      )
    }
  }
  await mustGit(
    [
      'push',
      '--quiet',
      remote,
      ...which.map((each) => `+${own}/${each}:${own}/${each}`),
      ...which.map((each) => `:${attempt}/${each}`),
    ],
    repo,
    `sharing the work of ${taskId} on ${remote}`,
  )
}

/** The commit a ref names in a repository, for telling workers exactly where to start. */
export async function commitOf(ref: string, repo: string): Promise<string | undefined> {
  return revParse(ref, repo)
}

/** The URL of a git remote, or undefined when the repository has no such remote. */
export async function remoteUrl(repo: string, remote: string): Promise<string | undefined> {
  const result = await git(['remote', 'get-url', remote], repo)
  return result.code === 0 ? result.stdout.trim() : undefined
}
