import { git } from '@tanuki/plugin-agent-process/kit'

/**
 * What a person should know about a project that is no git repository with a commit: its agents
 * work in the folder itself (workspace `shared`), and nothing lands. Said once as a run starts
 * and by `project status`, as the backend's own note goes nowhere a person sees. Undefined in a
 * repository with a commit, and when git cannot say (git missing: the run says that itself).
 */
export async function sharedWorkspaceNote(root: string, land?: LandSettings): Promise<string | undefined> {
  const note = await noRepositoryNote(root)
  if (!note) return undefined
  const unused = unusedLandNote(land)
  return unused ? `${note} ${unused}` : note
}

/** The `land` settings that need a repository, and the config file they are in. */
export interface LandSettings {
  verify?: string | undefined
  push?: string | undefined
  /** The config file, relative to the project. */
  file?: string | undefined
}

/**
 * Where nothing lands, `land.verify` and `land.push` set in the config do nothing: said, rather
 * than a gate or a push silently skipped. Undefined when neither is set.
 */
function unusedLandNote(land: LandSettings | undefined): string | undefined {
  const set = [land?.verify ? '`land.verify`' : '', land?.push ? '`land.push`' : ''].filter(Boolean)
  if (set.length === 0) return undefined
  return `${set.join(' and ')} in ${land?.file ?? 'the config'} ${set.length === 1 ? 'does' : 'do'} not apply: nothing lands, so nothing is gated${land?.push ? ' or pushed' : ''}.`
}

/**
 * For `task validate`: the `land` settings a project that is no git repository with a commit does
 * not apply (`land.verify`, `land.push`). Undefined in a repository with a commit, or none is set.
 */
export async function unusedLandSettings(root: string, land: LandSettings): Promise<string | undefined> {
  const unused = unusedLandNote(land)
  if (!unused || !(await noRepositoryNote(root))) return undefined
  return `${root} is not a git repository with a commit: ${unused}`
}

async function noRepositoryNote(root: string): Promise<string | undefined> {
  const head = await git(['rev-parse', '--verify', '--quiet', 'HEAD'], root)
  if (head.code === 0) return undefined
  const what =
    ': agents work in the folder itself (workspace "shared"), each seeing the others\' changes, and nothing lands.'
  if (/not a git repository/i.test(head.stderr))
    return `${root} is not a git repository${what} \`git init\` and a first commit give each agent a worktree of its own, and land each task's work as a commit.`
  const repository = await git(['rev-parse', '--git-dir'], root)
  if (repository.code !== 0) return undefined
  return `the git repository of ${root} has no commit yet${what} A first commit gives each agent a worktree of its own, and lands each task's work as a commit.`
}
