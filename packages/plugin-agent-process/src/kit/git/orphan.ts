import { existsSync, readFileSync, renameSync } from 'node:fs'
import { join, resolve } from 'node:path'

/**
 * Sets aside a worktree folder in Tanuki's state whose repository is gone: its `.git` file names a
 * git folder that no longer exists, as when a project is deleted and made again (cloned afresh) at
 * the same path, which keeps the same state folder. It is renamed `<path>.orphaned-<time>` (its
 * new path is returned): nothing is deleted, and the new repository gets a worktree of its own.
 * Anything else (no `.git` file, a repository that is still there) is left alone: undefined.
 */
export function setAsideOrphan(path: string): string | undefined {
  let link: string
  try {
    link = readFileSync(join(path, '.git'), 'utf8')
  } catch {
    return undefined
  }
  const gitdir = /^gitdir: (.+)$/m.exec(link)?.[1]?.trim()
  if (!gitdir || existsSync(resolve(path, gitdir))) return undefined
  const aside = `${path}.orphaned-${new Date().toISOString().replace(/[:.]/g, '-')}`
  renameSync(path, aside)
  return aside
}
