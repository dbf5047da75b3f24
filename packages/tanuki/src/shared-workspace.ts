import { git } from '@tanuki/plugin-agent-process/kit'

/**
 * What a person should know about a project that is no git repository with a commit: its agents
 * work in the folder itself (workspace `shared`), and nothing lands. Said once as a run starts
 * and by `project status`, as the backend's own note goes nowhere a person sees. Undefined in a
 * repository with a commit, and when git cannot say (git missing: the run says that itself).
 */
export async function sharedWorkspaceNote(root: string): Promise<string | undefined> {
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
