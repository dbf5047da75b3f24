import { randomBytes } from 'node:crypto'
import { mkdirSync, renameSync, writeFileSync } from 'node:fs'
import { hostname } from 'node:os'
import { dirname, join } from 'node:path'
import {
  TanukiError,
  errorMessage,
  type Agent,
  type AgentBackend,
  type ProjectInfo,
  type SpawnRequest,
} from '@tanuki/core'
import { type ConnectionOptions, Queue, QueueEvents, Worker } from 'bullmq'
import type { Redis } from 'ioredis'
import { kindSpend, type KindOptions } from '@tanuki/plugin-agent-process/kit'
import { connect, probeRedis, redisOptions, type RedisTarget } from './connection.ts'
import { sessionOptions } from './env.ts'
import { remoteUrl } from './git.ts'
import { redactUrl, resolveRemoteOptions, type RemoteOptions, type ResolvedRemoteOptions } from './options.ts'
import {
  PROTOCOL_VERSION,
  encode,
  keys,
  roleQueue,
  type Keys,
  type ReplyEnvelope,
  type SessionData,
} from './protocol.ts'
import { RemoteSession, type SessionHub } from './remote-session.ts'
import { StreamReader, within } from './stream.ts'
import { readWorkers, type WorkerInfo } from './registry.ts'

/** Options of the remote backend: `remote` in the config, and the project. */
export interface RemoteBackendOptions {
  /** `remote` in the config. */
  remote: RemoteOptions
  /** The project agents work on: its repository has the git remote workers share. */
  project: ProjectInfo
  /** The backend's name, which roles refer to with `backend:`. Default `remote`. */
  name?: string
  /** Notes for people: a role waiting for a worker, options kept from workers, late replies ignored. */
  log?: (message: string) => void
}

/** The remote backend: the orchestrator's side of the queue. */
export interface RemoteBackend extends AgentBackend {
  /** Checks Redis and the git remote, and claims the project key for this run. */
  open(): Promise<void>
  /** Ends the run's presence in Redis: heartbeat, streams, queues. */
  close(): Promise<void>
  /** This run's id, once open. */
  readonly runId: string | undefined
  /** The project's workers, as registered in Redis. */
  workers(): Promise<WorkerInfo[]>
  /** Replies that were ignored because their session had lost its lease: late results of a stale worker. */
  readonly ignored: number
}

/** The run's presence in Redis: its heartbeat, its reply stream, the role queues and their stalled checks. */
class Hub implements SessionHub {
  readonly keys: Keys
  readonly target: RedisTarget
  runId: string | undefined
  ignored = 0
  private client: Redis | undefined
  private reader: StreamReader<ReplyEnvelope> | undefined
  private heartbeat: NodeJS.Timeout | undefined
  private readonly queues = new Map<
    string,
    { queue: Queue; events: QueueEvents; checker: Worker; ready: Promise<unknown> }
  >()
  private readonly sessions = new Map<string, RemoteSession>()
  /** Sessions that ended, kept to tell a late reply from a stray one. */
  private readonly ended = new Map<string, RemoteSession>()
  private opened: Promise<void> | undefined
  private closed = false
  private readonly said = new Map<string, number>()

  constructor(
    readonly options: ResolvedRemoteOptions,
    readonly project: ProjectInfo,
    readonly backendName: string,
    readonly log: (message: string) => void,
  ) {
    this.keys = keys(options.prefix, options.project)
    this.target = { url: options.redis, password: options.password, tls: options.tls }
  }

  /** A Redis that is away fails every retry the same way: say it once a while, not a line each. */
  warn(what: string, error: unknown): void {
    const line = `remote: ${what}: ${errorMessage(error)}`
    if (Date.now() - (this.said.get(line) ?? 0) < 30_000) return
    this.said.set(line, Date.now())
    this.log(line)
  }

  open(): Promise<void> {
    this.opened ??= this.start()
    return this.opened
  }

  private async start(): Promise<void> {
    await probeRedis(this.target)
    if (!(await remoteUrl(this.project.root, this.options.git))) {
      throw new TanukiError(
        'TANUKI_REMOTE_GIT',
        `${this.project.root} has no git remote "${this.options.git}", which remote workers clone and push work to. ` +
          'Add it (`git remote add origin URL`), or name another with remote.git.',
      )
    }
    const client = connect(this.target, (error) => this.warn('redis', error))
    this.client = client
    await this.claim(client)
    this.reader = new StreamReader<ReplyEnvelope>(
      connect(this.target, (error) => this.warn('redis', error)),
      this.keys.replies(this.runId!),
      (reply) => this.route(reply),
      (error) => this.warn('replies', error),
    )
    await this.beat()
    this.heartbeat = setInterval(() => void this.beat(), Math.max(250, this.options.heartbeatTtlMs / 4))
  }

  /** One orchestrator per project key: another live one (its heartbeat in Redis) refuses this start. */
  private async claim(client: Redis): Promise<void> {
    const current = await client.get(this.keys.run)
    const owner = current ? await client.get(this.keys.alive(current)) : null
    if (owner) {
      const { host, pid } = JSON.parse(owner) as { host: string; pid: number }
      let dead = false
      if (host === hostname()) {
        try {
          process.kill(pid, 0)
        } catch {
          dead = true // killed on this machine: its heartbeat outlives it by a few seconds
        }
      }
      if (!dead) {
        throw new TanukiError(
          'TANUKI_REMOTE_BUSY',
          `Another orchestrator (pid ${pid} on ${host}) runs project "${this.options.project}" on ${redactUrl(this.options.redis)}. ` +
            'Stop it first, or give this run another key (remote.project).',
        )
      }
    }
    this.runId = `r${randomBytes(5).toString('hex')}`
    await client.set(this.keys.run, this.runId)
  }

  private async beat(): Promise<void> {
    const client = this.client
    if (!client || this.closed) return
    const ttl = this.options.heartbeatTtlMs
    try {
      await client
        .multi()
        .set(this.keys.alive(this.runId!), JSON.stringify({ host: hostname(), pid: process.pid }), 'PX', ttl)
        .pexpire(this.keys.replies(this.runId!), 3_600_000)
        .exec()
      const workers = await readWorkers(client, this.keys)
      writeJson(join(this.project.stateDir, 'workers.json'), workers)
    } catch (error) {
      this.warn('the heartbeat could not reach Redis; retrying', error)
    }
  }

  /** A role's queue, with a stalled check of its own: a killed worker is noticed even when no other worker runs. */
  queue(role: string): { queue: Queue; ready: Promise<unknown> } {
    let entry = this.queues.get(role)
    if (entry) return entry
    const name = roleQueue(role)
    const connection = redisOptions(this.target) as ConnectionOptions
    const prefix = this.keys.bullPrefix
    const queue = new Queue(name, { connection, prefix })
    const events = new QueueEvents(name, { connection, prefix })
    const checker = new Worker(name, null, {
      connection,
      prefix,
      autorun: false,
      // A session that stalls is lost: the orchestrator gives its task to another worker, BullMQ must not.
      maxStalledCount: 0,
      stalledInterval: this.options.stalledIntervalMs,
      name: 'tanuki-orchestrator',
    })
    const onError = (error: Error): void => this.warn(name, error)
    queue.on('error', onError)
    events.on('error', onError)
    checker.on('error', onError)
    events.on('stalled', ({ jobId }) => {
      const session = this.sessions.get(jobId)
      session?.lose(
        `worker ${session.worker ?? '(not known yet)'} on ${session.host ?? '?'} stopped renewing its lease (killed, cut off, or frozen); BullMQ's stalled check noticed`,
      )
      // Its job went back to wait, marked failed for whoever takes it: take it away now.
      void queue.remove(jobId).catch(() => {})
    })
    events.on('failed', ({ jobId, failedReason }) => {
      this.sessions.get(jobId)?.lose(`its session failed on the worker: ${failedReason}`)
    })
    events.on('completed', ({ jobId }) => {
      // The worker says why a session ends before its job completes; if that never came, say so.
      setTimeout(() => this.sessions.get(jobId)?.lose('its worker ended the session'), 2000).unref()
    })
    const ready = Promise.all([
      queue.waitUntilReady(),
      events.waitUntilReady(),
      checker.startStalledCheckTimer(),
      this.client!.sadd(this.keys.roles, role),
    ])
    entry = { queue, events, checker, ready }
    this.queues.set(role, entry)
    return entry
  }

  async spawn(request: SpawnRequest): Promise<Agent> {
    await this.open()
    if (this.closed) throw new TanukiError('TANUKI_ABORTED', 'Aborted: the remote backend is closed')
    const { name, role, project } = request
    const { options, withheld } = sessionOptions(request.options)
    if (withheld.length > 0 && !this.warned.has(role)) {
      this.warned.add(role)
      this.log(
        `agents.${role}: ${withheld.join(', ')} stay here: workers give their agents their own environment (tanuki worker --pass-env NAME).`,
      )
    }
    const { queue, ready } = this.queue(role)
    await ready
    const token = await this.client!.incr(this.keys.fence)
    const id = `${this.runId}-${token}`
    const session = new RemoteSession(this, id, token, name, role, project)
    this.sessions.set(id, session)
    const data: SessionData = {
      v: PROTOCOL_VERSION,
      session: id,
      token,
      run: this.runId!,
      project: this.options.project,
      projectName: project.name,
      agent: name,
      role,
      options,
      replies: this.keys.replies(this.runId!),
    }
    await queue.add('session', data, { jobId: id, removeOnComplete: true, removeOnFail: true })
    const waiting = setTimeout(() => {
      this.log(
        `agent ${name} waits for a worker of role "${role}": start one with \`tanuki worker --redis ${redactUrl(this.options.redis)} --project ${this.options.project} --roles ${role}\` in a clone of the project.`,
      )
    }, 5000)
    const onAbort = (): void => void session.close('stop')
    request.signal?.addEventListener('abort', onAbort, { once: true })
    try {
      await session.placing
    } finally {
      clearTimeout(waiting)
      request.signal?.removeEventListener('abort', onAbort)
    }
    return session.agent()
  }

  private readonly warned = new Set<string>()

  /** A reply, to its session, if that session still holds its lease; anything else is counted and dropped. */
  private route(reply: ReplyEnvelope): void {
    const session = this.sessions.get(reply.s)
    if (session && session.token === reply.t) {
      session.receive(reply)
      return
    }
    const ended = this.ended.get(reply.s)
    if (ended?.lost && (reply.k === 'done' || reply.k === 'fail' || reply.k === 'out')) {
      this.ignored++
      if (reply.k !== 'out') {
        this.log(
          `remote: ignored a late result from worker ${ended.worker ?? '?'} for agent ${ended.name} (session ${reply.s}, attempt ${reply.t}): that session had lost its lease (${ended.lost}), and its task went to another.`,
        )
      }
    }
    // A worker that took a session this run no longer wants (it was called off, or lost): end it there.
    if (reply.k === 'ready' && (!session || session.state === 'ended')) {
      void this.send(reply.inbox, { k: 'stop', s: reply.s, t: reply.t, n: Number.MAX_SAFE_INTEGER })
    }
  }

  forget(session: RemoteSession): void {
    this.sessions.delete(session.id)
    this.ended.set(session.id, session)
  }

  /** Takes a session job no worker has taken yet out of its queue. */
  async cancel(session: RemoteSession): Promise<void> {
    await this.queues
      .get(session.role)
      ?.queue.remove(session.id)
      .catch(() => 0)
  }

  async send(inbox: string, command: object): Promise<void> {
    await this.client!.xadd(inbox, '*', 'm', encode(command))
  }

  async workers(): Promise<WorkerInfo[]> {
    await this.open()
    return readWorkers(this.client!, this.keys)
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    clearInterval(this.heartbeat)
    if (!this.opened) return
    await this.opened.catch(() => {})
    for (const session of [...this.sessions.values()]) session.finish('stopped')
    // Every step is bounded: a stop must end even with Redis away (workers then see the heartbeat expire).
    await within(
      5000,
      Promise.allSettled(
        [...this.queues.values()].flatMap(({ queue, events, checker }) => [
          checker.close(),
          events.close(),
          queue.close(),
        ]),
      ),
    )
    await within(2000, this.reader?.close() ?? Promise.resolve())
    const client = this.client
    const runId = this.runId
    if (client && runId) {
      await within(
        3000,
        (async () => {
          const workers = await readWorkers(client, this.keys)
          writeJson(join(this.project.stateDir, 'workers.json'), workers)
          // Workers end this run's sessions as soon as its heartbeat is gone.
          await client.multi().del(this.keys.alive(runId), this.keys.replies(runId)).exec()
          if ((await client.get(this.keys.run)) === runId) await client.del(this.keys.run)
        })(),
      )
    }
    client?.disconnect()
  }
}

function writeJson(path: string, value: unknown): void {
  mkdirSync(dirname(path), { recursive: true })
  const temp = `${path}.${process.pid}.tmp`
  writeFileSync(temp, `${JSON.stringify(value, null, 2)}\n`)
  renameSync(temp, path)
}

/**
 * Creates the `remote` backend: each agent is a session that a `tanuki worker` on another machine
 * takes from Redis (a BullMQ job per spawn, in the queue of its role) and runs with its local
 * backend in its own clone of the project; every call travels over Redis. A worker that dies is
 * noticed by BullMQ's stalled check and reported as the agent's crash.
 *
 * @example
 * const backend = createRemoteBackend({ remote: { redis: 'redis://127.0.0.1:6379' }, project })
 * await backend.open()
 * const agent = await backend.spawn({ name: 'backend-1', role: 'backend', options: { kind: 'shell' }, project })
 */
export function createRemoteBackend(options: RemoteBackendOptions): RemoteBackend {
  const resolved = resolveRemoteOptions(options.remote, options.project.name)
  const hub = new Hub(resolved, options.project, options.name ?? 'remote', options.log ?? (() => {}))
  return {
    name: options.name ?? 'remote',
    open: () => hub.open(),
    close: () => hub.close(),
    get runId() {
      return hub.runId
    },
    get ignored() {
      return hub.ignored
    },
    workers: () => hub.workers(),
    spawn: (request) => hub.spawn(request),
    // The role's options go to the worker's backend as they are: what they ask of the kind says.
    reportsSpend: ({ options: roleOptions }) => kindSpend(roleOptions as KindOptions),
  }
}
