/**
 * Landing on a large repository: the git lander against a bare script doing the same git steps.
 *
 * Run: `node --import tsx bench/land.bench.ts` (options: `--files 20000`, `--tasks 200`, `--keep`).
 *
 * (a) landing: a repository of N files (one commit); 200 completed one-file tasks, their work
 *     recorded as the agents' workspaces record it (`refs/tanuki/<project>/tasks/<id>/work`).
 *     The lander lands them one after the other (verify `true`), moving `main` in the person's
 *     checkout each time. The bare script does what any merge queue must per task: cherry-pick
 *     the work onto the integration branch, commit, run the gate, and fast-forward `main` where
 *     it is checked out. Target: ≤ 1.5× the script.
 * (b) a new agent's worktree on that repository (`openWorkspace`) against `git worktree add`
 *     alone. Target: ≤ 1.2×.
 *
 * Prints figures next to their targets; never fails on them.
 */
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { createTask, type ProjectInfo } from '@tanuki/core'
import { createGitLander, openWorkspace, taskRef, worktreePath } from '@tanuki/plugin-agent-process/kit'

const { values: options } = parseArgs({
  options: {
    files: { type: 'string', default: '20000' },
    tasks: { type: 'string', default: '200' },
    keep: { type: 'boolean', default: false },
  },
})
const FILES = Number(options.files)
const TASKS = Number(options.tasks)
const temps: string[] = []
const ms = (value: number): string => `${value.toFixed(value < 10 ? 1 : 0)} ms`
const verdict = (ok: boolean): string => (ok ? 'meets' : 'MISSES')

const git = (cwd: string, ...args: string[]): string =>
  execFileSync('git', ['-c', 'user.name=bench', '-c', 'user.email=bench@tanuki.invalid', ...args], {
    cwd,
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
  }).trim()

/** A repository of FILES small files in folders of 500, one commit, with TASKS tasks' work recorded. */
function makeRepo(label: string): { root: string; project: ProjectInfo } {
  const root = mkdtempSync(join(tmpdir(), `tanuki-bench-land-${label}-`))
  temps.push(root)
  for (let i = 0; i < FILES; i++) {
    const dir = join(root, 'src', `d${Math.floor(i / 500)}`)
    if (i % 500 === 0) mkdirSync(dir, { recursive: true })
    writeFileSync(join(dir, `f${i}.txt`), `file ${i}\n`)
  }
  git(root, 'init', '-q', '-b', 'main')
  // No automatic gc in the middle of a measurement (it runs in the background); packed below.
  git(root, 'config', 'gc.auto', '0')
  git(root, 'add', '-A')
  git(root, 'commit', '-qm', 'a large project')
  const project: ProjectInfo = {
    root,
    name: 'bench',
    stateDir: join(root, '.tanuki'),
    worktreesDir: `${root}-worktrees`,
  }
  temps.push(`${root}-worktrees`)
  // Each task's work: one new file, as one commit on main (where its agent started).
  const index = join(root, '.git', 'bench-index')
  for (let i = 0; i < TASKS; i++) {
    const env = { ...process.env, GIT_INDEX_FILE: index }
    const run = (...args: string[]) =>
      execFileSync('git', ['-c', 'user.name=bench', '-c', 'user.email=bench@tanuki.invalid', ...args], {
        cwd: root,
        env,
        encoding: 'utf8',
        input: args[0] === 'hash-object' ? `task ${i}\n` : undefined,
      }).trim()
    run('read-tree', 'main')
    const blob = run('hash-object', '-w', '--stdin')
    run('update-index', '--add', '--cacheinfo', `100644,${blob},tasks/T-${i}.txt`)
    const tree = run('write-tree')
    const work = run('commit-tree', tree, '-p', 'main', '-m', `Task T-${i}\n\nTanuki-Task: T-${i}`)
    git(root, 'update-ref', taskRef(project, `T-${i}`, 'work'), work)
    git(root, 'update-ref', taskRef(project, `T-${i}`, 'tip'), work)
  }
  rmSync(index, { force: true })
  git(root, 'gc', '-q')
  return { root, project }
}

async function landing(): Promise<void> {
  console.log(`\n## (a) landing ${TASKS} one-file tasks into a repository of ${FILES.toLocaleString('en')} files\n`)
  const tanuki = makeRepo('lander')
  const lander = createGitLander({
    project: tanuki.project,
    land: { enabled: true, auto: true, strategy: 'squash' },
  })
  const tasks = Array.from({ length: TASKS }, (_, i) =>
    createTask({ id: `T-${i}`, title: `Task T-${i}`, completion: { verify: 'true' } }),
  )
  const startedPrepare = performance.now()
  await lander.prepare()
  const prepareMs = performance.now() - startedPrepare
  const began = performance.now()
  for (const task of tasks) {
    const outcome = await lander.land({ task, signal: new AbortController().signal })
    if (outcome.status !== 'landed' || !outcome.moved)
      throw new Error(`${task.id} did not land: ${JSON.stringify(outcome)}`)
  }
  const landerMs = performance.now() - began
  const landed = Number(git(tanuki.root, 'rev-list', '--count', 'main'))
  if (landed !== TASKS + 1) throw new Error(`main has ${landed} commits, expected ${TASKS + 1}: not every task landed`)

  // The same steps, as a script: cherry-pick onto the integration branch, commit, the gate, ff main.
  const bare = makeRepo('script')
  const integration = `${bare.root}-integration`
  temps.push(integration)
  git(bare.root, 'worktree', 'add', '-q', '-b', 'integration', integration, 'main')
  const scriptBegan = performance.now()
  for (let i = 0; i < TASKS; i++) {
    git(integration, 'cherry-pick', '--no-commit', taskRef(bare.project, `T-${i}`, 'work'))
    git(integration, 'commit', '-q', '--no-verify', '-m', `Task T-${i}\n\nTanuki-Task: T-${i}`)
    execFileSync('sh', ['-c', 'true'], { cwd: integration })
    git(bare.root, 'merge', '--ff-only', '-q', 'integration')
  }
  const scriptMs = performance.now() - scriptBegan

  console.log('| run | total | per landed task | ratio |')
  console.log('| --- | ---: | ---: | ---: |')
  console.log(`| bare script (cherry-pick, commit, gate, ff) | ${ms(scriptMs)} | ${ms(scriptMs / TASKS)} | 1.00× |`)
  console.log(
    `| Tanuki's git lander | ${ms(landerMs)} | ${ms(landerMs / TASKS)} | ${(landerMs / scriptMs).toFixed(2)}× |`,
  )
  console.log(`\nprepare (integration branch and worktree, crash scan): ${ms(prepareMs)}; main has ${landed} commits.`)
  console.log(`Target ≤ 1.5× the script: ${verdict(landerMs / scriptMs <= 1.5)}.`)
}

async function worktrees(): Promise<void> {
  console.log(`\n## (b) a new agent's worktree on the ${FILES.toLocaleString('en')}-file repository\n`)
  const { root, project } = makeRepo('worktree')
  const rounds = 5
  let tanukiMs = 0
  let gitMs = 0
  for (let i = 0; i < rounds; i++) {
    const plain = join(`${root}-worktrees`, `plain-${i}`)
    let began = performance.now()
    git(root, 'worktree', 'add', '-q', '-b', `plain-${i}`, plain, 'HEAD')
    gitMs += performance.now() - began
    began = performance.now()
    await openWorkspace({ project, agent: `agent-${i}` })
    tanukiMs += performance.now() - began
    if (!worktreePath(project, `agent-${i}`)) throw new Error('no worktree')
  }
  console.log('| run | mean of 5 | ratio |')
  console.log('| --- | ---: | ---: |')
  console.log(`| git worktree add | ${ms(gitMs / rounds)} | 1.00× |`)
  console.log(
    `| openWorkspace (records, name checks, worktree add) | ${ms(tanukiMs / rounds)} | ${(tanukiMs / gitMs).toFixed(2)}× |`,
  )
  console.log(`\nTarget ≤ 1.2× git worktree add: ${verdict(tanukiMs / gitMs <= 1.2)}.`)
}

console.log(`# Landing figures — ${cpus().length} CPUs, load ${loadavg()[0]!.toFixed(1)}, Node ${process.version}`)
try {
  await landing()
  await worktrees()
} finally {
  if (!options.keep) for (const dir of temps) rmSync(dir, { recursive: true, force: true })
  else console.log(`\nKept: ${temps.join(' ')}`)
}
