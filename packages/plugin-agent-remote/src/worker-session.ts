import { hostname } from 'node:os'
import {
  errorMessage,
  type Agent,
  type AgentBackend,
  type OutputChunk,
  type ProjectInfo,
  type Task,
} from '@tanuki/core'
import type { Redis } from 'ioredis'
import { fetchForTask, pushAttempt } from './git.ts'
import { encode, toWire, type CommandEnvelope, type Keys, type Reply, type SessionData } from './protocol.ts'

/** What sessions share: the worker's connections and settings. */
export interface WorkerHost {
  /** The worker's id: its inbox and registration are keyed by it. */
  id: string
  /** The worker's name, for people. */
  name: string
  /** The project's Redis keys. */
  keys: Keys
  /** The connection replies are written on. */
  client: Redis
  /** The local backend agents run with. */
  backend: AgentBackend
  /** The worker's clone of the project. */
  repo: string
  /** Its git remote, shared with the orchestrator. */
  remote: string
  /** Where agents' state goes. */
  stateDir: string
  /** What the worker does, one line each, for people. */
  log: (line: string) => void
}

/** One agent session on this worker: the local agent, and the commands the orchestrator sends it. */
export class WorkerSession {
  agent: Agent | undefined
  task: string | undefined
  private seq = 0
  private lastCommand = 0
  private readonly controllers = new Map<number, AbortController>()
  private outputs = new Map<number, OutputChunk[]>()
  private flushTimer: NodeJS.Timeout | undefined
  private ending: ((reason: string) => void) | undefined
  readonly ended: Promise<string>
  private done = false

  constructor(
    readonly data: SessionData,
    readonly host: WorkerHost,
  ) {
    this.ended = new Promise((resolve) => {
      this.ending = resolve
    })
  }

  private get label(): string {
    return this.data.agent
  }

  /** Replies, in order (one client, so Redis appends them as sent). */
  reply(reply: Reply): Promise<unknown> {
    const envelope = { ...reply, s: this.data.session, t: this.data.token, n: ++this.seq }
    return this.host.client.xadd(this.data.replies, '*', 'm', encode(envelope)).catch((error: unknown) => {
      this.host.log(`  ${this.label}: a reply could not be sent: ${errorMessage(error)}`)
    })
  }

  async start(): Promise<void> {
    const project: ProjectInfo = { root: this.host.repo, name: this.data.projectName, stateDir: this.host.stateDir }
    try {
      this.agent = await this.host.backend.spawn({
        name: this.data.agent,
        role: this.data.role,
        options: this.data.options,
        project,
      })
    } catch (error) {
      this.host.log(`! ${this.label}: could not start: ${errorMessage(error)}`)
      await this.reply({ k: 'refused', error: toWire(error) })
      this.finish('could not start')
      return
    }
    this.agent.onExit((exit) => {
      if (exit.expected || this.done) return
      this.host.log(`! ${this.label}: crashed: ${exit.reason}`)
      void this.flush().then(() => this.reply({ k: 'exit', exit }))
      this.finish(`crashed: ${exit.reason}`)
    })
    await this.reply({
      k: 'ready',
      worker: this.host.id,
      host: hostname(),
      inbox: this.host.keys.inbox(this.host.id),
      ...(this.agent.workspace ? { workspace: this.agent.workspace } : {}),
      ...(this.agent.account ? { account: this.agent.account } : {}),
    })
  }

  private finish(reason: string): void {
    if (this.done) return
    this.done = true
    for (const controller of this.controllers.values()) controller.abort(reason)
    clearTimeout(this.flushTimer)
    this.ending?.(reason)
  }

  /** Output is sent in batches: a chunk per line of a chatty agent would be a Redis write each. */
  private output(id: number, chunk: OutputChunk): void {
    const list = this.outputs.get(id) ?? []
    list.push(chunk)
    this.outputs.set(id, list)
    this.flushTimer ??= setTimeout(() => void this.flush(), 25)
  }

  private flush(): Promise<unknown> {
    clearTimeout(this.flushTimer)
    this.flushTimer = undefined
    const batches = [...this.outputs]
    this.outputs = new Map()
    return Promise.all(batches.map(([id, chunks]) => this.reply({ k: 'out', id, chunks })))
  }

  /** A command from the orchestrator. A duplicate (a resend after a Redis reconnect) is ignored. */
  handle(command: CommandEnvelope): void {
    if (command.t !== this.data.token || command.n <= this.lastCommand || this.done) return
    this.lastCommand = command.n
    void this.run(command)
  }

  private async run(command: CommandEnvelope): Promise<void> {
    const agent = this.agent!
    const id = command.n
    const answer = async (work: () => Promise<unknown>): Promise<void> => {
      try {
        const value = await work()
        await this.flush()
        await this.reply({ k: 'done', id, ...(value === undefined ? {} : { value }) })
      } catch (error) {
        await this.flush()
        await this.reply({ k: 'fail', id, error: toWire(error) })
      }
    }
    const controlled = (): AbortController => {
      const controller = new AbortController()
      this.controllers.set(id, controller)
      return controller
    }
    switch (command.k) {
      case 'run': {
        const controller = controlled()
        this.task = command.task.id
        this.host.log(`  ${this.label}: ${command.task.id} iteration ${command.iteration}`)
        await answer(() =>
          agent.run({
            prompt: command.prompt,
            task: command.task,
            iteration: command.iteration,
            ...(command.budget ? { budget: command.budget } : {}),
            signal: controller.signal,
            onOutput: (chunk) => this.output(id, chunk),
          }),
        )
        this.controllers.delete(id)
        return
      }
      case 'exec': {
        const controller = controlled()
        await answer(() =>
          agent.exec(command.command, {
            signal: controller.signal,
            ...(command.timeoutMs === undefined ? {} : { timeoutMs: command.timeoutMs }),
            ...(command.setup ? { setup: true } : {}),
            onOutput: (chunk) => this.output(id, chunk),
          }),
        )
        this.controllers.delete(id)
        return
      }
      case 'begin':
        this.task = command.task.id
        this.host.log(`  ${this.label}: ${command.task.id} begins`)
        await answer(async () => {
          await fetchForTask({
            repo: this.host.repo,
            remote: this.host.remote,
            project: this.project(),
            base: command.base,
            baseCommit: command.baseCommit,
            refsOf: [...command.unlanded, ...(command.carry ? [command.task.id] : [])],
          })
          const context = {
            ...(command.base ? { base: command.baseCommit ?? command.base } : {}),
            unlanded: command.unlanded,
            carry: command.carry,
          }
          return (await agent.beginTask?.(command.task, context)) ?? {}
        })
        return
      case 'end':
        this.host.log(`  ${this.label}: ${command.task.id} ${command.status}`)
        await answer(async () => {
          await agent.endTask?.(command.task, { status: command.status })
          // Work for review is published too, for a person who approves it (see `endTaskWork`).
          if (command.status === 'failed') return {}
          const commits = await this.push(command.task)
          return commits ? { commits } : {}
        })
        this.task = undefined
        return
      case 'abort':
        this.controllers.get(command.target)?.abort(command.reason)
        return
      case 'stop':
      case 'remove': {
        const how = command.k === 'stop' ? 'stopped' : 'removed'
        for (const controller of this.controllers.values()) controller.abort(`the agent was ${how}`)
        await answer(() => (command.k === 'stop' ? agent.stop() : agent.remove()))
        await this.reply({ k: 'exit', exit: { reason: how, expected: true } })
        this.host.log(`- ${this.label}: ${how}`)
        this.finish(how)
        return
      }
    }
  }

  private project(): ProjectInfo {
    return { root: this.host.repo, name: this.data.projectName, stateDir: this.host.stateDir }
  }

  private push(task: Task) {
    return pushAttempt({
      repo: this.host.repo,
      remote: this.host.remote,
      project: this.project(),
      taskId: task.id,
      token: this.data.token,
    })
  }

  /**
   * The session is over without the orchestrator asking: its lease is gone, or its orchestrator.
   * The agent stops; nothing more is said (no one would listen, or someone else took over).
   */
  async lose(reason: string): Promise<void> {
    if (this.done) return
    this.host.log(`- ${this.label}: ${reason}`)
    this.finish(reason)
    await this.agent?.stop().catch(() => {})
  }

  /** The worker shuts down: the agent stops, and the orchestrator hears it as a crash, to give the task to another. */
  async shutdown(): Promise<void> {
    if (this.done) return
    this.finish('the worker shut down')
    await this.agent?.stop().catch(() => {})
    await this.flush()
    await this.reply({ k: 'exit', exit: { reason: `worker ${this.host.name} shut down`, expected: false } })
  }
}
