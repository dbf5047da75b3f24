/**
 * Remote workers, end to end: the built CLI as orchestrator and as workers, a redis-server of the
 * bench's own on a free loopback port, a bare repository as the shared git remote, worker clones.
 *
 * Run: `node --import tsx bench/remote.bench.ts` after `npm run setup` (needs `redis-server`).
 * Options: `--only overhead` or `--only many`; `--tasks 50`, `--many 1000`, `--keep`.
 *
 * (a) overhead: N trivial tasks (a one-line `sh` block, verify `test -f`), one agent, run once by
 *     a local process agent and once by a remote agent on one worker; both in git worktrees with
 *     landing on. The difference per task is what going through Redis and a worker costs.
 * (b) many: 1,000 trivial tasks over 3 workers (3 remote agents), and the same with 3 local
 *     process agents for comparison.
 *
 * This is not a test: it prints figures and never fails on them.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, loadavg, tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { startRedis, type RedisServer } from '../packages/testing/src/redis.ts'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..')
const TANUKI = join(ROOT, 'node_modules', '.bin', 'tanuki')
const { values: options } = parseArgs({
  options: {
    only: { type: 'string' },
    tasks: { type: 'string', default: '50' },
    many: { type: 'string', default: '1000' },
    keep: { type: 'boolean', default: false },
  },
})
const temps: string[] = []
const children: ChildProcess[] = []

const git = (cwd: string, ...args: string[]): void => {
  const run = spawnSync('git', ['-c', 'user.name=bench', '-c', 'user.email=bench@tanuki.invalid', ...args], { cwd })
  if (run.status !== 0) throw new Error(`git ${args.join(' ')}: ${run.stderr}`)
}

function temp(label: string): string {
  const dir = mkdtempSync(join(tmpdir(), `tanuki-bench-remote-${label}-`))
  temps.push(dir)
  return dir
}

/** A project of `count` independent trivial tasks, in git, with a bare repository as `origin`. */
function makeProject(count: number, label: string, agents: string, redis?: RedisServer): { dir: string; bare: string } {
  const dir = join(temp(label), 'bench')
  const tasks = join(dir, '.tanuki', 'tasks')
  mkdirSync(tasks, { recursive: true })
  const width = String(count).length
  for (let i = 1; i <= count; i++) {
    const id = `T-${String(i).padStart(width, '0')}`
    writeFileSync(
      join(tasks, `${id}.md`),
      `---\nid: ${id}\ntitle: Trivial ${i}\ncompletion:\n  verify: "test -f ${id}.txt"\n---\n\`\`\`sh\necho ${i} > ${id}.txt\n\`\`\`\n`,
    )
  }
  writeFileSync(
    join(dir, 'tanuki.config.ts'),
    `import { defineConfig } from 'tanuki'

export default defineConfig({
  cooldownMs: 0,
  ${redis ? `remote: { redis: ${JSON.stringify(redis.url)} },` : ''}
  agents: { default: ${agents} },
})
`,
  )
  git(dir, 'init', '-q', '-b', 'main')
  git(dir, 'add', '-A')
  git(dir, 'commit', '-qm', 'tasks')
  const bare = join(temp(`${label}-bare`), 'bench.git')
  git(dir, 'init', '-q', '--bare', '-b', 'main', bare)
  git(dir, 'remote', 'add', 'origin', bare)
  git(dir, 'push', '-q', 'origin', 'main')
  return { dir, bare }
}

/** Starts `tanuki worker` in a fresh clone; resolves once it waits for sessions. */
async function startWorker(bare: string, redis: RedisServer, name: string): Promise<void> {
  const clone = join(temp(name), name)
  git(tmpdir(), 'clone', '-q', bare, clone)
  const child = spawn(TANUKI, ['worker', '--redis', redis.url, '--project', 'bench', '--name', name, '--cwd', clone], {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  children.push(child)
  let out = ''
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString()
      if (out.includes('Waiting for sessions')) resolve()
    })
    child.once('exit', (code) => reject(new Error(`worker ${name} exited ${code}: ${out}`)))
  })
}

interface Event {
  event: string
  at: number
  taskId?: string
  [key: string]: unknown
}

function readEvents(dir: string): Event[] {
  return readFileSync(join(dir, '.tanuki', 'events.ndjson'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Event)
}

interface Run {
  wallMs: number
  spanMs: number
  completed: number
  landed: number
  /** Per task, mean ms: assigned → iteration started (beginTask), started → finished (agent + verify), finished → completed (endTask). */
  phases: { begin: number; iteration: number; end: number }
}

function runProject(dir: string): Run {
  const began = performance.now()
  const run = spawnSync(TANUKI, ['project', 'start', '--quiet', '--cwd', dir], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  })
  const wallMs = performance.now() - began
  if (run.status !== 0) throw new Error(`tanuki exited ${run.status}: ${run.stderr.slice(-2000)}`)
  const events = readEvents(dir)
  const first = new Map<string, Record<string, number>>()
  for (const e of events) {
    if (!e.taskId) continue
    const seen = first.get(e.taskId) ?? {}
    seen[e.event] ??= e.at
    first.set(e.taskId, seen)
  }
  const mean = (from: string, to: string): number => {
    const spans = [...first.values()].filter((t) => t[from] && t[to]).map((t) => t[to]! - t[from]!)
    return spans.reduce((a, b) => a + b, 0) / Math.max(1, spans.length)
  }
  const completed = events.filter((e) => e.event === 'task:completed')
  const firstAssigned = events.find((e) => e.event === 'task:assigned')!.at
  return {
    wallMs,
    spanMs: Math.max(...completed.map((e) => e.at)) - firstAssigned,
    completed: completed.length,
    landed: events.filter((e) => e.event === 'task:landed').length,
    phases: {
      begin: mean('task:assigned', 'iteration:started'),
      iteration: mean('iteration:started', 'iteration:finished'),
      end: mean('iteration:finished', 'task:completed'),
    },
  }
}

const ms = (value: number): string => `${value.toFixed(value < 10 ? 1 : 0)} ms`
const s = (value: number): string => `${(value / 1000).toFixed(1)} s`

async function overhead(redis: RedisServer): Promise<void> {
  const count = Number(options.tasks)
  console.log(`\n## (a) ${count} trivial tasks, one agent: local process agent vs a remote agent on one worker\n`)
  const local = runProject(makeProject(count, 'local', `{ backend: 'process', kind: 'shell', count: 1 }`).dir)
  const remoteProject = makeProject(count, 'remote', `{ backend: 'remote', kind: 'shell', count: 1 }`, redis)
  await startWorker(remoteProject.bare, redis, 'w1')
  const remote = runProject(remoteProject.dir)
  console.log('| agent | run span | per task | beginTask | iteration (agent + verify) | endTask | complete / landed |')
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |')
  for (const [label, run] of [
    ['local process', local],
    ['remote (1 worker)', remote],
  ] as const) {
    console.log(
      `| ${label} | ${s(run.spanMs)} | ${ms(run.spanMs / count)} | ${ms(run.phases.begin)} | ${ms(run.phases.iteration)} | ${ms(run.phases.end)} | ${run.completed} / ${run.landed} |`,
    )
  }
  console.log(
    `\nDispatch overhead through a worker: ${ms((remote.spanMs - local.spanMs) / count)} per task ` +
      `(beginTask +${ms(remote.phases.begin - local.phases.begin)}, iteration +${ms(remote.phases.iteration - local.phases.iteration)}, endTask +${ms(remote.phases.end - local.phases.end)}).`,
  )
  stopWorkers()
}

async function many(redis: RedisServer): Promise<void> {
  const count = Number(options.many)
  console.log(
    `\n## (b) ${count.toLocaleString('en')} trivial tasks over 3 workers (3 remote agents), and over 3 local agents\n`,
  )
  const project = makeProject(count, 'many', `{ backend: 'remote', kind: 'shell', count: 3 }`, redis)
  for (const name of ['w1', 'w2', 'w3']) await startWorker(project.bare, redis, name)
  const remote = runProject(project.dir)
  stopWorkers()
  const local = runProject(makeProject(count, 'many-local', `{ backend: 'process', kind: 'shell', count: 3 }`).dir)
  console.log('| agents | whole command | run span | tasks/s (span) | complete / landed |')
  console.log('| --- | ---: | ---: | ---: | ---: |')
  for (const [label, run] of [
    ['3 remote agents on 3 workers', remote],
    ['3 local process agents', local],
  ] as const) {
    console.log(
      `| ${label} | ${s(run.wallMs)} | ${s(run.spanMs)} | ${((count / run.spanMs) * 1000).toFixed(1)} | ${run.completed} / ${run.landed} |`,
    )
  }
}

function stopWorkers(): void {
  for (const child of children.splice(0)) child.kill('SIGTERM')
}

async function main(): Promise<void> {
  console.log(
    `# remote.bench.ts — Node ${process.version}, ${cpus().length} CPUs, load average ${loadavg()[0]!.toFixed(1)} at start`,
  )
  const redis = await startRedis()
  try {
    if (!options.only || options.only === 'overhead') await overhead(redis)
    if (!options.only || options.only === 'many') await many(redis)
  } finally {
    stopWorkers()
    await redis.close()
    if (!options.keep) for (const dir of temps) rmSync(dir, { recursive: true, force: true })
    else console.log(`\nkept: ${temps.join(' ')}`)
  }
}

await main()
