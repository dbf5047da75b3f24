/**
 * @tanuki/plugin-agent-process — Tanuki agents as local processes: Claude Code, Codex, any
 * command, or the task's own shell blocks, each agent in its own git worktree.
 *
 * @example
 * // tanuki.config.ts
 * import { defineConfig } from '@tanuki/core'
 * import { processAgents } from '@tanuki/plugin-agent-process'
 *
 * export default defineConfig({
 *   plugins: [processAgents({ log: console.warn })],
 *   agents: {
 *     backend: { backend: 'process', kind: 'claude', model: 'sonnet', count: 2 },
 *     scripts: { backend: 'process', kind: 'shell' },
 *     review: { backend: 'process', kind: 'command', command: ['my-reviewer', '--task', '{prompt}'], promptVia: 'arg' },
 *   },
 * })
 */
import { definePlugin, type TanukiPlugin } from '@tanuki/core'
import { createProcessBackend, type ProcessBackendOptions } from './backend.ts'

export {
  createProcessBackend,
  type ProcessAgent,
  type ProcessBackend,
  type ProcessBackendOptions,
  type ProcessEvent,
} from './backend.ts'
export { createKind, KIND_NAMES } from './kinds/index.ts'
export { createClaudeKind, createClaudeParser } from './kinds/claude.ts'
export { createCodexKind, createCodexParser } from './kinds/codex.ts'
export { createCommandKind } from './kinds/command.ts'
export { createShellKind, SHELL_LANGS } from './kinds/shell.ts'
export { createTextParser } from './kinds/text-output.ts'
export type { AgentKind, IterationPlan, KindOptions, OutputParser, Step } from './kinds/types.ts'
export { runPlan, type ExecStep, type RunPlanOptions, type StepExit } from './run-plan.ts'
export {
  execShell,
  killGroup,
  runProcess,
  startProcess,
  type ExecShellOptions,
  type ProcessHandle,
  type ProcessResult,
  type RunProcessOptions,
} from './process.ts'
export {
  branchName,
  openWorkspace,
  removeWorktrees,
  worktreePath,
  TASK_TRAILER,
  type Workspace,
  type WorkspaceMode,
} from './workspace.ts'

/**
 * The plugin: registers the `process` backend (or `options.name`). Its options are defaults for
 * every role that uses it; `agents.<role>` in the config overrides them.
 *
 * @example
 * export default defineConfig({ plugins: [processAgents({ kind: 'shell' })] })
 */
export function processAgents(options: Omit<ProcessBackendOptions, 'project'> = {}): TanukiPlugin {
  return definePlugin({
    name: 'tanuki:agent-process',
    setup(ctx) {
      ctx.registerBackend(createProcessBackend({ ...options, project: ctx.project }))
    },
  })
}
