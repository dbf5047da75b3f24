import {
  TanukiError,
  abortError,
  createAgentExits,
  errorMessage,
  type Agent,
  type AgentExit,
  type ExecOptions,
  type ExecResult,
  type OutputChunk,
  type RunRequest,
  type RunResult,
} from '@tanuki/core'
import {
  endTaskWork,
  execInWorkspace,
  kindAccount,
  runIteration,
  type AgentKind,
  type Step,
  type StepExit,
  type Workspace,
} from '@tanuki/plugin-agent-process/kit'
import type Docker from 'dockerode'
import { removeContainer } from './container.ts'
import { statusCode } from './engine.ts'
import { execInContainer, timedExec } from './exec.ts'
import type { ResolvedDockerOptions } from './options.ts'

/** What a Docker agent is made of; the backend assembles it. */
export interface DockerAgentParts {
  name: string
  role: string
  docker: Docker
  container: Docker.Container
  containerName: string
  kind: AgentKind
  workspace: Workspace
  /** Where its commands run in the container (`ContainerSpec.cwd`); default `options.workdir`. */
  cwd?: string
  options: ResolvedDockerOptions
}

/** An agent living in a container: iterations and verify run there by `docker exec`. */
export interface DockerAgent extends Agent {
  /** The container's name (`tanuki-<project>-<hash>-<agent>`). */
  readonly containerName: string
  /** The container's id. */
  readonly containerId: string
}

/** How long a command that died of a signal waits for the engine to say whether its container died too. */
const DEATH_SETTLE_MS = 1000

function crashed(name: string, reason: string): TanukiError {
  return new TanukiError('TANUKI_AGENT_CRASHED', `agent ${name} crashed: ${reason}`, {
    details: { agent: name, reason },
  })
}

/**
 * Wraps a running container as an agent. The container is watched with `container.wait()`: when it
 * ends without Tanuki asking (`docker kill`, out of memory, the engine restarting), the agent is
 * reported crashed and the run in progress rejects with `TANUKI_AGENT_CRASHED`.
 */
export function createDockerAgent(parts: DockerAgentParts): DockerAgent {
  const { name, role, docker, container, kind, workspace, options } = parts
  const cwd = parts.cwd ?? options.workdir
  const exits = createAgentExits()
  const watch = new AbortController()
  let ended: AgentExit | undefined
  let stopping = false
  let onDeath: (reason: string) => void = () => {}
  const death = new Promise<never>((_, reject) => {
    onDeath = (reason) => reject(crashed(name, reason))
  })
  death.catch(() => {})

  const end = (exit: AgentExit): void => {
    if (ended) return
    ended = exit
    watch.abort()
    if (!exit.expected) onDeath(exit.reason)
    exits.end(exit)
  }

  /** Why the container is not running, or undefined while it is. */
  const deathReason = async (): Promise<string | undefined> => {
    try {
      const info = await container.inspect()
      if (info.State.Running) return undefined
      const oom = info.State.OOMKilled ? ', out of memory' : ''
      return `container ${parts.containerName} exited with code ${info.State.ExitCode}${oom}`
    } catch (error) {
      if (statusCode(error) === 404) return `container ${parts.containerName} was removed`
      return `container ${parts.containerName} cannot be inspected: ${errorMessage(error)}`
    }
  }

  /**
   * Checks whether the container died. `settleMs`: a command killed by a signal may end before
   * the engine marks its container exited, so look again for that long.
   */
  const noticeDeath = async (settleMs = 0): Promise<void> => {
    const until = Date.now() + settleMs
    for (;;) {
      if (stopping || ended) return
      const reason = await deathReason()
      if (reason) {
        if (!stopping) end({ reason, expected: false })
        return
      }
      if (Date.now() >= until) return
      await new Promise((done) => setTimeout(done, 50))
    }
  }

  // Long-polls until the container stops; a dropped connection is checked against its state.
  container.wait({ abortSignal: watch.signal }).then(
    () => noticeDeath(),
    () => {
      if (!watch.signal.aborted) void noticeDeath()
    },
  )

  const assertAlive = (): void => {
    if (ended)
      throw ended.expected
        ? new TanukiError('TANUKI_AGENT_CRASHED', `agent ${name} is stopped (${ended.reason})`)
        : crashed(name, ended.reason)
  }

  /** Runs in the container; a command that could not start, or ended oddly, is checked against the container's life. */
  const execChecked = async (
    command: { argv: string[]; stdin?: string; env?: Record<string, string> },
    onOutput: (chunk: OutputChunk) => void,
    signal?: AbortSignal,
  ): Promise<{ exitCode: number | null; killed: boolean }> => {
    assertAlive()
    let exit: { exitCode: number | null; killed: boolean }
    try {
      exit = await Promise.race([
        execInContainer(
          container,
          docker,
          { ...command, workdir: cwd, ...(options.user ? { user: options.user } : {}) },
          onOutput,
          signal,
        ),
        death,
      ])
    } catch (error) {
      await noticeDeath(DEATH_SETTLE_MS)
      assertAlive()
      throw error
    }
    // A container killed under a command ends it with 137 or no code at all: tell that from a failure.
    if (exit.exitCode === null || exit.exitCode >= 128) await noticeDeath(exit.killed ? 0 : DEATH_SETTLE_MS)
    else if (exit.exitCode !== 0) await noticeDeath()
    // Stopped under the command by Tanuki itself: the work was cut short, not crashed.
    if (ended?.expected && exit.exitCode !== 0)
      throw new TanukiError('TANUKI_ABORTED', `Aborted: agent ${name} was ${ended.reason}`)
    assertAlive()
    return exit
  }

  /** Which task the agent worked on last: its dependencies' work is merged in when a new one starts. */
  const baseEnv: Record<string, string> = { TANUKI_AGENT: name, TANUKI_ROLE: role, TANUKI_WORKSPACE: cwd }
  // Claude Code refuses to skip permission prompts as root unless told it runs in a sandbox: a
  // container is one, whatever user it runs as.
  if (kind.name === 'claude' && options.env.IS_SANDBOX === undefined) baseEnv.IS_SANDBOX = '1'

  const account = kindAccount(options.kind, kind)
  const runsIn = `the container of agent ${name} (image ${options.image})`
  const agent: DockerAgent = {
    name,
    role,
    backend: 'docker',
    ...(account ? { account } : {}),
    workspace: `${parts.containerName}:${cwd} (${workspace.dir})`,
    runsIn,
    containerName: parts.containerName,
    containerId: container.id,

    async run(request: RunRequest): Promise<RunResult> {
      assertAlive()
      if (request.signal.aborted) throw abortError(request.signal)
      const execStep = async (
        step: Step,
        onChunk: (chunk: OutputChunk) => void,
        signal: AbortSignal,
      ): Promise<StepExit> => {
        const exit = await execChecked({ ...step, env: { ...baseEnv, ...step.env } }, onChunk, signal)
        return { exitCode: exit.exitCode }
      }
      const result = await runIteration({ agent: name, kind, workspace, commit: options.commit, execStep }, request)
      // A program missing from the image may well be on the host: say where it was looked for.
      if (result.failure?.class !== 'could-not-start') return result
      return { ...result, failure: { ...result.failure, cause: `${result.failure.cause} (in ${runsIn})` } }
    },

    async beginTask(task, context) {
      return options.commit ? workspace.begin(task, context) : {}
    },

    async endTask(task, outcome) {
      if (options.commit) await endTaskWork(workspace, task, outcome)
    },

    exec(command: string, execOptions: ExecOptions = {}): Promise<ExecResult> {
      return execInWorkspace(workspace, options.commit, execOptions, () =>
        timedExec(
          (onOutput, signal) => execChecked({ argv: ['sh', '-c', command], env: baseEnv }, onOutput, signal),
          execOptions,
        ),
      )
    },

    async stop(): Promise<void> {
      stopping = true
      watch.abort()
      try {
        await container.stop({ t: options.stopTimeoutSeconds })
      } catch (error) {
        // 304: already stopped; 404: already gone (a crash, a cleanup).
        const code = statusCode(error)
        if (code !== 304 && code !== 404) throw error
      } finally {
        end({ reason: 'stopped', expected: true })
      }
    },

    async remove(): Promise<void> {
      stopping = true
      watch.abort()
      try {
        await removeContainer(container)
      } finally {
        end({ reason: 'removed', expected: true })
      }
      await workspace.remove()
    },

    onExit: exits.onExit,
  }
  return agent
}
