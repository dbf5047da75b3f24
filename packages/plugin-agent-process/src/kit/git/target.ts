import { existsSync } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import {
  TanukiError,
  didYouMean,
  isTanukiError,
  type LandingRecord,
  type LandingStart,
  type ProjectInfo,
} from '@tanuki/core'
import { safeName } from '../ref-names.ts'
import { worktreesDir } from '../workspace.ts'
import { LAND_ERROR, inspectLandings } from './dry-run.ts'
import { setAsideOrphan } from './orphan.ts'
import { readOwned, updateOwned } from './owned.ts'
import { addWorktree, git, gitOrThrow, gitRepository, gitSaid, listWorktrees, real, revParse, samePath } from './run.ts'

/** Where work lands: the repository and its target branch, as `locateTarget` found them. */
export interface LandingTarget {
  /** The repository's top folder. */
  repo: string
  /** The project's folder within the repository (`services/api`); empty at its top. */
  prefix: string
  /** The branch work lands on. */
  target: string
  /** Why the target is not the branch checked out, at a fresh start (a detached HEAD). */
  notice?: string
  /** Where the repository keeps its refs as files (loose and packed); unset for other ref stores. */
  refFiles?: string
}

/** What locating the target needs: the project, and `land.into` with where it came from. */
export interface TargetOptions {
  project: ProjectInfo
  /** `land.into`: the branch to land on, when a person named one. */
  into?: string
  /** Where `into` came from when not the config (`--into`), for messages. */
  intoFrom?: string
}

/** No branch to land on: a detached HEAD with none recorded, or a target that is no branch. */
const NO_TARGET = 'TANUKI_LAND_NO_TARGET'

/**
 * The config file to name in advice: the project's own (`tanuki.config.mjs`); advice to edit
 * `tanuki.config.ts` where the config is another file makes a second one, which wins.
 */
export function configName(project: ProjectInfo): string {
  return project.configFile ?? 'your Tanuki config (tanuki.config.*)'
}

/** The integration branch and its worktree, where landings are built and gated. */
export interface Integration {
  branch: string
  /** The integration worktree: the whole repository. */
  dir: string
  /** The project's folder in it, where the gate's commands run, as an agent's do in its worktree. */
  cwd: string
}

/**
 * Finds the repository and the target, asking git only (nothing is written): the target is
 * `land.into`; else, for a fresh start, the branch checked out (the recorded one when nothing
 * is: a detached HEAD, said in `notice`); else the one an earlier run recorded, else the branch
 * checked out.
 */
export async function locateTarget(options: TargetOptions, recorded: LandingRecord): Promise<LandingTarget> {
  const { project, into } = options
  const found = await gitRepository(project.root)
  if (!found) {
    throw new TanukiError(
      LAND_ERROR,
      `${project.root} is not a git repository with a commit, so there is nowhere to land work. Set \`land: false\` in ${configName(project)}, or run \`git init && git add -A && git commit -m init\`.`,
    )
  }
  const repo = found.top
  // Refs as files (not reftable): the lander can read them without a git process.
  const common = await git(['rev-parse', '--git-common-dir'], repo)
  const commonDir = resolve(repo, common.stdout.trim())
  const refFiles = common.code === 0 && !existsSync(join(commonDir, 'reftable')) ? commonDir : undefined
  const current = (await git(['symbolic-ref', '--quiet', '--short', 'HEAD'], project.root)).stdout.trim()
  let notice: string | undefined
  let target: string | undefined
  if (into !== undefined) target = into
  else if (recorded.fresh && current) target = current
  else target = recorded.target ?? (current || undefined)
  if (recorded.fresh && into === undefined && !current && target) {
    // A rebase or bisect in progress detaches HEAD too: landing where the last run did is what
    // the person most likely wants, and said, so it surprises nobody.
    notice =
      `${project.root} has no branch checked out (a detached HEAD), so work lands on ${target}, where the last run landed. ` +
      `To land elsewhere, check out that branch before \`tanuki project start\`, or set \`land: { into: '<branch>' }\` in ${configName(project)}.`
  }
  if (!target) {
    // The repository's own branches, the likely one first: `main` is no advice where there is none.
    const branches = await likelyBranches(repo)
    const likely = branches[0]
    const fix = likely
      ? `Check out a branch (\`git checkout ${likely}\`), or set \`land: { into: '${likely}' }\` in ${configName(project)}. Its branches: ${some(branches)}.`
      : `It has no branch: create one where you are (\`git switch -c main\`), or set \`land: { into: '<branch>' }\` in ${configName(project)} to a branch you create.`
    throw new TanukiError(
      NO_TARGET,
      `${project.root} has no branch checked out (a detached HEAD), so Tanuki does not know where to land work. ${fix}`,
      { details: { branches } },
    )
  }
  if (!(await revParse(`refs/heads/${target}`, repo))) {
    const branches = await personBranches(repo)
    const given = options.intoFrom ?? 'land.into'
    const named = into !== undefined ? ` (${given})` : target === recorded.target ? ' (where the last run landed)' : ''
    const fix = options.intoFrom
      ? `give ${options.intoFrom} the branch to land on`
      : `set land.into in ${configName(project)} to the branch to land on`
    throw new TanukiError(
      NO_TARGET,
      `The landing target "${target}"${named} is not a branch of ${repo}${didYouMean(target, branches)}. ` +
        (branches.length > 0 ? `Its branches: ${some(branches)}. ` : '') +
        `Create it, or ${fix}.`,
      { details: { target } },
    )
  }
  return { repo, prefix: found.prefix, target, ...(notice ? { notice } : {}), ...(refFiles ? { refFiles } : {}) }
}

/** A person's branches, not Tanuki's own: one of them is what a misspelt land.into meant. */
async function personBranches(repo: string, ...filter: string[]): Promise<string[]> {
  const listed = await git(['for-each-ref', '--format=%(refname:lstrip=2)', ...filter, 'refs/heads/'], repo)
  if (listed.code !== 0) return []
  return listed.stdout.split('\n').filter((name) => name !== '' && !name.startsWith('tanuki/'))
}

/**
 * The branches of a repository whose HEAD is detached, the likely one first: those at HEAD, then
 * those that contain it (a detached checkout of a branch's older commit), then the remote's
 * default branch, then the rest.
 */
async function likelyBranches(repo: string): Promise<string[]> {
  const all = await personBranches(repo)
  const origin = (await git(['symbolic-ref', '--quiet', '--short', 'refs/remotes/origin/HEAD'], repo)).stdout.trim()
  const remoteDefault = origin.startsWith('origin/') ? [origin.slice('origin/'.length)] : []
  const first = [
    ...(await personBranches(repo, '--points-at', 'HEAD')),
    ...(await personBranches(repo, '--contains', 'HEAD')),
    ...remoteDefault,
  ]
  return [...new Set([...first.filter((name) => all.includes(name)), ...all])]
}

/** At most ten branch names, in a line. */
function some(branches: readonly string[]): string {
  return branches.length > 10 ? `${branches.slice(0, 10).join(', ')}, …` : branches.join(', ')
}

/**
 * A failure to settle `target` (its own new commits conflict with the work that waits for it, its
 * worktree cannot be made), naming it in `details.target`: only the work waiting for that branch
 * is recorded as waiting for this failure (`Lander.prepare`).
 */
export function failedFor(error: unknown, target: string): unknown {
  if (!isTanukiError(error) || error.details.target !== undefined) return error
  return new TanukiError(error.code, error.message, {
    ...(error.cause === undefined ? {} : { cause: error.cause }),
    details: { ...error.details, target },
  })
}

/** Of `branches`, those that are no branch of the repository (merged and deleted, say), in their order. */
export async function goneBranches(repo: string, branches: readonly string[]): Promise<string[]> {
  if (branches.length === 0) return []
  const listed = await git(['for-each-ref', '--format=%(refname:lstrip=2)', 'refs/heads/'], repo)
  // Unknown when git cannot say: none is called gone on no evidence.
  if (listed.code !== 0) return []
  const there = new Set(listed.stdout.split('\n'))
  return branches.filter((branch) => !there.has(branch))
}

/** The integration branch for the target: the one recorded for it, else a free name. */
export async function integrationBranch(project: ProjectInfo, { repo, target }: LandingTarget): Promise<string> {
  const owned = readOwned(project)
  const recorded = Object.entries(owned.branches).find(([, entry]) => entry.kind === 'land' && entry.for === target)
  if (recorded) return recorded[0]
  for (let n = 1; ; n++) {
    const name = `tanuki/land/${target}${n === 1 ? '' : `-${n}`}`
    if (!owned.branches[name] && !(await revParse(`refs/heads/${name}`, repo))) return name
  }
}

/** The integration worktree back on its branch's tip, clean, whatever a crash left in it. */
export async function repairIntegration({ branch, dir }: Pick<Integration, 'branch' | 'dir'>): Promise<void> {
  const what = 'cleaning the integration worktree'
  await git(['cherry-pick', '--abort'], dir)
  await git(['merge', '--abort'], dir)
  await gitOrThrow(['checkout', '--quiet', '--force', branch], dir, what, LAND_ERROR)
  await gitOrThrow(['reset', '--quiet', '--hard', 'HEAD'], dir, what, LAND_ERROR)
  await gitOrThrow(['clean', '-fdq'], dir, what, LAND_ERROR)
}

/**
 * The integration branch and worktree for the target, made (and recorded as Tanuki's) when
 * missing, repaired when a crash left them: on the branch's tip, clean. Callers serialize per
 * repository.
 */
export async function openIntegration(project: ProjectInfo, located: LandingTarget): Promise<Integration> {
  const { repo, target, prefix } = located
  const branch = await integrationBranch(project, located)
  const dir = join(worktreesDir(project), `_land-${safeName(target)}`)
  const cwd = prefix ? join(dir, prefix) : dir
  await mkdir(worktreesDir(project), { recursive: true })
  await git(['worktree', 'prune'], repo)
  const at = new Date().toISOString()
  if (!(await revParse(`refs/heads/${branch}`, repo))) {
    await gitOrThrow(['branch', branch, `refs/heads/${target}`], repo, 'creating the landing branch', LAND_ERROR)
  }
  updateOwned(project, (owned) => {
    owned.branches[branch] ??= { kind: 'land', for: target, at }
  })
  const tree = (await listWorktrees(repo)).find((each) => samePath(each.path, dir))
  if (tree) {
    await repairIntegration({ branch, dir })
    // Ours, in our folder on our branch, though a worktree add that failed late (a post-checkout
    // hook, before hooks were off) never recorded it: recorded now, so `--remove` removes it.
    updateOwned(project, (owned) => {
      owned.worktrees[real(dir)] ??= { kind: 'land', for: target, branch, at }
    })
    return { branch, dir, cwd }
  }
  // A new worktree is on its branch's tip and clean: nothing to repair (five git processes,
  // one of them a second checkout of the whole tree).
  // One whose repository is gone (the project was made again at this path) is set aside.
  if (existsSync(dir) && !setAsideOrphan(dir)) {
    throw new TanukiError(LAND_ERROR, `${dir} exists but is not Tanuki's landing worktree; move it away.`)
  }
  const args = ['worktree', 'add', '--quiet', dir, branch]
  const added = await addWorktree(repo, args, dir)
  if (added.code !== 0) {
    throw new TanukiError(
      LAND_ERROR,
      `creating the landing worktree failed in ${repo}: git ${args.join(' ')}: ${gitSaid(added)}`,
      { details: { args, cwd: repo } },
    )
  }
  updateOwned(project, (owned) => {
    owned.worktrees[real(dir)] = { kind: 'land', for: target, branch, at }
  })
  return { branch, dir, cwd }
}

/**
 * What `prepare` would find (the target, the landings a crash left), found without writing
 * anything: no branch, worktree or ref is made or moved (`tanuki land --dry-run`). `tip`: the
 * integration tip `prepare` would reach, where a prediction starts.
 */
export async function inspectTarget(
  options: TargetOptions,
  recorded: LandingRecord,
  strategy?: string,
): Promise<{ located: LandingTarget; start: LandingStart; tip: string }> {
  const located = await locateTarget(options, recorded)
  const branch = await integrationBranch(options.project, located)
  const { start, tip } = await inspectLandings(
    { repo: located.repo, project: options.project, target: located.target },
    branch,
    strategy,
  )
  return { located, start, tip }
}
