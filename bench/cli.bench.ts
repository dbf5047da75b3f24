/**
 * The `tanuki` CLI end to end, as a person runs it: the built binary, task files on disk, agents
 * as local processes.
 *
 * Run: `node --import tsx bench/cli.bench.ts` after `npx -y pnpm@10.34.8 -r build`.
 * Options: `--only throughput` or `--only startup`; `--tasks 1000`, `--files 10000`,
 * `--agents 8`, `--keep` (leave the temp projects for a look).
 *
 * (a) throughput: N task files whose agent is a trivial command (`echo DONE`, kind `command`),
 *     8 agents, against `xargs -P 8` running the same N commands. Target: at most 1.5× slower.
 * (b) start-up: 10,000 task files; time from spawning `tanuki project start` to the first
 *     assignment, and the orchestrator's peak RSS. Targets: under 1 s and under 200 MB.
 *
 * This is not a test: it prints figures next to the targets and never fails on them.
 */
import { spawn, spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, loadavg, tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..')
const TANUKI = join(ROOT, 'node_modules', '.bin', 'tanuki')
const { values: options } = parseArgs({
  options: {
    only: { type: 'string' },
    tasks: { type: 'string', default: '1000' },
    files: { type: 'string', default: '10000' },
    agents: { type: 'string', default: '8' },
    keep: { type: 'boolean', default: false },
  },
})
const AGENTS = Number(options.agents)
const temps: string[] = []

const ms = (value: number): string => `${value.toFixed(value < 10 ? 1 : 0)} ms`
const mb = (kb: number): string => `${(kb / 1024).toFixed(1)} MB`
const verdict = (ok: boolean): string => (ok ? 'meets' : 'MISSES')

/** A temp project: `count` task files and a config with `AGENTS` agents of the `command` kind. */
function makeProject(count: number, label: string, session = false): string {
  const dir = mkdtempSync(join(tmpdir(), `tanuki-bench-${label}-`))
  temps.push(dir)
  const tasks = join(dir, '.tanuki', 'tasks')
  mkdirSync(tasks, { recursive: true })
  const width = String(count).length
  for (let i = 1; i <= count; i++) {
    const id = `T-${String(i).padStart(width, '0')}`
    writeFileSync(
      join(tasks, `${id}.md`),
      `---\nid: ${id}\ntitle: Trivial ${i}\ncompletion:\n  signal: DONE\n  max_iterations: 3\n---\nSay DONE.\n`,
    )
  }
  // Shared workspace: see the note printed by the throughput run.
  writeFileSync(
    join(dir, 'tanuki.config.ts'),
    `import { defineConfig } from 'tanuki'

export default defineConfig({
  cooldownMs: 0,
  defaults: { backend: 'process', kind: 'command' },
  agents: { default: { count: ${AGENTS}, command: ['echo', 'DONE'], workspace: 'shared', commit: false${session ? ', session: true' : ''} } },
})
`,
  )
  return dir
}

interface Event {
  event: string
  at: number
  [key: string]: unknown
}

function readEvents(dir: string): Event[] {
  return readFileSync(join(dir, '.tanuki', 'events.ndjson'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Event)
}

/** Peak resident set (VmHWM) and current RSS of a process, in kB, from /proc. */
function memoryOf(pid: number): { hwm: number; rss: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8')
    const field = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0)
    return { hwm: field('VmHWM'), rss: field('VmRSS') }
  } catch {
    return undefined
  }
}

async function throughput(): Promise<void> {
  const count = Number(options.tasks)
  console.log(
    `\n## (a) ${count.toLocaleString('en')} tasks, agent = \`echo DONE\` (kind command), ${AGENTS} agents, vs xargs -P ${AGENTS}\n`,
  )
  console.log(
    'Workspace: shared, not worktrees. A worktree costs a `git worktree add` per agent at spawn and a\n' +
      '`git add`/`commit` per iteration; with a command that writes nothing that would time git, not\n' +
      "Tanuki. Both runs execute /usr/bin/echo once per task; the ratio is Tanuki's cost per task\n" +
      '(dispatch, prompt on stdin, output parsing, three atomic status writes per task file, logs).\n',
  )
  // xargs: the same N processes, 8 at a time. Best of 3, as it is short and noisy.
  let xargsMs = Infinity
  for (let i = 0; i < 3; i++) {
    const began = performance.now()
    const run = spawnSync('sh', ['-c', `seq ${count} | xargs -P ${AGENTS} -I{} echo DONE > /dev/null`])
    if (run.status !== 0) throw new Error(`xargs failed: ${run.stderr}`)
    xargsMs = Math.min(xargsMs, performance.now() - began)
  }

  // The floor for any Node program: the same N commands spawned by child_process, 8 at a time.
  let nodeMs = Infinity
  for (let i = 0; i < 3; i++) nodeMs = Math.min(nodeMs, await nodeSpawnLoop(count))

  const plain = runTanuki(count, false)
  const session = runTanuki(count, true)
  console.log(`| run | time | tasks/s | ratio to xargs |`)
  console.log(`| --- | ---: | ---: | ---: |`)
  console.log(`| xargs -P ${AGENTS} (best of 3) | ${ms(xargsMs)} | ${Math.round((count / xargsMs) * 1000)} | 1.00× |`)
  console.log(
    `| plain Node loop: child_process.spawn, ${AGENTS} at a time, no Tanuki (best of 3) | ${ms(nodeMs)} | ${Math.round((count / nodeMs) * 1000)} | ${(nodeMs / xargsMs).toFixed(2)}× |`,
  )
  for (const [label, run] of [
    ['tanuki', plain],
    ['tanuki, session: true', session],
  ] as const) {
    console.log(
      `| ${label}, first assignment → last completion | ${ms(run.spanMs)} | ${Math.round((count / run.spanMs) * 1000)} | ${(run.spanMs / xargsMs).toFixed(2)}× |`,
    )
    console.log(
      `| ${label}, whole command (node start-up, config, scan, agents, summary) | ${ms(run.wallMs)} | ${Math.round((count / run.wallMs) * 1000)} | ${(run.wallMs / xargsMs).toFixed(2)}× |`,
    )
  }
  for (const [label, run] of [
    ['default', plain],
    ['session: true', session],
  ] as const) {
    console.log(
      `\n${label}: ${run.completed}/${count} complete. Target ≤ 1.5× xargs: ${verdict(run.spanMs / xargsMs <= 1.5)} (run span), ${verdict(run.wallMs / xargsMs <= 1.5)} (whole command).`,
    )
  }
}

/** One `tanuki project start` over `count` trivial tasks: its run span (events log) and wall time. */
function runTanuki(count: number, session: boolean): { spanMs: number; wallMs: number; completed: number } {
  const dir = makeProject(count, session ? 'session' : 'throughput', session)
  const began = performance.now()
  const run = spawnSync(TANUKI, ['project', 'start', '--quiet', '--cwd', dir], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  })
  const wallMs = performance.now() - began
  if (run.status !== 0) throw new Error(`tanuki exited ${run.status}: ${run.stderr.slice(-2000)}`)
  const events = readEvents(dir)
  const completed = events.filter((e) => e.event === 'task:completed')
  const firstAssigned = events.find((e) => e.event === 'task:assigned')!.at
  const lastCompleted = Math.max(...completed.map((e) => e.at))
  return { spanMs: lastCompleted - firstAssigned, wallMs, completed: completed.length }
}

/** `echo DONE` N times, `AGENTS` at a time, prompt on stdin and output read, as the command kind does. */
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

async function startup(): Promise<void> {
  const count = Number(options.files)
  console.log(`\n## (b) ${count.toLocaleString('en')} task files: \`project start\` → first assignment, peak RSS\n`)
  const dir = makeProject(count, 'startup')
  const began = performance.now()
  const child = spawn(TANUKI, ['project', 'start', '--cwd', dir], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NO_COLOR: '1' },
  })
  let firstAssignedMs: number | undefined
  let loadedMs: number | undefined
  let buffered = ''
  child.stdout.on('data', (chunk: Buffer) => {
    if (firstAssignedMs !== undefined) return
    buffered += chunk.toString()
    if (loadedMs === undefined && buffered.includes('project loaded')) loadedMs = performance.now() - began
    // The console reporter's "▸ T-… assigned to default-1" line.
    if (/ assigned to /.test(buffered)) firstAssignedMs = performance.now() - began
  })
  child.stderr.resume()
  let peak = 0
  let atFirst: number | undefined
  const sample = (): void => {
    const memory = memoryOf(child.pid!)
    if (memory) peak = Math.max(peak, memory.hwm)
    if (firstAssignedMs !== undefined && atFirst === undefined) atFirst = peak
  }
  const poll = setInterval(sample, 10)
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  while (firstAssignedMs === undefined) {
    if (child.exitCode !== null) throw new Error(`tanuki exited ${child.exitCode} before assigning anything`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
  // Keep it running a while: the first seconds of work (status snapshots of 10,000 tasks, logs,
  // status writes) count towards the peak too.
  await new Promise((resolve) => setTimeout(resolve, 5_000))
  sample()
  const done = readEvents(dir).filter((e) => e.event === 'task:completed').length
  child.kill('SIGTERM')
  await exited
  clearInterval(poll)
  // The orchestrator's own first assignment, by its clock, from the events log.
  const events = readEvents(dir)
  const started = events.find((e) => e.event === 'orchestrator:state' && e.to === 'starting')!.at
  const assigned = events.find((e) => e.event === 'task:assigned')!.at
  console.log(`| figure | value | target |`)
  console.log(`| --- | ---: | --- |`)
  console.log(`| spawn → "project loaded" on stdout | ${ms(loadedMs ?? NaN)} | |`)
  console.log(
    `| **spawn → first "assigned" on stdout** | **${ms(firstAssignedMs)}** | < 1 s: ${verdict(firstAssignedMs < 1000)} |`,
  )
  console.log(`| of which: orchestrator starting → task:assigned (events log) | ${ms(assigned - started)} | |`)
  console.log(`| peak RSS (VmHWM) at the first assignment | ${mb(atFirst ?? peak)} | |`)
  console.log(
    `| **peak RSS (VmHWM) after 5 s of work** (${done} tasks done) | **${mb(peak)}** | < 200 MB: ${verdict(peak < 200 * 1024)} |`,
  )
}

const node = spawnSync(process.execPath, ['--version'], { encoding: 'utf8' }).stdout.trim()
console.log(`# tanuki CLI benchmark — node ${node}, ${cpus().length} CPUs, load average ${loadavg()[0]!.toFixed(1)}`)
try {
  if (!options.only || options.only === 'throughput') await throughput()
  if (!options.only || options.only === 'startup') await startup()
} finally {
  if (options.keep) console.log(`\nKept: ${temps.join(' ')}`)
  else for (const dir of temps) rmSync(dir, { recursive: true, force: true })
}
