/**
 * @tanuki/plugin-agent-remote — Tanuki agents on other machines. Roles with `backend: 'remote'`
 * get agents that live on `tanuki worker` processes: each agent is a session (a BullMQ job in
 * Redis) that a worker takes and runs with its local process or Docker backend, in its own clone
 * of the project; commands and output travel over Redis streams. One orchestrator stays the only
 * scheduler; workers execute. See the README for the protocol, faults and their bounds, and security.
 *
 * @example
 * // tanuki.config.ts (the CLI adds the plugin by itself when `remote` is set)
 * import { defineConfig } from 'tanuki'
 *
 * export default defineConfig({
 *   remote: { redis: 'rediss://redis.internal:6380', tls: { ca: './redis-ca.pem' } },
 *   agents: { backend: { backend: 'remote', kind: 'claude', count: 6 } },
 * })
 * // on each worker machine, in a clone of the project:
 * //   TANUKI_REDIS_PASSWORD=… tanuki worker --redis rediss://redis.internal:6380 --tls-ca redis-ca.pem \
 * //     --roles backend --capacity 2 --pass-env ANTHROPIC_API_KEY
 */
import { appendFileSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { TanukiError, definePlugin, type TanukiPlugin } from '@tanuki/core'
import { gitLanding } from '@tanuki/plugin-agent-process'
import { createRemoteBackend, type RemoteBackend } from './backend.ts'
import type { RemoteOptions } from './options.ts'

export { createRemoteBackend, type RemoteBackend, type RemoteBackendOptions } from './backend.ts'
export { startWorker, type RemoteWorker, type RemoteWorkerOptions } from './worker.ts'
export { resolveRemoteOptions, redactUrl, type RemoteOptions, type ResolvedRemoteOptions } from './options.ts'
export { probeRedis, redisOptions, connectionError, type RedisTarget } from './connection.ts'
export { allowedEnv, sessionOptions, BASE_ENV } from './env.ts'
export { readWorkers, type WorkerInfo, type WorkerAgent } from './registry.ts'
export { keys, roleQueue, PROTOCOL_VERSION, type SessionData } from './protocol.ts'
export { attemptRefsOf, taskRefsOf } from './git.ts'

/**
 * The plugin: registers the `remote` backend, from `remote` in the config (and these options
 * over it), and lands work through the shared git remote: the landing branch is pushed there for
 * workers to start from, and each task's work is fetched from there.
 *
 * @example
 * export default defineConfig({ plugins: [remoteAgents({ stalledIntervalMs: 2000 })], remote: { redis: 'redis://127.0.0.1:6379' } })
 */
export function remoteAgents(options: Partial<RemoteOptions> & { log?: (message: string) => void } = {}): TanukiPlugin {
  let backend: RemoteBackend | undefined
  return definePlugin({
    name: 'tanuki:agent-remote',
    async setup(ctx) {
      const { log: given, ...own } = options
      const merged = { ...ctx.config.remote, ...own } as Partial<RemoteOptions>
      if (!merged.redis) {
        throw new TanukiError(
          'TANUKI_CONFIG_INVALID',
          "Remote agents need a Redis: set remote: { redis: 'redis://host:6379' } in tanuki.config.ts.",
          { details: { key: 'remote.redis' } },
        )
      }
      const logFile = join(ctx.project.stateDir, 'logs', 'remote.log')
      const log =
        given ??
        ((message: string) => {
          process.stderr.write(`tanuki: ${message}\n`)
          try {
            mkdirSync(join(ctx.project.stateDir, 'logs'), { recursive: true })
            appendFileSync(logFile, `${new Date().toISOString()} ${message}\n`)
          } catch {
            // The note was printed; the log file is a copy.
          }
        })
      backend = createRemoteBackend({ remote: merged as RemoteOptions, project: ctx.project, log })
      await backend.open()
      ctx.registerBackend(backend)
      await gitLanding({ remote: (merged.git as string | undefined) ?? 'origin' }).setup?.(ctx)
    },
    async teardown() {
      await backend?.close()
      backend = undefined
    },
  })
}
