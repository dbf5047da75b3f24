/**
 * @tanuki/plugin-agent-docker — Tanuki agents in Docker containers: one container per agent, its
 * git worktree mounted at `/workspace`, the agent kinds of the process backend run by `docker exec`.
 *
 * @example
 * // tanuki.config.ts
 * import { defineConfig } from '@tanuki/core'
 * import { dockerAgents } from '@tanuki/plugin-agent-docker'
 *
 * export default defineConfig({
 *   plugins: [dockerAgents({ image: 'tanuki-claude:latest', passEnv: ['ANTHROPIC_API_KEY'], memory: '2g', cpus: 1 })],
 *   agents: { backend: { backend: 'docker', count: 2 } },
 * })
 */
import { definePlugin, type TanukiPlugin } from '@tanuki/core'
import { createDockerBackend } from './backend.ts'
import type { DockerAgentOptions } from './options.ts'

export { createDockerBackend, type DockerBackend } from './backend.ts'
export { createDockerAgent, type DockerAgent, type DockerAgentParts } from './agent.ts'
export { containerName, LABELS, IDLE_SCRIPT } from './container.ts'
export { connectEngine, DEFAULT_SOCKET, type Engine } from './engine.ts'
export {
  parseMemory,
  resolveDockerOptions,
  containerEnv,
  type DockerAgentOptions,
  type DockerBuildOptions,
  type DockerMount,
  type ResolvedDockerOptions,
} from './options.ts'

/**
 * The plugin: registers the `docker` backend. Roles choose it with `backend: 'docker'`; their own
 * keys in `agents.<role>` override these options.
 */
export function dockerAgents(options: DockerAgentOptions = {}): TanukiPlugin {
  let backend: ReturnType<typeof createDockerBackend> | undefined
  return definePlugin({
    name: 'tanuki:agent-docker',
    setup(ctx) {
      backend = createDockerBackend(options)
      ctx.registerBackend(backend)
    },
    teardown() {
      backend?.close()
      backend = undefined
    },
  })
}
