/**
 * @tanuki/plugin-ui — the web dashboard of a Tanuki project: the dependency graph coloured by
 * status, tasks by status and role, agents as lanes, progress and spend, and each task's spec and
 * iterations with readable transcripts, updated live through Server-Sent Events. Hono serves it
 * (on Node through @hono/node-server), on 127.0.0.1 behind a token printed in its URL.
 *
 * @example
 * // what `tanuki project start --ui` does, in short
 * import { dashboard } from '@tanuki/plugin-ui'
 *
 * const orchestrator = createOrchestrator({
 *   config: { ...config, plugins: [dashboard({ source: mySource, onListen: ({ url }) => console.log(url) })] },
 * })
 */
import { definePlugin, type TanukiPlugin } from '@tanuki/core'
import { type DashboardServer, type ServeOptions, serveDashboard } from './server/node.ts'
import type { DashboardSource } from './types.ts'

export type {
  DashboardAgent,
  DashboardSource,
  DashboardTask,
  IterationRecord,
  SourceListener,
  Spend,
  StatusDocument,
  TaskDetail,
  TaskFailure,
  TaskLanding,
  TaskSpec,
  VerifyRecord,
} from './types.ts'
export { DashboardModel, STATUSES, addSpend, isoTime, usageTokens, type LaterEvents } from './model/index.ts'
export {
  createHub,
  type Hub,
  type HubClient,
  type HubOptions,
  type OutputChunk,
  type StreamMessage,
} from './server/hub.ts'
export { createDashboardApp, type Asset, type DashboardAppOptions } from './server/app.ts'
export { TOKEN_COOKIE, TOKEN_HEADER, createToken, sameOrigin, sameToken } from './server/auth.ts'
export { serveDashboard, defaultAssetsDir, type DashboardServer, type ServeOptions } from './server/node.ts'
export { parseTranscript, type TranscriptEntry } from './transcript/parse.ts'

export interface DashboardOptions extends Omit<ServeOptions, 'source'> {
  /** The data and actions; a function is called when the run sets its plugins up (the orchestrator exists then). */
  source: DashboardSource | (() => DashboardSource)
  /** Told the URL (token included) once the dashboard listens. Default: printed to stdout. */
  onListen?: (server: DashboardServer) => void
}

/**
 * The dashboard as a plugin of a run: it listens when the run sets its plugins up and closes when
 * they are torn down.
 *
 * @example
 * plugins: [dashboard({ source, port: 4321, onListen: ({ url }) => console.log(`Dashboard: ${url}`) })]
 */
export function dashboard(options: DashboardOptions): TanukiPlugin & { readonly server: DashboardServer | undefined } {
  let server: DashboardServer | undefined
  return definePlugin({
    name: 'tanuki:ui',
    get server() {
      return server
    },
    async setup() {
      const source = typeof options.source === 'function' ? options.source() : options.source
      server = await serveDashboard({ ...options, source })
      if (options.onListen) options.onListen(server)
      else process.stdout.write(`Dashboard: ${server.url}\n`)
    },
    async teardown() {
      await server?.close()
      server = undefined
    },
  })
}
