import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { fetchForTask } from './git.ts'

const dirs: string[] = []
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

const git = (cwd: string, ...args: string[]): string =>
  execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@tanuki.invalid', ...args], {
    cwd,
    encoding: 'utf8',
  }).trim()

const LAND = 'refs/heads/tanuki/land/main'

/** The orchestrator's repository with its landing branch on a bare remote, and a worker's clone of it. */
function setup(): { project: string; clone: string; commit(text: string): string } {
  const base = mkdtempSync(join(tmpdir(), 'tanuki-remote-git-'))
  dirs.push(base)
  const project = join(base, 'project')
  git(base, 'init', '-q', '--bare', 'origin.git')
  git(base, 'init', '-q', '-b', 'main', project)
  git(project, 'remote', 'add', 'origin', join(base, 'origin.git'))
  const commit = (text: string): string => {
    writeFileSync(join(project, 'file.txt'), text)
    git(project, 'add', '-A')
    git(project, 'commit', '-q', '-m', text)
    git(project, 'update-ref', LAND, 'HEAD')
    return git(project, 'rev-parse', 'HEAD')
  }
  commit('first')
  git(project, 'push', '-q', 'origin', `${LAND}:${LAND}`)
  git(base, 'clone', '-q', join(base, 'origin.git'), 'clone')
  return { project, clone: join(base, 'clone'), commit }
}

const info = (root: string) => ({ root, name: 'demo', stateDir: join(root, '.tanuki') })

describe('a worker fetching the landed work to start from', () => {
  it('waits for the landing the orchestrator is still pushing', async () => {
    const { project, clone, commit } = setup()
    // The orchestrator has landed "second" and named it, but its push to the remote comes later.
    const second = commit('second')
    const pushed = new Promise<void>((resolve) =>
      setTimeout(() => {
        git(project, 'push', '-q', 'origin', `${LAND}:${LAND}`)
        resolve()
      }, 1200),
    )
    await fetchForTask({
      repo: clone,
      remote: 'origin',
      project: info(project),
      base: LAND,
      baseCommit: second,
      refsOf: [],
    })
    await pushed
    expect(git(clone, 'rev-parse', LAND)).toBe(second)
  }, 60_000)

  it('says the push failed when the landed work never reaches the remote', async () => {
    const { project, clone, commit } = setup()
    const never = commit('never pushed')
    const began = Date.now()
    await expect(
      fetchForTask({
        repo: clone,
        remote: 'origin',
        project: info(project),
        base: LAND,
        baseCommit: never,
        refsOf: [],
        waitMs: 1500,
      }),
    ).rejects.toThrow(
      new RegExp(
        `the landed work ${never.slice(0, 12)} \\(${LAND}\\) did not reach origin within 2 s: .*accepts its pushes`,
      ),
    )
    // It fetched again for about as long as it was told to wait, not once.
    expect(Date.now() - began).toBeGreaterThanOrEqual(700)
  }, 60_000)
})
