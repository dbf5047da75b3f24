// What the built CLI tells a person about work that needs them: where a task's work is and how to
// look at it, why its verify failed, what has not landed, and what to do next.
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import {
  cleanup,
  configFor,
  createProject,
  journalStatuses,
  slugTests,
  statusJson,
  tanuki,
  type TaskSpec,
} from './helpers.ts'

afterEach(cleanup)

const git = (dir: string, ...args: string[]): string => execFileSync('git', args, { cwd: dir, encoding: 'utf8' })

/** A task file with no `completion`: a successful agent run sends it to review. */
const noCompletion = (id: string, sh: string): string =>
  `---\nid: ${id}\ntitle: Task ${id}\n---\nTask ${id}.\n\n\`\`\`sh\n${sh}\n\`\`\`\n`

describe('tanuki task show of a task in review', () => {
  it('says where its work is, the git commands that show it, and how to accept it; accepted, it lands', async () => {
    const project = createProject({ files: { '.tanuki/tasks/HELLO.md': noCompletion('HELLO', 'echo hi > hello.txt') } })
    const run = await tanuki(project.dir, 'project', 'start')
    expect(run.code).toBe(1)
    // Nothing failed: it waits for a person.
    const status = await tanuki(project.dir, 'project', 'status')
    expect(status.stdout).toContain('Project needs review · 0/1 complete (0%) · 1 review\n')
    expect(status.stdout).toContain(
      '\n  HELLO review ← the agent finished without an error; the task has no completion criteria, so a person reviews it\n',
    )
    expect(status.stdout).toContain('`tanuki task show ID` has its tries, logs and work; then ')
    // --json keeps its public word.
    expect((await statusJson(project.dir)).status).toBe('failed')
    const show = await tanuki(project.dir, 'task', 'show', 'HELLO')
    expect(show.code, show.stderr).toBe(0)
    expect(show.stdout).toMatch(/status:\s+review/)
    const refs = (which: string) => `refs/tanuki/${project.dir.split('/').pop()}/tasks/HELLO/${which}`
    expect(show.stdout).toContain(
      `  work:        ${refs('tip')} (its last iteration), started from ${refs('base')}: 1 file changed, 1 insertion(+)\n`,
    )
    const diff = /see it: +(git diff \S+ \S+)\n/.exec(show.stdout)?.[1]
    expect(diff).toBe(`git diff ${refs('base')} ${refs('tip')}`)
    expect(show.stdout).toContain(`git log ${refs('base')}..${refs('tip')}\n`)
    // The command printed shows the agent's change.
    expect(git(project.dir, ...diff!.split(' ').slice(1))).toContain('+hi')
    expect(show.stdout).toContain(
      'accept it: `tanuki task mark HELLO complete`, then `tanuki land` puts it on your branch',
    )

    // Accepted as it says, it lands.
    expect((await tanuki(project.dir, 'task', 'mark', 'HELLO', 'complete')).code).toBe(0)
    const land = await tanuki(project.dir, 'land')
    expect(land.code, land.stderr).toBe(0)
    expect(git(project.dir, 'show', 'main:hello.txt')).toBe('hi\n')
  })
})

describe('tanuki task show of a task whose verify failed', () => {
  it("prints the end of the verify's output, and the line naming the error when a stack trace follows it", async () => {
    const stack = Array.from({ length: 20 }, (_, i) => `    at frame${i} (lib.js:${i}:1)`)
    const project = createProject({
      files: { 'said.txt': ['Error: Cannot find module mylib', ...stack, 'Node.js v20', ''].join('\n') },
      tasks: [{ id: 'V', sh: 'true', verify: 'cat said.txt >&2; exit 1', maxIterations: 1 }],
    })
    const run = await tanuki(project.dir, 'project', 'start')
    expect(run.code).toBe(1)
    const show = await tanuki(project.dir, 'task', 'show', 'V')
    expect(show.code, show.stderr).toBe(0)
    expect(show.stdout).toMatch(
      / {2}last verify: `.*` exited 1; what it printed \(all of it: \.tanuki\/logs\/tasks\/V\/iteration-001\.log, `tanuki logs V`\):\n/,
    )
    expect(show.stdout).toContain('    | Error: Cannot find module mylib\n    | …\n    |     at frame1 (lib.js:1:1)\n')
    expect(show.stdout).toContain('    |     at frame19 (lib.js:19:1)\n    | Node.js v20\n')
    expect(show.stdout).not.toContain('frame0 ')
    // All of it is where it says.
    const log = readFileSync(join(project.dir, '.tanuki', 'logs', 'tasks', 'V', 'iteration-001.log'), 'utf8')
    expect(log).toContain('at frame0 ')
  })

  it('from `node --test`: the SyntaxError at the top, not only the TAP summary at the end, and where all of it is', async () => {
    const project = createProject({
      files: { 'test/bad.test.cjs': 'export function slugify() {}\n' },
      tasks: [{ id: 'N', sh: 'true', verify: 'node --test test/bad.test.cjs', maxIterations: 1 }],
    })
    expect((await tanuki(project.dir, 'project', 'start')).code).toBe(1)
    const show = await tanuki(project.dir, 'task', 'show', 'N')
    expect(show.code, show.stderr).toBe(0)
    expect(show.stdout).toContain(
      '  last verify: `node --test test/bad.test.cjs` exited 1; what it printed (all of it: .tanuki/logs/tasks/N/iteration-001.log, `tanuki logs N`):\n',
    )
    expect(show.stdout).toContain("    | # SyntaxError: Unexpected token 'export'\n")
    // The summary is there too, and what lies between is cut.
    expect(show.stdout).toContain('    | # fail 1\n')
    expect(show.stdout).toContain('    | …\n')
    expect(show.stdout).not.toContain('at wrapSafe')
  })
})

describe('tanuki task show of a task whose check printed nothing', () => {
  it('says the exit code and that the command printed nothing, not an empty quote', async () => {
    const project = createProject({
      tasks: [{ id: 'Q', sh: 'true', verify: 'test -f x', maxIterations: 1 }],
    })
    expect((await tanuki(project.dir, 'project', 'start')).code).toBe(1)
    const show = await tanuki(project.dir, 'task', 'show', 'Q')
    expect(show.code, show.stderr).toBe(0)
    expect(show.stdout).toContain(
      '  last verify: `test -f x` exited 1 (the command printed nothing; log: .tanuki/logs/tasks/Q/iteration-001.log, `tanuki logs Q`)\n',
    )
    expect(show.stdout).not.toContain('what it printed')
    expect(show.stdout).not.toContain('(no output)')
  })
})

describe('tanuki task show of a task whose work did not land', () => {
  it('says the gate, its exit code and what it printed: the failing test and the summary', async () => {
    const project = createProject({
      files: { 'test/ok.test.cjs': "require('node:test')('ok', () => {})\n", 'fixtures/slug.cjs': slugTests },
      config: configFor({ default: 1 }, "\n  land: { verify: 'node --test' },"),
      // Its own verify passes where the agent worked; the project's tests fail once it lands.
      tasks: [
        {
          id: 'S',
          sh: 'cp fixtures/slug.cjs test/slug.test.cjs',
          verify: 'test -f test/slug.test.cjs',
          maxIterations: 1,
        },
      ],
    })
    expect((await tanuki(project.dir, 'project', 'start')).code).toBe(1)
    const show = await tanuki(project.dir, 'task', 'show', 'S')
    expect(show.code, show.stderr).toBe(0)
    expect(show.stdout).toMatch(/status:\s+review/)
    expect(show.stdout).toContain('  last landing: `node --test` exited 1 on the combined work; it printed:\n')
    expect(show.stdout).toMatch(/\n {4}\| not ok \d+ - slugify\n/)
    expect(show.stdout).toContain("    |     'a-b' !== 'a--b'\n")
    expect(show.stdout).toContain('    | # fail 1\n')
    // Its verify passed: no failed verify is shown for it.
    expect(show.stdout).not.toContain('last verify:')
  })
})

describe('complete work that has not landed', () => {
  it('with `land: { auto: false }`: the run, `project status` and its JSON say which, and that `tanuki land` lands it', async () => {
    const project = createProject({
      config: configFor({ default: 1 }, '\n  land: { auto: false },'),
      tasks: [
        { id: 'A', sh: 'echo a > a.txt', verify: 'test -f a.txt' },
        { id: 'B', sh: 'echo b > b.txt', verify: 'test -f b.txt' },
      ],
    })
    const run = await tanuki(project.dir, 'project', 'start')
    // Landing off is what the person asked for: the run did all it was to do.
    expect(run.code, run.stderr).toBe(0)
    expect(run.stderr).toMatch(
      /tanuki: not landed: [AB], [AB], complete; landing is left to you \(`land: \{ auto: false \}`\): `tanuki land` puts their work on your branch\.\n/,
    )
    const status = await tanuki(project.dir, 'project', 'status')
    expect(status.stdout).toContain('Project complete · 2/2 complete (100%) · 2 not landed\n')
    expect(status.stdout).toMatch(
      /Needs you\n {2}[AB], [AB] complete, not landed ← `tanuki land` puts their work on main\n/,
    )
    const json = await statusJson(project.dir)
    expect(json.progress.notLanded).toBe(2)
    expect(json.target).toBe('main')

    expect((await tanuki(project.dir, 'land')).code).toBe(0)
    const landed = await tanuki(project.dir, 'project', 'status')
    expect(landed.stdout).toContain('Project complete · 2/2 complete (100%)\n')
    expect(landed.stdout).not.toContain('not landed')
    expect((await statusJson(project.dir)).progress.notLanded).toBe(0)
  })

  it('whose dependency is in review: status and the run say what it waits for, not `tanuki land`', async () => {
    // S passes its own verify, so C (after it) runs, and completes; S's work fails the gate (it is
    // slow, so C completes while it runs) and S goes to review: C cannot land before it.
    const project = createProject({
      config: configFor({ default: 1 }, "\n  land: { verify: 'sleep 1; test ! -f bad.txt' },"),
      tasks: [
        // One that lands, as most of a project's do: first, so S's landing waits behind its gate.
        { id: 'L', priority: 'critical', sh: 'touch l.txt', verify: 'test -f l.txt' },
        { id: 'S', priority: 'high', sh: 'touch bad.txt', verify: 'test -f bad.txt', maxIterations: 1 },
        { id: 'C', dependsOn: ['S'], sh: 'touch c.txt', verify: 'test -f c.txt' },
        { id: 'D', dependsOn: ['C'], sh: 'touch d.txt', verify: 'test -f d.txt' },
      ],
    })
    const run = await tanuki(project.dir, 'project', 'start')
    expect(run.code).toBe(1)
    expect(journalStatuses(project.dir)).toMatchObject({ S: 'review', C: 'complete', D: 'complete' })
    expect(run.stdout).toContain('C, D complete, not landed · waits for S (in review)')
    expect(run.stdout).not.toContain('puts their work on')
    const status = await tanuki(project.dir, 'project', 'status')
    expect(status.stdout).toContain('  C, D complete, not landed ← waits for S (in review), which needs you first\n')
    expect(status.stdout).not.toContain('`tanuki land` puts')
    // As `tanuki land` itself says.
    const dry = await tanuki(project.dir, 'land', '--dry-run')
    expect(dry.stdout).toContain('Nothing to land on main.')
  })

  it('marked complete by a person after the run: `project status` says it is not landed until `tanuki land`', async () => {
    const project = createProject({ files: { '.tanuki/tasks/HELLO.md': noCompletion('HELLO', 'echo hi > hello.txt') } })
    expect((await tanuki(project.dir, 'project', 'start')).code).toBe(1)
    expect((await tanuki(project.dir, 'task', 'mark', 'HELLO', 'complete')).code).toBe(0)
    const status = await tanuki(project.dir, 'project', 'status')
    expect(status.stdout).toContain('Project complete · 1/1 complete (100%) · 1 not landed\n')
    expect(status.stdout).toContain('  HELLO complete, not landed ← `tanuki land` puts its work on main\n')
  })

  it('in a folder without git, where nothing lands, is not said to be not landed', async () => {
    const project = createProject({ git: false, tasks: [{ id: 'A', sh: 'echo a > a.txt', verify: 'test -f a.txt' }] })
    expect((await tanuki(project.dir, 'project', 'start')).code).toBe(0)
    const status = await tanuki(project.dir, 'project', 'status')
    expect(status.stdout).toContain('Project complete · 1/1 complete (100%)\n')
    expect(status.stdout).not.toContain('not landed')
  })
})

describe('the tries of a task rerun after review', () => {
  it("are counted alike by the run's lines: this run's, out of max_iterations, and all of them", async () => {
    const project = createProject({ tasks: [{ id: 'V', sh: 'true', verify: 'exit 1', maxIterations: 2 }] })
    const first = await tanuki(project.dir, 'project', 'start')
    expect(first.stdout).toContain('! V needs review after 2 iterations: ')
    expect((await tanuki(project.dir, 'task', 'rerun', 'V')).code).toBe(0)
    const again = await tanuki(project.dir, 'project', 'resume')
    expect(again.code).toBe(1)
    expect(again.stdout).toContain('V iteration 1/2: retry [verify-failed]')
    expect(again.stdout).toContain('! V needs review after 2 iterations (4 in all, with its earlier runs): ')
    expect(readFileSync(join(project.dir, '.tanuki', 'summary.md'), 'utf8')).toContain(
      'Needs review after 2 iterations (4 in all, with its earlier runs) on default-1: ',
    )
  })
})

describe('a task marked failed', () => {
  it("is named at every run's end with the commands, for it, that settle it; following them, the run exits 0", async () => {
    const project = createProject({
      tasks: [
        { id: 'A', sh: 'echo a > a.txt', verify: 'test -f a.txt' },
        { id: 'B', sh: 'echo b > b.txt', verify: 'test -f b.txt' },
      ],
    })
    expect((await tanuki(project.dir, 'task', 'mark', 'A', 'failed')).code).toBe(0)
    for (let run = 0; run < 2; run++) {
      const start = await tanuki(project.dir, 'project', 'start')
      expect(start.code).toBe(1)
      expect(start.stderr).toContain(
        'tanuki: 1 of 2 tasks are not complete: A failed, which `tanuki project resume` does not run again. ' +
          '`tanuki task show A` says why; then `tanuki task rerun A` to try again, or `tanuki task mark A complete`. ',
      )
    }
    expect((await tanuki(project.dir, 'task', 'rerun', 'A')).code).toBe(0)
    const resume = await tanuki(project.dir, 'project', 'resume')
    expect(resume.code, resume.stderr).toBe(0)
  })
})

describe('the end of a run of 60 tasks', () => {
  it('prints the counts and, one line each with its command, only the tasks that need a person; the file has every task', async () => {
    const id = (n: number) => `T-${String(n).padStart(2, '0')}`
    const tasks: TaskSpec[] = Array.from({ length: 60 }, (_, i) => ({ id: id(i + 1), sh: `touch f${i + 1}` }))
    // Three whose verify fails (review), five waiting on the first of them, one a person marked
    // failed and one blocked by it.
    for (const n of [5, 23, 41])
      Object.assign(tasks[n - 1]!, { verify: `echo ${id(n)} broke; exit 1`, maxIterations: 1 })
    for (const n of [51, 52, 53, 54, 55]) tasks[n - 1]!.dependsOn = ['T-05']
    tasks[58]!.dependsOn = ['T-60']
    const project = createProject({ agents: { default: 4 }, tasks })
    expect((await tanuki(project.dir, 'task', 'mark', 'T-60', 'failed')).code).toBe(0)

    const run = await tanuki(project.dir, 'project', 'start')
    expect(run.code, run.stderr).toBe(1)
    const lines = run.stdout.trimEnd().split('\n')
    const settled = lines.findIndex((line) => line.includes('✗ not all complete'))
    expect(settled, run.stdout).toBeGreaterThan(0)
    const end = lines.slice(settled + 1)
    // Short: the counts, the spend, the ten tasks that need a person in five lines, the file.
    expect(end.length, end.join('\n')).toBeLessThanOrEqual(12)
    const text = end.join('\n')
    expect(text).toContain(
      'Not all tasks complete. 50 of 60 complete · 1 failed · 3 in review · 1 blocked · 5 pending · 50 landed',
    )
    expect(text).toMatch(/^ {2}Took \S+$/m)
    expect(text).toMatch(/^ {2}✗ T-60 failed {5}.* · `tanuki task show T-60`$/m)
    for (const review of ['T-05', 'T-23', 'T-41'])
      expect(text).toMatch(
        new RegExp(
          `^ {2}! ${review} in review {2}verify exited with code 1: echo ${review} broke; exit 1.* · \`tanuki task show ${review}\`$`,
          'm',
        ),
      )
    expect(text).toContain('\n  · T-51, T-52, T-53, T-54, T-55 pending: waiting on T-05 (review)')
    expect(text).toContain('\n  ⊘ T-59 blocked: T-60 is failed')
    // No task that went well is named, nor is any table printed.
    expect(text).not.toMatch(/\bT-(0[1-4]|1\d)\b/)
    expect(run.stdout).not.toContain('| T-')
    expect(end.at(-1)).toBe('Every task, and the output of each failure: .tanuki/summary.md')
    // What to do next, on stderr, as before.
    expect(run.stderr).toContain('tanuki: 10 of 60 tasks are not complete: T-60 failed, 3 review (T-05, T-23, T-41)')

    // The file keeps every task, and each failure's output.
    const summary = readFileSync(join(project.dir, '.tanuki', 'summary.md'), 'utf8')
    for (let n = 1; n <= 60; n++) expect(summary).toMatch(new RegExp(`^\\| ${id(n)} \\| Task ${id(n)} \\|`, 'm'))
    expect(summary).toContain('### T-23: review')
    expect(summary).toContain('T-23 broke')

    // `--verbose` prints the whole report, as the file has it.
    const verbose = await tanuki(project.dir, 'project', 'resume', '--verbose')
    expect(verbose.code).toBe(1)
    for (let n = 1; n <= 60; n++) expect(verbose.stdout).toContain(`| ${id(n)} | Task ${id(n)} |`)
  })
})

describe('a role paused because its program is missing', () => {
  it('says the cause once, on the role, with every task that waits for it under it; status too', async () => {
    const project = createProject({
      config: `import { defineConfig } from 'tanuki'\nexport default defineConfig({\n  cooldownMs: 50,\n  agents: { dev: { backend: 'process', kind: 'command', command: ['my-agnet', '--go'] } },\n})\n`,
      tasks: ['M-01', 'M-02', 'M-03'].map((id): TaskSpec => ({ id, role: 'dev', verify: 'true' })),
    })
    const run = await tanuki(project.dir, 'project', 'start')
    expect(run.code).toBe(1)
    const needs = run.stdout.slice(run.stdout.indexOf('Needs you:'))
    // The cause, once: on the role's line.
    expect(needs.split('"my-agnet" was not found').length - 1).toBe(1)
    expect(needs).toMatch(
      /■ role dev paused: command my-agnet exited with code 127: .*\n {6}its tasks wait: M-01, M-02, M-03\n/,
    )
    // `project status` names them all under the one cause, not only the task that tried.
    const status = await tanuki(project.dir, 'project', 'status')
    const waits = status.stdout.slice(status.stdout.indexOf('Needs you'))
    expect(waits.split('"my-agnet" was not found').length - 1).toBe(1)
    expect(waits).toContain('  M-01, M-02, M-03 wait ← command my-agnet exited with code 127')
  })

  it('leaves the files of its tasks without `started_at`: no try of them ran', async () => {
    const project = createProject({
      config: `import { defineConfig } from 'tanuki'\nexport default defineConfig({\n  agents: { dev: { backend: 'process', kind: 'command', command: ['my-agnet'] } },\n})\n`,
      tasks: [{ id: 'M-01', role: 'dev', verify: 'true' }],
    })
    const before = readFileSync(project.taskPath('M-01'), 'utf8')
    expect((await tanuki(project.dir, 'project', 'start')).code).toBe(1)
    const after = readFileSync(project.taskPath('M-01'), 'utf8')
    expect(after).not.toContain('started_at')
    // Otherwise as it was (`status: pending` stays when its start was written before the agent failed).
    expect(after.replace('status: pending\n', '')).toBe(before)
  })
})
