import {
  TanukiError,
  createAgentExits,
  errorMessage,
  type Agent,
  type ExecResult,
  type OutputChunk,
  type ProjectInfo,
  type RunResult,
  type TaskStart,
} from '@tanuki/core'
import { acceptAttempt, commitOf, type TaskCommits } from './git.ts'
import type { ResolvedRemoteOptions } from './options.ts'
import { fromWire, type Command, type ReplyEnvelope } from './protocol.ts'

/** What a session needs of the run's presence in Redis (the backend's hub). */
export interface SessionHub {
  readonly options: ResolvedRemoteOptions
  /** The backend's name, for the agents it gives out. */
  readonly backendName: string
  /** The session ended: its replies are no longer routed to it. */
  forget(session: RemoteSession): void
  /** Puts a command in a worker's inbox. */
  send(inbox: string, command: object): Promise<void>
  /** Takes a session job no worker has taken yet out of its queue. */
  cancel(session: RemoteSession): Promise<void>
}

type Pending = {
  resolve: (value: unknown) => void
  reject: (error: unknown) => void
  onOutput?: ((chunk: OutputChunk) => void) | undefined
}

/** An agent that lives on a worker: every call is a command over Redis. */
export class RemoteSession {
  readonly exits = createAgentExits()
  state: 'placing' | 'ready' | 'ended' = 'placing'
  /** Why it ended without being asked to (its lease expired…): the crash reason. */
  lost: string | undefined
  worker: string | undefined
  host: string | undefined
  inbox: string | undefined
  workspace: string | undefined
  account: string | undefined
  private sent = 0
  private received = 0
  private readonly pending = new Map<number, Pending>()
  private placed!: { resolve: () => void; reject: (error: unknown) => void }
  readonly placing: Promise<void>

  constructor(
    readonly hub: SessionHub,
    readonly id: string,
    readonly token: number,
    readonly name: string,
    readonly role: string,
    readonly project: ProjectInfo,
  ) {
    this.placing = new Promise((resolve, reject) => {
      this.placed = { resolve, reject }
    })
    // Spawn callers attach their own handler; an unobserved rejection must not end the process.
    this.placing.catch(() => {})
  }

  /** A reply from the session's worker; duplicates (a resend after a Redis reconnect) are dropped. */
  receive(reply: ReplyEnvelope): void {
    if (reply.n <= this.received) return
    this.received = reply.n
    switch (reply.k) {
      case 'ready':
        this.worker = reply.worker
        this.host = reply.host
        this.inbox = reply.inbox
        this.workspace = reply.workspace
        this.account = reply.account
        this.state = 'ready'
        this.placed.resolve()
        return
      case 'refused':
        this.end()
        this.placed.reject(fromWire(reply.error))
        return
      case 'out': {
        const onOutput = this.pending.get(reply.id)?.onOutput
        for (const chunk of reply.chunks) onOutput?.(chunk)
        return
      }
      case 'done':
        this.settle(reply.id)?.resolve(reply.value)
        return
      case 'fail':
        this.settle(reply.id)?.reject(fromWire(reply.error))
        return
      case 'exit':
        if (!reply.exit.expected) this.lose(reply.exit.reason)
        else this.finish(reply.exit.reason)
        return
    }
  }

  private settle(id: number): Pending | undefined {
    const entry = this.pending.get(id)
    this.pending.delete(id)
    return entry
  }

  private end(): void {
    this.state = 'ended'
    this.hub.forget(this)
  }

  /** The session is gone without being asked (its worker died, lost its lease, shut down): the agent's crash. */
  lose(reason: string): void {
    if (this.state === 'ended') return
    this.lost = reason
    this.end()
    const crash = new TanukiError('TANUKI_AGENT_CRASHED', `agent ${this.name} crashed: ${reason}`, {
      details: { agent: this.name, worker: this.worker, session: this.id },
    })
    this.placed.reject(crash)
    for (const [id, entry] of [...this.pending]) {
      this.pending.delete(id)
      entry.reject(crash)
    }
    this.exits.end({ reason, expected: false })
  }

  /** Ended as asked (stop, remove). */
  finish(reason: string): void {
    if (this.state === 'ended') return
    this.end()
    this.placed.reject(
      new TanukiError('TANUKI_ABORTED', `Aborted: agent ${this.name} was ${reason} before a worker took it`),
    )
    for (const [id, entry] of [...this.pending]) {
      this.pending.delete(id)
      entry.reject(new TanukiError('TANUKI_ABORTED', `Aborted: agent ${this.name} was ${reason}`))
    }
    this.exits.end({ reason, expected: true })
  }

  /** Sends a command and resolves with its result. */
  call<T>(
    command: Command,
    options: { signal?: AbortSignal; onOutput?: (chunk: OutputChunk) => void } = {},
  ): Promise<T> {
    if (this.state !== 'ready') {
      return Promise.reject(
        new TanukiError(
          'TANUKI_AGENT_CRASHED',
          `agent ${this.name} is not running${this.lost ? ` (${this.lost})` : ''}`,
        ),
      )
    }
    const id = ++this.sent
    const result = new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject, onOutput: options.onOutput })
    })
    const { signal } = options
    const onAbort = (): void => {
      // The worker stops the work and answers TANUKI_ABORTED; the agent is then free for the next.
      void this.post({ k: 'abort', target: id, reason: String(signal?.reason ?? 'aborted') })
    }
    if (signal?.aborted) onAbort()
    else signal?.addEventListener('abort', onAbort, { once: true })
    void this.post(command, id)
    return result.finally(() => signal?.removeEventListener('abort', onAbort))
  }

  /** Puts a command in the worker's inbox; a command that could not be sent fails its call. */
  async post(command: Command, id = ++this.sent): Promise<void> {
    try {
      await this.hub.send(this.inbox!, { ...command, s: this.id, t: this.token, n: id })
    } catch (error) {
      this.settle(id)?.reject(
        new TanukiError(
          'TANUKI_AGENT_FAILED',
          `agent ${this.name}: the command could not be sent: ${errorMessage(error)}`,
        ),
      )
    }
  }

  /** `stop` or `remove`, waited for at most `commandTimeoutMs`: a dead worker must not hold up a stop. */
  async close(how: 'stop' | 'remove'): Promise<void> {
    if (this.state === 'placing') {
      await this.hub.cancel(this)
      this.finish(how === 'stop' ? 'stopped' : 'removed')
      return
    }
    if (this.state === 'ended') return
    const asked = this.call<void>({ k: how }).catch(() => {})
    let timer: NodeJS.Timeout | undefined
    await Promise.race([
      asked,
      new Promise((resolve) => {
        timer = setTimeout(resolve, this.hub.options.commandTimeoutMs)
      }),
    ])
    clearTimeout(timer)
    this.finish(how === 'stop' ? 'stopped' : 'removed')
  }

  agent(): Agent {
    const session = this
    return {
      name: this.name,
      role: this.role,
      backend: this.hub.backendName,
      get workspace() {
        return session.worker ? `${session.worker}:${session.workspace ?? '?'}` : undefined
      },
      // Agents that spend one account park together on a usage limit, wherever they run.
      ...(session.account ? { account: session.account } : {}),
      run: async (request): Promise<RunResult> =>
        session.call<RunResult>(
          {
            k: 'run',
            prompt: request.prompt,
            task: request.task,
            iteration: request.iteration,
            ...(request.budget ? { budget: request.budget } : {}),
          },
          { signal: request.signal, ...(request.onOutput ? { onOutput: request.onOutput } : {}) },
        ),
      exec: (command, options = {}) =>
        session.call<ExecResult>(
          {
            k: 'exec',
            command,
            ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
            // A role's setup: the worker's workspace leaves what it creates out of the task's commits.
            ...(options.setup ? { setup: true } : {}),
          },
          {
            ...(options.signal ? { signal: options.signal } : {}),
            ...(options.onOutput ? { onOutput: options.onOutput } : {}),
          },
        ),
      beginTask: async (task, context): Promise<TaskStart> => {
        // The exact commit to start from: the landing branch may move on before the worker fetches it.
        const baseCommit = context.base ? await commitOf(context.base, session.project.root) : undefined
        return session.call<TaskStart>({
          k: 'begin',
          task,
          ...(context.base ? { base: context.base } : {}),
          ...(baseCommit ? { baseCommit } : {}),
          unlanded: [...context.unlanded],
          carry: context.carry,
        })
      },
      endTask: async (task, outcome) => {
        const ended = await session.call<{ commits?: TaskCommits }>({ k: 'end', task, status: outcome.status })
        if (outcome.status === 'failed' || !ended?.commits) return
        // Accepted from the session that holds the lease: its work becomes the task's refs, here and on the remote.
        await acceptAttempt({
          repo: session.project.root,
          remote: session.hub.options.git,
          project: session.project,
          taskId: task.id,
          token: session.token,
          commits: ended.commits,
        })
      },
      stop: () => session.close('stop'),
      remove: () => session.close('remove'),
      onExit: this.exits.onExit,
    }
  }
}
