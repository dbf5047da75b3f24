// A role's `setup`, end to end with the built CLI: a Node project whose verify is `npm test`, its
// test runner a devDependency installed from a folder of the project (no registry), `command`
// agents in git worktrees, which have none of the project's installed dependencies. Without a
// setup, landing stops (the integration worktree has no node_modules); with one, the work lands;
// one that fails pauses the role until the config is fixed and the project resumed.
import { execFileSync } from 'node:child_process'
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { cleanup, createProject, readEvents, statusJson, tanuki, type TempProject } from './helpers.ts'

afterEach(cleanup)

const INSTALL = 'npm install --offline --no-audit --no-fund'

/** Writes the file of its task (`done-S-1.txt`, from the prompt's title); `install` first runs `npm install` itself. */
function agentCommand(install: boolean): string {
  const script =
    `${install ? `${INSTALL} >/dev/null 2>&1; ` : ''}` +
    'id=$(printf "%s\\n" "$1" | grep -o -m1 "Task S-[0-9]" | cut -d" " -f2); echo ok > "done-$id.txt"'
  return JSON.stringify(['sh', '-c', script, 'agent', '{prompt}'])
}

function config(options: { install: boolean; setup?: string; land?: string }): string {
  const setup = options.setup === undefined ? '' : `, setup: ${JSON.stringify(options.setup)}`
  return `import { defineConfig } from 'tanuki'

export default defineConfig({
  cooldownMs: 50,${options.land ? `\n  land: ${options.land},` : ''}
  defaults: { backend: 'process', kind: 'command', command: ${agentCommand(options.install)}${setup} },
  agents: { default: { count: 2 } },
})
`
}

/**
 * A Node project as people have them: `npm test` runs `runner`, a devDependency from
 * `vendor/runner`, which passes when the work is there; the lockfile is committed and
 * node_modules is not (installed here, as in a person's checkout, but in no worktree).
 */
function nodeProject(configText: string): TempProject {
  const project = createProject({
    tasks: [
      { id: 'S-1', verify: 'npm test' },
      { id: 'S-2', verify: 'npm test' },
    ],
    files: {
      'package.json': `${JSON.stringify(
        {
          name: 'app',
          version: '1.0.0',
          private: true,
          scripts: { test: 'runner' },
          devDependencies: { runner: 'file:./vendor/runner' },
        },
        null,
        2,
      )}\n`,
      'vendor/runner/package.json': `${JSON.stringify({ name: 'runner', version: '1.0.0', bin: { runner: './cli.js' } })}\n`,
      'vendor/runner/cli.js': `#!/usr/bin/env node
const done = require('node:fs').readdirSync('.').filter((name) => name.startsWith('done-'))
console.log('runner: ' + done.length + ' passed')
process.exit(done.length > 0 ? 0 : 1)
`,
      '.gitignore': 'node_modules/\n',
      'tanuki.config.ts': configText,
    },
    config: null,
  })
  chmodSync(join(project.dir, 'vendor/runner/cli.js'), 0o755)
  execFileSync('sh', ['-c', `${INSTALL} >/dev/null`], { cwd: project.dir })
  const git = (...args: string[]) =>
    execFileSync('git', ['-c', 'user.name=e2e', '-c', 'user.email=e2e@tanuki.invalid', ...args], { cwd: project.dir })
  git('add', '-A')
  git('commit', '-qm', 'lockfile, runnable cli')
  return project
}

const landedFiles = (dir: string): string[] =>
  execFileSync('git', ['ls-tree', '--name-only', 'main'], { cwd: dir, encoding: 'utf8' })
    .split('\n')
    .filter((name) => name.startsWith('done-'))

describe("a Node project's `npm test` verify, in agents' worktrees", () => {
  it('without a setup, the work is done (its agents install for themselves) but the landing gate cannot run: nothing lands', async () => {
    const project = nodeProject(config({ install: true }))
    const run = await tanuki(project.dir, 'project', 'start')
    expect(run.code).toBe(1)
    // Whichever task completed first lands first.
    expect(run.stdout + run.stderr).toMatch(
      /the verify of task S-[12] `npm test` could not run on the combined work \(exit 127: sh: 1: runner: not found\)/,
    )
    const status = await statusJson(project.dir)
    expect(status.tasks.map((t) => [t.id, t.status, Boolean(t.landed)])).toEqual([
      ['S-1', 'complete', false],
      ['S-2', 'complete', false],
    ])
    expect(landedFiles(project.dir)).toEqual([])
  })

  it('with `setup`, each worktree and the integration worktree install first: the tasks complete and land', async () => {
    const project = nodeProject(config({ install: false, setup: INSTALL }))
    const run = await tanuki(project.dir, 'project', 'start')
    expect(run.code, run.stdout + run.stderr).toBe(0)
    expect(landedFiles(project.dir).sort()).toEqual(['done-S-1.txt', 'done-S-2.txt'])
    const status = await statusJson(project.dir)
    for (const task of status.tasks) expect(task).toMatchObject({ status: 'complete', iterations: 1 })
    // What npm printed is in the task's log, before its iteration; the console says nothing of it.
    const logs = await tanuki(project.dir, 'logs', 'S-1')
    expect(logs.stdout).toMatch(new RegExp(`## Setup: \`${INSTALL}\` exited 0\\n\\n[^]*\\n# S-1 — iteration 1/`))
    expect(run.stdout).not.toContain('setup')
    expect(readEvents(project.dir).filter((e) => e.event === 'task:setup')).toEqual([
      expect.objectContaining({ command: INSTALL, exitCode: 0 }),
      expect.objectContaining({ command: INSTALL, exitCode: 0 }),
    ])
    // The project's own checkout was left alone: its lockfile is as committed.
    const changed = ['status', '--porcelain', '--', 'package.json', 'package-lock.json', 'vendor']
    expect(execFileSync('git', changed, { cwd: project.dir, encoding: 'utf8' })).toBe('')
  })

  it('a setup that fails runs no agent and pauses the role, naming what to fix; fixed and resumed, the work lands', async () => {
    const broken = `${INSTALL} tanuki-e2e-no-such-package`
    const project = nodeProject(config({ install: false, setup: broken }))
    const run = await tanuki(project.dir, 'project', 'start')
    expect(run.code).toBe(1)
    const said = run.stdout + run.stderr
    expect(said).toContain(`role default paused: setup \`${broken}\` exited 1 in the workspace of agent default-`)
    expect(said).toContain(
      'No agent ran; every task of role "default" would meet it. Correct `defaults.setup` (or what it needs); `tanuki logs S-',
    )
    expect(said).toContain('fix it, then `tanuki project resume`')
    const status = await statusJson(project.dir)
    for (const task of status.tasks) expect(task).toMatchObject({ status: 'pending', iterations: 0 })
    // No agent was paid for: no work anywhere.
    expect(landedFiles(project.dir)).toEqual([])
    // npm's own words are in the log of the task that met it.
    const met = readEvents(project.dir).find((e) => e.event === 'task:setup') as { taskId: string; output: string }
    expect((await tanuki(project.dir, 'logs', met.taskId)).stdout).toContain(met.output.trim().split('\n').at(-1))

    writeFileSync(join(project.dir, 'tanuki.config.ts'), config({ install: false, setup: INSTALL }))
    const resumed = await tanuki(project.dir, 'project', 'resume')
    expect(resumed.code, resumed.stdout + resumed.stderr).toBe(0)
    expect(landedFiles(project.dir).sort()).toEqual(['done-S-1.txt', 'done-S-2.txt'])
    expect(existsSync(join(project.dir, 'done-S-1.txt'))).toBe(true)
    expect(readFileSync(join(project.dir, 'done-S-2.txt'), 'utf8')).toBe('ok\n')
  })

  it('`tanuki land` runs the setup before the gate too; one that cannot run there stops it, naming the setup and its output', async () => {
    const project = nodeProject(config({ install: false, setup: INSTALL, land: '{ auto: false }' }))
    const run = await tanuki(project.dir, 'project', 'start')
    expect(run.code, run.stdout + run.stderr).toBe(0)
    expect(landedFiles(project.dir)).toEqual([])

    // A setup that cannot run at all (a typo in its program): no agent's work can fix it.
    const broken = 'nmp ci'
    writeFileSync(
      join(project.dir, 'tanuki.config.ts'),
      config({ install: false, setup: broken, land: '{ auto: false }' }),
    )
    const stopped = await tanuki(project.dir, 'land')
    expect(stopped.code).toBe(1)
    expect(stopped.stdout + stopped.stderr).toContain(`setup \`${broken}\` of role "default" exited 127 (`)
    // Whichever task completed first lands first: its gate meets the setup.
    expect(stopped.stdout + stopped.stderr).toMatch(
      /nmp: not found\) in the integration worktree, before the gate of task S-[12], so nothing more landed: the work waits, complete\. Fix it \(`defaults\.setup` in the config, or what it needs\), then run `tanuki land` again\./,
    )
    expect(landedFiles(project.dir)).toEqual([])

    writeFileSync(
      join(project.dir, 'tanuki.config.ts'),
      config({ install: false, setup: INSTALL, land: '{ auto: false }' }),
    )
    const landed = await tanuki(project.dir, 'land')
    expect(landed.code, landed.stdout + landed.stderr).toBe(0)
    expect(landedFiles(project.dir).sort()).toEqual(['done-S-1.txt', 'done-S-2.txt'])
  })
})

/** The files a landed task's commit changed, per task, from the trailers on `main`. */
function landedChanges(dir: string): Record<string, string[]> {
  const out = execFileSync(
    'git',
    ['log', 'main', '--grep=^Tanuki-Task: ', '--format=%x00%(trailers:key=Tanuki-Task,valueonly)', '--name-only'],
    {
      cwd: dir,
      encoding: 'utf8',
    },
  )
  const changes: Record<string, string[]> = {}
  for (const entry of out.split('\0').slice(1)) {
    const [task, ...files] = entry.split('\n').filter(Boolean)
    changes[task!.trim()] = files.sort()
  }
  return changes
}

const tree = (dir: string): string[] =>
  execFileSync('git', ['ls-tree', '-r', '--name-only', 'main'], { cwd: dir, encoding: 'utf8' }).split('\n')

describe('what a setup creates that git would take (a project without .gitignore)', () => {
  it("`npm install` in a project without .gitignore: node_modules and the new lockfile stay out of the tasks' commits, said once", async () => {
    const project = createProject({
      tasks: [
        { id: 'S-1', verify: 'test -f done-S-1.txt' },
        { id: 'S-2', verify: 'test -f done-S-2.txt' },
      ],
      files: {
        // A local library, as the person who met this had: npm links it into node_modules.
        'package.json': `${JSON.stringify({ name: 'app', version: '1.0.0', private: true, dependencies: { mylib: 'file:./vendor/mylib' } }, null, 2)}\n`,
        'vendor/mylib/package.json': `${JSON.stringify({ name: 'mylib', version: '1.0.0' })}\n`,
        'vendor/mylib/index.js': 'module.exports = 1\n',
        'tanuki.config.ts': config({ install: false, setup: INSTALL }),
      },
      config: null,
    })
    const run = await tanuki(project.dir, 'project', 'start')
    expect(run.code, run.stdout + run.stderr).toBe(0)
    // Each task's commit holds its agent's work, and nothing the setup made.
    expect(landedChanges(project.dir)).toEqual({ 'S-1': ['done-S-1.txt'], 'S-2': ['done-S-2.txt'] })
    expect(tree(project.dir).filter((file) => /node_modules|package-lock/.test(file))).toEqual([])
    // Both agents' setups made them; the console says it once, naming them and what to do.
    const said = `setup \`${INSTALL}\` of role "default" created node_modules/, package-lock.json, which git neither tracks nor ignores: left out of the tasks' commits. Add them to the project's .gitignore`
    expect(run.stdout.split(said).length - 1, run.stdout).toBe(1)
    const logs = await tanuki(project.dir, 'logs', 'S-1')
    expect(logs.stdout).toContain(
      "Left out of the task's commits: node_modules/, package-lock.json (the setup created them",
    )
    expect(readEvents(project.dir).filter((e) => e.event === 'task:setup')).toEqual([
      expect.objectContaining({ leftOut: ['node_modules/', 'package-lock.json'] }),
      expect.objectContaining({ leftOut: ['node_modules/', 'package-lock.json'] }),
    ])
  })

  it('a tracked lockfile the setup rewrites still lands with the task; what it creates untracked does not', async () => {
    const setup =
      'mkdir -p node_modules/x && echo x > node_modules/x/index.js && echo made > setup-made.txt && echo v2 > deps.lock'
    const project = createProject({
      tasks: [{ id: 'S-1', verify: 'test -f done-S-1.txt' }],
      files: { 'deps.lock': 'v1\n', 'tanuki.config.ts': config({ install: false, setup }) },
      config: null,
    })
    const run = await tanuki(project.dir, 'project', 'start')
    expect(run.code, run.stdout + run.stderr).toBe(0)
    expect(landedChanges(project.dir)).toEqual({ 'S-1': ['deps.lock', 'done-S-1.txt'] })
    expect(execFileSync('git', ['show', 'main:deps.lock'], { cwd: project.dir, encoding: 'utf8' })).toBe('v2\n')
    expect(run.stdout).toContain('created node_modules/, setup-made.txt, which git neither tracks nor ignores')
  })
})
