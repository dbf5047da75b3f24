import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import type { ProjectInfo } from '@tanuki/core'

/** What Tanuki created in a repository, and for what. */
export interface OwnedEntry {
  /** `agent`: an agent's branch or worktree; `land`: the integration branch or worktree. */
  kind: 'agent' | 'land'
  /** The agent it belongs to, for `agent`. */
  agent?: string
  /** The branch it is for (`land`: the target). */
  for?: string
  /** When it was created (ISO time). */
  at: string
}

/**
 * The record of every branch and worktree Tanuki created for a project: cleanup deletes only
 * what is here, and a branch that is not here (a person's own `tanuki/…` branch, one from before)
 * is never adopted.
 */
export interface Owned {
  /** By branch name (`tanuki/backend-1`). */
  branches: Record<string, OwnedEntry>
  /** By absolute path. */
  worktrees: Record<string, OwnedEntry & { branch: string }>
  /**
   * The branches work landed on, once their integration branch is deleted (`stop --remove`): a
   * later cleanup still knows where to look for landed work, and keeps no landed work as unlanded.
   */
  targets?: string[]
}

export function ownedPath(project: ProjectInfo): string {
  return join(project.stateDir, 'owned.json')
}

export function readOwned(project: ProjectInfo): Owned {
  try {
    const read = JSON.parse(readFileSync(ownedPath(project), 'utf8')) as Partial<Owned>
    return {
      branches: read.branches ?? {},
      worktrees: read.worktrees ?? {},
      ...(read.targets?.length ? { targets: read.targets } : {}),
    }
  } catch {
    return { branches: {}, worktrees: {} }
  }
}

/** Changes the record, atomically (a temp file renamed over it). Callers serialize per repository. */
export function updateOwned(project: ProjectInfo, change: (owned: Owned) => void): Owned {
  const owned = readOwned(project)
  change(owned)
  writeOwned(project, owned)
  return owned
}

/**
 * Writes the whole record, atomically (a temp file renamed over it): for one who read it, holds
 * the repository's lock (`serialized`) and changed it since. Callers serialize per repository.
 */
export function writeOwned(project: ProjectInfo, owned: Owned): void {
  const path = ownedPath(project)
  mkdirSync(dirname(path), { recursive: true })
  const temp = `${path}.${process.pid}.tmp`
  writeFileSync(temp, `${JSON.stringify(owned, null, 2)}\n`)
  renameSync(temp, path)
}
