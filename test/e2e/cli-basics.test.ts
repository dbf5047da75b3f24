// The built CLI's everyday commands: init, validate, help on every command, and the views of a
// project that ran (status table, task list/show/graph, logs).
import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { cleanup, createProject, setCliEnv, startTanuki, TANUKI_BIN, tanuki, taskText, waitFor } from './helpers.ts'

// eslint-disable-next-line no-control-regex
const plain = (text: string): string => text.replace(/\x1b\[[0-9;]*m/g, '')

afterEach(cleanup)

describe('tanuki task show', () => {
  it('says what to do about a task in review or failed, with why, in the words the run and `project status` use', async () => {
    const project = createProject({
      tasks: [
        { id: 'R-1', sh: 'echo R-1', verify: 'test -f never.txt', maxIterations: 1 },
        { id: 'F-1', sh: 'echo F-1 > F-1.txt', verify: 'test -f F-1.txt' },
        { id: 'P-1', sh: 'echo P-1 > P-1.txt', verify: 'test -f P-1.txt' },
      ],
    })
    // F-1 is a person's call: failed before it ran.
    expect((await tanuki(project.dir, 'task', 'mark', 'F-1', 'failed')).code).toBe(0)
    const run = await tanuki(project.dir, 'project', 'start')
    expect(run.code).toBe(1)
    const advice = (id: string) => `\`tanuki task rerun ${id}\` to try again, or \`tanuki task mark ${id} complete\``
    expect(run.stderr).toContain(`\`tanuki task show ID\` says why; then ${advice('ID')}`)
    expect((await tanuki(project.dir, 'project', 'status')).stdout).toContain(`then ${advice('ID')}`)
    const review = await tanuki(project.dir, 'task', 'show', 'R-1')
    expect(review.code, review.stderr).toBe(0)
    expect(review.stdout).toMatch(/status:\s+review/)
    expect(review.stdout).toMatch(/reason:\s+\S.*\n/)
    expect(review.stdout).toContain(
      `  next:        ${advice('R-1')}; \`tanuki project resume\` does not run it again\n`,
    )
    const failed = await tanuki(project.dir, 'task', 'show', 'F-1')
    expect(failed.stdout).toMatch(/reason:\s+marked failed by a person\n/)
    expect(failed.stdout).toContain(`  next:        ${advice('F-1')}; `)
    // A task that completed needs nothing of the person.
    expect((await tanuki(project.dir, 'task', 'show', 'P-1')).stdout).not.toContain('next:')
  })
})

describe('tanuki init', () => {
  it('writes a sample task and a config that `task validate` accepts', async () => {
    const project = createProject({ config: null, git: false })
    const init = await tanuki(project.dir, 'init')
    expect(init.code, init.stderr).toBe(0)
    expect(init.stdout).toContain('.tanuki/tasks/TASK-001.md')
    const task = readFileSync(join(project.dir, '.tanuki', 'tasks', 'TASK-001.md'), 'utf8')
    expect(task).toMatch(/^---\nid: TASK-001\n/)
    expect(readFileSync(join(project.dir, 'tanuki.config.ts'), 'utf8')).toContain("from 'tanuki'")

    const validate = await tanuki(project.dir, 'task', 'validate')
    expect(validate.code, validate.stderr).toBe(0)
    expect(validate.stdout).toContain('1 task OK')
    expect(validate.stdout).toContain('tanuki.config.ts')

    // A second init keeps what is there.
    const again = await tanuki(project.dir, 'init')
    expect(again.code).toBe(0)
    expect(again.stdout).toContain('kept')
    expect(readFileSync(join(project.dir, '.tanuki', 'tasks', 'TASK-001.md'), 'utf8')).toBe(task)
  })

  it('keeps reading the tasks in tasks/: creates no .tanuki/tasks, which would hide them, and adds no sample', async () => {
    const project = createProject({ config: null, git: false, tasksDir: 'tasks', tasks: [{ id: 'T1' }] })
    const init = await tanuki(project.dir, 'init')
    expect(init.code, init.stderr).toBe(0)
    expect(init.stdout).toContain('wrote tanuki.config.ts')
    expect(init.stdout).toContain('Tasks: 1 task file in tasks/ (there is no .tanuki/tasks/); Tanuki reads them')
    expect(init.stdout).toContain('Wrote no sample task')
    expect(init.stdout).not.toContain('TASK-001')
    expect(existsSync(join(project.dir, '.tanuki', 'tasks'))).toBe(false)

    const list = await tanuki(project.dir, 'task', 'list', '--json')
    expect(list.code, list.stderr).toBe(0)
    expect((JSON.parse(list.stdout) as { id: string }[]).map((task) => task.id)).toEqual(['T1'])
  })

  it('adds no sample task to a project that has tasks', async () => {
    const tasks = Array.from({ length: 13 }, (_, n) => ({ id: `T${n + 1}`, sh: 'true' }))
    const project = createProject({ git: false, tasks })
    const init = await tanuki(project.dir, 'init')
    expect(init.code, init.stderr).toBe(0)
    expect(init.stdout).toContain('kept  tanuki.config.ts')
    expect(init.stdout).toContain(
      'Tasks: 13 task files in .tanuki/tasks/; Tanuki reads them from there. Wrote no sample task.',
    )
    expect(init.stdout).not.toContain('TASK-001')
    expect(existsSync(join(project.tasksDir, 'TASK-001.md'))).toBe(false)
  })

  it('names the task files in tasks/ that a .tanuki/tasks written before hides', async () => {
    // As an init before this fix left it: its sample in .tanuki/tasks, the person's tasks in tasks/.
    const project = createProject({
      config: null,
      git: false,
      tasksDir: 'tasks',
      tasks: [{ id: 'T1' }],
      files: { '.tanuki/tasks/TASK-001.md': taskText({ id: 'TASK-001' }) },
    })
    const init = await tanuki(project.dir, 'init')
    expect(init.code, init.stderr).toBe(0)
    expect(init.stdout).toContain(
      "tasks/ has 1 task file that Tanuki does not read: .tanuki/tasks/ exists and comes first. To use them, move them into .tanuki/tasks/, or set `tasksDir: 'tasks'` in tanuki.config.ts.",
    )
  })
})

describe('--help', () => {
  const cases: [string[], string[]][] = [
    [[], ['init', 'project', 'task', 'logs']],
    [['init'], ['--cwd']],
    [['project'], ['start', 'status', 'stop', 'resume']],
    [
      ['project', 'start'],
      ['--watch', '--detach', '--cwd'],
    ],
    [['project', 'status'], ['--json']],
    [['project', 'stop'], ['--remove']],
    [['project', 'resume'], ['--detach']],
    [['task'], ['list', 'show', 'graph', 'validate']],
    [['task', 'list'], ['--cwd']],
    [['task', 'show'], ['ID']],
    [['task', 'graph'], ['--mermaid']],
    [['task', 'validate'], ['--cwd']],
    [['logs'], ['TARGET', '--follow']],
  ]
  it.each(cases)('tanuki %j --help exits 0 and names its subcommands and flags', async (command, mentions) => {
    const project = createProject({ git: false })
    const help = await tanuki(project.dir, ...command, '--help')
    expect(help.code, help.stderr).toBe(0)
    const text = plain(help.stdout + help.stderr)
    expect(text).toContain('USAGE')
    for (const word of mentions) expect(text).toContain(word)
  })
})

describe('views of a project that ran', () => {
  it('status table, task list/show/graph/mermaid and logs of a task and an agent', async () => {
    const project = createProject({
      agents: { build: 1, qa: 1 },
      tasks: [
        { id: 'A-1', title: 'Make a file', role: 'build', sh: 'echo made-by-A1 > a.txt', verify: 'test -f a.txt' },
        {
          id: 'A-2',
          title: 'Check the file',
          role: 'qa',
          dependsOn: ['A-1'],
          sh: 'echo checked-A2',
          verify: 'test -f a.txt',
        },
      ],
    })
    const run = await tanuki(project.dir, 'project', 'start')
    expect(run.code, run.stderr + run.stdout).toBe(0)

    const status = await tanuki(project.dir, 'project', 'status')
    expect(status.code).toBe(0)
    const table = plain(status.stdout)
    expect(table).toMatch(/ID\s+TITLE\s+ROLE\s+PRIORITY\s+STATUS/)
    expect(table).toMatch(/A-1\s+Make a file\s+build\s+medium\s+complete/)
    expect(table).toMatch(/A-2\s+Check the file\s+qa\s+medium\s+complete/)

    const list = await tanuki(project.dir, 'task', 'list')
    expect(list.code).toBe(0)
    expect(list.stdout).toMatch(/A-2\s+complete\s+qa\s+medium\s+A-1\s+Check the file/)

    const show = await tanuki(project.dir, 'task', 'show', 'A-2')
    expect(show.code).toBe(0)
    expect(show.stdout).toContain('A-2: Check the file')
    expect(show.stdout).toMatch(/depends on:\s+A-1/)
    expect(show.stdout).toMatch(/verify:\s+test -f a.txt/)
    expect(show.stdout).toContain('.tanuki/logs/tasks/A-2/iteration-001.log')

    const missing = await tanuki(project.dir, 'task', 'show', 'NOPE')
    expect(missing.code).toBe(1)
    expect(missing.stderr).toContain('NOPE')

    const graph = await tanuki(project.dir, 'task', 'graph')
    expect(graph.code).toBe(0)
    expect(graph.stdout).toMatch(/level 0\n\s+\[complete\] A-1 \(build\)\nlevel 1\n\s+\[complete\] A-2 \(qa\)\s+<- A-1/)

    const mermaid = await tanuki(project.dir, 'task', 'graph', '--mermaid')
    expect(mermaid.code).toBe(0)
    expect(mermaid.stdout).toMatch(/^(flowchart|graph) /)
    const node = (id: string): string => new RegExp(`(\\w+)\\["${id}: `).exec(mermaid.stdout)![1]!
    expect(mermaid.stdout).toContain(`${node('A-1')} --> ${node('A-2')}`)

    const taskLog = await tanuki(project.dir, 'logs', 'A-1')
    expect(taskLog.code).toBe(0)
    expect(taskLog.stdout).toContain('## Prompt')
    expect(taskLog.stdout).toContain('Make a file')
    expect(taskLog.stdout).toContain('## Verify: `test -f a.txt` exited 0')

    const agent = JSON.parse((await tanuki(project.dir, 'project', 'status', '--json')).stdout).tasks.find(
      (t: { id: string }) => t.id === 'A-2',
    ).assignedTo
    expect(agent).toBe('qa-1')
    const agentLog = await tanuki(project.dir, 'logs', agent)
    expect(agentLog.code).toBe(0)
    expect(agentLog.stdout).toContain('checked-A2')
    expect(agentLog.stdout).not.toContain('made-by-A1')

    const unknown = await tanuki(project.dir, 'logs', 'nobody')
    expect(unknown.code).toBe(1)
    expect(unknown.stderr).toContain('"nobody"')
    expect(existsSync(join(project.dir, '.tanuki', 'orchestrator.lock'))).toBe(false)
  })
})

describe('tanuki logs -f', () => {
  it("follows a task's log while it runs and ends after the run does", async () => {
    // The task talks on only once the follower has seen its first line, however slow the machine.
    const gate = join(mkdtempSync(join(tmpdir(), 'tanuki-gate-')), 'go')
    const project = createProject({
      tasks: [
        {
          id: 'F-1',
          title: 'Slow talker',
          sh: `echo line-1; while [ ! -f ${gate} ]; do sleep 0.1; done; for i in 2 3 4 5; do echo "line-$i"; sleep 0.3; done; echo talked > f.txt`,
          verify: 'test -f f.txt',
        },
      ],
    })
    const run = startTanuki(project.dir, 'project', 'start')
    await waitFor('the first iteration log', () =>
      existsSync(join(project.dir, '.tanuki', 'logs', 'tasks', 'F-1', 'iteration-001.log')),
    )
    const follow = startTanuki(project.dir, 'logs', 'F-1', '-f')
    // It prints what is there, then keeps printing what comes.
    await waitFor('the first line', () => follow.output().stdout.includes('line-1'))
    expect(follow.output().stdout).not.toContain('## Verify')
    writeFileSync(gate, '')
    expect((await run.done).code).toBe(0)
    const followed = await follow.done
    expect(followed.code).toBe(0)
    expect(followed.stdout).toContain('line-5')
    expect(followed.stdout).toContain('## Verify: `test -f f.txt` exited 0')
  })
})

describe('start-up', () => {
  it('loads a few dozen module files: the libraries are bundled, the dashboard loads only for `tanuki ui`', async () => {
    // A module hook in the CLI's process writes down every file it loads.
    const hooks = mkdtempSync(join(tmpdir(), 'tanuki-modules-'))
    const log = join(hooks, 'loaded.txt')
    writeFileSync(
      join(hooks, 'hooks.mjs'),
      "import { appendFileSync } from 'node:fs'\n" +
        'export async function load(url, context, next) {\n' +
        `  if (url.startsWith('file:')) appendFileSync(${JSON.stringify(log)}, url + '\\n')\n` +
        '  return next(url, context)\n' +
        '}\n',
    )
    writeFileSync(
      join(hooks, 'register.mjs'),
      `import { register } from 'node:module'\nregister(${JSON.stringify(new URL(`file://${join(hooks, 'hooks.mjs')}`).href)})\n`,
    )
    setCliEnv({ NODE_OPTIONS: `--import ${join(hooks, 'register.mjs')}` })
    const project = createProject({ tasks: [{ id: 'A', sh: 'true' }] })
    const run = await tanuki(project.dir, 'project', 'start')
    expect(run.code, run.stderr).toBe(0)
    const loaded = readFileSync(log, 'utf8').trim().split('\n')
    expect(loaded.some((url) => url.includes('/packages/core/dist/'))).toBe(true)
    const packages = new Set(
      loaded.map((url) => /node_modules\/(?:\.pnpm\/[^/]+\/node_modules\/)?((?:@[^/]+\/)?[^/]+)/.exec(url)?.[1]),
    )
    // Bundled into dist (each was dozens to hundreds of files), or loaded only by `tanuki ui`.
    for (const name of [
      'yaml',
      'remark',
      'micromark',
      'unified',
      'c12',
      'citty',
      'confbox',
      'hono',
      '@hono/node-server',
    ])
      expect(packages, name).not.toContain(name)
    expect(loaded.length).toBeLessThan(60)
  })
})

describe('a project that is not a git repository', () => {
  it('runs in its own folder, and `tanuki land` says nothing lands, without failing', async () => {
    const project = createProject({ git: false, tasks: [{ id: 'A', sh: 'echo a > a.txt', verify: 'test -f a.txt' }] })
    const run = await tanuki(project.dir, 'project', 'start')
    expect(run.code, run.stderr).toBe(0)
    expect(readFileSync(join(project.dir, 'a.txt'), 'utf8')).toBe('a\n')
    for (const args of [['land'], ['land', '--dry-run']]) {
      const land = await tanuki(project.dir, ...args)
      expect(land.code, land.stderr).toBe(0)
      expect(land.stdout).toBe(
        `Nothing to land: ${project.dir} is not a git repository, so its agents work in the folder itself and their work is there already. ` +
          'To land each task on a branch instead, make it one: `git init`, then commit what should be in it.\n',
      )
      expect(land.stderr).toBe('')
    }
    const json = JSON.parse((await tanuki(project.dir, 'land', '--json')).stdout) as {
      noRepository?: string
      waiting: unknown[]
    }
    expect(json).toMatchObject({ noRepository: 'none', waiting: [] })
    // A repository without a commit yet: the same, said of it.
    execFileSync('git', ['init', '-q', '-b', 'main'], { cwd: project.dir })
    const empty = await tanuki(project.dir, 'land')
    expect(empty.code, empty.stderr).toBe(0)
    expect(empty.stdout).toContain(`the git repository of ${project.dir} has no commit yet`)
    // One git will not read is an error, not "no repository".
    writeFileSync(join(project.dir, '.git', 'config'), '[core]\n\trepositoryformatversion = 99\n')
    const broken = await tanuki(project.dir, 'land')
    expect(broken.code).toBe(1)
    expect(broken.stderr).toContain(`git cannot read ${project.dir}: fatal: Expected git repo version <= 1, found 99`)
  })
})

describe('task files hidden by an empty .tanuki/tasks/', () => {
  it('are named by `task list` and `project start`, which do not send the person to `tanuki init`', async () => {
    const project = createProject({ tasksDir: 'tasks', tasks: [{ id: 'T1', sh: 'true' }] })
    mkdirSync(join(project.dir, '.tanuki', 'tasks'), { recursive: true })
    const said =
      "tasks/ has 1 task file that Tanuki does not read: .tanuki/tasks/ exists and comes first (it has no task files). To use them, move them into .tanuki/tasks/, remove .tanuki/tasks/, or set `tasksDir: 'tasks'` in tanuki.config.ts."
    const list = await tanuki(project.dir, 'task', 'list')
    expect(list.code, list.stderr).toBe(0)
    expect(list.stdout).toBe(`No tasks in .tanuki/tasks. ${said}\n`)
    const start = await tanuki(project.dir, 'project', 'start')
    expect(start.code).toBe(1)
    expect(start.stderr).toContain(`No task files in .tanuki/tasks. ${said}`)
    expect(start.stderr).not.toContain('tanuki init')
  })
})

describe('tanuki task list with a big fan-in', () => {
  const ids = Array.from({ length: 14 }, (_, i) => `DEP-${String(i + 1).padStart(2, '0')}`)
  const title = 'Gather every part into one release, with the notes, the changelog and the announcement'
  const fanIn = (): ReturnType<typeof createProject> =>
    createProject({
      git: false,
      tasks: [...ids.map((id) => ({ id, verify: 'true' })), { id: 'ALL', title, dependsOn: ids, verify: 'true' }],
    })

  it('names the first dependencies and counts the rest, and `--json` has them all', async () => {
    const project = fanIn()
    const list = await tanuki(project.dir, 'task', 'list')
    expect(list.code, list.stderr).toBe(0)
    const row = list.stdout.split('\n').find((line) => line.startsWith('ALL '))
    expect(row).toMatch(/ DEP-01,DEP-02,DEP-03 \+11 /)
    expect(row).not.toContain('DEP-04')
    // Through a pipe no width is known: the title is whole.
    expect(row!.endsWith(title)).toBe(true)
    const json = await tanuki(project.dir, 'task', 'list', '--json')
    const all = (JSON.parse(json.stdout) as { id: string; dependsOn: string[] }[]).find((task) => task.id === 'ALL')
    expect(all?.dependsOn).toEqual(ids)
  })

  it("fits a terminal's width, cutting the titles", () => {
    const project = fanIn()
    const env: NodeJS.ProcessEnv = { ...process.env, TERM: 'xterm-256color', NO_COLOR: '1' }
    const command = `stty cols 80 rows 24; '${TANUKI_BIN}' task list --cwd '${project.dir}'`
    const run = spawnSync('script', ['-qec', command, '/dev/null'], { env, encoding: 'utf8' })
    expect(run.status, run.stdout + run.stderr).toBe(0)
    const lines = run.stdout.replace(/\r/g, '').trimEnd().split('\n')
    expect(lines.find((line) => line.startsWith('ID '))).toMatch(/TITLE$/)
    for (const line of lines) expect(line.length, line).toBeLessThan(80)
    const row = lines.find((line) => line.startsWith('ALL '))
    expect(row).toMatch(/ DEP-01,DEP-02,DEP-03 \+11 {2}Gather every .*…$/)
  })
})
