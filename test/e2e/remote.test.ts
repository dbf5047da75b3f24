// Remote workers, end to end: a real redis-server of the test's own, a bare repository as the
// shared git remote, the orchestrator (`tanuki project start`) in one clone and three
// `tanuki worker` processes, each in a clone of its own. Faults are real: kill -9 of a worker,
// a worker frozen (SIGSTOP) past its lease, Redis restarted, the orchestrator killed.
import { execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { redisAvailable, startRedis, type RedisServer } from '@tanuki/testing'
import { afterEach, describe, expect, it } from 'vitest'
import {
  cleanup,
  createProject,
  readEvents,
  startTanuki,
  statusJson,
  tanuki,
  waitFor,
  type CliProcess,
  type TaskSpec,
  type TempProject,
} from './helpers.ts'

const available = redisAvailable()
if (!available && process.env.CI === 'true') throw new Error('redis-server is missing: CI must install it (.ci/run)')
if (!available) console.warn('remote.test.ts: skipped, no redis-server (apt-get install redis-server)')

const outside: string[] = []
let redis: RedisServer | undefined
afterEach(async () => {
  await cleanup()
  await redis?.close()
  redis = undefined
  for (const dir of outside.splice(0)) rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 })
})

const git = (dir: string, ...args: string[]): string =>
  execFileSync('git', ['-c', 'user.name=person', '-c', 'user.email=person@example.invalid', ...args], {
    cwd: dir,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  }).trim()

function folder(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  outside.push(dir)
  return dir
}

/** Task ids of the landed commits on a branch, oldest first. */
const landedOn = (dir: string, branch = 'main'): string[] =>
  git(dir, 'log', '--reverse', '--format=%(trailers:key=Tanuki-Task,valueonly)', branch).split('\n').filter(Boolean)

/** A gate a task waits at until the test opens it: no sleeps, no clocks. */
function gate(dir: string, name: string): { path: string; open(): void } {
  const path = join(dir, `gate-${name}`)
  return { path, open: () => writeFileSync(path, 'open\n') }
}

/** A task that notes where it runs (its worker's clone), waits at a gate if given, then writes its file. */
function remoteTask(id: string, marks: string, options: { dependsOn?: string[]; gate?: string } = {}): TaskSpec {
  const wait = options.gate ? `while [ ! -f '${options.gate}' ]; do sleep 0.05; done\n` : ''
  return {
    id,
    ...(options.dependsOn ? { dependsOn: options.dependsOn } : {}),
    sh: `echo "$TANUKI_PROJECT" >> '${join(marks, id)}'\n${wait}echo "${id} by $TANUKI_AGENT" > ${id}.txt`,
    verify: `test -f ${id}.txt`,
  }
}

interface Cluster {
  project: TempProject
  bare: string
  workers: { name: string; dir: string; cli: CliProcess }[]
  marks: string
}

/**
 * The orchestrator's project (with `remote` in its config and roles on `backend: 'remote'`), a bare
 * repository as the shared remote, and worker clones of it, each running `tanuki worker`.
 */
async function cluster(options: {
  tasks: (marks: string) => TaskSpec[]
  count?: number
  workers?: number
  password?: string
  appendonly?: boolean
  extra?: string
}): Promise<Cluster> {
  redis = await startRedis({
    ...(options.password ? { password: options.password } : {}),
    ...(options.appendonly ? { appendonly: true } : {}),
  })
  const marks = folder('tanuki-marks-')
  const project = createProject({
    tasks: options.tasks(marks),
    config: `import { defineConfig } from 'tanuki'

export default defineConfig({
  name: 'shop',
  cooldownMs: 50,
  remote: { redis: ${JSON.stringify(redis.url)}, stalledIntervalMs: 500, heartbeatTtlMs: 2000 },
  agents: { default: { backend: 'remote', kind: 'shell', count: ${options.count ?? 3} } },${options.extra ?? ''}
})
`,
  })
  // .tanuki/ is the run's state: the shared repository holds the tasks and config, as a team's would.
  const bare = join(folder('tanuki-remote-'), 'shop.git')
  git(project.dir, 'init', '-q', '--bare', '-b', 'main', bare)
  git(project.dir, 'remote', 'add', 'origin', bare)
  git(project.dir, 'push', '-q', 'origin', 'main')
  const workers: Cluster['workers'] = []
  for (let i = 1; i <= (options.workers ?? 3); i++) workers.push(startWorker(bare, `w${i}`))
  await waitFor('the workers to register', () =>
    workers.every((worker) => worker.cli.output().stdout.includes('Waiting for sessions')),
  )
  return { project, bare, workers, marks }
}

function startWorker(bare: string, name: string, extra: string[] = []): Cluster['workers'][number] {
  const dir = join(folder(`tanuki-${name}-`), name)
  git(tmpdir(), 'clone', '-q', bare, dir)
  const cli = startTanuki(
    dir,
    'worker',
    '--redis',
    redis!.url,
    '--project',
    'shop',
    '--name',
    name,
    '--lock-duration',
    '2000',
    ...extra,
  )
  return { name, dir, cli }
}

/** The clone (so the worker) each task ran in, in order: one line per start. */
const ranIn = (marks: string, id: string): string[] =>
  existsSync(join(marks, id)) ? readFileSync(join(marks, id), 'utf8').split('\n').filter(Boolean) : []

const workerOf = (c: Cluster, clone: string) => c.workers.find((worker) => clone.startsWith(worker.dir))

describe.skipIf(!available)('remote workers (Redis + BullMQ)', () => {
  it('three workers run a 20-task DAG; every task lands once, in dependency order, on the orchestrator’s branch', async () => {
    // Five levels of four: each task depends on two of the level before.
    const tasks = (marks: string): TaskSpec[] =>
      Array.from({ length: 20 }, (_, i) => {
        const level = Math.floor(i / 4)
        const deps = level === 0 ? [] : [`D-${(level - 1) * 4 + (i % 4)}`, `D-${(level - 1) * 4 + ((i + 1) % 4)}`]
        return remoteTask(`D-${i}`, marks, deps.length ? { dependsOn: deps } : {})
      })
    const c = await cluster({ tasks })
    const run = await tanuki(c.project.dir, 'project', 'start')
    expect(run.code, run.stderr).toBe(0)
    const status = await statusJson(c.project.dir)
    expect(status.progress.complete).toBe(20)
    expect(status.progress.landed).toBe(20)
    const landed = landedOn(c.project.dir)
    expect([...landed].sort()).toEqual(Array.from({ length: 20 }, (_, i) => `D-${i}`).sort())
    // A dependency lands before what depends on it.
    for (let i = 4; i < 20; i++) {
      const level = Math.floor(i / 4)
      for (const dep of [`D-${(level - 1) * 4 + (i % 4)}`, `D-${(level - 1) * 4 + ((i + 1) % 4)}`])
        expect(landed.indexOf(dep)).toBeLessThan(landed.indexOf(`D-${i}`))
    }
    // Every task's file is on the branch: work done on other machines, brought together here.
    for (let i = 0; i < 20; i++) expect(git(c.project.dir, 'show', `main:D-${i}.txt`)).toMatch(/^D-\d+ by default-\d$/)
    // Each task ran once, on one of the three workers; and all three took part.
    const clones = new Set<string>()
    for (let i = 0; i < 20; i++) {
      const where = ranIn(c.marks, `D-${i}`)
      expect(where).toHaveLength(1)
      expect(workerOf(c, where[0]!)).toBeDefined()
      clones.add(workerOf(c, where[0]!)!.name)
    }
    expect([...clones].sort()).toEqual(['w1', 'w2', 'w3'])
    // The shared remote holds the landing branch and each task's refs, not the attempts' scratch refs.
    const refs = git(c.bare, 'for-each-ref', '--format=%(refname)')
    expect(refs).toContain('refs/heads/tanuki/land/main')
    expect(refs).toContain('refs/tanuki/shop/tasks/D-19/work')
    expect(refs).not.toContain('/attempts/')
    // `project status` lists the workers, what they run, and when they were last seen.
    expect(status.workers?.map((worker) => worker.name).sort()).toEqual(['w1', 'w2', 'w3'])
    for (const worker of status.workers ?? []) {
      expect(worker).toMatchObject({ capacity: 1, backend: 'process', roles: [] })
      expect(Date.parse(worker.lastSeen)).not.toBeNaN()
    }
    const text = await tanuki(c.project.dir, 'project', 'status')
    expect(text.stdout).toMatch(/Workers:[\s\S]*w1[\s\S]*w2[\s\S]*w3/)
    // Each worker printed what it ran.
    expect(c.workers.map((worker) => worker.cli.output().stdout).join('')).toMatch(/D-19 iteration 1/)
  })

  it('kill -9 of a worker mid-task: the task is reassigned and completes on another worker, once', async () => {
    let hold!: ReturnType<typeof gate>
    const c = await cluster({
      count: 1,
      tasks: (marks) => {
        hold = gate(marks, 'slow')
        return [remoteTask('SLOW', marks, { gate: hold.path }), remoteTask('AFTER', marks, { dependsOn: ['SLOW'] })]
      },
    })
    const run = startTanuki(c.project.dir, 'project', 'start')
    const first = await waitFor('SLOW to start on a worker', () => ranIn(c.marks, 'SLOW')[0])
    const victim = workerOf(c, first)!
    process.kill(victim.cli.pid, 'SIGKILL')
    // Noticed by BullMQ's stalled check (lock 2 s, checked every 0.5 s): reported as the agent's crash.
    await waitFor('the crash to be noticed', () => readEvents(c.project.dir).some((e) => e.event === 'agent:crashed'))
    hold.open()
    const result = await run.done
    expect(result.code, result.stderr).toBe(0)
    const where = ranIn(c.marks, 'SLOW')
    expect(where).toHaveLength(2)
    expect(workerOf(c, where[1]!)!.name).not.toBe(victim.name)
    const events = readEvents(c.project.dir)
    const crash = events.find((e) => e.event === 'agent:crashed')!
    expect(crash.reason).toMatch(/stopped renewing its lease/)
    expect(events.filter((e) => e.event === 'task:requeued' && e.taskId === 'SLOW')).toHaveLength(1)
    expect(events.filter((e) => e.event === 'task:completed' && e.taskId === 'SLOW')).toHaveLength(1)
    expect(landedOn(c.project.dir)).toEqual(['SLOW', 'AFTER'])
  })

  it('a worker frozen past its lease: its task goes to another, and its late result is ignored', async () => {
    let hold!: ReturnType<typeof gate>
    let other!: ReturnType<typeof gate>
    const c = await cluster({
      count: 2,
      tasks: (marks) => {
        hold = gate(marks, 'stale')
        other = gate(marks, 'other')
        return [remoteTask('STALE', marks, { gate: hold.path }), remoteTask('OTHER', marks, { gate: other.path })]
      },
    })
    const run = startTanuki(c.project.dir, 'project', 'start')
    const first = await waitFor('STALE to start', () => ranIn(c.marks, 'STALE')[0])
    await waitFor('OTHER to start', () => ranIn(c.marks, 'OTHER')[0])
    const frozen = workerOf(c, first)!
    process.kill(frozen.cli.pid, 'SIGSTOP')
    try {
      await waitFor('the frozen worker’s lease to be given up', () =>
        readEvents(c.project.dir).some((e) => e.event === 'agent:crashed'),
      )
      // Its agent's own process is not frozen: it finishes STALE's work in the frozen worker's clone.
      hold.open()
      await waitFor('STALE to complete on another worker', () =>
        readEvents(c.project.dir).some((e) => e.event === 'task:completed' && e.taskId === 'STALE'),
      )
    } finally {
      process.kill(frozen.cli.pid, 'SIGCONT')
    }
    // Thawed, the worker reports what its agent did for the session it no longer holds.
    const log = join(c.project.dir, '.tanuki', 'logs', 'remote.log')
    await waitFor(
      'the late result to be ignored',
      () => existsSync(log) && /ignored a late result/.test(readFileSync(log, 'utf8')),
    )
    other.open()
    const result = await run.done
    expect(result.code, result.stderr).toBe(0)
    const where = ranIn(c.marks, 'STALE')
    expect(where).toHaveLength(2)
    expect(workerOf(c, where[1]!)!.name).not.toBe(frozen.name)
    const events = readEvents(c.project.dir)
    expect(events.filter((e) => e.event === 'task:completed' && e.taskId === 'STALE')).toHaveLength(1)
    expect(events.filter((e) => e.event === 'iteration:finished' && e.taskId === 'STALE')).toHaveLength(1)
    expect(landedOn(c.project.dir).sort()).toEqual(['OTHER', 'STALE'])
    // What landed is the work of the worker that held the lease.
    expect(git(c.project.dir, 'show', 'main:STALE.txt')).toMatch(/^STALE by default-\d$/)
    expect(readFileSync(log, 'utf8')).toMatch(new RegExp(`ignored a late result from worker ${frozen.name}`))
  })

  it('Redis restarted mid-run with appendonly on: nothing is lost and nothing runs twice', async () => {
    let hold!: ReturnType<typeof gate>
    const c = await cluster({
      appendonly: true,
      tasks: (marks) => {
        hold = gate(marks, 'restart')
        return [
          remoteTask('R-1', marks, { gate: hold.path }),
          remoteTask('R-2', marks),
          remoteTask('R-3', marks, { dependsOn: ['R-1', 'R-2'] }),
          remoteTask('R-4', marks, { dependsOn: ['R-3'] }),
        ]
      },
    })
    const run = startTanuki(c.project.dir, 'project', 'start')
    await waitFor('R-1 to start', () => ranIn(c.marks, 'R-1')[0])
    await waitFor('R-2 to complete', () =>
      readEvents(c.project.dir).some((e) => e.event === 'task:completed' && e.taskId === 'R-2'),
    )
    await redis!.stop()
    await redis!.start()
    hold.open()
    const result = await run.done
    expect(result.code, result.stderr).toBe(0)
    for (const id of ['R-1', 'R-2', 'R-3', 'R-4']) expect(ranIn(c.marks, id)).toHaveLength(1)
    const events = readEvents(c.project.dir)
    // The sessions lived through the restart: no agent was lost.
    expect(events.filter((e) => e.event === 'agent:crashed')).toEqual([])
    const landed = landedOn(c.project.dir)
    expect([...landed].sort()).toEqual(['R-1', 'R-2', 'R-3', 'R-4'])
    expect(landed.slice(2)).toEqual(['R-3', 'R-4'])
  })

  it('the orchestrator killed: workers end its sessions, and `project resume` dispatches again', async () => {
    let hold!: ReturnType<typeof gate>
    const c = await cluster({
      count: 2,
      tasks: (marks) => {
        hold = gate(marks, 'resume')
        return [remoteTask('K-1', marks, { gate: hold.path }), remoteTask('K-2', marks, { dependsOn: ['K-1'] })]
      },
    })
    const first = startTanuki(c.project.dir, 'project', 'start')
    await waitFor('K-1 to start', () => ranIn(c.marks, 'K-1')[0])
    process.kill(first.pid, 'SIGKILL')
    await first.done
    // One task could start: one agent (one session on one worker) of the role's two.
    const sessions = readEvents(c.project.dir).filter((e) => e.event === 'agent:spawned')
    expect(sessions).toHaveLength(1)
    // Its heartbeat expires (2 s here), and the worker ends the session of that run.
    await waitFor(
      'the worker to end the dead run’s session',
      () => c.workers.filter((worker) => /its orchestrator is gone/.test(worker.cli.output().stdout)).length === 1,
    )
    hold.open()
    const resumed = await tanuki(c.project.dir, 'project', 'resume')
    expect(resumed.code, resumed.stderr).toBe(0)
    expect(landedOn(c.project.dir)).toEqual(['K-1', 'K-2'])
    // K-1 started over in the new run; K-2 ran once.
    expect(ranIn(c.marks, 'K-1')).toHaveLength(2)
    expect(ranIn(c.marks, 'K-2')).toHaveLength(1)
  })

  it('a wrong password is refused at once, with a clear message, by the worker and by the orchestrator', async () => {
    redis = await startRedis({ password: 'right-one' })
    const wrong = redis.url.replace('right-one', 'wrong-one')
    const bare = join(folder('tanuki-remote-'), 'shop.git')
    const project = createProject({
      tasks: [{ id: 'P-1', sh: 'true' }],
      config: `import { defineConfig } from 'tanuki'
export default defineConfig({
  remote: { redis: ${JSON.stringify(wrong)} },
  agents: { default: { backend: 'remote', kind: 'shell' } },
})
`,
    })
    git(project.dir, 'init', '-q', '--bare', '-b', 'main', bare)
    git(project.dir, 'remote', 'add', 'origin', bare)
    git(project.dir, 'push', '-q', 'origin', 'main')
    const clone = join(folder('tanuki-w-'), 'w')
    git(tmpdir(), 'clone', '-q', bare, clone)

    const worker = await tanuki(clone, 'worker', '--redis', wrong, '--project', 'shop')
    expect(worker.code).toBe(1)
    expect(worker.stderr).toMatch(/^tanuki: Redis at redis:\/\/:\*\*\*@127\.0\.0\.1:\d+ refused the password/)
    expect(worker.stderr).not.toContain('wrong-one')
    expect(worker.stderr).not.toMatch(/\n\s+at /) // one clear line, no stack

    const none = await tanuki(clone, 'worker', '--redis', redis.url.replace(':right-one@', ''), '--project', 'shop')
    expect(none.code).toBe(1)
    expect(none.stderr).toMatch(/needs a password and none was given/)

    const start = await tanuki(project.dir, 'project', 'start')
    expect(start.code).toBe(1)
    expect(start.stderr).toMatch(/refused the password/)
    expect(start.stderr).not.toContain('wrong-one')
  })
})
