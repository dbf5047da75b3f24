import { randomUUID } from 'node:crypto'
import { stat } from 'node:fs/promises'
import {
  TanukiError,
  closestName,
  errorMessage,
  isTanukiError,
  type AgentBackend,
  type CleanupOptions,
  type CleanupReport,
  type ExecResult,
  type ProjectInfo,
  type SandboxExecRequest,
  type SpawnRequest,
} from '@tanuki/core'
import {
  createKind,
  kindSpend,
  openWorkspace,
  projectNotCommittedProblem,
  removeWorktrees,
} from '@tanuki/plugin-agent-process/kit'
import type Docker from 'dockerode'
import { createDockerAgent, type DockerAgent } from './agent.ts'
import { LABELS, containerSpec, ensureNetwork, removeContainer, startContainer } from './container.ts'
import { connectEngine, statusCode, type Engine } from './engine.ts'
import { execInContainer, reapCommands, timedExec } from './exec.ts'
import { assertImageAvailable, buildImage, ensureImage } from './image.ts'
import { DOCKER_ROLE_KEYS, containerEnv, resolveDockerOptions, type DockerAgentOptions } from './options.ts'

/** The Docker backend: `spawn` gives agents in containers, `cleanup` removes a project's leftovers. */
export interface DockerBackend extends AgentBackend {
  readonly name: 'docker'
  spawn(request: SpawnRequest): Promise<DockerAgent>
  /**
   * Removes every container labelled with the project (running or not), its networks, and the
   * worktrees and branches Tanuki created for it (work that has not landed is kept unless `force`).
   */
  cleanup(project: ProjectInfo, options?: CleanupOptions): Promise<CleanupReport>
  /** Runs a command in a one-off container of a role's shape on a host folder: the landing gate. */
  execIn(request: SandboxExecRequest): Promise<ExecResult>
  /** Drops the engine connections; agents are left as they are. */
  close(): void
}

/**
 * A `user` that cannot write its workspace would fail every iteration with "Permission denied":
 * say so once, at spawn. Nothing chowns the worktree for it: git on the host then refuses the
 * worktree ("dubious ownership") and the agent's work is never committed.
 */
async function assertWritable(
  docker: Docker,
  container: Docker.Container,
  agent: string,
  user: string,
  workdir: string,
  dir: string,
): Promise<void> {
  const check = await execInContainer(
    container,
    docker,
    { argv: ['sh', '-c', 'test -w "$1"', 'sh', workdir], user },
    () => {},
  )
  if (check.exitCode === 0) return
  await removeContainer(container).catch(() => {})
  const owner = await stat(dir).then(
    (info) => `${info.uid}:${info.gid}`,
    () => 'unknown',
  )
  throw new TanukiError(
    'TANUKI_AGENT_SPAWN_FAILED',
    `agent ${agent} runs as user "${user}" (docker backend option "user"), which cannot write its workspace ${dir} ` +
      `(owned by ${owner}, mounted at ${workdir}). Set "user" to the uid:gid that owns it (the user running tanuki, here ${owner}), ` +
      'or leave "user" unset to run as the image\'s user.',
    { details: { agent, user, workspace: dir, owner, config: true } },
  )
}

/**
 * Why an agent's container did not start. The engine refusing what the role's options ask (400:
 * an image without `sh`, a mount or limit it cannot give) blames the role's configuration, so the
 * role is paused and its tasks wait for the fix instead of failing.
 */
export function spawnFailed(agent: string, role: string, image: string, address: string, error: unknown): TanukiError {
  const message = errorMessage(error)
  const noShell = /exec: "?sh"?: executable file not found/.test(message)
  // The image without a shell is the role's configuration whatever status the engine answers with.
  const config = noShell || statusCode(error) === 400
  const details = { agent, image, ...(config ? { config: true } : {}) }
  if (noShell) {
    return new TanukiError(
      'TANUKI_AGENT_SPAWN_FAILED',
      `could not start the container of agent ${agent}: the image ${image} of role ${role} has no \`sh\`, ` +
        'which the docker backend needs: it keeps the container alive with `sh` and runs every command under it. ' +
        'Use an image with a shell (busybox, alpine, debian:slim…), or add one to this image.',
      { cause: error, details },
    )
  }
  return new TanukiError(
    'TANUKI_AGENT_SPAWN_FAILED',
    `could not start the container of agent ${agent} (image ${image}) on ${address}: ${message}`,
    { cause: error, details },
  )
}

/**
 * The engines a project's agents run on: each Docker role's `host` (`undefined`: the backend's
 * default, `DOCKER_HOST`, else the local socket), once each; the backend's own `host` alone when
 * the roles are not known. A role whose options do not resolve (its check says why) adds none.
 */
export function engineHosts(
  options: DockerAgentOptions,
  roles?: readonly Record<string, unknown>[],
): (string | undefined)[] {
  if (!roles || roles.length === 0) return [options.host]
  const hosts: (string | undefined)[] = []
  for (const role of roles) {
    let host: string | undefined
    try {
      host = resolveDockerOptions(options, role).host
    } catch {
      continue
    }
    if (!hosts.includes(host)) hosts.push(host)
  }
  return hosts
}

/**
 * Makes the Docker backend. Options here apply to every role; a role's own keys (`agents.<role>`)
 * win. Connects lazily, at the first spawn, so a config that names the plugin but no Docker role
 * needs no engine.
 *
 * @example
 * const backend = createDockerBackend({ image: 'tanuki-test-busybox:latest', kind: 'shell', memory: '256m' })
 * const agent = await backend.spawn({ name: 'backend-1', role: 'backend', options: {}, project: { root: process.cwd(), name: 'demo' } })
 */
export function createDockerBackend(options: DockerAgentOptions = {}): DockerBackend {
  const engines = new Map<string, Promise<Engine>>()
  /** One image check or build per image and engine, shared by all agents spawned meanwhile. */
  const images = new Map<string, Promise<string>>()

  const engine = (host: string | undefined): Promise<Engine> => {
    const key = host ?? ''
    let connecting = engines.get(key)
    if (!connecting) {
      connecting = connectEngine(host)
      // A failed connection is tried again at the next spawn: the engine may have come up.
      connecting.catch(() => engines.delete(key))
      engines.set(key, connecting)
    }
    return connecting
  }

  const imageId = (found: Engine, image: string, build: DockerAgentOptions['build'], root: string): Promise<string> => {
    const key = `${found.address} ${image} ${build ? JSON.stringify(build) : ''}`
    let ready = images.get(key)
    if (!ready) {
      ready = (async () => {
        if (build) await buildImage(found.docker, image, build, root)
        else await ensureImage(found.docker, image)
        return (await found.docker.getImage(image).inspect()).Id
      })()
      ready.catch(() => images.delete(key))
      images.set(key, ready)
    }
    return ready
  }

  /** A refusal about one role, named as the config names it. */
  const forRole = (role: string, error: unknown): unknown =>
    isTanukiError(error)
      ? new TanukiError(error.code, `agents.${role}: ${error.message}`, {
          cause: error,
          details: { ...error.details, role },
        })
      : error

  return {
    name: 'docker',

    reportsSpend({ options: roleOptions }) {
      try {
        return kindSpend(resolveDockerOptions(options, roleOptions).kind)
      } catch {
        return undefined
      }
    },

    async validateRole({ role, options: roleOptions }) {
      for (const key of Object.keys(roleOptions)) {
        const meant = DOCKER_ROLE_KEYS.includes(key) ? undefined : closestName(key, DOCKER_ROLE_KEYS)
        if (meant) {
          throw new TanukiError(
            'TANUKI_CONFIG_INVALID',
            `agents.${role}: docker backend option "${key}" is not an option (did you mean "${meant}"?)`,
            { details: { key: `agents.${role}.${key}`, role } },
          )
        }
      }
      try {
        const resolved = resolveDockerOptions(options, roleOptions)
        createKind(resolved.kind)
        // An image to build is built at the first spawn; one to run must exist now.
        if (resolved.build) return
        const found = await engine(resolved.host)
        await assertImageAvailable(found.docker, resolved.image, found.address)
      } catch (error) {
        throw forRole(role, error)
      }
    },

    checkPrograms({ options: roleOptions, project }) {
      // Its programs are in the image, which `validateRole` checks. What is on this machine for
      // it is the project's folder, which its agents' worktrees have only once it is committed.
      let shared: boolean
      try {
        shared = resolveDockerOptions(options, roleOptions).workspace === 'shared'
      } catch {
        // `validateRole` says what is wrong with the options.
        return { problems: [], notes: [] }
      }
      const problem = shared ? undefined : projectNotCommittedProblem(project.root)
      return { problems: problem ? [problem] : [], notes: [] }
    },

    async spawn({ name, role, options: roleOptions, project }) {
      const resolved = resolveDockerOptions(options, roleOptions)
      const kind = createKind(resolved.kind)
      const found = await engine(resolved.host)
      const image = await imageId(found, resolved.image, resolved.build, project.root)
      try {
        const workspace = await openWorkspace({ project, agent: name, mode: resolved.workspace })
        if (resolved.network) await ensureNetwork(found.docker, resolved.network, project)
        const spec = containerSpec({
          project,
          agent: name,
          role,
          imageId: image,
          options: resolved,
          workspaceDir: workspace.dir,
          workspaceTop: workspace.top,
          env: containerEnv(resolved, process.env),
        })
        const { container, reused } = await startContainer(found.docker, spec)
        // An orchestrator that died mid-iteration left its commands running: they must not race the new ones.
        if (reused) await reapCommands(container)
        if (resolved.user) await assertWritable(found.docker, container, name, resolved.user, spec.cwd, workspace.dir)
        return createDockerAgent({
          name,
          role,
          docker: found.docker,
          container,
          containerName: spec.name,
          kind,
          workspace,
          cwd: spec.cwd,
          options: resolved,
        })
      } catch (error) {
        if (isTanukiError(error)) throw error
        throw spawnFailed(name, role, resolved.image, found.address, error)
      }
    },

    async execIn({ project, role, options: roleOptions, dir, top, command, env = {}, ...execOptions }) {
      const resolved = resolveDockerOptions(options, roleOptions)
      const found = await engine(resolved.host)
      const image = await imageId(found, resolved.image, resolved.build, project.root)
      if (resolved.network) await ensureNetwork(found.docker, resolved.network, project)
      // A container of the role's shape, on `dir` (in the whole worktree `top`), for this command only.
      const spec = containerSpec({
        project,
        agent: `gate-${randomUUID().slice(0, 8)}`,
        role,
        imageId: image,
        options: resolved,
        workspaceDir: dir,
        workspaceTop: top,
        env: { ...containerEnv(resolved, process.env), ...env },
      })
      const { container } = await startContainer(found.docker, spec)
      try {
        return await timedExec(
          (onOutput, signal) =>
            execInContainer(container, found.docker, { argv: ['sh', '-c', command] }, onOutput, signal),
          execOptions,
        )
      } finally {
        await removeContainer(container).catch(() => {})
      }
    },

    async cleanup(project, cleanupOptions = {}) {
      const { roles, ...worktreeOptions } = cleanupOptions
      const hosts = engineHosts(options, roles)
      const filters = JSON.stringify({ label: [`${LABELS.project}=${project.root}`] })
      const removed: string[] = []
      // One engine reached by two addresses lists its containers twice: each is removed once.
      const seen = new Set<string>()
      const unreachable: string[] = []
      for (const host of hosts) {
        let found: Engine
        try {
          found = await engine(host)
        } catch (error) {
          // The other engines are cleaned all the same; this one is said at the end.
          unreachable.push(errorMessage(error))
          continue
        }
        const containers = (await found.docker.listContainers({ all: true, filters })).filter(
          (info) => !seen.has(info.Id),
        )
        for (const info of containers) seen.add(info.Id)
        await Promise.all(containers.map((info) => removeContainer(found.docker.getContainer(info.Id))))
        for (const network of await found.docker.listNetworks({ filters })) {
          // Still in use by something outside the project: leave it.
          await found.docker
            .getNetwork(network.Id)
            .remove()
            .catch(() => {})
        }
        removed.push(...containers.map((info) => info.Names[0]?.replace(/^\//, '') ?? info.Id))
      }
      if (unreachable.length > 0) {
        // A container on an engine not reached may still run with its worktree mounted: the
        // worktrees stay until every engine is reached.
        const done = removed.length > 0 ? ` Removed from the others: ${removed.join(', ')}.` : ''
        throw new TanukiError(
          'TANUKI_DOCKER_UNAVAILABLE',
          `Could not remove the project's containers from every engine its Docker roles use. ${unreachable.join(' ')}${done} ` +
            "The agents' worktrees are kept, since a container there may still use one. Once the engine runs, " +
            '`tanuki project stop --remove` removes the rest (if that engine is gone for good, take its `host` out of the role first).',
        )
      }
      const report = await removeWorktrees(project, worktreeOptions)
      report.removed.unshift(...removed)
      return report
    },

    async stopLeftovers(project, leftoverOptions = {}) {
      const filters = JSON.stringify({ label: [`${LABELS.project}=${project.root}`], status: ['running'] })
      const stopped = new Map<string, string>()
      for (const host of engineHosts(options, leftoverOptions.roles)) {
        // No engine, no container of the project running on it.
        const found = await engine(host).catch(() => undefined)
        if (!found) continue
        const running = (await found.docker.listContainers({ filters })).filter((info) => !stopped.has(info.Id))
        // Stopping the container ends the commands in it; it stays, with its worktree, for the next run.
        await Promise.all(
          running.map((info) =>
            found.docker
              .getContainer(info.Id)
              .stop({ t: options.stopTimeoutSeconds ?? 5 })
              .catch((error: unknown) => {
                // 304: it stopped meanwhile.
                if (statusCode(error) !== 304 && statusCode(error) !== 404) throw error
              }),
          ),
        )
        for (const info of running)
          stopped.set(info.Id, info.Labels[LABELS.agent] ?? info.Names[0]?.replace(/^\//, '') ?? info.Id)
      }
      return [...stopped.values()].sort()
    },

    close() {
      engines.clear()
      images.clear()
    },
  }
}
