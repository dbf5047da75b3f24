/**
 * Throughput and hand-off latency of the core Orchestrator, with agents that take no time.
 *
 * Run: `pnpm bench` (= `node --expose-gc --import tsx bench/core.bench.ts`).
 * Options: `--sizes 1000,10000` to pick sizes, `--seed 7` for another graph.
 *
 * This is not a test: it prints figures next to the targets of issue 2 and never fails on them.
 */
import { cpus, loadavg } from 'node:os'
import {
  createMemoryBackend,
  createMemorySource,
  createOrchestrator,
  createTask,
  type Task,
  type TaskPriority,
} from '../packages/core/src/index.ts'

const ROLES = Array.from({ length: 8 }, (_, i) => `role-${i}`)
const AGENTS_PER_ROLE = 8
const PRIORITIES: TaskPriority[] = ['critical', 'high', 'medium', 'medium', 'low']
const TARGET_TASKS_PER_S = 20_000
const TARGET_P99_MS = 5

/** mulberry32: a small seeded PRNG, so every run builds the same graph. */
function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

interface Graph {
  tasks: Task[]
  /** deps[i]: indices of the tasks task i depends on. */
  deps: number[][]
}

/** 64 chains, 8 per role: every completion readies one task and frees the agent to run it. */
function buildChains(size: number): Graph {
  const chains = ROLES.length * AGENTS_PER_ROLE
  const tasks: Task[] = []
  const deps: number[][] = []
  for (let i = 0; i < size; i++) {
    const mine = i >= chains ? [i - chains] : []
    deps.push(mine)
    tasks.push(
      createTask({
        id: `t${i}`,
        title: `Task ${i}`,
        role: ROLES[(i % chains) % ROLES.length]!,
        dependsOn: mine.map((d) => `t${d}`),
        completion: { signal: 'DONE' },
      }),
    )
  }
  return { tasks, deps }
}

/** A random DAG: each task depends on about two earlier ones, so it can never hold a cycle. */
function buildGraph(size: number, seed: number): Graph {
  const random = prng(seed)
  const tasks: Task[] = []
  const deps: number[][] = []
  for (let i = 0; i < size; i++) {
    // 0 to 4 dependencies, 2 on average; the first tasks have fewer to choose from.
    const wanted = Math.min(i, Math.floor(random() * 5))
    const mine = new Set<number>()
    while (mine.size < wanted) mine.add(Math.floor(random() * i))
    deps.push([...mine])
    tasks.push(
      createTask({
        id: `t${i}`,
        title: `Task ${i}`,
        role: ROLES[Math.floor(random() * ROLES.length)]!,
        priority: PRIORITIES[Math.floor(random() * PRIORITIES.length)]!,
        dependsOn: [...mine].map((d) => `t${d}`),
        completion: { signal: 'DONE' },
        body: 'Finish at once.',
      }),
    )
  }
  return { tasks, deps }
}

interface Figures {
  size: number
  wallMs: number
  /** CPU time of the process (user + system) over the run: the same figure on a busy machine. */
  cpuMs: number
  tasksPerSecond: number
  p50Ms: number
  p99Ms: number
  maxMs: number
  toQueueP50: number
  toQueueP99: number
  inQueueP50: number
  inQueueP99: number
  earlySettle: string | undefined
  handoffs: number
  baseHeap: number
  peakHeap: number
}

const gc = (globalThis as { gc?: () => void }).gc

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!
}

async function run(size: number, seed: number, shape: 'dag' | 'chains' = 'dag'): Promise<Figures> {
  const graph = shape === 'chains' ? buildChains(size) : buildGraph(size, seed)
  const index = (id: string): number => Number(id.slice(1))
  const completedAt = new Float64Array(size).fill(-1)
  const queuedAt = new Float64Array(size).fill(-1)
  const latencies = new Float64Array(size)
  /** Split of each hand-off: completion → queued (the orchestrator's own work), queued → start (waiting for an agent). */
  const toQueue = new Float64Array(size)
  const inQueue = new Float64Array(size)
  let handoffs = 0

  const agents = Object.fromEntries(ROLES.map((role) => [role, { count: AGENTS_PER_ROLE }]))
  const orchestrator = createOrchestrator({
    // The run is ended by hand once every task completed (see below), not by `stopWhenSettled`.
    config: { name: 'bench', agents, cooldownMs: 0, pollIntervalMs: 1_000_000_000, stopWhenSettled: false },
    sources: [createMemorySource(graph.tasks)],
    backends: [createMemoryBackend()],
  })

  gc?.()
  const baseHeap = process.memoryUsage().heapUsed
  let peakHeap = baseHeap
  let completions = 0
  const sampleHeap = (): void => {
    const used = process.memoryUsage().heapUsed
    if (used > peakHeap) peakHeap = used
  }

  let allDone: () => void = () => {}
  const finished = new Promise<void>((resolve) => (allDone = resolve))
  orchestrator.events.on('task:completed', ({ taskId }) => {
    completedAt[index(taskId)] = performance.now()
    // The run is one long chain of microtasks, so a timer would never get to sample: sample here.
    if (++completions % 64 === 0) sampleHeap()
    if (completions === size) allDone()
  })
  // A settle before every task completed means the orchestrator lost track of ready work.
  let earlySettle: string | undefined
  orchestrator.events.on('project:settled', ({ allComplete, progress }) => {
    if (!allComplete && earlySettle === undefined)
      earlySettle = `settled with ${progress.complete}/${progress.total} complete, ${progress.pending} pending`
  })
  orchestrator.events.on('task:queued', ({ taskId }) => {
    queuedAt[index(taskId)] = performance.now()
  })
  orchestrator.events.on('iteration:started', ({ taskId, iteration }) => {
    if (iteration !== 1) return
    const i = index(taskId)
    const deps = graph.deps[i]!
    if (deps.length === 0) return
    const now = performance.now()
    // The dependency that completed last is the one whose completion made this task ready.
    let last = -1
    for (const d of deps) last = Math.max(last, completedAt[d]!)
    toQueue[handoffs] = queuedAt[i]! - last
    inQueue[handoffs] = now - queuedAt[i]!
    latencies[handoffs++] = now - last
  })

  const cpuBefore = process.cpuUsage()
  const started = performance.now()
  await orchestrator.start()
  // Ends on the last completion rather than on `project:settled`: an orchestrator that settles
  // too early would otherwise look fast. stop() then winds it down; done() resolves after that.
  await Promise.race([finished, orchestrator.done()])
  await orchestrator.stop()
  const summary = await orchestrator.done()
  const wallMs = performance.now() - started
  const cpu = process.cpuUsage(cpuBefore)
  const cpuMs = (cpu.user + cpu.system) / 1000
  sampleHeap()

  if (!summary.allComplete || summary.progress.complete !== size) {
    throw new Error(`run of ${size} tasks did not complete: ${JSON.stringify(summary.progress.byStatus)}`)
  }
  const sorted = latencies.slice(0, handoffs).sort()
  const sortedToQueue = toQueue.slice(0, handoffs).sort()
  const sortedInQueue = inQueue.slice(0, handoffs).sort()
  return {
    toQueueP50: percentile(sortedToQueue, 50),
    toQueueP99: percentile(sortedToQueue, 99),
    inQueueP50: percentile(sortedInQueue, 50),
    inQueueP99: percentile(sortedInQueue, 99),
    earlySettle,
    size,
    wallMs,
    cpuMs,
    tasksPerSecond: (size * 1000) / wallMs,
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    maxMs: sorted[sorted.length - 1] ?? Number.NaN,
    handoffs,
    baseHeap,
    peakHeap,
  }
}

function option(name: string): string | undefined {
  const at = process.argv.indexOf(`--${name}`)
  return at === -1 ? undefined : process.argv[at + 1]
}

const mb = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MB`
const ms = (value: number): string => `${value.toFixed(3)} ms`
const mark = (ok: boolean): string => (ok ? 'meets' : 'MISSES')

async function main(): Promise<void> {
  const sizes = (option('sizes') ?? '1000,10000,100000').split(',').map(Number)
  const seed = Number(option('seed') ?? 42)
  if (!gc) console.log('note: run with --expose-gc for a steadier heap baseline')
  console.log(
    `core bench: random DAG (~2 deps each, seed ${seed}), ${ROLES.length} roles, ${ROLES.length * AGENTS_PER_ROLE} in-memory agents that finish at once`,
  )
  // Wall-clock figures only mean something on an idle machine: show how busy it was.
  console.log(
    `node ${process.version}, ${process.platform}-${process.arch}, ${cpus().length} CPUs, load average ${loadavg()[0]!.toFixed(2)} at start\n`,
  )

  // One untimed run first, so the first reported size is not also measuring the JIT warming up.
  await run(1000, seed + 1)

  const results: Figures[] = []
  for (const size of sizes) {
    const figures = await run(size, seed)
    results.push(figures)
    console.log(`${size.toLocaleString('en-US')} tasks`)
    const rateNote =
      size === 10_000
        ? `   target ≥ ${TARGET_TASKS_PER_S.toLocaleString('en-US')}/s at 10,000: ${mark(figures.tasksPerSecond >= TARGET_TASKS_PER_S)}`
        : ''
    console.log(
      `  throughput   ${Math.round(figures.tasksPerSecond).toLocaleString('en-US')} tasks/s  (${figures.wallMs.toFixed(0)} ms wall, start() → done(); ${figures.cpuMs.toFixed(0)} ms CPU = ${Math.round((figures.size * 1000) / figures.cpuMs).toLocaleString('en-US')} tasks per CPU-second)${rateNote}`,
    )
    console.log(
      `  hand-off     p50 ${ms(figures.p50Ms)}  p99 ${ms(figures.p99Ms)}  max ${ms(figures.maxMs)}  over ${figures.handoffs.toLocaleString('en-US')} hand-offs   target p99 < ${TARGET_P99_MS} ms: ${mark(figures.p99Ms < TARGET_P99_MS)}`,
    )
    console.log(
      `               of which completion → queued p50 ${ms(figures.toQueueP50)} p99 ${ms(figures.toQueueP99)}; queued → started (waiting for an idle agent) p50 ${ms(figures.inQueueP50)} p99 ${ms(figures.inQueueP99)}`,
    )
    console.log(
      `  peak heap    ${mb(figures.peakHeap)}  (${mb(figures.peakHeap - figures.baseHeap)} over the ${mb(figures.baseHeap)} before the run)`,
    )
    if (figures.earlySettle)
      console.log(
        `  BUG          project:settled came too early (${figures.earlySettle}); with stopWhenSettled the run would have ended there`,
      )
  }

  // The random DAG keeps more tasks ready than there are agents, so a dependent often waits in the
  // queue behind others. Chains isolate the orchestrator's own reaction: an agent is always free.
  const chains = await run(10_000, seed, 'chains')
  console.log(
    `\n10,000 tasks in ${ROLES.length * AGENTS_PER_ROLE} chains (an agent is always free for the task a completion readies)`,
  )
  console.log(
    `  throughput   ${Math.round(chains.tasksPerSecond).toLocaleString('en-US')} tasks/s  (${chains.wallMs.toFixed(0)} ms wall, ${chains.cpuMs.toFixed(0)} ms CPU)`,
  )
  console.log(
    `  hand-off     p50 ${ms(chains.p50Ms)}  p99 ${ms(chains.p99Ms)}  max ${ms(chains.maxMs)}  over ${chains.handoffs.toLocaleString('en-US')} hand-offs   target p99 < ${TARGET_P99_MS} ms: ${mark(chains.p99Ms < TARGET_P99_MS)}`,
  )

  console.log(
    `\ngrowth (time per task relative to the smaller size; 1.0 is linear; target: about linear); load average ${loadavg()[0]!.toFixed(2)} at the end`,
  )
  for (let i = 1; i < results.length; i++) {
    const small = results[i - 1]!
    const large = results[i]!
    const ratio = large.wallMs / large.size / (small.wallMs / small.size)
    const verdict = ratio < 1.5 ? 'about linear' : ratio < 3 ? 'worse than linear' : 'far worse than linear'
    console.log(
      `  ${small.size.toLocaleString('en-US')} → ${large.size.toLocaleString('en-US')}: ×${ratio.toFixed(2)} per task (${verdict})`,
    )
  }
}

await main()
