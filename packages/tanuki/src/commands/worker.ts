import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import { defineCommand } from 'citty'
import { TanukiError, type AgentBackend } from '@tanuki/core'
import { createProcessBackend } from '@tanuki/plugin-agent-process'
import { loadConfig } from '../config.ts'
import { version } from '../version.ts'
import { onOutputClosed } from '../output.ts'
import { common, projectRoot } from './shared.ts'

/** `a,b, c` → `['a', 'b', 'c']`. */
function list(value: string | undefined): string[] | undefined {
  if (value === undefined || value.trim() === '') return undefined
  return value
    .split(',')
    .map((each) => each.trim())
    .filter(Boolean)
}

function whole(value: string | undefined, flag: string, min: number): number | undefined {
  if (value === undefined || value === '') return undefined
  const number = Number(value)
  if (!Number.isInteger(number) || number < min) {
    throw new TanukiError('TANUKI_CONFIG_INVALID', `${flag} is "${value}"; give a whole number ≥ ${min}.`)
  }
  return number
}

/** The local backend agents run with on this machine, with the worker's environment limited to the allow-list. */
async function localBackend(kind: string, passEnv: string[], log: (line: string) => void): Promise<AgentBackend> {
  if (kind === 'process') {
    const { allowedEnv } = await import('@tanuki/plugin-agent-remote')
    return createProcessBackend({ inheritEnv: false, env: allowedEnv(passEnv), log: (note) => log(`  ${note}`) })
  }
  if (kind === 'docker') {
    // Loaded only here: a worker of process agents needs no Docker engine.
    const { createDockerBackend } = await import('@tanuki/plugin-agent-docker')
    return createDockerBackend({ passEnv })
  }
  throw new TanukiError('TANUKI_CONFIG_INVALID', `--backend is "${kind}"; give process or docker.`)
}

export const workerCommand = defineCommand({
  meta: {
    name: 'worker',
    description:
      "Run agents of a project on this machine for its orchestrator elsewhere (Redis + BullMQ); run it in a clone of the project's repository",
  },
  args: {
    ...common,
    redis: {
      type: 'string',
      description:
        'Redis URL: redis://[:PASSWORD@]host:port or rediss:// for TLS (default: $TANUKI_REDIS_URL, else remote.redis in the clone’s tanuki.config); a password is best given as $TANUKI_REDIS_PASSWORD',
      valueHint: 'URL',
    },
    project: {
      type: 'string',
      description:
        'Project key: sessions of other projects are refused (default: remote.project, else the name, in the clone’s tanuki.config)',
      valueHint: 'KEY',
    },
    roles: { type: 'string', description: 'Roles to run agents of, comma-separated (default: any)', valueHint: 'a,b' },
    capacity: { type: 'string', description: 'Agents at once (default 1)', valueHint: 'N' },
    backend: { type: 'string', description: 'How agents run here: process (default) or docker', valueHint: 'NAME' },
    name: { type: 'string', description: 'Shown in `tanuki project status` (default: host-pid)', valueHint: 'NAME' },
    'pass-env': {
      type: 'string',
      description:
        "This machine's variables agents get besides the basic ones (PATH, HOME, LANG…), comma-separated (e.g. ANTHROPIC_API_KEY)",
      valueHint: 'A,B',
    },
    'tls-ca': { type: 'string', description: 'A CA certificate (PEM file) to trust for rediss://', valueHint: 'FILE' },
    remote: {
      type: 'string',
      description: 'The git remote shared with the orchestrator (default origin)',
      valueHint: 'NAME',
    },
    'lock-duration': {
      type: 'string',
      description:
        'Lease of a session without renewal, in ms: a killed worker is noticed within it plus the stalled check (default 10000)',
      valueHint: 'MS',
    },
  },
  async run({ args }) {
    const root = projectRoot(args)
    if (!existsSync(root)) throw new TanukiError('TANUKI_CONFIG_INVALID', `--cwd ${root} does not exist.`)
    let redis = args.redis ?? process.env.TANUKI_REDIS_URL
    let project = args.project
    let tlsCa = args['tls-ca']
    if (!redis || !project) {
      // What the clone's own config says, for what the flags left out.
      const config = (await loadConfig(root)).resolved
      redis ??= config.remote?.redis
      project ??= typeof config.remote?.project === 'string' ? config.remote.project : config.name
      const ca = (config.remote?.tls as { ca?: unknown } | undefined)?.ca
      if (!tlsCa && typeof ca === 'string') tlsCa = resolve(root, ca)
    }
    if (!redis) {
      throw new TanukiError(
        'TANUKI_CONFIG_INVALID',
        'tanuki worker needs a Redis: --redis redis://host:6379 (or $TANUKI_REDIS_URL, or remote.redis in tanuki.config.ts).',
      )
    }
    const log = (line: string): void => {
      process.stdout.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`)
    }
    const passEnv = list(args['pass-env']) ?? []
    const backend = await localBackend(args.backend ?? 'process', passEnv, log)
    const roles = list(args.roles)
    const capacity = whole(args.capacity, '--capacity', 1)
    const lockDurationMs = whole(args['lock-duration'], '--lock-duration', 1000)
    // Loaded here, not when the CLI starts: BullMQ and ioredis cost every command time.
    const { BASE_ENV, startWorker } = await import('@tanuki/plugin-agent-remote')
    const worker = await startWorker({
      redis: { url: redis, ...(tlsCa ? { tls: { ca: tlsCa } } : {}) },
      project: project!,
      ...(roles ? { roles } : {}),
      ...(capacity === undefined ? {} : { capacity }),
      ...(lockDurationMs === undefined ? {} : { lockDurationMs }),
      ...(args.name ? { name: args.name } : {}),
      ...(args.remote ? { remote: args.remote } : {}),
      backend,
      repo: root,
      version,
      log,
    })
    log(
      `  agents' environment: ${[...BASE_ENV, ...passEnv].join(', ')} (those set here); nothing of the orchestrator's`,
    )
    log(
      'Waiting for sessions. Ctrl-C (or SIGTERM) ends them and stops; the orchestrator gives their tasks to other workers.',
    )
    let stopWatchingOutput = (): void => {}
    await new Promise<void>((done) => {
      let signals = 0
      const end = (why: string): void => {
        log(`${why}: ending the sessions (again to quit at once)…`)
        void worker.close().then(done, done)
        // Its steps are bounded, and so is the whole: a Redis that never answers must not keep it.
        setTimeout(done, 30_000).unref()
      }
      const onSignal = (signal: NodeJS.Signals): void => {
        if (++signals > 1) process.exit(130)
        end(signal)
      }
      process.on('SIGINT', onSignal)
      process.on('SIGTERM', onSignal)
      // A reader that went away (`| head`) ends the sessions as Ctrl-C does: exiting at once left
      // their agents' processes running.
      stopWatchingOutput = onOutputClosed((stream) => {
        if (++signals === 1) end(`its ${stream} was closed`)
      })
    })
    stopWatchingOutput()
    return 0
  },
})
