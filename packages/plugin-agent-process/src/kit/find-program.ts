import { spawnSync } from 'node:child_process'
import { accessSync, constants, statSync } from 'node:fs'
import { delimiter, isAbsolute, resolve } from 'node:path'
import { TanukiError } from '@tanuki/core'
import { OWN_GIT_CONFIG } from './git/run.ts'

/** Where a program was found, or why it would not start. */
export type ProgramLookup =
  | { found: string }
  /** `path`: a path (it holds a `/`) with no file there; `name`: a bare name on no folder of the PATH. */
  | { missing: 'path' | 'name'; looked: string }
  /** A file is there but cannot be run (`chmod +x`). */
  | { notExecutable: string }

/** The PATH a child gets when its environment has none, as libuv's `execvp` falls back to. */
const DEFAULT_PATH = '/usr/bin:/bin'

/**
 * Finds a program as starting it would (Node's `spawn`, bash's `exec`): a name with a `/` is a
 * path, taken from `cwd` when relative; a bare name is looked for in each folder of `path` (an
 * empty entry, or a relative one, is taken from `cwd`) and must be an executable file there.
 *
 * @example
 * findProgram('git', { path: process.env.PATH, cwd: process.cwd() }) // { found: '/usr/bin/git' }
 */
export function findProgram(program: string, { path, cwd }: { path: string | undefined; cwd: string }): ProgramLookup {
  if (program.includes('/')) {
    const file = resolve(cwd, program)
    if (!isFile(file)) return { missing: 'path', looked: file }
    return executable(file) ? { found: file } : { notExecutable: file }
  }
  const dirs = (path ?? DEFAULT_PATH).split(delimiter)
  let notExecutable: string | undefined
  for (const dir of dirs) {
    const file = resolve(isAbsolute(dir) ? dir : resolve(cwd, dir), program)
    if (!isFile(file)) continue
    if (executable(file)) return { found: file }
    // execvp goes on past a file it may not run: only when none runs is that the cause.
    notExecutable ??= file
  }
  return notExecutable ? { notExecutable } : { missing: 'name', looked: path ?? DEFAULT_PATH }
}

function isFile(file: string): boolean {
  try {
    return statSync(file).isFile()
  } catch {
    return false
  }
}

function executable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK)
    return true
  } catch {
    return false
  }
}

/**
 * Why a program named by a relative path, found in the project folder, will not be there for
 * agents working in git worktrees (made from commits, elsewhere on disk): it is not committed, or
 * it lies outside the repository. Undefined when it is committed, is not a relative path, or the
 * project is not a git repository with a commit (its agents then share the project folder).
 *
 * @example
 * notInWorktrees('./agent.sh', '/repo') // '"./agent.sh" is in the project folder but not committed: …'
 */
export function notInWorktrees(program: string, projectRoot: string): string | undefined {
  if (!program.includes('/') || isAbsolute(program)) return undefined
  const listed = spawnSync('git', [...OWN_GIT_CONFIG, 'ls-tree', '--name-only', 'HEAD', '--', program], {
    cwd: projectRoot,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  if (listed.error) return undefined
  if (listed.status === 0) {
    if (listed.stdout.trim() !== '') return undefined
    return (
      `"${program}" is in the project folder but not committed, and agents work in git worktrees made from commits: ` +
      `commit it (\`git add ${program} && git commit\`), or give its absolute path`
    )
  }
  if (/outside repository/.test(listed.stderr)) {
    return `"${program}" is outside the git repository, so from an agent's worktree the path leads elsewhere: give its absolute path`
  }
  // Not a repository, or no commit yet: agents share the project folder, where the program is.
  return undefined
}

/**
 * Why agents working in git worktrees will not find the project folder itself: it is a folder of
 * its repository (`services/newapi`) in which git tracks no file in HEAD (a new service, not
 * committed yet), and worktrees are made from commits. Undefined when it is committed, is the
 * repository's top, or the project is not a git repository with a commit (its agents then share
 * the project folder).
 *
 * @example
 * projectNotCommitted('/repo/services/newapi') // 'the project folder /repo/services/newapi is not committed …'
 */
export function projectNotCommitted(projectRoot: string): string | undefined {
  const where = spawnSync('git', ['rev-parse', '--show-toplevel', '--show-prefix'], {
    cwd: projectRoot,
    encoding: 'utf8',
  })
  if (where.error || where.status !== 0) return undefined
  const [top = '', prefix = ''] = where.stdout.split('\n')
  const folder = prefix.replace(/\/$/, '')
  if (folder === '') return undefined
  // `.`: the project folder, as ls-tree takes paths from the folder it runs in.
  const listed = spawnSync('git', ['ls-tree', '--name-only', 'HEAD', '--', '.'], { cwd: projectRoot, encoding: 'utf8' })
  // No commit yet: agents share the project folder, where everything is.
  if (listed.error || listed.status !== 0 || listed.stdout.trim() !== '') return undefined
  return (
    `the project folder ${projectRoot} is not committed: git tracks no file in it, and agents work in git worktrees made from commits, where it does not exist. ` +
    `Commit it (\`git add ${folder} && git commit\` in ${top})`
  )
}

/**
 * `projectNotCommitted` as the problem a backend's `checkPrograms` returns for a role whose agents
 * work in worktrees (`details.root`: the project's folder, not the config, is at fault), so
 * `task validate` refuses it whatever the backend. Undefined when the folder is committed.
 */
export function projectNotCommittedProblem(projectRoot: string): TanukiError | undefined {
  const uncommitted = projectNotCommitted(projectRoot)
  if (!uncommitted) return undefined
  return new TanukiError('TANUKI_PROJECT_NOT_COMMITTED', `${uncommitted[0]!.toUpperCase()}${uncommitted.slice(1)}.`, {
    details: { root: projectRoot },
  })
}
