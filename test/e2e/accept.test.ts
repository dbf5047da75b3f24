// A person's acceptance of a task in review, end to end: `tanuki task mark ID complete` then
// `tanuki land` puts its work on the branch without running its failing verify again (land.verify
// still gates it), and a standalone `tanuki land` keeps the task files' mirrored status true.
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { afterEach, describe, expect, it } from 'vitest'
import { cleanup, createProject, statusJson, tanuki } from './helpers.ts'

afterEach(cleanup)

const git = (dir: string, ...args: string[]): string => execFileSync('git', args, { cwd: dir, encoding: 'utf8' }).trim()

/** A project whose one task's agent writes doc.txt, and whose verify never passes: one try, then review. */
function reviewed(landVerify?: string) {
  const land = landVerify ? `, land: { verify: ${JSON.stringify(landVerify)} }` : ''
  return createProject({
    config: `export default { defaults: { backend: 'process', kind: 'command', command: ['sh', '-c', 'echo draft > doc.txt; echo wrote doc'] }${land} }\n`,
    files: {
      '.tanuki/tasks/DOC.md':
        '---\nid: DOC\ntitle: Write a doc\ncompletion:\n  verify: "test -f ok.txt"\n  max_iterations: 1\n---\nWrite it.\n',
    },
  })
}

/** The front matter's status line of a task file. */
const fileStatus = (path: string): string | undefined => /^status: (\S+)$/m.exec(readFileSync(path, 'utf8'))?.[1]

describe('accepting a task in review', () => {
  it('mark complete, then land: its work lands without its own verify, and land and show say it was accepted', async () => {
    const project = reviewed()
    const run = await tanuki(project.dir, 'project', 'start')
    expect(run.code, run.stderr).toBe(1)
    expect((await statusJson(project.dir)).tasks[0]).toMatchObject({ id: 'DOC', status: 'review' })
    const show = await tanuki(project.dir, 'task', 'show', 'DOC')
    expect(show.stdout).toContain(
      'accept it: `tanuki task mark DOC complete`, then `tanuki land` puts it on your branch without running its verify again',
    )

    expect((await tanuki(project.dir, 'task', 'mark', 'DOC', 'complete')).code).toBe(0)
    // Another process, from the journal: the acceptance outlives the command that made it.
    const accepted = await tanuki(project.dir, 'task', 'show', 'DOC')
    expect(accepted.stdout).toContain('accepted:    by hand (`tanuki task mark DOC complete`)')
    const land = await tanuki(project.dir, 'land')
    expect(land.code, land.stdout + land.stderr).toBe(0)
    const main = git(project.dir, 'rev-parse', 'main')
    expect(land.stdout).toBe(
      `landed DOC on main as ${main.slice(0, 12)} (accepted by hand: its verify was not run again)\n`,
    )
    expect(readFileSync(`${project.dir}/doc.txt`, 'utf8')).toBe('draft\n')
    expect((await statusJson(project.dir)).tasks[0]).toMatchObject({
      status: 'complete',
      landed: { commit: main },
      accepted: true,
    })
  })

  it('an accepted task that fails land.verify stays complete, and the message says it was land.verify and what to do', async () => {
    const project = reviewed('test ! -f doc.txt')
    expect((await tanuki(project.dir, 'project', 'start')).code).toBe(1)
    expect((await tanuki(project.dir, 'task', 'mark', 'DOC', 'complete')).code).toBe(0)
    const land = await tanuki(project.dir, 'land')
    expect(land.code).toBe(1)
    expect(land.stdout).toContain(
      'not landed: DOC: could not land: `land.verify` `test ! -f doc.txt` failed on the combined work (exit 1); it stays complete, accepted by hand',
    )
    expect(land.stdout).not.toMatch(/back to an agent/)
    expect((await statusJson(project.dir)).tasks[0]).toMatchObject({ status: 'complete', landed: null, accepted: true })
    expect(fileStatus(project.taskPath('DOC'))).toBe('complete')
  })

  it('a task with no tries left that fails its landing goes to review, said so, and its file says review too', async () => {
    // Not accepted: its verify passes in the agent's worktree, land.verify fails on the combined work.
    const project = createProject({
      config: `export default { defaults: { backend: 'process', kind: 'command', command: ['sh', '-c', 'echo draft > doc.txt'] }, land: { auto: false, verify: 'test ! -f doc.txt' } }\n`,
      files: {
        '.tanuki/tasks/DOC.md':
          '---\nid: DOC\ntitle: Write a doc\ncompletion:\n  verify: "test -f doc.txt"\n  max_iterations: 1\n---\nWrite it.\n',
      },
    })
    // Landing by hand: the run leaves the work complete, the gate runs in the standalone land.
    const run = await tanuki(project.dir, 'project', 'start')
    expect(run.code, run.stdout + run.stderr).toBe(0)
    const land = await tanuki(project.dir, 'land')
    expect(land.code).toBe(1)
    expect(land.stdout).toContain(
      'no tries left (1), so it goes to review: `tanuki task rerun DOC` gives it fresh tries',
    )
    expect(land.stdout).not.toMatch(/sends it back to an agent/)
    const review = (await statusJson(project.dir)).tasks[0]
    expect(review).toMatchObject({ status: 'review' })
    expect(review).not.toHaveProperty('accepted')
    // The file's mirrored status follows the journal, and nothing says a person typed it.
    expect(fileStatus(project.taskPath('DOC'))).toBe('review')
    for (const args of [
      ['project', 'status'],
      ['task', 'list'],
    ]) {
      const next = await tanuki(project.dir, ...args)
      expect(next.stdout + next.stderr).not.toMatch(/goes by the journal|another status than the journal/)
    }
  })
})
