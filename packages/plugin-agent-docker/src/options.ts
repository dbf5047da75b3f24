import { TanukiError } from '@tanuki/core'
import type { KindOptions } from '@tanuki/plugin-agent-process/kit'

/** A host path made visible inside the container. */
export interface DockerMount {
  /** Absolute path on the host (relative paths resolve against the project root). */
  source: string
  /** Absolute path inside the container. */
  target: string
  /** Mount read-only. Default false. */
  readOnly?: boolean
}

/** How to build the agent image, instead of using one by name. */
export interface DockerBuildOptions {
  /** Build context directory (relative paths resolve against the project root). */
  context: string
  /** Dockerfile path inside the context. Default `Dockerfile`. */
  dockerfile?: string
  /** `--build-arg`s. */
  args?: Record<string, string>
}

/**
 * Options of the Docker backend. Given to `dockerAgents(options)` for every role, and per role in
 * `agents.<role>` of the config (role keys win). Agent-kind keys (`kind`, `bin`, `model`…) are the
 * process backend's, and mean the same here.
 */
export interface DockerAgentOptions extends KindOptions {
  /**
   * Image to run. Used if present locally, pulled otherwise. With `build`, the name the built
   * image is tagged with. Default `tanuki-agent:latest` with `build`, else required.
   */
  image?: string
  /** Build the image from a Dockerfile (once per backend, then reused). */
  build?: DockerBuildOptions
  /** Engine address, as `DOCKER_HOST` (`unix:///path`, `tcp://host:port`). Default: `DOCKER_HOST`, else `/var/run/docker.sock`. */
  host?: string
  /**
   * Where the agent's workspace is mounted and the commands run. Default `/workspace`. For a
   * project in a subfolder of its repository, the whole worktree is mounted there and commands
   * run in the project's folder below it (`/workspace/services/api`).
   */
  workdir?: string
  /**
   * `worktree`: a git worktree per agent at `.tanuki/worktrees/<agent>` on branch `tanuki/<agent>`;
   * `shared`: the project directory itself; `auto` (default): a worktree in a git repository with a
   * commit, else shared.
   */
  workspace?: 'auto' | 'worktree' | 'shared'
  /** In a worktree: commit each iteration's changes, merge dependencies' work before a task. Default true. */
  commit?: boolean
  /** Variables set inside the container, with their values (merged with the plugin's). */
  env?: Record<string, string>
  /** Names of host variables copied into the container (those set on the host only), e.g. `['ANTHROPIC_API_KEY']`. */
  passEnv?: string[]
  /** Memory limit: bytes, or a string with a unit (`512m`, `2g`). */
  memory?: number | string
  /** CPU limit, in CPUs (`1.5`). */
  cpus?: number
  /** Network to attach to, created (bridge) if missing. Default: the engine's default bridge. `none` cuts the network. */
  network?: string
  /** User the container runs as (`1000:1000`, `node`). Default: the image's. */
  user?: string
  /** More host paths to mount. Nothing of the host but the workspace is mounted otherwise. */
  mounts?: DockerMount[]
  /** Extra labels on the container. */
  labels?: Record<string, string>
  /** Seconds `stop` waits for the container before killing it. Default 5. */
  stopTimeoutSeconds?: number
}

/** Options after defaults, as one agent's container is made from them. */
export interface ResolvedDockerOptions {
  image: string
  build?: DockerBuildOptions
  host?: string
  workdir: string
  workspace: 'auto' | 'worktree' | 'shared'
  commit: boolean
  env: Record<string, string>
  passEnv: string[]
  memoryBytes?: number
  nanoCpus?: number
  network?: string
  user?: string
  mounts: DockerMount[]
  labels: Record<string, string>
  stopTimeoutSeconds: number
  kind: KindOptions
}

const KIND_KEYS = [
  'kind',
  'bin',
  'command',
  'promptVia',
  'model',
  'systemPrompt',
  'maxTurns',
  'allowedTools',
  'disallowedTools',
  'extraArgs',
  'account',
  'credentialEnv',
  'price',
] as const satisfies readonly (keyof KindOptions)[]

/** Every key a Docker role may set: a near miss of one of them is most likely a typo. */
export const DOCKER_ROLE_KEYS: readonly string[] = [
  'backend',
  'count',
  'budget',
  'setup',
  ...KIND_KEYS,
  'env',
  'image',
  'build',
  'host',
  'workdir',
  'workspace',
  'commit',
  'passEnv',
  'memory',
  'cpus',
  'network',
  'user',
  'mounts',
  'labels',
  'stopTimeoutSeconds',
]

const UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 }

function invalid(key: string, message: string, value: unknown): TanukiError {
  return new TanukiError(
    'TANUKI_CONFIG_INVALID',
    `docker backend option "${key}" ${message}, got ${JSON.stringify(value)}`,
    {
      details: { key, value },
    },
  )
}

/** `512m` → bytes, as `docker run --memory` reads it. */
export function parseMemory(value: number | string, key = 'memory'): number {
  if (typeof value === 'number') {
    if (!Number.isInteger(value) || value <= 0) throw invalid(key, 'must be a positive number of bytes', value)
    return value
  }
  const match = /^\s*(\d+(?:\.\d+)?)\s*([bkmgt]?)i?b?\s*$/i.exec(value)
  if (!match) throw invalid(key, 'must be bytes or a size like "512m" or "2g"', value)
  return Math.round(Number(match[1]) * UNITS[match[2]!.toLowerCase()]!)
}

function stringRecord(value: unknown, key: string): Record<string, string> {
  if (value === undefined) return {}
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw invalid(key, 'must map names to strings', value)
  for (const [name, item] of Object.entries(value)) {
    if (typeof item !== 'string') throw invalid(`${key}.${name}`, 'must be a string', item)
  }
  return { ...(value as Record<string, string>) }
}

function optionalString(value: unknown, key: string): string | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'string' || value.length === 0) throw invalid(key, 'must be a non-empty string', value)
  return value
}

/**
 * Merges the plugin's options with a role's and checks them. Throws `TANUKI_CONFIG_INVALID`
 * naming the key.
 */
export function resolveDockerOptions(
  base: DockerAgentOptions,
  role: Readonly<Record<string, unknown>> = {},
): ResolvedDockerOptions {
  const merged = { ...base, ...role } as Record<string, unknown>
  const build = merged.build as DockerBuildOptions | undefined
  if (build !== undefined && (typeof build !== 'object' || build === null || typeof build.context !== 'string')) {
    throw invalid('build', 'must be { context, dockerfile?, args? }', build)
  }
  const image = optionalString(merged.image, 'image') ?? (build ? 'tanuki-agent:latest' : undefined)
  if (!image) {
    throw invalid('image', 'is required (an image name, or `build: { context }` to build one)', merged.image)
  }
  const workdir = optionalString(merged.workdir, 'workdir') ?? '/workspace'
  if (!workdir.startsWith('/')) throw invalid('workdir', 'must be an absolute path inside the container', workdir)
  const workspace = merged.workspace
  if (workspace !== undefined && workspace !== 'auto' && workspace !== 'worktree' && workspace !== 'shared') {
    throw invalid('workspace', 'must be "auto", "worktree" or "shared"', workspace)
  }
  if (merged.commit !== undefined && typeof merged.commit !== 'boolean')
    throw invalid('commit', 'must be true or false', merged.commit)
  const passEnv = merged.passEnv ?? []
  if (!Array.isArray(passEnv) || passEnv.some((name) => typeof name !== 'string'))
    throw invalid('passEnv', 'must be a list of variable names', passEnv)
  const cpus = merged.cpus
  if (cpus !== undefined && (typeof cpus !== 'number' || !(cpus > 0)))
    throw invalid('cpus', 'must be a number of CPUs > 0', cpus)
  const mounts = merged.mounts ?? []
  if (!Array.isArray(mounts)) throw invalid('mounts', 'must be a list of { source, target, readOnly? }', mounts)
  mounts.forEach((mount: unknown, i) => {
    const m = mount as DockerMount | null
    if (
      typeof m !== 'object' ||
      m === null ||
      typeof m.source !== 'string' ||
      typeof m.target !== 'string' ||
      !m.target.startsWith('/')
    ) {
      throw invalid(`mounts[${i}]`, 'must be { source, target (absolute), readOnly? }', mount)
    }
  })
  const stopTimeoutSeconds = merged.stopTimeoutSeconds ?? 5
  if (typeof stopTimeoutSeconds !== 'number' || stopTimeoutSeconds < 0)
    throw invalid('stopTimeoutSeconds', 'must be a number of seconds ≥ 0', stopTimeoutSeconds)
  const kind: KindOptions = {}
  for (const key of KIND_KEYS) if (merged[key] !== undefined) (kind as Record<string, unknown>)[key] = merged[key]
  const memory = merged.memory as number | string | undefined
  const network = optionalString(merged.network, 'network')
  const user = optionalString(merged.user, 'user')
  const host = optionalString(merged.host, 'host')
  return {
    image,
    ...(build ? { build } : {}),
    ...(host ? { host } : {}),
    workdir,
    workspace: (workspace as ResolvedDockerOptions['workspace'] | undefined) ?? 'auto',
    commit: (merged.commit as boolean | undefined) ?? true,
    env: { ...stringRecord(base.env, 'env'), ...stringRecord(role.env, 'env') },
    passEnv: passEnv as string[],
    ...(memory === undefined ? {} : { memoryBytes: parseMemory(memory) }),
    ...(cpus === undefined ? {} : { nanoCpus: Math.round((cpus as number) * 1e9) }),
    ...(network ? { network } : {}),
    ...(user ? { user } : {}),
    mounts: mounts as DockerMount[],
    labels: stringRecord(merged.labels, 'labels'),
    stopTimeoutSeconds,
    kind,
  }
}

/**
 * The container's environment: the explicit values plus the allowed host variables that are set.
 * Nothing else of the host's environment goes in.
 */
export function containerEnv(
  options: Pick<ResolvedDockerOptions, 'env' | 'passEnv'>,
  hostEnv: Record<string, string | undefined>,
): Record<string, string> {
  const env: Record<string, string> = {}
  for (const name of options.passEnv) {
    const value = hostEnv[name]
    if (value !== undefined) env[name] = value
  }
  return { ...env, ...options.env }
}
