import type {
  Agent,
  AgentBackend,
  AgentExit,
  Awaitable,
  ExecResult,
  ProjectInfo,
  AgentFailure,
  RunRequest,
  RunResult,
  TaskContext,
  Usage,
  TaskStart,
} from '../agent/types.ts'
import type { Task } from '../task/types.ts'
import { createAgentExits } from '../agent/exits.ts'
import { abortError } from '../clock.ts'
import { TanukiError } from '../errors.ts'
import { probedProgram, probeOutput } from '../validator/preflight.ts'

/** What a scripted in-memory agent does in one iteration. */
export type MemoryAction =
  /** Finish: print `output`, write `files` into the workspace; `usage` is what it spent. */
  | { type: 'succeed'; output?: string; files?: Record<string, string>; delayMs?: number; usage?: Usage }
  /** Finish with an error of its own (a model refusing, a non-zero exit), classified by `failure` when given. */
  | { type: 'fail'; error: string; output?: string; failure?: AgentFailure; usage?: Usage; delayMs?: number }
  /** Never finish until aborted; `usage` is what it spent until then (the abort error's `details.usage`). */
  | { type: 'hang'; usage?: Usage }
  /** The agent dies in the middle of the iteration, having spent `usage` (the error's `details.usage`). */
  | { type: 'die'; reason?: string; delayMs?: number; usage?: Usage }
  /** `run` throws (a bug in the backend, a lost connection). */
  | { type: 'throw'; message: string }

/** What a script sees of the iteration it decides. */
export interface MemoryRunContext extends RunRequest {
  agent: string
  role: string
  /** The agent's workspace: path → content. Shared by all agents unless `isolated`. */
  files: Map<string, string>
}

export interface MemoryBackendOptions {
  /** Default `memory`. */
  name?: string
  /** Decides each iteration. Default: succeed, printing the task's signal if it has one. */
  script?: (ctx: MemoryRunContext) => Awaitable<MemoryAction>
  /** Give each agent its own workspace instead of one shared by all. */
  isolated?: boolean
  /**
   * Refuse to spawn some agents: return an error message (or one with `config: true`, a refusal
   * that blames the role's configuration), or undefined to allow.
   */
  refuseSpawn?: (name: string, role: string) => string | { message: string; config?: boolean } | undefined
  /** The account an agent spends (it parks with the others on it). Default: its name. */
  account?: (name: string, role: string) => string
  /** What `beginTask` does (the agents have it only when this is given): e.g. report a conflict. */
  begin?: (task: Task, context: TaskContext, agent: string) => Awaitable<TaskStart | void>
  /**
   * What `endTask` does (the agents have it only when this is given): a publish that takes time,
   * or fails. It runs after the loop's verdict and before the orchestrator records it.
   */
  end?: (task: Task, outcome: { status: 'complete' | 'review' | 'failed' }, agent: string) => Awaitable<void>
  /**
   * Runs verify commands; default understands `true`, `false`, `exit N`, `test -f PATH`, `sleep MS`.
   * `signal` aborts on timeout (then report `timedOut: true`) or when the caller aborts.
   */
  exec?: (
    command: string,
    files: Map<string, string>,
    signal?: AbortSignal,
  ) => Awaitable<Omit<ExecResult, 'durationMs'>>
  /**
   * Programs missing from the agents' machine, as a verify's pre-flight (`command -v`) finds them
   * (it finds every other one). What `exec` does with them is `exec`'s to say.
   */
  missingPrograms?: string[]
}

/** One iteration as the backend saw it, for assertions. */
export interface MemoryRun {
  agent: string
  taskId: string
  iteration: number
  prompt: string
  /** What the iteration was allowed to spend, when a budget applied. */
  budget?: { usd?: number; tokens?: number }
}

/** A handle on a spawned in-memory agent. */
export interface MemoryAgent extends Agent {
  /** Kills the agent from outside, as `kill -9` would. */
  kill(reason?: string): void
  readonly alive: boolean
}

/** The in-memory backend, with what it did. */
export interface MemoryBackend extends AgentBackend {
  /** Agents by name (the latest spawn of each name). */
  readonly agents: ReadonlyMap<string, MemoryAgent>
  /** Every iteration run, in order. */
  readonly runs: readonly MemoryRun[]
  /** Every `beginTask` (when `begin` is given), with the context the orchestrator passed. */
  readonly begun: readonly { agent: string; taskId: string; context: TaskContext }[]
  /** Every spawn, in order, by name. */
  readonly spawns: readonly string[]
  /** The shared workspace (or the last agent's, when isolated). */
  readonly files: Map<string, string>
  /** Every `cleanup` call, in order. */
  readonly cleanups: readonly ProjectInfo[]
  /** Every program a verify's pre-flight looked for, in order, with the agent it asked. */
  readonly probes: readonly { agent: string; program: string }[]
}

function defaultExec(
  command: string,
  files: Map<string, string>,
  signal?: AbortSignal,
): Promise<Omit<ExecResult, 'durationMs'>> {
  const done = (exitCode: number, output = ''): Omit<ExecResult, 'durationMs'> => ({
    exitCode,
    output,
    timedOut: false,
  })
  const trimmed = command.trim()
  if (trimmed === 'true') return Promise.resolve(done(0))
  if (trimmed === 'false') return Promise.resolve(done(1))
  const exit = /^exit (\d+)$/.exec(trimmed)
  if (exit) return Promise.resolve(done(Number(exit[1])))
  const test = /^test -f (\S+)$/.exec(trimmed)
  if (test) return Promise.resolve(files.has(test[1]!) ? done(0) : done(1, `${test[1]}: no such file\n`))
  const pause = /^sleep (\d+)$/.exec(trimmed)
  if (pause) {
    const killed = (): Omit<ExecResult, 'durationMs'> => ({
      exitCode: null,
      output: '',
      timedOut: signal?.reason === 'timeout',
    })
    if (signal?.aborted) return Promise.resolve(killed())
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(done(0)), Number(pause[1]))
      signal?.addEventListener('abort', () => {
        clearTimeout(timer)
        resolve(killed())
      })
    })
  }
  return Promise.reject(new TanukiError('TANUKI_VERIFY_FAILED', `memory backend cannot run "${command}"`))
}

/**
 * A small, real agent backend that lives in memory: agents are objects, workspaces are maps, and
 * a script decides what each iteration does (succeed, fail, print a signal, hang, die). For tests,
 * benchmarks and embedding examples; it shows the whole `AgentBackend` contract.
 *
 * @example
 * const backend = createMemoryBackend({
 *   script: ({ task, iteration }) => (iteration < 2 ? { type: 'fail', error: 'not yet' } : { type: 'succeed', output: 'DONE' }),
 * })
 */
export function createMemoryBackend(options: MemoryBackendOptions = {}): MemoryBackend {
  const name = options.name ?? 'memory'
  const shared = new Map<string, string>()
  const agents = new Map<string, MemoryAgent>()
  const runs: MemoryRun[] = []
  const begun: { agent: string; taskId: string; context: TaskContext }[] = []
  const spawns: string[] = []
  const cleanups: ProjectInfo[] = []
  const probes: { agent: string; program: string }[] = []
  const missing = new Set(options.missingPrograms)
  const workspaces = new Set<Map<string, string>>([shared])
  const script =
    options.script ??
    (({ task }: MemoryRunContext): MemoryAction => ({ type: 'succeed', output: task.completion.signal ?? 'done' }))
  const exec = options.exec ?? defaultExec
  let lastFiles = shared

  const backend: MemoryBackend = {
    name,
    agents,
    runs,
    begun,
    spawns,
    cleanups,
    probes,
    get files() {
      return options.isolated ? lastFiles : shared
    },
    async spawn({ name: agentName, role }) {
      const refused = options.refuseSpawn?.(agentName, role)
      if (typeof refused === 'string') throw new TanukiError('TANUKI_AGENT_SPAWN_FAILED', refused)
      if (refused) {
        throw new TanukiError('TANUKI_AGENT_SPAWN_FAILED', refused.message, {
          ...(refused.config ? { details: { config: true } } : {}),
        })
      }
      spawns.push(agentName)
      const files = options.isolated ? new Map<string, string>() : shared
      workspaces.add(files)
      lastFiles = files
      const exits = createAgentExits()
      /** Rejects the run in progress when the agent dies. */
      let onDeath: ((reason: string) => void) | undefined
      const end = (exit: AgentExit): void => {
        if (exits.ended) return
        onDeath?.(exit.reason)
        exits.end(exit)
      }
      const agent: MemoryAgent = {
        name: agentName,
        role,
        backend: name,
        workspace: `memory:${agentName}`,
        ...(options.account ? { account: options.account(agentName, role) } : {}),
        get alive() {
          return !exits.ended
        },
        kill(reason = 'killed') {
          end({ reason, expected: false })
        },
        run(request) {
          if (exits.ended)
            return Promise.reject(new TanukiError('TANUKI_AGENT_CRASHED', `agent ${agentName} is not running`))
          runs.push({
            agent: agentName,
            taskId: request.task.id,
            iteration: request.iteration,
            prompt: request.prompt,
            ...(request.budget ? { budget: request.budget } : {}),
          })
          /** What the iteration spent before it was cut short, for the error that ends it. */
          let spent: Usage | undefined
          const spending = (error: TanukiError): TanukiError => {
            if (spent) error.details.usage = spent
            return error
          }
          return new Promise<RunResult>((resolve, reject) => {
            const onAbort = (): void => reject(spending(abortError(request.signal)))
            // Aborted before it began (a person's command as the iteration was handed out): no
            // 'abort' event comes any more.
            if (request.signal.aborted) return onAbort()
            request.signal.addEventListener('abort', onAbort, { once: true })
            onDeath = (reason) =>
              reject(spending(new TanukiError('TANUKI_AGENT_CRASHED', `agent ${agentName} died: ${reason}`)))
            Promise.resolve(script({ ...request, agent: agentName, role, files }))
              .then(async (action) => {
                if ((action.type === 'hang' || action.type === 'die') && action.usage) spent = action.usage
                if ('delayMs' in action && action.delayMs) await new Promise((r) => setTimeout(r, action.delayMs))
                if (exits.ended || request.signal.aborted) return
                switch (action.type) {
                  case 'succeed':
                    for (const [path, content] of Object.entries(action.files ?? {})) files.set(path, content)
                    if (action.output) request.onOutput?.({ stream: 'stdout', text: action.output })
                    resolve({
                      output: action.output ?? '',
                      exitCode: 0,
                      ...(action.usage ? { usage: action.usage } : {}),
                    })
                    break
                  case 'fail':
                    resolve({
                      output: action.output ?? '',
                      exitCode: 1,
                      error: action.error,
                      ...(action.failure ? { failure: action.failure } : {}),
                      ...(action.usage ? { usage: action.usage } : {}),
                    })
                    break
                  case 'throw':
                    reject(new Error(action.message))
                    break
                  case 'die':
                    end({ reason: action.reason ?? 'died', expected: false })
                    break
                  case 'hang':
                    break
                }
              })
              .catch(reject)
          }).finally(() => {
            onDeath = undefined
          })
        },
        async exec(command, execOptions = {}) {
          if (exits.ended) throw new TanukiError('TANUKI_AGENT_CRASHED', `agent ${agentName} is not running`)
          const started = performance.now()
          const program = probedProgram(command)
          if (program !== undefined) {
            probes.push({ agent: agentName, program })
            const found = probeOutput(missing.has(program) ? 'missing' : 'found', program)
            return { ...found, timedOut: false, durationMs: performance.now() - started }
          }
          const controller = new AbortController()
          const timer =
            execOptions.timeoutMs === undefined
              ? undefined
              : setTimeout(() => controller.abort('timeout'), execOptions.timeoutMs)
          const forward = (): void => controller.abort(execOptions.signal?.reason ?? 'aborted')
          if (execOptions.signal?.aborted) forward()
          execOptions.signal?.addEventListener('abort', forward, { once: true })
          try {
            const result = await exec(command, files, controller.signal)
            return { ...result, durationMs: performance.now() - started }
          } finally {
            clearTimeout(timer)
            execOptions.signal?.removeEventListener('abort', forward)
          }
        },
        async stop() {
          end({ reason: 'stopped', expected: true })
        },
        async remove() {
          end({ reason: 'removed', expected: true })
          if (options.isolated) files.clear()
        },
        onExit: exits.onExit,
        ...(options.begin
          ? {
              beginTask: async (task: Task, context: TaskContext) => {
                begun.push({ agent: agentName, taskId: task.id, context })
                return options.begin!(task, context, agentName)
              },
            }
          : {}),
        ...(options.end
          ? {
              endTask: async (task: Task, outcome: { status: 'complete' | 'review' | 'failed' }) =>
                options.end!(task, outcome, agentName),
            }
          : {}),
      }
      agents.set(agentName, agent)
      return agent
    },
    async cleanup(project) {
      cleanups.push(project)
      for (const files of workspaces) files.clear()
    },
  }
  return backend
}
