/**
 * @tanuki/plugin-agent-process — Tanuki agents as local processes: Claude Code, Codex, any
 * command, or the task's own shell blocks, each agent in its own git worktree. The parts it is made
 * of (kinds, iterations, workspaces, process helpers) are in `@tanuki/plugin-agent-process/kit`,
 * for other backends.
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
import { createGitLander } from './kit/git/lander.ts'
import { gitRepository } from './kit/git/run.ts'

export {
  createProcessBackend,
  leftovers,
  reapLeftovers,
  type ProcessBackend,
  type ProcessBackendOptions,
  type ProcessEvent,
} from './backend.ts'
export type { ProcessAgent } from './agent.ts'
export type { AgentKind, KindOptions } from './kit/kinds/types.ts'
export type { WorkspaceMode } from './kit/workspace.ts'

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

/**
 * The git lander as a plugin: in a git repository, completed work lands on your branch (see
 * `land` in the config); elsewhere it does nothing. The CLI adds it unless the config has its own.
 * `remote`: a git remote shared with remote workers (see `GitLanderOptions.remote`).
 *
 * @example
 * export default defineConfig({ plugins: [gitLanding()], land: { verify: 'npm test' } })
 */
export function gitLanding(options: { remote?: string } = {}): TanukiPlugin {
  return definePlugin({
    name: 'tanuki:land-git',
    async setup(ctx) {
      if (!ctx.config.land.enabled || !(await gitRepository(ctx.project.root))) return
      ctx.registerLander(
        createGitLander({
          project: ctx.project,
          land: ctx.config.land,
          verifyTimeoutMs: ctx.config.verifyTimeoutMs,
          ...(options.remote ? { remote: options.remote } : {}),
        }),
      )
    },
  })
}
