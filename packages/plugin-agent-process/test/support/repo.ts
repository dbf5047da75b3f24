import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { ProjectInfo } from '@tanuki/core'

/** Runs git in a directory and returns its trimmed stdout. */
export function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim()
}

/** Temp directories made by a test file, removed by `removeTempDirs`. */
const made: string[] = []

export function tempDir(prefix = 'tanuki-process-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  made.push(dir)
  return dir
}

export function removeTempDirs(): void {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true })
}

/** A real git repository with one commit (a README), its own identity, on branch main. */
export function gitRepo(): string {
  return initRepo(tempDir('tanuki-repo-'))
}

/** Makes `dir` (which exists) such a repository, its README saying `readme`. */
export function initRepo(dir: string, readme = '# test project\n'): string {
  git(dir, 'init', '-q', '-b', 'main')
  git(dir, 'config', 'user.name', 'Test')
  git(dir, 'config', 'user.email', 'test@example.invalid')
  writeFileSync(join(dir, 'README.md'), readme)
  git(dir, 'add', '-A')
  git(dir, 'commit', '-q', '-m', 'init')
  return dir
}

export function project(root: string): ProjectInfo {
  return { root, name: 'test', stateDir: join(root, '.tanuki') }
}

/** Whether a process is alive (a zombie waiting to be reaped counts as dead). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
  } catch {
    return false
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z'
  } catch {
    return true
  }
}

/** Polls until `check` holds, or fails after `ms`. */
export async function waitFor(check: () => boolean, ms = 10_000, what = 'condition'): Promise<void> {
  const until = Date.now() + ms
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

/** The pids a script wrote, one per line. */
export function readPids(file: string): number[] {
  return readFileSync(file, 'utf8').split('\n').filter(Boolean).map(Number)
}
