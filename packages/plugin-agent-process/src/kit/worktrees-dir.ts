import { createHash } from 'node:crypto'
import { rmdirSync } from 'node:fs'
import { homedir } from 'node:os'
import { basename, dirname, join } from 'node:path'
import type { ProjectInfo } from '@tanuki/core'
import { real } from './git/run.ts'
import { safeName } from './ref-names.ts'

/**
 * Where a project's worktrees live: `project.worktreesDir` when the host set it, otherwise a
 * per-project folder in the user's state directory (`$XDG_STATE_HOME`, else `~/.local/state`),
 * outside the project's tree, so its own test runner, `tsc` and linters never see the agents' copies.
 */
export function worktreesDir(project: ProjectInfo): string {
  if (project.worktreesDir) return project.worktreesDir
  const home = process.env.XDG_STATE_HOME || join(homedir(), '.local', 'state')
  const key = createHash('sha256').update(real(project.root)).digest('hex').slice(0, 10)
  return join(home, 'tanuki', 'projects', `${safeName(basename(real(project.root)))}-${key}`, 'worktrees')
}

/**
 * Removes the project's folder in the user's state directory once its worktrees are gone: it
 * holds nothing else (the run's record is in the project's `.tanuki/`). Only empty folders go, and
 * only the default one: a `worktreesDir` a person configured is theirs.
 */
export function removeEmptyStateFolder(project: ProjectInfo): void {
  if (project.worktreesDir) return
  const dir = worktreesDir(project)
  for (const folder of [dir, dirname(dir)]) {
    try {
      rmdirSync(folder)
    } catch {
      // Not empty (a worktree kept, a person's file), or already gone: left as it is.
      return
    }
  }
}
