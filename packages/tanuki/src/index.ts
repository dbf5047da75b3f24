/**
 * tanuki — the CLI and its Node layer. Import from it in `tanuki.config.ts`.
 *
 * @example
 * // tanuki.config.ts
 * import { defineConfig } from 'tanuki'
 *
 * export default defineConfig({
 *   agents: { backend: { count: 2, kind: 'claude', model: 'sonnet' }, qa: { kind: 'shell' } },
 * })
 */
export { defineConfig, definePlugin, createTask, defineTask } from '@tanuki/core'
export type { UserConfig, TanukiPlugin, RoleConfig, Reporter, AgentBackend, TaskSource } from '@tanuki/core'
export { processAgents } from '@tanuki/plugin-agent-process'
export { consoleReporter, ndjsonReporter, summaryReporter, junitReporter } from '@tanuki/plugin-reporter'
export { FileTaskSource, resolveTasksDir } from './file-source.ts'
export { loadConfig, type LoadedConfig } from './config.ts'
export { openProject, runProject, checkTasks, type Project, type RunOptions } from './project.ts'
export { checkProject, type CheckedProject } from './check.ts'
export { statePaths, type StatePaths } from './paths.ts'
export type { StatusDocument } from './state.ts'
