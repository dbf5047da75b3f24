/**
 * @tanuki/core — the runtime-agnostic engine of Tanuki. Runs unchanged on Node, Deno and Bun alike.
 *
 * @example
 * import { createOrchestrator, createMemoryBackend, defineConfig } from '@tanuki/core'
 *
 * const orchestrator = createOrchestrator({
 *   config: defineConfig({ tasks: [{ id: 'hello', title: 'Say hello', completion: { signal: 'HELLO' } }] }),
 *   backends: [createMemoryBackend()],
 * })
 * orchestrator.events.on('task:completed', ({ taskId }) => console.log(`${taskId} complete`))
 * await orchestrator.start()
 * console.log(await orchestrator.done())
 */
export {
  TanukiError,
  isTanukiError,
  blamesConfig,
  errorMessage,
  usageOfError,
  targetOfError,
  combineErrors,
  problemsOf,
  type CoreErrorCode,
  type TanukiErrorCode,
  type TanukiErrorOptions,
} from './errors.ts'
export { systemClock, sleep, abortError, type Clock } from './clock.ts'
export { createAgentExits, type AgentExits } from './agent/exits.ts'
export * from './task/types.ts'
export { parseTask, createTask, defineTask, taskFromFields, updateTask, updateTaskText } from './task/parse.ts'
export { FRONT_MATTER_KEYS } from './task/schema.ts'
export { SPEC_FIELDS, specHashes, changedSince, type SpecField, type SpecHashes } from './task/spec.ts'
export {
  pathName,
  nameProblem,
  isValidName,
  closestName,
  didYouMean,
  type ClosestNameOptions,
  type NameKind,
} from './names/index.ts'
export { codeBlocks, type CodeBlock } from './task/body.ts'
export { Resolver, cycleError, type Blocker, type GraphTask } from './resolver/index.ts'
export { TaskQueue, PRIORITY_RANK, type QueueItem } from './queue/index.ts'
export {
  Balancer,
  leastLoaded,
  roundRobin,
  builtinStrategies,
  type AgentCandidate,
  type BalancerStrategy,
} from './balancer/index.ts'
export { StatusTracker, type StatusChange } from './status/index.ts'
export { progressOf, progressFromCounts } from './status/progress.ts'
export {
  needsYou,
  isNotLanded,
  landingHolds,
  type NeedsYouTask,
  type NeedsYouItem,
  type NeedsYouOptions,
  type NeedKind,
  type LandingTask,
} from './status/needs-you.ts'
export { Validator, type Validation, type ValidatorOptions, type ValidateRequest } from './validator/index.ts'
export {
  preflightProbe,
  preflightPrograms,
  probedProgram,
  readProbe,
  type ProbeResult,
} from './validator/preflight.ts'
export {
  Runner,
  buildPrompt,
  type RunnerOptions,
  type RunnerHooks,
  type RunnerOutcome,
  type RunOptions,
  type PromptNote,
  type CutOffNote,
  type PromptFeedback,
} from './runner/index.ts'
export type {
  Agent,
  AgentBackend,
  AgentExit,
  AgentFailure,
  Awaitable,
  CleanupOptions,
  CleanupReport,
  KeptWork,
  Conflict,
  ExecOptions,
  ExecResult,
  OutputChunk,
  ProgramCheck,
  ProjectInfo,
  RunRequest,
  RoleCheck,
  RunResult,
  SandboxExecRequest,
  SpawnRequest,
  TaskContext,
  TaskStart,
  Usage,
  VerifyUnrunnable,
} from './agent/types.ts'
export type { TaskSource, TaskChange } from './source/types.ts'
export { createMemorySource, type MemorySource } from './source/memory.ts'
export { createMemoryStore, type MemoryStore } from './state/memory.ts'
export { applyRecord, emptyRunState, replay } from './state/replay.ts'
export type {
  Landing,
  Park,
  RunInfo,
  RunRecord,
  RunState,
  RunStore,
  Spend,
  TaskRunState,
  TryFeedback,
} from './state/types.ts'
export { FAILURE_CLASSES, type Failure, type FailureClass } from './failure.ts'
export { TELLING_CAUSE_LINES, TELLING_TAIL_LINES, tellingLines } from './output.ts'
export { hookName, type Reporter, type ReporterHooks } from './reporter/types.ts'
export {
  definePlugin,
  defineConfig,
  resolveConfig,
  checkConfig,
  setupPlugins,
  flattenPlugins,
  type ConfigCheck,
  type PluginOption,
  type LandConfig,
  type RemoteConfig,
  type TanukiPlugin,
  type PluginContext,
  type PluginRegistry,
  type UserConfig,
  type ResolvedConfig,
  type RoleConfig,
} from './plugin/index.ts'
export { CONFIG_KEYS, configProblems, formatConfigProblem, type ConfigProblem } from './plugin/schema.ts'
export {
  backendRoles,
  checkRolePrograms,
  checkRoles,
  roleConfig,
  roleBackendName,
  roleSetup,
  setupFailure,
  type RoleCheckInput,
  type RoleSetup,
} from './plugin/roles.ts'
export {
  Orchestrator,
  createOrchestrator,
  overruledStatus,
  noTriesLeftAfterCrash,
  taskView,
  triesSpent,
  type OrchestratorOptions,
  type OrchestratorStatus,
  type AgentInfo,
  type AgentStatus,
  type TaskView,
  type TaskFacts,
  type RunSummary,
  type HeldBack,
  type VerifyBlocked,
  type OrchestratorState,
  type Progress,
  type TanukiEvents,
  type TanukiEventName,
  type IterationOutcome,
  type RedefinedField,
} from './orchestrator/index.ts'
export type {
  EmptyLanding,
  GateAloneRequest,
  GateAloneVerdict,
  LandOutcome,
  LandRequest,
  LandResult,
  Lander,
  LandingFeedback,
  LandingRecord,
  LandingStart,
  PushFailure,
  TargetPush,
} from './land/types.ts'
export {
  DEFAULT_LANDING_MESSAGE,
  LANDING_MESSAGE_PLACEHOLDERS,
  landingMessage,
  landingMessageProblem,
  type LandingMessage,
} from './land/message.ts'
export { notPushedNote } from './land/push.ts'
export {
  TARGET_FAILS_SHOWN_LINES,
  askGateAlone,
  targetFailsNote,
  targetFailsOutput,
  targetFailsSaid,
  targetFailsShown,
  type FailedGate,
  type GateAloneOptions,
} from './land/target-fails.ts'
export { createMemoryLander, type MemoryLander, type MemoryLanderOptions } from './testing/memory-lander.ts'
export {
  createMemoryBackend,
  type MemoryBackend,
  type MemoryBackendOptions,
  type MemoryAction,
  type MemoryAgent,
  type MemoryRun,
  type MemoryRunContext,
} from './testing/memory-backend.ts'
