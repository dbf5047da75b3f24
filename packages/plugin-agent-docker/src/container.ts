import { createHash } from 'node:crypto'
import { isAbsolute, posix, relative, resolve, sep } from 'node:path'
import { errorMessage, type ProjectInfo } from '@tanuki/core'
import type Docker from 'dockerode'
import { statusCode } from './engine.ts'
import type { ResolvedDockerOptions } from './options.ts'

/** Labels that find a project's containers again, whatever happened to the orchestrator. */
export const LABELS = {
  project: 'dev.tanuki.project',
  projectName: 'dev.tanuki.project-name',
  agent: 'dev.tanuki.agent',
  role: 'dev.tanuki.role',
  config: 'dev.tanuki.config',
} as const

/**
 * Keeps the container alive doing nothing, and exits at once on `docker stop`: a shell as PID 1
 * ignores SIGTERM unless it traps it. Busybox has no `sleep infinity`.
 */
export const IDLE_SCRIPT = "trap 'exit 0' TERM INT; while :; do sleep 3600 & wait $!; done"

function safe(text: string): string {
  return text.replace(/[^A-Za-z0-9_.-]+/g, '-').replace(/^[^A-Za-z0-9]+/, '') || 'x'
}

/** `tanuki-<project>-<hash of its root>-<agent>`: two checkouts of one project never share a name. */
export function containerName(project: ProjectInfo, agent: string): string {
  const root = createHash('sha256').update(project.root).digest('hex').slice(0, 8)
  return `tanuki-${safe(project.name)}-${root}-${safe(agent)}`
}

/** Everything a container is made from, hashed into a label to tell whether a leftover one fits. */
export interface ContainerSpec {
  name: string
  create: Docker.ContainerCreateOptions
  /** Where in the container the workspace's commands run: `workdir`, or the project's folder below it. */
  cwd: string
}

/**
 * The container an agent runs in: the workspace mounted at `workdir`, and only what the options
 * allow. With `workspaceTop` (a project in a subfolder of its repository), the whole worktree is
 * mounted there and commands run in the project's folder below it, as `cd services/api` would.
 */
export function containerSpec(input: {
  project: ProjectInfo
  agent: string
  role: string
  imageId: string
  options: ResolvedDockerOptions
  workspaceDir: string
  workspaceTop?: string | undefined
  env: Record<string, string>
}): ContainerSpec {
  const { project, agent, role, options } = input
  const below = input.workspaceTop ? relative(input.workspaceTop, input.workspaceDir) : ''
  // A folder that is not below the top is mounted alone, as before there was a top.
  const nested = below !== '' && below !== '..' && !below.startsWith(`..${sep}`) && !isAbsolute(below)
  const mounted = nested ? input.workspaceTop! : input.workspaceDir
  const cwd = nested ? posix.join(options.workdir, ...below.split(sep)) : options.workdir
  const binds = [
    `${mounted}:${options.workdir}`,
    ...options.mounts.map((mount) => {
      const source = isAbsolute(mount.source) ? mount.source : resolve(project.root, mount.source)
      return `${source}:${mount.target}${mount.readOnly ? ':ro' : ''}`
    }),
  ]
  const hostConfig: Docker.HostConfig = {
    Binds: binds,
    ...(options.memoryBytes === undefined ? {} : { Memory: options.memoryBytes }),
    ...(options.nanoCpus === undefined ? {} : { NanoCpus: options.nanoCpus }),
    ...(options.network ? { NetworkMode: options.network } : {}),
  }
  const shape = {
    image: input.imageId,
    binds,
    env: input.env,
    user: options.user,
    workdir: cwd,
    hostConfig,
    labels: options.labels,
  }
  const config = createHash('sha256').update(JSON.stringify(shape)).digest('hex').slice(0, 16)
  return {
    name: containerName(project, agent),
    cwd,
    create: {
      name: containerName(project, agent),
      Image: input.imageId,
      Entrypoint: ['sh', '-c', IDLE_SCRIPT],
      Cmd: [],
      WorkingDir: cwd,
      Env: Object.entries(input.env).map(([key, value]) => `${key}=${value}`),
      ...(options.user ? { User: options.user } : {}),
      Labels: {
        ...options.labels,
        [LABELS.project]: project.root,
        [LABELS.projectName]: project.name,
        [LABELS.agent]: agent,
        [LABELS.role]: role,
        [LABELS.config]: config,
      },
      HostConfig: hostConfig,
    },
  }
}

/** Removes a container, whatever its state; a container already gone is fine. */
export async function removeContainer(container: Docker.Container): Promise<void> {
  try {
    await container.remove({ force: true, v: true })
  } catch (error) {
    const code = statusCode(error)
    // 409: removal already in progress (a concurrent cleanup).
    if (code !== 404 && code !== 409) throw error
  }
}

/**
 * Reuses a running container with the same spec (left by an orchestrator that crashed), else
 * replaces it, and starts it. Resolves with the container and whether it was reused.
 */
export async function startContainer(
  docker: Docker,
  spec: ContainerSpec,
): Promise<{ container: Docker.Container; reused: boolean }> {
  const existing = docker.getContainer(spec.name)
  try {
    const info = await existing.inspect()
    const sameConfig =
      info.Config.Labels?.[LABELS.config] === spec.create.Labels?.[LABELS.config] && info.Image === spec.create.Image
    // By id from here on: a handle by name would follow a later container of the same name.
    if (info.State.Running && sameConfig) return { container: docker.getContainer(info.Id), reused: true }
    await removeContainer(existing)
  } catch (error) {
    if (statusCode(error) !== 404) throw error
  }
  const container = await docker.createContainer(spec.create)
  try {
    await container.start()
  } catch (error) {
    await removeContainer(container).catch(() => {})
    // The engine's status (400: what the spec asks cannot run) tells the backend whom to blame.
    throw Object.assign(new Error(`could not start container ${spec.name}: ${errorMessage(error)}`, { cause: error }), {
      statusCode: statusCode(error),
    })
  }
  return { container, reused: false }
}

/** Creates a named network (a bridge) unless it exists or is one of the engine's own modes. */
export async function ensureNetwork(docker: Docker, name: string, project: ProjectInfo): Promise<void> {
  if (['none', 'host', 'bridge', 'default'].includes(name) || name.startsWith('container:')) return
  const network = docker.getNetwork(name)
  try {
    await network.inspect()
    return
  } catch (error) {
    if (statusCode(error) !== 404) throw error
  }
  try {
    await docker.createNetwork({
      Name: name,
      Driver: 'bridge',
      CheckDuplicate: true,
      Labels: { [LABELS.project]: project.root },
    })
  } catch (error) {
    // Another agent of the project created it meanwhile.
    if (statusCode(error) !== 409) throw error
  }
}
