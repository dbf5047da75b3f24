import {
  createMemoryBackend,
  createOrchestrator,
  type Agent,
  type AgentBackend,
  type MemoryAction,
  type MemoryRunContext,
  type Orchestrator,
  type Reporter,
  type RunSummary,
  type TanukiEventName,
  type TanukiEvents,
  type TaskInput,
  type UserConfig,
} from '@tanuki/core'

/** One recorded orchestrator event, as `events.on('*')` saw it. */
export interface RecordedEvent<E extends TanukiEventName = TanukiEventName> {
  name: E
  payload: TanukiEvents[E]
}

/**
 * A project that walks every path a reporter must show: a plain completion, a retry that then
 * completes, a failure (verify cannot run), a review (tries run out), tasks blocked by a failure
 * and by a missing dependency, a task left waiting on the review, and an agent that crashes
 * mid-task so its task is requeued and done by the respawned agent.
 */
export const scenarioTasks: TaskInput[] = [
  {
    id: 'setup',
    title: 'Create the project skeleton',
    role: 'backend',
    priority: 'high',
    completion: { signal: 'SETUP_DONE' },
  },
  {
    id: 'api',
    title: 'Write the API',
    role: 'backend',
    dependsOn: ['setup'],
    completion: { verify: 'test -f api.txt', maxIterations: 4 },
  },
  {
    id: 'docs',
    title: 'Document the API',
    role: 'backend',
    priority: 'low',
    completion: { verify: 'false', maxIterations: 2 },
  },
  {
    id: 'publish',
    title: 'Publish the docs',
    role: 'backend',
    dependsOn: ['docs'],
    completion: { signal: 'PUBLISHED' },
  },
  { id: 'ui', title: 'Build the UI', role: 'frontend', priority: 'critical', completion: { verify: 'npm test' } },
  {
    id: 'deploy',
    title: 'Deploy <the> "app" & UI',
    role: 'frontend',
    dependsOn: ['ui'],
    completion: { signal: 'DEPLOYED' },
  },
  { id: 'styles', title: 'Style the pages', role: 'frontend', completion: { signal: 'STYLED' } },
  {
    id: 'legacy',
    title: 'Port the legacy module',
    role: 'backend',
    dependsOn: ['nope'],
    completion: { signal: 'PORTED' },
  },
]

/** What each iteration does: scripted per task, so the run is the same every time. */
function script(ctx: MemoryRunContext): MemoryAction {
  const { task, iteration } = ctx
  if (task.id === 'api') {
    return iteration === 1
      ? { type: 'succeed', output: 'wrote a first draft, forgot the file' }
      : { type: 'succeed', output: 'wrote api.txt', files: { 'api.txt': 'GET /hello' } }
  }
  if (task.id === 'styles' && !crashed.has(ctx.agent)) {
    crashed.add(ctx.agent)
    return { type: 'die', reason: 'exit code 137', delayMs: 5 }
  }
  return { type: 'succeed', output: `working on ${task.id}\n${task.completion.signal ?? 'done'}` }
}
const crashed = new Set<string>()

/**
 * The memory backend does not report usage; real ones (Claude Code) do. This wrapper adds made-up
 * but deterministic token counts and cost, so reporters that total them have something to total.
 */
function withUsage(backend: AgentBackend): AgentBackend {
  return {
    name: backend.name,
    async spawn(request) {
      const agent = await backend.spawn(request)
      const wrapped: Agent = {
        name: agent.name,
        role: agent.role,
        backend: agent.backend,
        ...(agent.workspace === undefined ? {} : { workspace: agent.workspace }),
        async run(run) {
          const result = await agent.run(run)
          return {
            ...result,
            usage: { inputTokens: 1000 * run.iteration, outputTokens: 200, costUsd: 0.01 * run.iteration },
          }
        },
        exec: (command, options) => agent.exec(command, options),
        stop: () => agent.stop(),
        remove: () => agent.remove(),
        onExit: (listener) => agent.onExit(listener),
      }
      return wrapped
    },
  }
}

export interface ScenarioOptions {
  /** Reporters to attach to the run (live tests). */
  reporters?: Reporter[]
  /** Extra config (plugins, for instance). */
  config?: Partial<UserConfig>
  /** Project info (root and stateDir for file reporters). */
  project?: { root: string; stateDir?: string }
  /** Tasks; default `scenarioTasks`. */
  tasks?: TaskInput[]
  /** Called before the run starts, to subscribe to events or look at the orchestrator mid-run. */
  before?: (orchestrator: Orchestrator) => void
}

/** Runs the scenario with the real orchestrator and returns every event it emitted, in order. */
export async function runScenario(
  options: ScenarioOptions = {},
): Promise<{ events: RecordedEvent[]; summary: RunSummary; orchestrator: Orchestrator }> {
  crashed.clear()
  const orchestrator = createOrchestrator({
    config: {
      name: 'scenario',
      tasks: options.tasks ?? scenarioTasks,
      agents: { backend: { count: 2 }, frontend: { count: 1 } },
      cooldownMs: 0,
      pollIntervalMs: 60_000,
      ...options.config,
    },
    ...(options.project ? { project: options.project } : {}),
    backends: [withUsage(createMemoryBackend({ script }))],
    reporters: options.reporters ?? [],
  })
  const events: RecordedEvent[] = []
  // A JSON round trip: what a reporter sees must survive serialisation (the NDJSON log does it).
  orchestrator.events.on('*', (name, payload) => events.push({ name, payload: JSON.parse(JSON.stringify(payload)) }))
  options.before?.(orchestrator)
  await orchestrator.start()
  const summary = await orchestrator.done()
  return { events, summary, orchestrator }
}
