import { randomBytes } from 'node:crypto'
import { hostname } from 'node:os'
import { join } from 'node:path'
import { TanukiError, errorMessage, type AgentBackend } from '@tanuki/core'
import { gitRepository } from '@tanuki/plugin-agent-process/kit'
import { type ConnectionOptions, type Job, WaitingError, Worker } from 'bullmq'
import { connect, probeRedis, redisOptions, type RedisTarget } from './connection.ts'
import { remoteUrl } from './git.ts'
import { redactUrl } from './options.ts'
import {
  PROTOCOL_VERSION,
  encode,
  keys,
  roleQueue,
  toWire,
  type CommandEnvelope,
  type SessionData,
} from './protocol.ts'
import type { WorkerRecord } from './registry.ts'
import { StreamReader, within } from './stream.ts'
import { WorkerSession, type WorkerHost } from './worker-session.ts'

/** How a worker is started (`tanuki worker`). */
export interface RemoteWorkerOptions {
  /** Where Redis is, and how to log in. */
  redis: RedisTarget
  /** The project key: only sessions of this project are taken. */
  project: string
  /** Namespace of every Redis key. Default `tanuki`. */
  prefix?: string
  /** Roles to take sessions of. Default: every role the project's orchestrator runs remotely. */
  roles?: string[]
  /** Agents at once. Default 1. */
  capacity?: number
  /** The local backend agents run with (the process or Docker backend), and its name. */
  backend: AgentBackend
  /** The worker's clone of the project: agents work in worktrees of it. */
  repo: string
  /** Its git remote, shared with the orchestrator. Default `origin`. */
  remote?: string
  /** Shown in status. Default `<host>-<pid>`. */
  name?: string
  /**
   * How long a session's lock lives without renewal; renewed every half of it. A worker killed
   * (or cut off) is noticed within this plus the orchestrator's stalled interval. Default 10000 ms.
   */
  lockDurationMs?: number
  /** How often the registration is refreshed. Default 2000 ms. */
  heartbeatMs?: number
  /** The CLI's version, for the registration. */
  version?: string
  /** Where agents' state goes (pid files, records of worktrees). Default `<repo>/.tanuki`. */
  stateDir?: string
  /** What the worker does, one line each, for people. */
  log?: (line: string) => void
}

/** A running worker. */
export interface RemoteWorker {
  readonly id: string
  readonly name: string
  /** Sessions running now, by id. */
  readonly sessions: ReadonlyMap<string, { agent: string; role: string; task?: string | undefined }>
  /** Ends every session (reported to the orchestrator as the worker shutting down) and leaves. */
  close(): Promise<void>
}

/**
 * Starts a worker: registers it in the project's Redis, takes agent sessions of its roles (BullMQ
 * jobs; its lock on each, renewed while the agent lives, is the lease), runs each agent with the
 * local backend in a worktree of its clone, and answers the orchestrator's commands. Ends the
 * sessions of an orchestrator whose heartbeat is gone.
 *
 * @example
 * const worker = await startWorker({
 *   redis: { url: 'redis://127.0.0.1:6379' },
 *   project: 'shop',
 *   backend: createProcessBackend({ inheritEnv: false, env: allowedEnv([]) }),
 *   repo: process.cwd(),
 * })
 * process.on('SIGTERM', () => void worker.close())
 */
export async function startWorker(options: RemoteWorkerOptions): Promise<RemoteWorker> {
  const log = options.log ?? (() => {})
  // A Redis that is away fails every retry the same way: say it once a while, not a line each.
  const said = new Map<string, number>()
  const warn = (what: string, error: unknown): void => {
    const line = `! ${what}: ${errorMessage(error)}`
    if (Date.now() - (said.get(line) ?? 0) < 30_000) return
    said.set(line, Date.now())
    log(line)
  }
  const capacity = options.capacity ?? 1
  if (!Number.isInteger(capacity) || capacity < 1) {
    throw new TanukiError('TANUKI_CONFIG_INVALID', `--capacity must be a whole number ≥ 1, got ${capacity}`)
  }
  const lockDuration = options.lockDurationMs ?? 10_000
  const heartbeatMs = options.heartbeatMs ?? 2000
  const remote = options.remote ?? 'origin'
  const repo = await gitRepository(options.repo)
  if (!repo) {
    throw new TanukiError(
      'TANUKI_REMOTE_GIT',
      `${options.repo} is not a clone of the project (no git repository with a commit there). Run the worker in one: \`git clone URL DIR && cd DIR && tanuki worker …\`.`,
    )
  }
  const url = await remoteUrl(options.repo, remote)
  if (!url) {
    throw new TanukiError(
      'TANUKI_REMOTE_GIT',
      `${options.repo} has no git remote "${remote}": the worker fetches the landed work from it and pushes the agents' work there. Clone the project's shared repository, or pass --remote NAME.`,
    )
  }
  const redisVersion = await probeRedis(options.redis)
  const name = options.name ?? `${hostname()}-${process.pid}`
  const id = `${name.replace(/[^A-Za-z0-9._-]+/g, '-')}-${randomBytes(3).toString('hex')}`
  const projectKeys = keys(options.prefix ?? 'tanuki', options.project)
  const client = connect(options.redis, (error) => warn('redis', error))
  const host: WorkerHost = {
    id,
    name,
    keys: projectKeys,
    client,
    backend: options.backend,
    repo: options.repo,
    remote,
    stateDir: options.stateDir ?? join(options.repo, '.tanuki'),
    log,
  }
  const sessions = new Map<string, WorkerSession>()
  const startedAt = new Date().toISOString()
  let closing = false

  const record = (): WorkerRecord => ({
    id,
    name,
    host: hostname(),
    pid: process.pid,
    roles: options.roles ?? [],
    capacity,
    backend: options.backend.name,
    version: options.version ?? 'unknown',
    startedAt,
    lastSeen: Date.now(),
    heartbeatMs,
    agents: [...sessions.values()].map((session) => ({
      name: session.data.agent,
      role: session.data.role,
      session: session.data.session,
      ...(session.task ? { task: session.task } : {}),
    })),
  })
  const register = async (): Promise<void> => {
    if (closing) return
    await client
      .multi()
      .hset(projectKeys.workers, id, JSON.stringify(record()))
      .pexpire(projectKeys.inbox(id), 3_600_000)
      .exec()
      .catch((error: unknown) => warn('registration', error))
  }

  // Commands for this worker's sessions.
  const inbox = new StreamReader<CommandEnvelope>(
    connect(options.redis),
    projectKeys.inbox(id),
    (command) => sessions.get(command.s)?.handle(command),
    (error) => warn('inbox', error),
  )

  /** Ends the sessions of runs whose orchestrator is gone (killed: its heartbeat expired) or replaced. */
  const watchRuns = async (): Promise<void> => {
    const runs = [...new Set([...sessions.values()].map((session) => session.data.run))]
    if (runs.length === 0) return
    try {
      const [current, ...alive] = await client.mget(projectKeys.run, ...runs.map((run) => projectKeys.alive(run)))
      runs.forEach((run, i) => {
        if (current === run && alive[i]) return
        for (const session of sessions.values()) {
          if (session.data.run === run) void session.lose(`its orchestrator is gone (run ${run}: no heartbeat)`)
        }
      })
    } catch {
      // Redis away for a moment: the next check decides.
    }
  }

  const workers = new Map<string, Worker>()
  const pauseAll = (paused: boolean): void => {
    for (const worker of workers.values()) void (paused ? worker.pause(true) : worker.resume()).catch(() => {})
  }

  const processor = async (job: Job<SessionData>, token?: string): Promise<string> => {
    const data = job.data
    if (data.v !== PROTOCOL_VERSION || data.project !== options.project) {
      const error = new TanukiError(
        'TANUKI_REMOTE_REFUSED',
        data.v !== PROTOCOL_VERSION
          ? `worker ${name} speaks protocol ${PROTOCOL_VERSION}, the session ${data.v}: run the same Tanuki version on both sides`
          : `worker ${name} serves project "${options.project}", not "${data.project}"`,
      )
      log(`! refused session ${data.session}: ${error.message}`)
      await client.xadd(
        data.replies,
        '*',
        'm',
        encode({ k: 'refused', error: toWire(error), s: data.session, t: data.token, n: 1 }),
      )
      return 'refused'
    }
    // Several roles share the capacity: one taken while full goes back for another worker.
    if (sessions.size >= capacity) {
      await job.moveToWait(token)
      throw new WaitingError()
    }
    const [current, alive] = await client.mget(projectKeys.run, projectKeys.alive(data.run))
    if (current !== data.run || !alive) {
      log(`- skipped session ${data.session} for ${data.agent}: its orchestrator (run ${data.run}) is gone`)
      return 'orchestrator gone'
    }
    const session = new WorkerSession(data, host)
    sessions.set(data.session, session)
    if (sessions.size >= capacity) pauseAll(true)
    log(`+ ${data.agent} (role ${data.role}), session ${data.session}, attempt ${data.token}`)
    void register()
    try {
      await session.start()
      return await session.ended
    } finally {
      sessions.delete(data.session)
      if (!closing && sessions.size < capacity) pauseAll(false)
      void register()
    }
  }

  const take = (role: string): void => {
    if (workers.has(role) || closing) return
    const worker = new Worker<SessionData>(roleQueue(role), processor, {
      connection: redisOptions(options.redis) as ConnectionOptions,
      prefix: projectKeys.bullPrefix,
      concurrency: capacity,
      lockDuration,
      stalledInterval: Math.max(500, Math.floor(lockDuration / 2)),
      // A lost session is the orchestrator's to reassign: BullMQ must not hand it to another worker.
      maxStalledCount: 0,
      name,
    })
    worker.on('error', (error) => warn(roleQueue(role), error))
    worker.on('lockRenewalFailed', (ids) => {
      for (const jobId of ids) void sessions.get(jobId)?.lose('its lease expired before it could be renewed')
    })
    workers.set(role, worker)
    if (sessions.size >= capacity) void worker.pause(true)
  }

  for (const role of options.roles ?? []) take(role)
  const discover = async (): Promise<void> => {
    if (options.roles || closing) return
    try {
      for (const role of await client.smembers(projectKeys.roles)) take(role)
    } catch {
      // Redis away: the next look finds them.
    }
  }
  await discover()
  await register()
  const timers = [
    setInterval(() => void register(), heartbeatMs),
    setInterval(() => void watchRuns(), 1000),
    setInterval(() => void discover(), heartbeatMs),
  ]

  const target = new URL(options.redis.url)
  log(
    `tanuki worker ${name} (${id}) for project "${options.project}": ` +
      `roles ${options.roles?.join(', ') ?? 'any'}, capacity ${capacity}, backend ${options.backend.name}`,
  )
  log(`  clone ${options.repo} (${remote} = ${url})`)
  log(
    `  redis ${redactUrl(options.redis.url)} ${redisVersion}${target.protocol === 'rediss:' ? ', TLS' : ''}; ` +
      `lease: lock ${lockDuration} ms, renewed every ${Math.floor(lockDuration / 2)} ms`,
  )

  return {
    id,
    name,
    get sessions() {
      return new Map(
        [...sessions].map(([key, session]) => [
          key,
          { agent: session.data.agent, role: session.data.role, task: session.task },
        ]),
      )
    },
    async close() {
      if (closing) return
      closing = true
      for (const timer of timers) clearInterval(timer)
      // Each step is bounded: with Redis away, a worker must still stop (its sessions' leases then expire).
      await within(10_000, Promise.allSettled([...sessions.values()].map((session) => session.shutdown())))
      await within(5000, Promise.allSettled([...workers.values()].map((worker) => worker.close())))
      await within(2000, inbox.close())
      await within(2000, client.multi().hdel(projectKeys.workers, id).del(projectKeys.inbox(id)).exec())
      client.disconnect()
      log(`tanuki worker ${name}: stopped`)
    },
  }
}
