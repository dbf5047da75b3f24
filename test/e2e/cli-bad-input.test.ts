// Bad task files are refused before anything runs: exit 1, a message naming the file (or the
// cycle's path) and the field, and not one byte of any task file changed.
import { execFileSync } from 'node:child_process'
import { afterEach, describe, expect, it } from 'vitest'
import { cleanup, configFor, createProject, lockPid, snapshotFiles, tanuki, taskText } from './helpers.ts'

afterEach(cleanup)

const good = taskText({ id: 'OK-1', sh: 'touch ok.txt', verify: 'test -f ok.txt' })
const fm = (yaml: string): string => `---\n${yaml}\n---\nDo it.\n\n\`\`\`sh\ntrue\n\`\`\`\n`

interface BadCase {
  name: string
  files: Record<string, string>
  /** Every one must appear in the message. */
  mentions: string[]
}

const cases: BadCase[] = [
  {
    name: 'malformed YAML',
    files: { 'bad.md': fm('id: [BAD-1\ntitle: Broken\ncompletion:\n  verify: "true"') },
    mentions: ['.tanuki/tasks/bad.md', 'YAML', 'line'],
  },
  {
    name: 'a missing id',
    files: { 'no-id.md': fm('title: Nameless\ncompletion:\n  verify: "true"') },
    mentions: ['.tanuki/tasks/no-id.md', 'field "id"', 'missing'],
  },
  {
    name: 'a duplicate id',
    files: {
      'one.md': fm('id: DUP-1\ntitle: One\ncompletion:\n  verify: "true"'),
      'nested/two.md': fm('id: DUP-1\ntitle: Two\ncompletion:\n  verify: "true"'),
    },
    mentions: ['"DUP-1"', '.tanuki/tasks/one.md', '.tanuki/tasks/nested/two.md'],
  },
  {
    name: 'an invalid priority',
    files: { 'prio.md': fm('id: PRIO-1\ntitle: Urgent\npriority: urgent\ncompletion:\n  verify: "true"') },
    mentions: ['.tanuki/tasks/prio.md', 'field "priority"', 'urgent'],
  },
  {
    name: 'an id with a path separator',
    files: { 'slash.md': fm('id: ../escape\ntitle: Sneaky\ncompletion:\n  verify: "true"') },
    mentions: ['.tanuki/tasks/slash.md', 'field "id"', '../escape'],
  },
  {
    name: 'completion with neither verify nor signal',
    files: { 'open.md': fm('id: OPEN-1\ntitle: Endless\ncompletion:\n  max_iterations: 3') },
    mentions: ['.tanuki/tasks/open.md', 'field "completion"', 'verify', 'signal'],
  },
  {
    name: 'a cycle',
    files: {
      'c1.md': fm('id: CYC-1\ntitle: A\ndepends_on: [CYC-3]\ncompletion:\n  verify: "true"'),
      'c2.md': fm('id: CYC-2\ntitle: B\ndepends_on: [CYC-1]\ncompletion:\n  verify: "true"'),
      'c3.md': fm('id: CYC-3\ntitle: C\ndepends_on: [CYC-2]\ncompletion:\n  verify: "true"'),
    },
    // The path, as "A depends on B": CYC-1 needs CYC-3, which needs CYC-2, which needs CYC-1.
    mentions: ['cycle', 'CYC-1 -> CYC-3 -> CYC-2 -> CYC-1'],
  },
  {
    name: 'an unknown dependency',
    files: { 'dep.md': fm('id: DEP-1\ntitle: Orphan\ndepends_on: [GHOST-9]\ncompletion:\n  verify: "true"') },
    mentions: ['.tanuki/tasks/dep.md', 'field "depends_on"', '"GHOST-9"'],
  },
]

describe('bad task files', () => {
  it.each(cases)(
    '$name: start, resume and validate exit 1 naming file and field; no task file changes',
    async ({ files, mentions }) => {
      const project = createProject({
        files: Object.fromEntries([
          ['.tanuki/tasks/OK-1.md', good],
          ...Object.entries(files).map(([path, text]) => [`.tanuki/tasks/${path}`, text]),
        ]),
      })
      const before = snapshotFiles(project.tasksDir)
      for (const command of [
        ['project', 'start'],
        ['project', 'resume'],
        ['task', 'validate'],
      ]) {
        const run = await tanuki(project.dir, ...command)
        expect(run.code, `${command.join(' ')}: ${run.stdout}`).toBe(1)
        const message = run.stderr
        expect(message).toMatch(/^tanuki: /)
        for (const mention of mentions) expect(message, command.join(' ')).toContain(mention)
        // One clear message, not a stack trace.
        expect(message).not.toMatch(/\n\s+at /)
      }
      expect(snapshotFiles(project.tasksDir)).toEqual(before)
      expect(lockPid(project.dir)).toBeUndefined()
      // The good task never ran.
      expect(snapshotFiles(project.dir).has(`${project.dir}/.tanuki/logs/tasks/OK-1/iteration-001.log`)).toBe(false)
    },
  )

  it('a cycle is named by its path, in order', async () => {
    const project = createProject({
      files: Object.fromEntries(
        Object.entries(cases.find((c) => c.name === 'a cycle')!.files).map(([p, t]) => [`.tanuki/tasks/${p}`, t]),
      ),
    })
    const run = await tanuki(project.dir, 'task', 'validate')
    expect(run.code).toBe(1)
    // CYC-1 waits for CYC-3, which waits for CYC-2, which waits for CYC-1 — in whichever rotation.
    const path = /cycle: ([\w >→-]+?)\. /i.exec(run.stderr)?.[1]
    expect(path, run.stderr).toBeDefined()
    const ids = path!.split(/\s*(?:->|→)\s*/)
    expect(ids[0]).toBe(ids.at(-1))
    expect(new Set(ids)).toEqual(new Set(['CYC-1', 'CYC-2', 'CYC-3']))
    const next: Record<string, string> = { 'CYC-1': 'CYC-3', 'CYC-3': 'CYC-2', 'CYC-2': 'CYC-1' }
    const prev: Record<string, string> = { 'CYC-3': 'CYC-1', 'CYC-2': 'CYC-3', 'CYC-1': 'CYC-2' }
    const follows =
      ids.slice(1).every((id, i) => next[ids[i]!] === id) || ids.slice(1).every((id, i) => prev[ids[i]!] === id)
    expect(follows, path).toBe(true)
  })

  it('several problems are reported together, each with its file', async () => {
    const project = createProject({
      files: {
        '.tanuki/tasks/a.md': fm('id: A-1\ntitle: A\npriority: urgent\ncompletion:\n  verify: "true"'),
        '.tanuki/tasks/b.md': fm('title: B\ncompletion:\n  verify: "true"'),
      },
    })
    const run = await tanuki(project.dir, 'project', 'start')
    expect(run.code).toBe(1)
    expect(run.stderr).toContain('2 problems')
    expect(run.stderr).toContain('.tanuki/tasks/a.md: field "priority"')
    expect(run.stderr).toContain('.tanuki/tasks/b.md: field "id"')
  })
})

describe('a landing target that is not a branch', () => {
  it('is refused by `task validate` as by `project start`, with the near miss; no branch is made', async () => {
    const project = createProject({
      config: configFor({ default: 1 }, "\n  land: { into: 'mian' },"),
      files: { '.tanuki/tasks/ok.md': good },
    })
    const said = `The landing target "mian" (land.into) is not a branch of ${project.dir} (did you mean "main"?). Its branches: main.`
    for (const args of [
      ['task', 'validate'],
      ['project', 'start'],
    ]) {
      const run = await tanuki(project.dir, ...args)
      expect(run.code, run.stderr).toBe(1)
      expect(run.stderr).toContain(said)
    }
    const branches = execFileSync('git', ['branch', '--list'], { cwd: project.dir, encoding: 'utf8' })
    expect(branches.trim()).toBe('* main')
  })
})

describe('a git repository that is no Tanuki project', () => {
  it('every command that needs a project refuses before touching it: no branch, worktree, ref or file', async () => {
    const repo = createProject({ config: null, files: { 'README.md': 'an app\n' } })
    const git = (...args: string[]): string => execFileSync('git', args, { cwd: repo.dir, encoding: 'utf8' })
    const refs = git('for-each-ref')
    const worktrees = git('worktree', 'list', '--porcelain')
    const files = snapshotFiles(repo.dir)
    for (const args of [
      ['project', 'start'],
      ['project', 'start', '--detach'],
      ['project', 'status'],
      ['project', 'stop'],
      ['project', 'stop', '--finish'],
      ['project', 'stop', '--remove'],
      ['project', 'stop', '--remove', '--force'],
      ['project', 'resume'],
      ['task', 'list'],
      ['task', 'validate'],
      ['task', 'graph'],
      ['task', 'show', 'A'],
      ['task', 'rerun', 'A'],
      ['task', 'reset', 'A'],
      ['task', 'mark', 'A', 'complete'],
      ['logs', 'A'],
      ['land'],
      ['land', '--dry-run'],
      ['ui'],
    ]) {
      const run = await tanuki(repo.dir, ...args)
      const what = `tanuki ${args.join(' ')}: ${run.stdout}${run.stderr}`
      expect(run.code, what).toBe(1)
      expect(run.stderr, what).toContain(
        `tanuki: no Tanuki project in ${repo.dir} (--cwd "${repo.dir}"): it has no tanuki.config.*, .tanuki/tasks/ or tasks/. Run the command in your project's folder (or pass --cwd DIR), or start one here with \`tanuki init\`.`,
      )
      expect(run.stderr, what).toContain('TANUKI_NO_PROJECT')
      expect(run.stderr, what).not.toMatch(/\n\s+at /)
      expect(git('for-each-ref'), what).toBe(refs)
      expect(git('worktree', 'list', '--porcelain'), what).toBe(worktrees)
      expect(snapshotFiles(repo.dir), what).toEqual(files)
    }
    // What needs no project still works there, and then the commands do.
    expect((await tanuki(repo.dir, 'land', '--help')).code).toBe(0)
    const init = await tanuki(repo.dir, 'init')
    expect(init.code, init.stderr).toBe(0)
    expect((await tanuki(repo.dir, 'task', 'list')).code).toBe(0)
  })
})
