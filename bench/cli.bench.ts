/**
 * The `tanuki` CLI end to end, as a person runs it (the built binary, task files on disk, agents
 * as local processes), and the status writes underneath: the figures of issue 12, side by side.
 *
 * Run: `node --import tsx bench/cli.bench.ts` after `npx -y pnpm@10.34.8 -r build`.
 * Options: `--only throughput,startup,writes` (any of them); `--tasks 1000`, `--agents 8`,
 * `--files 10000,100000`, `--changes 3000`, `--reps 3` (runs per figure: the median is printed),
 * `--land-false-reps 1` (runs of the two `land: false` configurations), `--keep` (leave the temp
 * projects).
 *
 * (a) throughput: N task files whose agent is a trivial command (`echo DONE`, kind `command`) on
 *     8 agents, in a git repository, against `xargs -P 8` running the same N commands; with the
 *     defaults (landing on), with `session: true`, and both with `land: false`. Beside them, the
 *     floors: a Node loop of `spawn`, bare shells running the steps of `session: true`, and a
 *     fresh Node driving the agent kit's shell sessions with nothing else of Tanuki; and the budget
 *     the target leaves for the steps once the CLI has started, in CPU-seconds on this machine.
 *     Target: the whole command at most 1.5× xargs.
 * (b) start-up: 10,000 and 100,000 task files; time from spawning `tanuki project start` to the
 *     first `task:assigned`, and peak RSS then, with the parallel parse (tinypool) and without.
 *     Targets: < 0.5 s for 10,000; < 3 s and < 400 MB for 100,000.
 * (c) writes: event-loop time per status change, the old way (a task file's temp file and rename,
 *     synchronously, per change) and the new (a journal append, group committed, and the
 *     background status mirror).
 *
 * This is not a test: it prints figures next to the targets and never fails on them.
 */
import { spawn, spawnSync } from 'node:child_process'
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { availableParallelism, cpus, tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { systemClock, updateTaskText, type TaskSource, type TaskStatus } from '../packages/core/src/index.ts'
import type { Bus } from '../packages/core/src/orchestrator/bus.ts'
import { StatusMirror } from '../packages/core/src/orchestrator/mirror.ts'
import { FileTaskSource } from '../packages/tanuki/src/file-source.ts'
import { openJournal } from '../packages/tanuki/src/journal.ts'
import { load, mb, median, ms, peakRss, ratio, readEvents, spread, verdict } from './cli-support.ts'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..')
const TANUKI = join(ROOT, 'node_modules', '.bin', 'tanuki')
const { values: options } = parseArgs({
  options: {
    only: { type: 'string', default: 'throughput,startup,writes' },
    tasks: { type: 'string', default: '1000' },
    agents: { type: 'string', default: '8' },
    files: { type: 'string', default: '10000,100000' },
    changes: { type: 'string', default: '3000' },
    reps: { type: 'string', default: '3' },
    'land-false-reps': { type: 'string', default: '1' },
    keep: { type: 'boolean', default: false },
  },
})
const AGENTS = Number(options.agents)
const REPS = Number(options.reps)
const parts = new Set(options.only.split(','))
const temps: string[] = []
// Worktrees (the landing's) go under a state home of the bench's own, removed at the end.
const stateHome = mkdtempSync(join(tmpdir(), 'tanuki-bench-state-'))
temps.push(stateHome)
const env = { ...process.env, XDG_STATE_HOME: stateHome, NO_COLOR: '1' }

/** The task files of a project: trivial tasks, each done when its agent says DONE. */
function writeTasks(dir: string, count: number): void {
  mkdirSync(dir, { recursive: true })
  const width = String(count).length
  for (let i = 1; i <= count; i++) {
    const id = `T-${String(i).padStart(width, '0')}`
    writeFileSync(
      join(dir, `${id}.md`),
      `---\nid: ${id}\ntitle: Trivial ${i}\ncompletion:\n  signal: DONE\n  max_iterations: 3\n---\nSay DONE.\n`,
    )
  }
}

interface ProjectOptions {
  session?: boolean
  land?: false
  git?: boolean
  /** Where the task files go, relative to the project. */
  tasksDir?: string
}

/**
 * A temp project: `count` task files and a config with `AGENTS` agents of the `command` kind in
 * the shared workspace (see the note the throughput part prints), optionally a git repository
 * with one commit (then landing is on unless `land: false`).
 */
function makeProject(count: number, label: string, project: ProjectOptions = {}): string {
  const dir = mkdtempSync(join(tmpdir(), `tanuki-bench-${label}-`))
  temps.push(dir)
  const tasksDir = project.tasksDir ?? join('.tanuki', 'tasks')
  writeTasks(join(dir, tasksDir), count)
  const role = `count: ${AGENTS}, command: ['echo', 'DONE'], workspace: 'shared', commit: false${project.session ? ', session: true' : ''}`
  writeFileSync(
    join(dir, 'tanuki.config.ts'),
    `import { defineConfig } from 'tanuki'

export default defineConfig({
  cooldownMs: 0,${project.land === false ? '\n  land: false,' : ''}
  defaults: { backend: 'process', kind: 'command' },
  agents: { default: { ${role} } },
})
`,
  )
  if (project.git) {
    const git = (...args: string[]): void => {
      const run = spawnSync('git', args, { cwd: dir, encoding: 'utf8' })
      if (run.status !== 0) throw new Error(`git ${args.join(' ')}: ${run.stderr}`)
    }
    git('init', '-q', '-b', 'main')
    git('add', '-A')
    git('-c', 'user.name=bench', '-c', 'user.email=bench@tanuki.invalid', 'commit', '-q', '-m', 'tasks')
  }
  return dir
}

// ————————————————————————————————————————————— (a) throughput

/** A command's wall time, and the CPU (user + system) of it and every process it started. */
interface Timed {
  ms: number
  cpuMs: number
}

/** POSIX `times` after a command: its second line is the children's user and system time. */
const TIMES = 's=$?; times >&2; exit $s'
function childTimes(stderr: string): number {
  const line = stderr.trimEnd().split('\n').at(-1) ?? ''
  const [user = 0, system = 0] = [...line.matchAll(/(\d+)m([\d.]+)s/g)].map((m) => Number(m[1]) * 60 + Number(m[2]))
  return (user + system) * 1000
}

/** `count` × `echo DONE`, `AGENTS` at a time, by xargs. */
function xargs(count: number): Timed {
  const began = performance.now()
  const run = spawnSync('sh', ['-c', `seq ${count} | xargs -P ${AGENTS} -I{} echo DONE > /dev/null; ${TIMES}`], {
    encoding: 'utf8',
  })
  if (run.status !== 0) throw new Error(`xargs failed: ${run.stderr}`)
  return { ms: performance.now() - began, cpuMs: childTimes(run.stderr) }
}

/** The same commands from a plain Node loop, `AGENTS` at a time, prompt on stdin, output read: the floor for any Node program. */
function nodeSpawnLoop(count: number): Promise<number> {
  const began = performance.now()
  let started = 0
  let finished = 0
  return new Promise((resolve) => {
    const next = (): void => {
      if (started >= count) return
      started++
      const child = spawn('echo', ['DONE'], { stdio: ['pipe', 'pipe', 'pipe'] })
      child.stdin.on('error', () => {}) // echo does not read its stdin
      child.stdin.end('prompt')
      child.stdout.resume()
      child.stderr.resume()
      child.on('close', () => {
        if (++finished === count) resolve(performance.now() - began)
        else next()
      })
    }
    for (let i = 0; i < AGENTS; i++) next()
  })
}

/**
 * The steps of `session: true` without Tanuki: `AGENTS` shells, each given its share of the
 * steps at once, each step as an agent's shell runs it (the prompt as a heredoc, in the
 * background, waited for, its group killed after): the floor for a session run on this machine.
 * Under bash (the default where there is one) a step is a job of its own by job control: a fork
 * and an exec, as in xargs, but of a bigger shell. Under `sh` it runs under `setsid`: one exec
 * more. The CPU is that of the shells and what they ran, in all.
 */
function bareSessions(count: number, shell: 'bash' | 'sh'): Promise<Timed> {
  const began = performance.now()
  const step =
    `${shell === 'bash' ? 'exec' : 'setsid'} echo DONE <<'T_1' >/dev/null &\nSay DONE.\nT_1\ntanuki_pid=$!\n` +
    `${shell === 'bash' ? 'wait -f' : 'wait'} "$tanuki_pid"\n` +
    'kill -s KILL -- -"$tanuki_pid" 2>/dev/null\nprintf \'%s %s\\n\' end "$?"\n'
  const per = Math.ceil(count / AGENTS)
  const shells = Array.from({ length: AGENTS }, (_, i) => Math.max(0, Math.min(per, count - i * per)))
  let cpuMs = 0
  return Promise.all(
    shells.map(
      (steps) =>
        new Promise<void>((resolve, reject) => {
          const child = spawn(shell, [], { stdio: ['pipe', 'pipe', 'pipe'] })
          let stderr = ''
          child.stdout.resume()
          child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
          // `times` in the shell itself: its own CPU (first line) and its steps' (second).
          child.stdin.end(`${shell === 'bash' ? 'set -m\n' : ''}${step.repeat(steps)}times >&2\n`)
          child.on('error', reject)
          child.on('close', () => {
            const [own = '', children = ''] = stderr.trim().split('\n').slice(-2)
            cpuMs += childTimes(own) + childTimes(children)
            resolve()
          })
        }),
    ),
  ).then(() => ({ ms: performance.now() - began, cpuMs }))
}

/**
 * The steps of `session: true` driven from Node, with nothing else of Tanuki: a fresh `node`
 * (its start-up counted, as a CLI's is) that imports the agent kit's `ShellSession` and runs
 * `count` steps through `AGENTS` shells, one step at a time each, as an agent does: the prompt on
 * stdin, the task's variables, a pid file, the output read. The floor of a session run for any
 * orchestrator in Node that waits for a step's end before it sends the next.
 */
function nodeSessions(count: number): Timed {
  const pids = mkdtempSync(join(tmpdir(), 'tanuki-bench-pids-'))
  const kit = join(ROOT, 'packages', 'plugin-agent-process', 'dist', 'kit', 'index.js')
  const code = `
    import { ShellSession } from ${JSON.stringify(kit)}
    const shells = Array.from({ length: ${AGENTS} }, (_, i) =>
      new ShellSession(process.cwd(), process.env, { pidFile: ${JSON.stringify(pids)} + '/' + i }))
    let next = 0
    let said = 0
    await Promise.all(shells.map(async (shell) => {
      while (next < ${count}) {
        const id = ++next
        await shell.run(['echo', 'DONE'], {
          stdin: 'Say DONE.\\n',
          env: { TANUKI_TASK_ID: 'T-' + id, TANUKI_ITERATION: '1' },
          onOutput: (chunk) => { if (chunk.text.includes('DONE')) said++ },
        })
      }
    }))
    for (const shell of shells) shell.close()
    if (said !== ${count}) throw new Error(said + ' steps said DONE')`
  const began = performance.now()
  const run = spawnSync('sh', ['-c', `node --input-type=module -e "$1"; ${TIMES}`, 'sh', code], { encoding: 'utf8' })
  const elapsed = performance.now() - began
  rmSync(pids, { recursive: true, force: true })
  if (run.status !== 0) throw new Error(`the Node session loop failed: ${run.stderr}`)
  return { ms: elapsed, cpuMs: childTimes(run.stderr) }
}

interface TanukiRun {
  /** Spawn to exit. */
  wallMs: number
  /** Spawn to the first `task:assigned`. */
  startMs: number
  /** First `task:assigned` to last `task:completed`, from the events log. */
  spanMs: number
  /** Last `task:completed` to exit: the last landings, stopping agents, the summary. */
  endMs: number
  /** CPU (user + system) of Tanuki and every process it started. */
  cpuMs: number
  completed: number
  landed: number
}

/** One `tanuki project start --quiet` over a fresh copy of a configuration. */
function runTanuki(count: number, label: string, project: ProjectOptions): TanukiRun {
  const dir = makeProject(count, label, { ...project, git: true })
  const began = performance.now()
  const t0 = Date.now()
  const run = spawnSync('sh', ['-c', `"$@"; ${TIMES}`, 'sh', TANUKI, 'project', 'start', '--quiet', '--cwd', dir], {
    encoding: 'utf8',
    env,
    maxBuffer: 64 * 1024 * 1024,
  })
  const wallMs = performance.now() - began
  const exited = Date.now()
  if (run.status !== 0) throw new Error(`tanuki exited ${run.status}: ${run.stderr.slice(-2000)}`)
  const events = readEvents(dir)
  const completed = events.filter((e) => e.event === 'task:completed')
  const firstAssigned = events.find((e) => e.event === 'task:assigned')!.at
  const lastCompleted = Math.max(...completed.map((e) => e.at))
  // Removed at the end with the other temps, not now: on a disk like this VM's (ext4 without a
  // journal), every file created in the next minutes pays for the inodes freed here, and the next
  // Tanuki run creates thousands while xargs creates none (bench/README.md, tenth session).
  return {
    wallMs,
    startMs: firstAssigned - t0,
    spanMs: lastCompleted - firstAssigned,
    endMs: exited - lastCompleted,
    cpuMs: childTimes(run.stderr),
    completed: completed.length,
    landed: events.filter((e) => e.event === 'task:landed').length,
  }
}

async function throughput(): Promise<void> {
  const count = Number(options.tasks)
  const landFalseReps = Number(options['land-false-reps'])
  console.log(
    `\n## (a) ${count.toLocaleString('en')} tasks, agent = \`echo DONE\` (kind command), ${AGENTS} agents, vs xargs -P ${AGENTS}\n`,
  )
  console.log(
    'Each project is a git repository with one commit, so landing is on unless `land: false` (as it\n' +
      'is by default; with nothing committed there is nothing to land, but every task still goes\n' +
      'through the lander). Agents work in the shared workspace: worktrees would add a `git worktree\n' +
      'add` per agent and a `git add`/`commit` per iteration, timing git rather than Tanuki. Every run executes\n' +
      `/usr/bin/echo ${count} times. Rounds interleave the runs so that load changes hit all alike;\n` +
      "each ratio is to the xargs of the same round, and the table shows medians (each round's value\n" +
      'in brackets).\n',
  )
  const configs: { label: string; project: ProjectOptions; reps: number }[] = [
    { label: 'tanuki, defaults (landing on)', project: {}, reps: REPS },
    { label: 'tanuki, `session: true` (landing on)', project: { session: true }, reps: REPS },
    { label: 'tanuki, `land: false`', project: { land: false }, reps: landFalseReps },
    { label: 'tanuki, `land: false`, `session: true`', project: { land: false, session: true }, reps: landFalseReps },
  ]
  const xargsRuns: Timed[] = []
  const nodeMs: number[] = []
  const bare = { bash: [] as Timed[], sh: [] as Timed[] }
  const nodeShells: Timed[] = []
  const runs = configs.map(() => [] as (TanukiRun & { xargs: number })[])
  for (let round = 0; round < REPS; round++) {
    process.stderr.write(`round ${round + 1}/${REPS}, load ${load()}\n`)
    const x = xargs(count)
    xargsRuns.push(x)
    // A reference figure, taken once: a Node loop costs as much as a Tanuki run.
    if (round === 0) nodeMs.push(await nodeSpawnLoop(count))
    bare.bash.push(await bareSessions(count, 'bash'))
    bare.sh.push(await bareSessions(count, 'sh'))
    nodeShells.push(nodeSessions(count))
    configs.forEach((config, i) => {
      if (round >= config.reps) return
      runs[i]!.push({ ...runTanuki(count, `throughput-${i}`, config.project), xargs: x.ms })
    })
  }
  const xargsMs = xargsRuns.map((r) => r.ms)
  const x = median(xargsMs)
  const cpu = (list: { cpuMs: number }[]): string => `${(median(list.map((r) => r.cpuMs)) / 1000).toFixed(1)} s`
  console.log(
    '| run | whole command | × xargs | CPU, all processes | spawn → first assignment | first assignment → last completion | × xargs | last completion → exit |',
  )
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |')
  console.log(`| \`xargs -P ${AGENTS}\` | ${ms(x)}${spread(xargsMs, ms)} | 1.00× | ${cpu(xargsRuns)} | | | | |`)
  console.log(
    `| plain Node loop: \`child_process.spawn\`, ${AGENTS} at a time (1 run) | ${ms(median(nodeMs))} | ${ratio(median(nodeMs.map((n, i) => n / xargsMs[i]!)))} | | | | | |`,
  )
  for (const [shell, label] of [
    ['bash', 'job control'],
    ['sh', '`setsid`'],
  ] as const) {
    const list = bare[shell]
    const times = list.map((b) => b.ms)
    const ratios = list.map((b, i) => b.ms / xargsMs[i]!)
    console.log(
      `| bare \`${shell}\` sessions (${label}): the steps of \`session: true\` without Tanuki, ${AGENTS} shells | ${ms(median(times))}${spread(times, ms)} | ${ratio(median(ratios))}${spread(ratios, ratio)} | ${cpu(list)} | | | | |`,
    )
  }
  const shellTimes = nodeShells.map((b) => b.ms)
  const shellRatios = nodeShells.map((b, i) => b.ms / xargsMs[i]!)
  console.log(
    `| Node driving ${AGENTS} of the kit's shell sessions, a step at a time each (no Tanuki) | ${ms(median(shellTimes))}${spread(shellTimes, ms)} | ${ratio(median(shellRatios))}${spread(shellRatios, ratio)} | ${cpu(nodeShells)} | | | | |`,
  )
  // A configuration given no runs (`--land-false-reps 0`) is left out of the table.
  const measured = configs.map((config, i) => ({ config, list: runs[i]! })).filter(({ list }) => list.length > 0)
  for (const { config, list } of measured) {
    const whole = list.map((r) => r.wallMs / r.xargs)
    const span = list.map((r) => r.spanMs / r.xargs)
    console.log(
      `| ${config.label}${list.length === 1 ? ' (1 run)' : ''} | ${ms(median(list.map((r) => r.wallMs)))} | **${ratio(median(whole))}**${spread(whole, ratio)} | ${cpu(list)} | ${ms(median(list.map((r) => r.startMs)))} | ${ms(median(list.map((r) => r.spanMs)))} | ${ratio(median(span))} | ${ms(median(list.map((r) => r.endMs)))} |`,
    )
  }
  console.log('')
  for (const { config, list } of measured) {
    const last = list.at(-1)!
    const whole = median(list.map((r) => r.wallMs / r.xargs))
    console.log(
      `- ${config.label}: ${last.completed}/${count} complete, ${last.landed} landed; ≤ 1.5× xargs: ${verdict(whole <= 1.5)}.`,
    )
  }
  // What the target leaves for the steps once the CLI has started, on this machine's CPUs: the
  // shells' steps cannot run in less CPU than the bare sessions took.
  const cpus = availableParallelism()
  const budget = 1.5 * x
  const sessionRuns = runs[1]!
  const start = median(sessionRuns.map((r) => r.startMs))
  const end = median(sessionRuns.map((r) => r.endMs))
  const left = Math.max(0, budget - start - end)
  const floorCpu = median(bare.bash.map((b) => b.cpuMs))
  console.log(
    `- The budget: 1.5× xargs is ${ms(budget)}. A \`session: true\` run took ${ms(start)} from spawn to its first ` +
      `assignment and ${ms(end)} from its last completion to exit, which leaves ${ms(left)} for the steps: ` +
      `${((left * cpus) / 1000).toFixed(2)} CPU-seconds on ${cpus} CPUs, against the ${(floorCpu / 1000).toFixed(2)} s that ` +
      `the bare \`bash\` sessions' steps alone took: ${verdict(left * cpus >= floorCpu)}.`,
  )
}

// ————————————————————————————————————————————— (b) start-up

interface StartupRun {
  /** Spawn to the first `task:assigned`, by the events log's clock. */
  assignedMs: number
  /** Spawn to `orchestrator:state` starting: node, imports, config, reading and checking the tasks. */
  startingMs: number
  /** Spawn to `project:loaded`: the orchestrator has every task, graph and queue. */
  loadedMs: number
  /** VmHWM when the first assignment was seen. */
  peakKb: number
}

/**
 * `tanuki project start` until its first assignment, then killed. A `first` start has no state
 * folder; a `next` start keeps the cache of parsed task files (and the state folder's .gitignore)
 * that the run before it left, and nothing else.
 */
async function startOnce(dir: string, threads: string, start: 'first' | 'next'): Promise<StartupRun> {
  const stateDir = join(dir, '.tanuki')
  if (start === 'first') rmSync(stateDir, { recursive: true, force: true })
  else {
    for (const name of readdirSync(stateDir)) {
      if (name !== 'cache' && name !== '.gitignore') rmSync(join(stateDir, name), { recursive: true, force: true })
    }
  }
  const childEnv: NodeJS.ProcessEnv = { ...env, TANUKI_PARSE_THREADS: threads }
  const t0 = Date.now()
  const child = spawn(TANUKI, ['project', 'start', '--cwd', dir], { stdio: ['ignore', 'pipe', 'pipe'], env: childEnv })
  let seen = false
  let buffered = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => {
    if (seen) return
    buffered = (buffered + chunk.toString()).slice(-4096)
    // The console reporter's "▸ T-… assigned to default-1" line.
    if (/ assigned to /.test(buffered)) seen = true
  })
  child.stderr.on('data', (chunk: Buffer) => void (stderr = (stderr + chunk.toString()).slice(-4000)))
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  let peak = 0
  while (!seen) {
    if (child.exitCode !== null) throw new Error(`tanuki exited ${child.exitCode} before assigning anything: ${stderr}`)
    peak = Math.max(peak, peakRss(child.pid!) ?? 0)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
  peak = Math.max(peak, peakRss(child.pid!) ?? 0)
  // The console may print the line before the events log has it: let the log catch up.
  let events = readEvents(dir)
  for (let waited = 0; waited < 5000 && !events.some((e) => e.event === 'task:assigned'); waited += 20) {
    await new Promise((resolve) => setTimeout(resolve, 20))
    events = readEvents(dir)
  }
  // The cache of parsed task files is written a moment after the scan: let it be, for the next start.
  for (let waited = 0; waited < 5000 && !existsSync(join(stateDir, 'cache', 'tasks')); waited += 20) {
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  child.kill('SIGKILL')
  await exited
  const at = (event: string, to?: string): number =>
    (events.find((e) => e.event === event && (to === undefined || e.to === to))?.at ?? Number.NaN) - t0
  return {
    assignedMs: at('task:assigned'),
    startingMs: at('orchestrator:state', 'starting'),
    loadedMs: at('project:loaded'),
    peakKb: peak,
  }
}

async function startup(): Promise<void> {
  const sizes = options.files.split(',').map(Number)
  console.log(`\n## (b) \`project start\` → first assignment, peak RSS\n`)
  console.log(
    'A folder that is not a git repository (no landing to prepare), tasks in `tasks/`, the agents of\n' +
      '(a) without `session`. Time from spawning the CLI to the first `task:assigned` (the events\n' +
      "log's clock), and to `orchestrator:state` starting (Node, imports, config, reading and checking\n" +
      'every task file); VmHWM of the process (worker threads included) at the first assignment.\n' +
      `"pool" is the parallel parse (tinypool): \`TANUKI_PARSE_THREADS=${Math.max(1, availableParallelism() - 1)}\`, one worker per CPU beyond\n` +
      'the first, which the main thread works beside (by default only from 4 CPUs on); "no pool" is\n' +
      '`TANUKI_PARSE_THREADS=0`. A *first* start has no state folder; a *next* start finds the cache\n' +
      'of parsed task files the run before it left (and the 8 task files whose status that run\n' +
      'mirrored changed), as every start after the first does. Each row: median of the runs (each in\n' +
      'brackets), the three kinds alternating.\n',
  )
  console.log(
    '| task files | parse | spawn → first assignment | → orchestrator starting | → project loaded | peak RSS | target |',
  )
  console.log('| ---: | --- | ---: | ---: | ---: | ---: | --- |')
  for (const size of sizes) {
    process.stderr.write(`writing ${size} task files, load ${load()}\n`)
    const dir = makeProject(size, `startup-${size}`, { tasksDir: 'tasks' })
    const modes = ['no pool, first start', 'pool, first start', 'next start'] as const
    const results: Record<(typeof modes)[number], StartupRun[]> = {
      'no pool, first start': [],
      'pool, first start': [],
      'next start': [],
    }
    for (let rep = 0; rep < REPS; rep++) {
      process.stderr.write(`start-up ${size}, run ${rep + 1}/${REPS}, load ${load()}\n`)
      results['pool, first start'].push(await startOnce(dir, String(Math.max(1, availableParallelism() - 1)), 'first'))
      results['no pool, first start'].push(await startOnce(dir, '0', 'first'))
      results['next start'].push(await startOnce(dir, '0', 'next'))
    }
    for (const mode of modes) {
      const list = results[mode]
      const assigned = median(list.map((r) => r.assignedMs))
      const peak = median(list.map((r) => r.peakKb))
      const target =
        size <= 10_000
          ? `< 0.5 s: ${verdict(assigned < 500)}`
          : `< 3 s: ${verdict(assigned < 3000)}; < 400 MB: ${verdict(peak < 400 * 1024)}`
      console.log(
        `| ${size.toLocaleString('en')} | ${mode} | **${ms(assigned)}**${spread(
          list.map((r) => r.assignedMs),
          ms,
        )} | ${ms(median(list.map((r) => r.startingMs)))} | ${ms(median(list.map((r) => r.loadedMs)))} | ${mb(peak)} | ${target} |`,
      )
    }
    // Removed at the end with the other temps, as the throughput part's are (see `runTanuki`).
  }
}

// ————————————————————————————————————————————— (c) status writes

const TURN = AGENTS // status changes per turn of the event loop: one per agent

/** The status changes of a run of quick tasks: assigned, in_progress, complete for each. */
function changesFor(ids: string[], total: number): { id: string; status: TaskStatus }[] {
  const out: { id: string; status: TaskStatus }[] = []
  for (const status of ['assigned', 'in_progress', 'complete'] as const)
    for (const id of ids) if (out.length < total) out.push({ id, status })
  // Each task's three changes one after the other, as a quick task makes them (the sort is stable).
  return out.sort((a, b) => a.id.localeCompare(b.id))
}

interface WriteRun {
  /** Synchronous time per change (µs), measured around each call. */
  syncUs: number
  /** Event-loop busy time per change (µs) from the first change until everything is written. */
  busyUs: number
  /** From the first change until everything is written (durable, for the journal). */
  doneMs: number
  note: string
}

/**
 * Drives `changes` through `apply`, `TURN` per turn of the event loop, and measures the event
 * loop's busy time (`eventLoopUtilization`) until `settle` resolves.
 */
async function drive(
  changes: { id: string; status: TaskStatus }[],
  apply: (change: { id: string; status: TaskStatus }) => void,
  settle: () => Promise<string>,
): Promise<WriteRun> {
  const elu = performance.eventLoopUtilization()
  const began = performance.now()
  let sync = 0
  for (let i = 0; i < changes.length; i++) {
    const t = performance.now()
    apply(changes[i]!)
    sync += performance.now() - t
    if ((i + 1) % TURN === 0) await new Promise((resolve) => setImmediate(resolve))
  }
  const note = await settle()
  const doneMs = performance.now() - began
  const busy = performance.eventLoopUtilization(elu)
  return { syncUs: (sync * 1000) / changes.length, busyUs: (busy.active * 1000) / changes.length, doneMs, note }
}

async function writes(): Promise<void> {
  const total = Number(options.changes)
  const taskCount = Math.ceil(total / 3)
  console.log(
    `\n## (c) synchronous file work per status change: ${total.toLocaleString('en')} changes of ${taskCount.toLocaleString('en')} tasks, ${TURN} per turn\n`,
  )
  console.log(
    "In this process, on this machine's disk. *sync* is the time spent inside the call that records a\n" +
      'change (what blocks the orchestrator there and then); *event loop busy* is the whole\n' +
      "thread's busy time (`performance.eventLoopUtilization`) from the first change until everything\n" +
      'is written, per change, which adds the background work (commit callbacks, the mirror patching\n' +
      'files) and the driving loop itself (the "nothing" row). Medians of the runs.\n',
  )
  const base = mkdtempSync(join(tmpdir(), 'tanuki-bench-writes-'))
  temps.push(base)
  const bus = { emit: () => {} } as unknown as Bus
  // The ids `writeTasks` gives the task files.
  const ids = (): string[] =>
    Array.from({ length: taskCount }, (_, i) => `T-${String(i + 1).padStart(String(taskCount).length, '0')}`)
  type Way = { label: string; run: (dir: string) => Promise<WriteRun> }
  const ways: Way[] = [
    {
      label: 'nothing (the driving loop alone)',
      run: async () => {
        const changes = changesFor(ids(), total)
        return drive(
          changes,
          () => {},
          async () => '',
        )
      },
    },
    {
      label: 'before: read, patch, temp file, rename, per change (sync)',
      run: async (dir) => {
        const source = new FileTaskSource({ root: dir, tasksDir: 'tasks' })
        source.scan()
        const changes = changesFor(ids(), total)
        return drive(
          changes,
          ({ id, status }) => {
            // The file source's write before the journal (git show 535c091^:packages/tanuki/src/file-source.ts).
            const path = source.pathOf(id)!
            const before = readFileSync(path, 'utf8')
            const after = updateTaskText(before, { status }, path)
            const temp = `${path}.tanuki-${process.pid}.tmp`
            writeFileSync(temp, after)
            renameSync(temp, path)
          },
          async () => 'no fsync',
        )
      },
    },
    {
      label: 'before, the file system part alone: temp file + rename (sync)',
      run: async (dir) => {
        const source = new FileTaskSource({ root: dir, tasksDir: 'tasks' })
        source.scan()
        const texts = new Map(ids().map((id) => [id, readFileSync(source.pathOf(id)!, 'utf8')]))
        const changes = changesFor(ids(), total)
        return drive(
          changes,
          ({ id }) => {
            const path = source.pathOf(id)!
            const temp = `${path}.tanuki-${process.pid}.tmp`
            writeFileSync(temp, texts.get(id)!)
            renameSync(temp, path)
          },
          async () => 'no fsync',
        )
      },
    },
    {
      label: 'after: journal append, group committed',
      run: async (dir) => {
        const journal = openJournal(join(dir, 'journal.ndjson'))
        const changes = changesFor(ids(), total)
        const result = await drive(
          changes,
          ({ id, status }) => journal.append({ t: 'task', id, status }),
          async () => {
            await journal.close()
            return `${journal.writes} writes, each with its fdatasync`
          },
        )
        return result
      },
    },
    {
      label: 'after: journal append + the status mirror (background, coalesced)',
      run: async (dir) => {
        const journal = openJournal(join(dir, 'journal.ndjson'))
        const source = new FileTaskSource({ root: dir, tasksDir: 'tasks' })
        source.scan()
        const mirror = new StatusMirror(bus, systemClock, true)
        let mirrored = 0
        const counting: TaskSource = {
          name: source.name,
          load: () => source.load(),
          update: (id, patch) => {
            mirrored++
            return source.update(id, patch)
          },
        }
        const changes = changesFor(ids(), total)
        return drive(
          changes,
          ({ id, status }) => {
            journal.append({ t: 'task', id, status })
            mirror.set(id, counting, { status })
          },
          async () => {
            await journal.close()
            // The mirror writes what waited 200 ms after its first change; then the rest.
            await new Promise((resolve) => setTimeout(resolve, 250))
            await mirror.flush()
            await source.settled()
            return `${journal.writes} journal writes; ${mirrored} task file writes`
          },
        )
      },
    },
  ]
  const results = ways.map(() => [] as WriteRun[])
  for (let rep = 0; rep < REPS; rep++) {
    for (const [i, way] of ways.entries()) {
      const dir = join(base, `${rep}-${i}`)
      writeTasks(join(dir, 'tasks'), taskCount)
      results[i]!.push(await way.run(dir))
      rmSync(dir, { recursive: true, force: true })
    }
  }
  console.log('| way | sync µs per change | event loop busy µs per change | all written after | notes |')
  console.log('| --- | ---: | ---: | ---: | --- |')
  for (const [i, way] of ways.entries()) {
    const list = results[i]!
    console.log(
      `| ${way.label} | ${median(list.map((r) => r.syncUs)).toFixed(1)} | ${median(list.map((r) => r.busyUs)).toFixed(1)} | ${ms(median(list.map((r) => r.doneMs)))} | ${list.at(-1)!.note} |`,
    )
  }
}

const node = spawnSync(process.execPath, ['--version'], { encoding: 'utf8' }).stdout.trim()
console.log(
  `# tanuki CLI benchmark — ${new Date().toISOString().slice(0, 10)}, node ${node}, ${process.platform}-${process.arch}, ${cpus().length} CPUs, load average ${load()} (1/5/15 min)`,
)
try {
  // Throughput first: on a disk like this VM's, the start-up part's 110,000 files, once removed,
  // would make every file a run creates in the next minutes slower (see `runTanuki`).
  if (parts.has('throughput')) await throughput()
  if (parts.has('startup')) await startup()
  if (parts.has('writes')) await writes()
  console.log(`\nLoad average at the end: ${load()}.`)
} finally {
  if (options.keep) console.log(`\nKept: ${temps.join(' ')}`)
  else for (const dir of temps) rmSync(dir, { recursive: true, force: true })
}
