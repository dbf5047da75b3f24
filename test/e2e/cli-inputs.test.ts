// What the CLI prints and how it behaves around bad input, run for real: output to a pipe is never
// cut, help names `tanuki` and is coloured only on a terminal, --cwd works before the command, a
// task without completion goes to review, and a reporter that never closes cannot hold the run.
import { execFileSync, spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, realpathSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import {
  TANUKI_BIN,
  cleanup,
  configFor,
  createProject,
  journalStatuses,
  lockPid,
  startTanuki,
  statusJson,
  tanuki,
  waitFor,
  type CliResult,
  type StatusJson,
} from './helpers.ts'

afterEach(cleanup)

/** Runs the CLI with exactly these arguments and environment, its output read through pipes. */
function run(
  cwd: string,
  args: string[],
  env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' },
): Promise<CliResult> {
  const child = spawn(TANUKI_BIN, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] })
  const out: Buffer[] = []
  const err: Buffer[] = []
  child.stdout.on('data', (chunk: Buffer) => out.push(chunk))
  child.stderr.on('data', (chunk: Buffer) => err.push(chunk))
  return new Promise((resolve) =>
    child.on('close', (code, signal) =>
      resolve({ code, signal, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() }),
    ),
  )
}

/** The environment without what makes citty drop colours on its own (CI, TEST) or asks for none. */
function colourfulEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env, TERM: 'xterm-256color' }
  for (const key of ['CI', 'TEST', 'NO_COLOR', 'FORCE_COLOR', 'VITEST']) delete env[key]
  return env
}

const ESC = '\u001b['

describe('output to a pipe is complete', () => {
  it('project status --json of 2,000 tasks parses, and every task is in it', async () => {
    const tasks = Array.from({ length: 2000 }, (_, i) => ({ id: `T-${String(i).padStart(4, '0')}`, verify: 'true' }))
    const project = createProject({ tasks, git: false })
    const result = await tanuki(project.dir, 'project', 'status', '--json')
    expect(result.code).toBe(0)
    expect(result.stdout.length).toBeGreaterThan(4 * 65_536)
    const doc = JSON.parse(result.stdout) as { tasks: { id: string }[] }
    expect(doc.tasks).toHaveLength(2000)
  })

  it('tanuki logs of a task prints its whole log, past 64 KiB', async () => {
    const project = createProject({ tasks: [{ id: 'BIG-1', verify: 'true' }], git: false })
    const line = (i: number): string => `line ${String(i).padStart(6, '0')} ${'x'.repeat(50)}\n`
    const log = Array.from({ length: 20_000 }, (_, i) => line(i)).join('')
    const dir = join(project.dir, '.tanuki', 'logs', 'tasks', 'BIG-1')
    mkdirSync(dir, { recursive: true })
    writeFileSync(join(dir, 'iteration-001.log'), log)
    const result = await tanuki(project.dir, 'logs', 'BIG-1')
    expect(result.code).toBe(0)
    expect(log.length).toBeGreaterThan(16 * 65_536)
    expect(result.stdout).toBe(log)
  })

  it('a reader that stops early ends the command quietly', () => {
    const tasks = Array.from({ length: 500 }, (_, i) => ({ id: `T-${i}`, verify: 'true' }))
    const project = createProject({ tasks, git: false })
    const pipeline = spawnSync(
      'sh',
      ['-c', `"${TANUKI_BIN}" project status --json --cwd "${project.dir}" | head -c 10`],
      {
        env: { ...process.env, NO_COLOR: '1' },
        encoding: 'utf8',
      },
    )
    expect(pipeline.stdout).toBe('{\n  "statu')
    expect(pipeline.stderr).toBe('')
  })
})

describe('help and colour', () => {
  it('names `tanuki` in every usage line, lists --version and --help, and has no colour through a pipe', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tanuki-help-'))
    const root = await run(dir, ['--help'], colourfulEnv())
    expect(root.code).toBe(0)
    expect(root.stdout).toMatch(/USAGE tanuki \[OPTIONS\] init\|project\|task\|/)
    expect(root.stdout).toMatch(/-v, --version\s+Show the version/)
    expect(root.stdout).toMatch(/--cwd=<DIR>\s+Project directory, before or after any command/)
    const start = await run(dir, ['project', 'start', '--help'], colourfulEnv())
    expect(start.stdout).toContain('USAGE tanuki project start [OPTIONS]')
    expect(start.stdout).toMatch(/-h, --help\s+Show this help/)
    for (const output of [root.stdout, start.stdout]) {
      expect(output).not.toContain('cli.js')
      expect(output).not.toContain(ESC)
    }
    const version = await run(dir, ['--version'])
    expect(version.stdout).toMatch(/^\d+\.\d+\.\d+\n$/)
  })

  it('is coloured on a terminal, and not with NO_COLOR', () => {
    const underTty = (env: NodeJS.ProcessEnv): string =>
      spawnSync('script', ['-qec', `"${TANUKI_BIN}" project --help`, '/dev/null'], { env, encoding: 'utf8' }).stdout
    expect(underTty(colourfulEnv())).toContain(ESC)
    const plain = underTty({ ...colourfulEnv(), NO_COLOR: '1' })
    expect(plain).toContain('USAGE tanuki project')
    expect(plain).not.toContain(ESC)
  })

  it('project status has no colour through a pipe, even where the environment would allow it', async () => {
    const project = createProject({ tasks: [{ id: 'A', verify: 'true' }], git: false })
    const status = await run(project.dir, ['project', 'status'], colourfulEnv())
    expect(status.code).toBe(0)
    expect(status.stdout).toContain('A')
    expect(status.stdout).not.toContain(ESC)
  })
})

describe('--cwd', () => {
  it('works before the command and after it, from any folder', async () => {
    const project = createProject({ tasks: [{ id: 'A', verify: 'true' }], git: false })
    const elsewhere = mkdtempSync(join(tmpdir(), 'tanuki-elsewhere-'))
    for (const args of [
      ['--cwd', project.dir, 'project', 'status', '--json'],
      ['project', 'status', '--json', '--cwd', project.dir],
      [`--cwd=${project.dir}`, 'project', 'status', '--json'],
      ['project', '--cwd', project.dir, 'status', '--json'],
    ]) {
      const result = await run(elsewhere, args)
      expect(result.code, `${args.join(' ')}: ${result.stderr}`).toBe(0)
      expect((JSON.parse(result.stdout) as { tasks: { id: string }[] }).tasks.map((t) => t.id)).toEqual(['A'])
    }
  })
})

describe('run from a folder below the project', () => {
  it('every command that needs a project names the one above, and what to do; nothing is written', async () => {
    const project = createProject({ tasks: [{ id: 'A', verify: 'true' }] })
    const top = realpathSync(project.dir)
    const sub = join(top, 'sub', 'deep')
    mkdirSync(sub, { recursive: true })
    for (const args of [
      ['project', 'status'],
      ['project', 'start'],
      ['project', 'resume'],
      ['project', 'stop'],
      ['task', 'list'],
      ['task', 'validate'],
      ['task', 'show', 'A'],
      ['task', 'rerun', 'A'],
      ['land'],
      ['logs', 'A'],
    ]) {
      const result = await run(sub, args)
      const what = `tanuki ${args.join(' ')}: ${result.stdout}${result.stderr}`
      expect(result.code, what).toBe(1)
      expect(result.stderr, what).toContain(
        `tanuki: no Tanuki project here (${sub}): it has no tanuki.config.*, .tanuki/tasks/ or tasks/. ${top} has one (tanuki.config.ts): run the command there (cd ${top}), or pass --cwd ${top}.`,
      )
      expect(result.stderr, what).toContain('TANUKI_NO_PROJECT')
    }
    const json = await run(sub, ['project', 'status', '--json'])
    expect(json.code).toBe(1)
    expect((JSON.parse(json.stdout) as { error: { code: string } }).error.code).toBe('TANUKI_NO_PROJECT')
    // Refused before anything ran: no state folder appeared below the project.
    expect(readdirSync(join(top, 'sub'), { recursive: true })).toEqual(['deep'])

    const pointed = await run(tmpdir(), ['task', 'list', '--cwd', join(top, 'sub')])
    expect(pointed.code).toBe(1)
    expect(pointed.stderr).toContain(`no Tanuki project in ${join(top, 'sub')} (--cwd "${join(top, 'sub')}")`)
    expect(pointed.stderr).toContain(`${top} has one (tanuki.config.ts): pass --cwd ${top} instead.`)
    // From the project's own folder, all is as before.
    expect((await run(top, ['task', 'list'])).code).toBe(0)
  })

  it('init refuses to start a project inside one, unless --nested', async () => {
    const project = createProject({ tasks: [{ id: 'A', verify: 'true' }] })
    const top = realpathSync(project.dir)
    const sub = join(top, 'sub')
    mkdirSync(sub)
    const init = await run(sub, ['init'])
    expect(init.code).toBe(1)
    expect(init.stderr).toContain(
      `tanuki: ${sub} is inside the Tanuki project in ${top} (tanuki.config.ts); a project here would be another one`,
    )
    expect(init.stderr).toContain(`Run Tanuki there (cd ${top}, or --cwd ${top})`)
    expect(init.stderr).toContain('`tanuki init --nested`')
    expect(readdirSync(sub)).toEqual([])

    const nested = await run(sub, ['init', '--nested'])
    expect(nested.code, nested.stderr).toBe(0)
    expect(nested.stdout).toContain('wrote .tanuki/tasks/TASK-001.md')
    // Now a project of its own: its commands use it.
    const list = await run(sub, ['task', 'list', '--json'])
    expect(list.code, list.stderr).toBe(0)
    expect((JSON.parse(list.stdout) as { id: string }[]).map((task) => task.id)).toEqual(['TASK-001'])
  })

  it('a git repository of its own below a project is its own work: nothing above is named', async () => {
    const project = createProject({ tasks: [{ id: 'A', verify: 'true' }] })
    const inner = join(realpathSync(project.dir), 'vendor', 'lib')
    mkdirSync(inner, { recursive: true })
    execFileSync('git', ['init', '-q'], { cwd: inner })
    // No project there, and none above is named: only `tanuki init` to start one.
    const status = await run(inner, ['project', 'status'])
    expect(status.code).toBe(1)
    expect(status.stderr).toContain(`no Tanuki project here (${inner})`)
    expect(status.stderr).not.toContain(realpathSync(project.dir) + ' has one')
    const init = await run(inner, ['init'])
    expect(init.code, init.stderr).toBe(0)
  })
})

describe('a task without completion criteria', () => {
  it('validate notes it; a run tries it once and sends it to review for a person', async () => {
    const open = '---\nid: OPEN-1\ntitle: Tidy the docs\n---\nTidy them.\n\n```sh\ntouch tidy.txt\n```\n'
    const project = createProject({
      files: { '.tanuki/tasks/OPEN-1.md': open },
      tasks: [{ id: 'DONE-1', sh: 'touch done.txt', verify: 'test -f done.txt' }],
    })
    const validate = await tanuki(project.dir, 'task', 'validate')
    expect(validate.code).toBe(0)
    expect(validate.stdout).toContain(
      'note: task without completion criteria, reviewed by a person after one agent run without an error: OPEN-1',
    )
    const start = await tanuki(project.dir, 'project', 'start')
    // Not every task is complete: one waits for a person.
    expect(start.code).toBe(1)
    const status = await statusJson(project.dir)
    expect(status.tasks.find((t) => t.id === 'OPEN-1')).toMatchObject({ status: 'review', iterations: 1 })
    expect(status.tasks.find((t) => t.id === 'DONE-1')).toMatchObject({ status: 'complete' })
  })
})

describe('a task whose role is not in agents', () => {
  /** A `claude` on PATH that only records that it was started: the paid agent a typo would run. */
  const fakeClaude = (dir: string): string => {
    const bin = join(dir, 'fake-bin')
    mkdirSync(bin)
    writeFileSync(join(bin, 'claude'), `#!/bin/sh\necho started >> ${join(dir, 'claude-ran.txt')}\nexit 1\n`, {
      mode: 0o755,
    })
    return bin
  }
  const config = (defaults = ''): string =>
    `import { defineConfig } from 'tanuki'\nexport default defineConfig({\n  cooldownMs: 50,${defaults}\n  agents: { dev: { backend: 'process', kind: 'shell' } },\n})\n`

  it('without `defaults` naming an agent: validate names the file and the fix; a run starts no default agent, and the task waits untouched', async () => {
    const project = createProject({
      config: config(),
      tasks: [
        { id: 'D-1', role: 'dev', sh: 'touch d.txt', verify: 'test -f d.txt' },
        { id: 'M-06', role: 'qa', sh: 'touch q.txt', verify: 'test -f q.txt' },
      ],
    })
    const validate = await tanuki(project.dir, 'task', 'validate')
    expect(validate.code).toBe(1)
    expect(validate.stderr).toContain(
      '.tanuki/tasks/M-06.md: field "role": "qa" is not in agents (tanuki.config.ts: dev), and `defaults` names no agent: ' +
        'its tasks would run on the default agent, claude (Claude Code, a paid one). Add agents.qa to the config, or fix the role in its task files',
    )
    const before = readFileSync(project.taskPath('M-06'), 'utf8')
    const env = { ...process.env, NO_COLOR: '1', PATH: `${fakeClaude(project.dir)}:${process.env.PATH}` }
    const start = await run(project.dir, ['project', 'start'], env)
    expect(start.code).toBe(1)
    expect(start.stdout).toContain('role qa paused: role "qa" is not in agents (tanuki.config.ts: dev)')
    // No paid agent was started for it, and its file was not touched.
    expect(existsSync(join(project.dir, 'claude-ran.txt'))).toBe(false)
    expect(readFileSync(project.taskPath('M-06'), 'utf8')).toBe(before)
    // The other role's work ran; this one waits, unharmed.
    const status = await statusJson(project.dir)
    expect(status.tasks.find((t) => t.id === 'D-1')).toMatchObject({ status: 'complete' })
    expect(status.tasks.find((t) => t.id === 'M-06')).toMatchObject({ status: 'pending', iterations: 0 })
  })

  it('with `defaults` naming an agent, it runs there, and validate says so in one line', async () => {
    const project = createProject({
      config: config("\n  defaults: { backend: 'process', kind: 'shell' },"),
      tasks: [{ id: 'M-06', role: 'qa', sh: 'touch q.txt', verify: 'test -f q.txt' }],
    })
    const validate = await tanuki(project.dir, 'task', 'validate')
    expect(validate.code, validate.stderr).toBe(0)
    expect(validate.stdout).toContain(
      'note: .tanuki/tasks/M-06.md: role "qa" is not in agents: it runs on defaults (kind shell)\n',
    )
    expect((await tanuki(project.dir, 'project', 'start')).code).toBe(0)
  })

  it('with a free agent as its backend’s own default (a plugin’s `kind: shell`), it runs there, and validate says so in one line', async () => {
    const project = createProject({
      config:
        "import { defineConfig, processAgents } from 'tanuki'\nexport default defineConfig({\n  cooldownMs: 50,\n" +
        "  plugins: [processAgents({ kind: 'shell' })],\n  agents: { dev: { backend: 'process', kind: 'shell' } },\n})\n",
      tasks: [{ id: 'M-06', role: 'qa', sh: 'touch q.txt', verify: 'test -f q.txt' }],
    })
    const validate = await tanuki(project.dir, 'task', 'validate')
    expect(validate.code, validate.stderr).toBe(0)
    expect(validate.stdout).toContain(
      `note: .tanuki/tasks/M-06.md: role "qa" is not in agents: it runs on its backend's defaults\n`,
    )
    const start = await tanuki(project.dir, 'project', 'start')
    expect(start.code, start.stdout + start.stderr).toBe(0)
    expect((await statusJson(project.dir)).tasks).toEqual([expect.objectContaining({ id: 'M-06', status: 'complete' })])
  })
})

describe("the programs roles' agents start", () => {
  /** A project whose role `dev` is the given agent options, with one task of it. */
  const project = (dev: string, defaults = ''): ReturnType<typeof createProject> =>
    createProject({
      config: `import { defineConfig } from 'tanuki'\nexport default defineConfig({${defaults}\n  agents: { dev: ${dev} },\n})\n`,
      tasks: [{ id: 'D-1', role: 'dev', verify: 'true' }],
    })

  it('a command whose program is not on the PATH (a typo): validate exits 1 naming agents.dev.command[0]', async () => {
    const dir = project("{ kind: 'command', command: ['my-agnet', '--go'] }").dir
    const validate = await tanuki(dir, 'task', 'validate')
    expect(validate.code, validate.stdout).toBe(1)
    expect(validate.stderr).toContain(
      `tanuki.config.ts: agents.dev.command[0]: "my-agnet" is not on this machine's PATH (nor a file): fix the command, or install it`,
    )
  })

  it('a command in `defaults` is named there, once', async () => {
    const dir = project(
      '{ count: 1 }, qa: { count: 1 }',
      "\n  defaults: { kind: 'command', command: ['my-agnet'] },",
    ).dir
    const validate = await tanuki(dir, 'task', 'validate')
    expect(validate.code, validate.stdout).toBe(1)
    expect(validate.stderr.split('defaults.command[0]: "my-agnet" is not on').length).toBe(2)
  })

  it('a command on the PATH passes, without a note', async () => {
    const validate = await tanuki(project("{ kind: 'command', command: ['cat'] }").dir, 'task', 'validate')
    expect(validate.code, validate.stderr).toBe(0)
    expect(validate.stdout).not.toContain('note:')
  })

  it('a command given as a path in the project passes when the file is there and committed, and is refused when not', async () => {
    const dir = project("{ kind: 'command', command: ['./bin/my-agent', '--go'] }").dir
    const missing = await tanuki(dir, 'task', 'validate')
    expect(missing.code, missing.stdout).toBe(1)
    expect(missing.stderr).toContain(
      `tanuki.config.ts: agents.dev.command[0]: "./bin/my-agent" is not a file (looked for ${join(realpathSync(dir), 'bin', 'my-agent')}): fix the path, or create the file`,
    )
    mkdirSync(join(dir, 'bin'))
    writeFileSync(join(dir, 'bin', 'my-agent'), '#!/bin/sh\ncat\n', { mode: 0o755 })
    // There, but not in the worktrees the agents work in, which are made from commits.
    const uncommitted = await tanuki(dir, 'task', 'validate')
    expect(uncommitted.code, uncommitted.stdout).toBe(1)
    expect(uncommitted.stderr).toContain(
      'tanuki.config.ts: agents.dev.command[0]: "./bin/my-agent" is in the project folder but not committed, and agents work in git worktrees made from commits: ' +
        'commit it (`git add ./bin/my-agent && git commit`), or give its absolute path',
    )
    execFileSync('git', ['add', 'bin/my-agent'], { cwd: dir })
    execFileSync('git', ['commit', '-qm', 'agent'], { cwd: dir })
    const validate = await tanuki(dir, 'task', 'validate')
    expect(validate.code, validate.stderr).toBe(0)
    expect(validate.stdout).not.toContain('note:')
  })

  it("an explicit bin that is not there is refused; the kind's default binary missing is a note", async () => {
    const bin = await tanuki(project("{ kind: 'claude', bin: 'claud' }").dir, 'task', 'validate')
    expect(bin.code, bin.stdout).toBe(1)
    expect(bin.stderr).toContain(
      `agents.dev.bin: "claud" is not on this machine's PATH (nor a file): fix the bin, or install it`,
    )
    // A folder that does not exist as the agents' PATH: no `claude` there, wherever this test runs.
    const dir = project("{ kind: 'claude', env: { PATH: '/nonexistent/tanuki-e2e' } }").dir
    const validate = await tanuki(dir, 'task', 'validate')
    expect(validate.code, validate.stderr).toBe(0)
    expect(validate.stdout).toContain(
      'note: role "dev": kind "claude" starts `claude`, which is not on the PATH its env sets: its agents could not start here. ' +
        'Install Claude Code where the agents run, or set `bin` to where it is (in `agents.<role>` or `defaults`).\n',
    )
  })

  it("a program a role's setup may make is a note, not a problem", async () => {
    const dir = project("{ kind: 'command', command: ['./node_modules/.bin/agent'], setup: 'npm ci' }").dir
    const validate = await tanuki(dir, 'task', 'validate')
    expect(validate.code, validate.stderr).toBe(0)
    expect(validate.stdout).toContain(`agents.dev.command[0]: "./node_modules/.bin/agent" is not a file`)
    expect(validate.stdout).toContain("unless the role's setup makes it.")
  })
})

describe('tasks from a plugin’s task source', () => {
  /** A config whose plugin brings its own tasks (as a tracker's plugin would), and none as files. */
  const trackerConfig = (
    tasks: string,
    load = 'tasks.map((input) => createTask(input))',
    extra = '',
    setup = '',
  ) => `import { createTask, defineConfig, definePlugin } from 'tanuki'

const tasks = ${tasks}
const tracker = definePlugin({
  name: 'acme:tracker',
  setup(ctx) {${setup}
    ctx.registerTaskSource({ name: 'tracker', load: async () => ${load}, update() {} })
  },
})

export default defineConfig({
  cooldownMs: 50,
  defaults: { backend: 'process', kind: 'shell' },
  plugins: [tracker],${extra}
})
`
  const task = (id: string, dependsOn: string[] = []) =>
    `{ id: '${id}', title: 'From the tracker', dependsOn: ${JSON.stringify(dependsOn)}, completion: { verify: 'test -f ${id}.txt' }, body: '\\\`\\\`\\\`sh\\ntouch ${id}.txt\\n\\\`\\\`\\\`\\n' }`

  it('run with no task files, and validate counts them', async () => {
    const project = createProject({ config: trackerConfig(`[${task('T-1')}, ${task('T-2', ['T-1'])}]`) })
    const validate = await tanuki(project.dir, 'task', 'validate')
    expect(validate.code, validate.stderr).toBe(0)
    expect(validate.stdout).toContain("0 tasks OK in .tanuki/tasks, and 2 from plugins' task sources")
    const start = await tanuki(project.dir, 'project', 'start')
    expect(start.code, start.stderr + start.stdout).toBe(0)
    expect(start.stdout).toMatch(/T-2 complete after 1 iteration/)
  })

  it('get the same checks before anything runs, and a source that throws is named', async () => {
    const project = createProject({ config: trackerConfig(`[${task('T-1', ['NOPE'])}]`) })
    const bad = await tanuki(project.dir, 'project', 'start')
    expect(bad.code).toBe(1)
    expect(bad.stderr).toContain('depends_on" names "NOPE", but no task has that id')
    const throwing = createProject({
      config: trackerConfig('[]', "Promise.reject(new Error('the tracker is down (503)'))"),
    })
    const down = await tanuki(throwing.dir, 'task', 'validate')
    expect(down.code).toBe(1)
    expect(down.stderr).toContain('task source "tracker" of plugin "acme:tracker": the tracker is down (503)')
  })

  it('are listed, shown and graphed with the task files’, and their status comes from the journal', async () => {
    // Edges both ways: a task file's task after the tracker's, and the tracker's after it.
    const project = createProject({
      config: trackerConfig(`[${task('T-1')}, ${task('T-2', ['F-1'])}]`),
      tasks: [{ id: 'F-1', title: 'Between them', dependsOn: ['T-1'], sh: 'touch F-1.txt', verify: 'test -f F-1.txt' }],
    })
    const before = await tanuki(project.dir, 'task', 'list')
    expect(before.code, before.stderr).toBe(0)
    expect(before.stdout).toMatch(/ID\s+STATUS\s+ROLE\s+PRIORITY\s+DEPENDS ON\s+SOURCE\s+TITLE/)
    expect(before.stdout).toMatch(/F-1\s+pending\s+default\s+medium\s+T-1\s+\.tanuki\/tasks\/F-1\.md\s+Between them/)
    expect(before.stdout).toMatch(
      /T-2\s+pending\s+default\s+medium\s+F-1\s+plugin acme:tracker \(tracker\)\s+From the tracker/,
    )
    const blocked = await tanuki(project.dir, 'task', 'show', 'T-2')
    expect(blocked.code, blocked.stderr).toBe(0)
    expect(blocked.stdout).toMatch(/plugin:\s+acme:tracker, task source "tracker"/)
    expect(blocked.stdout).toMatch(/blocked by:\s+F-1 \(incomplete: pending\)/)

    const start = await tanuki(project.dir, 'project', 'start')
    expect(start.code, start.stderr + start.stdout).toBe(0)

    // The tracker still says pending: what ran is the journal's to say.
    const list = await tanuki(project.dir, 'task', 'list', '--json')
    expect(list.code, list.stderr).toBe(0)
    const listed = JSON.parse(list.stdout) as {
      id: string
      status: string
      plugin?: { name: string; source: string }
    }[]
    expect(listed.map(({ id, status, plugin }) => ({ id, status, plugin }))).toEqual([
      { id: 'F-1', status: 'complete', plugin: undefined },
      { id: 'T-1', status: 'complete', plugin: { name: 'acme:tracker', source: 'tracker' } },
      { id: 'T-2', status: 'complete', plugin: { name: 'acme:tracker', source: 'tracker' } },
    ])
    const show = await tanuki(project.dir, 'task', 'show', 'T-2')
    expect(show.code, show.stderr).toBe(0)
    expect(show.stdout).toContain('T-2: From the tracker')
    expect(show.stdout).toMatch(/status:\s+complete \(agent default-1\)/)
    expect(show.stdout).toMatch(/iterations:\s+1/)
    expect(show.stdout).toContain('.tanuki/logs/tasks/T-2/iteration-001.log')
    const graph = await tanuki(project.dir, 'task', 'graph')
    expect(graph.code, graph.stderr).toBe(0)
    expect(graph.stdout).toBe(
      'level 0\n  [complete] T-1 (default) from acme:tracker (tracker)\n' +
        'level 1\n  [complete] F-1 (default)  <- T-1\n' +
        'level 2\n  [complete] T-2 (default) from acme:tracker (tracker)  <- F-1\n',
    )
    const mermaid = await tanuki(project.dir, 'task', 'graph', '--mermaid')
    const node = (id: string): string => new RegExp(`(\\w+)\\["${id}: `).exec(mermaid.stdout)![1]!
    expect(mermaid.stdout).toContain(`${node('T-1')} --> ${node('F-1')}`)
    expect(mermaid.stdout).toContain(`${node('F-1')} --> ${node('T-2')}`)

    const status = await statusJson(project.dir)
    expect(status.status).toBe('complete')
    expect(status.tasks.map(({ id, status, iterations }) => ({ id, status, iterations }))).toEqual([
      { id: 'F-1', status: 'complete', iterations: 1 },
      { id: 'T-1', status: 'complete', iterations: 1 },
      { id: 'T-2', status: 'complete', iterations: 1 },
    ])
    expect(status.progress).toMatchObject({ total: 3, complete: 3 })
    const table = await tanuki(project.dir, 'project', 'status')
    expect(table.stdout).toMatch(/T-2\s+From the tracker\s+default\s+medium\s+complete/)
  })

  it('open in the dashboard with their whole spec, during the run and after, as the config’s and the files’ do', async () => {
    const setups = join(mkdtempSync(join(tmpdir(), 'tanuki-e2e-setups-')), 'setups.log')
    const project = createProject({
      config: trackerConfig(
        `[${task('T-1')}]`,
        undefined,
        "\n  tasks: [{ id: 'C-1', title: 'In the config', role: 'default', priority: 'high', completion: { verify: 'true' }, body: 'Done by hand.' }],",
        `\n    require('node:fs').appendFileSync(${JSON.stringify(setups)}, 'setup\\n')`,
      ),
      tasks: [{ id: 'F-1', title: 'A file', sh: 'touch F-1.txt', verify: 'test -f F-1.txt' }],
    })
    const setupCount = (): number => readFileSync(setups, 'utf8').split('\n').filter(Boolean).length
    const opened = async (run: ReturnType<typeof startTanuki>) => {
      const url = new URL(
        await waitFor('the dashboard URL', () => /Dashboard: (http:\/\/\S+)/.exec(run.output().stdout)?.[1]),
      )
      return async (id: string) => {
        const response = await fetch(`${url.origin}/api/tasks/${id}?token=${url.searchParams.get('token')}`)
        return { status: response.status, body: (await response.json()) as Record<string, any> }
      }
    }
    const expectDetails = async (detail: Awaited<ReturnType<typeof opened>>, iterations: number) => {
      const tracked = await detail('T-1')
      expect(tracked.status).toBe(200)
      expect(tracked.body.spec).toMatchObject({
        id: 'T-1',
        title: 'From the tracker',
        completion: { verify: 'test -f T-1.txt' },
        body: '```sh\ntouch T-1.txt\n```\n',
      })
      expect(tracked.body.iterations).toHaveLength(iterations)
      expect((await detail('C-1')).body.spec).toMatchObject({
        id: 'C-1',
        priority: 'high',
        completion: { verify: 'true' },
        body: 'Done by hand.',
      })
      expect((await detail('F-1')).body.spec).toMatchObject({ id: 'F-1', source: '.tanuki/tasks/F-1.md' })
      expect((await detail('NOPE')).status).toBe(404)
    }

    // During a run (kept on with --watch): the run's own tasks answer, and the plugin is not set
    // up again for them (the check set it up once, the run once).
    const run = startTanuki(project.dir, 'project', 'start', '--watch', '--ui', '--port', '0')
    const during = await opened(run)
    await waitFor('the run to settle', async () => (await statusJson(project.dir)).progress.complete === 3, 30_000)
    const before = setupCount()
    for (let i = 0; i < 3; i++) await expectDetails(during, 1)
    expect(setupCount()).toBe(before)
    expect((await tanuki(project.dir, 'project', 'stop')).code).toBe(0)
    expect((await run.done).code).toBe(0)

    // \`tanuki ui\` after the run, as a person opens it: the tracker is read for its task.
    const ui = startTanuki(project.dir, 'ui', '--port', '0')
    await expectDetails(await opened(ui), 1)
    ui.child.kill('SIGINT')
    expect((await ui.done).code).toBe(0)
  })

  it('are rerun, reset and marked by hand like the task files’, dependents across sources included', async () => {
    const project = createProject({
      config: trackerConfig(`[${task('T-1')}, ${task('T-2', ['F-1'])}]`),
      tasks: [{ id: 'F-1', title: 'Between them', dependsOn: ['T-1'], sh: 'true' }],
    })
    const mark = await tanuki(project.dir, 'task', 'mark', 'T-1', 'complete')
    expect(mark.code, mark.stderr).toBe(0)
    expect(mark.stdout).toContain('Marked complete: T-1 (recorded for the next run).')
    expect(journalStatuses(project.dir)).toEqual({ 'T-1': 'complete' })
    const rerun = await tanuki(project.dir, 'task', 'rerun', 'T-1', '--with-dependents')
    expect(rerun.code, rerun.stderr).toBe(0)
    expect(rerun.stdout).toContain('Back to pending: T-1, F-1, T-2 (recorded for the next run).')
    const reset = await tanuki(project.dir, 'task', 'reset', 'T-2')
    expect(reset.code, reset.stderr).toBe(0)
    expect(journalStatuses(project.dir)).toEqual({ 'T-1': 'pending', 'F-1': 'pending', 'T-2': 'pending' })

    // With the tracker down, its tasks cannot be found, nor can F-1's dependents all be known.
    writeFileSync(
      join(project.dir, 'tanuki.config.ts'),
      trackerConfig('[]', "Promise.reject(new Error('the tracker is down (503)'))"),
    )
    const gone = await tanuki(project.dir, 'task', 'rerun', 'T-1')
    expect(gone.code).toBe(1)
    expect(gone.stderr).toContain('No task "T-1"')
    expect(gone.stderr).toContain('task source "tracker" of plugin "acme:tracker": the tracker is down (503)')
    const dependents = await tanuki(project.dir, 'task', 'rerun', 'F-1', '--with-dependents')
    expect(dependents.code).toBe(1)
    expect(dependents.stderr).toContain('Cannot rerun the dependents of "F-1"')
    expect(dependents.stderr).toContain('task source "tracker" of plugin "acme:tracker": the tracker is down (503)')
    const alone = await tanuki(project.dir, 'task', 'rerun', 'F-1')
    expect(alone.code, alone.stderr).toBe(0)
  })

  it('land with the task files’ through `tanuki land`, in dependency order across sources', async () => {
    const project = createProject({
      config: trackerConfig(`[${task('T-1')}, ${task('T-2', ['F-1'])}]`, undefined, '\n  land: { auto: false },'),
      tasks: [{ id: 'F-1', dependsOn: ['T-1'], sh: 'touch F-1.txt', verify: 'test -f F-1.txt' }],
    })
    const start = await tanuki(project.dir, 'project', 'start')
    expect(start.code, start.stderr + start.stdout).toBe(0)
    const land = await tanuki(project.dir, 'land')
    expect(land.code, land.stderr + land.stdout).toBe(0)
    expect(land.stdout).toMatch(/landed T-1 on main as \w+\nlanded F-1 on main as \w+\nlanded T-2 on main as \w+\n/)
    const trailers = execFileSync('git', ['log', '--format=%(trailers:key=Tanuki-Task,valueonly)', 'main'], {
      cwd: project.dir,
      encoding: 'utf8',
    })
    expect(trailers.split('\n').filter(Boolean)).toEqual(['T-2', 'F-1', 'T-1'])
  })

  it('that cannot be read are named, with what to do, and the other tasks still show', async () => {
    const project = createProject({
      config: trackerConfig('[]', "Promise.reject(new Error('the tracker is down (503)'))"),
      tasks: [{ id: 'F-1', title: 'A task file', sh: 'true' }],
    })
    const named =
      'task source "tracker" of plugin "acme:tracker": the tracker is down (503). Its tasks are left out until it loads; ' +
      'fix what it says, or take the plugin out of `plugins` in tanuki.config.ts.'
    const list = await tanuki(project.dir, 'task', 'list')
    expect(list.code).toBe(1)
    expect(list.stdout).toMatch(/F-1\s+pending/)
    expect(list.stderr).toContain(`problem: ${named}`)
    const shown = await tanuki(project.dir, 'task', 'show', 'F-1')
    expect(shown.code, shown.stderr).toBe(0)
    expect(shown.stdout).toContain('F-1: A task file')
    expect(shown.stderr).toContain(named)
    const missing = await tanuki(project.dir, 'task', 'show', 'T-1')
    expect(missing.code).toBe(1)
    expect(missing.stderr).toContain('No task "T-1"')
    expect(missing.stderr).toContain(named)
    const graph = await tanuki(project.dir, 'task', 'graph')
    expect(graph.code).toBe(1)
    expect(graph.stderr).toContain(named)
    const status = await tanuki(project.dir, 'project', 'status', '--json')
    expect(status.code, status.stderr).toBe(0)
    const doc = JSON.parse(status.stdout) as StatusJson & { problems?: string[] }
    expect(doc.tasks.map((t) => t.id)).toEqual(['F-1'])
    expect(doc.problems).toEqual([named])

    // A plugin that cannot even set up is named too.
    writeFileSync(
      join(project.dir, 'tanuki.config.ts'),
      `import { defineConfig } from 'tanuki'

export default defineConfig({
  defaults: { backend: 'process', kind: 'shell' },
  plugins: [{ name: 'acme:tracker', setup() { throw new Error('ACME_TOKEN is not set') } }],
})
`,
    )
    const setup = await tanuki(project.dir, 'task', 'list')
    expect(setup.code).toBe(1)
    expect(setup.stdout).toMatch(/F-1\s+pending/)
    expect(setup.stderr).toContain(
      'problem: plugin "acme:tracker" failed to set up: ACME_TOKEN is not set. ' +
        "The tasks of plugins' task sources are left out until it does",
    )
  })
})

describe('a reporter that never finishes closing', () => {
  it('cannot hold the run: it ends, says so, and releases the lock', async () => {
    const config = configFor(
      { default: 1 },
      `
  plugins: [{
    name: 'acme:webhook',
    setup(ctx) { ctx.registerReporter({ name: 'acme:webhook', onClose: () => new Promise(() => {}) }) },
  }],`,
    )
    const project = createProject({ config, tasks: [{ id: 'A', sh: 'touch a.txt', verify: 'test -f a.txt' }] })
    const result = await tanuki(project.dir, 'project', 'start')
    expect(result.code, result.stderr).toBe(0)
    expect(result.stderr).toContain('tanuki: closing reporter acme:webhook: its onClose did not finish within 5000 ms')
    expect(lockPid(project.dir)).toBeUndefined()
    expect((await statusJson(project.dir)).tasks.find((t) => t.id === 'A')?.status).toBe('complete')
  })
})
