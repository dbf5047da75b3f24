import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import {
  TanukiError,
  isTanukiError,
  type Agent,
  type AgentBackend,
  type AgentExit,
  type ProjectInfo,
  type RunResult,
  type SpawnRequest,
} from '@tanuki/core'
import { createKind } from './kinds/index.ts'
import type { AgentKind, KindOptions, Step } from './kinds/types.ts'
import { execShell, killGroup, startProcess } from './process.ts'
import { ShellSession } from './session.ts'
import { runPlan, type StepExit } from './run-plan.ts'
import { openWorkspace, removeWorktrees, safeName, type Workspace, type WorkspaceMode } from './workspace.ts'

/** A process an agent started or that ended, for hosts that watch agents' pids. */
export interface ProcessEvent {
  agent: string
  /** The process id, also its process group id. */
  pid: number
  argv: string[]
  state: 'started' | 'ended'
}

/**
 * Options of the process backend. Every key can also be set per role (`agents.<role>` in the
 * config), which wins over the plugin's value; `env` maps are merged.
 */
export interface ProcessBackendOptions extends KindOptions {
  /** The backend's name, which roles refer to with `backend:`. Default `process`. */
  name?: string
  /** The project, when known before spawns (the plugin passes it); spawn requests carry it too. */
  project?: ProjectInfo
  /** `auto` (default): a git worktree per agent in a git repository with a commit, else `shared`. */
  workspace?: WorkspaceMode
  /**
   * In a worktree, commit the agent's changes on its branch after each iteration, and merge the
   * work of a task's dependencies before it starts. Default true.
   */
  commit?: boolean
  /** Start agents' processes with Tanuki's environment (plus `env`). Default true. */
  inheritEnv?: boolean
  /** Time between SIGTERM and SIGKILL when stopping a process tree. Default 3000 ms. */
  killGraceMs?: number
  /**
   * Write each running process's pid to `<stateDir>/pids/<agent>.pid` (and reap a previous run's
   * leftovers at spawn). Default true.
   */
  pidFiles?: boolean
  /**
   * Start the agent's commands from one long-lived `sh` per agent instead of from Tanuki's own
   * process. Forking a shell costs almost nothing, forking Node about 1.5 ms: worth it for roles
   * whose iterations are many quick commands (bench/cli.bench.ts). Needs util-linux's `setsid`.
   * Default false.
   */
  session?: boolean
  /** Notes for people (e.g. that agents share the project directory). Default: none. */
  log?: (message: string) => void
  /** Called when an agent's process starts and ends. */
  onProcess?: (event: ProcessEvent) => void
}

/** An agent run by the process backend. */
export interface ProcessAgent extends Agent {
  readonly workspace: string
  /** `worktree` or `shared`. */
  readonly workspaceMode: 'worktree' | 'shared'
  /** The agent's branch, in a worktree. */
  readonly branch?: string
  /** A note for people about the workspace, e.g. that it is the shared project directory. */
  readonly note?: string
  /** The process the agent runs right now (its process group id too), if any. */
  readonly pid: number | undefined
  /** `alive`, `stopped`, `removed`, or `crashed`. */
  readonly state: 'alive' | 'stopped' | 'removed' | 'crashed'
}

/** The process backend, with the agents it spawned. */
export interface ProcessBackend extends AgentBackend {
  /** The latest agent of each name. */
  readonly agents: ReadonlyMap<string, ProcessAgent>
  /** Stops this backend's agents, then removes every worktree, `tanuki/*` branch and pid file of the project. */
  cleanup(project: ProjectInfo): Promise<void>
}

/** Role keys that are the orchestrator's, not ours. */
const ROLE_KEYS = new Set(['backend', 'count'])
const WORKSPACE_MODES: readonly string[] = ['auto', 'worktree', 'shared']

function configError(role: string, key: string, message: string, value: unknown): TanukiError {
  return new TanukiError('TANUKI_CONFIG_INVALID', `agents.${role}.${key} ${message}, got ${JSON.stringify(value)}`, {
    details: { key: `agents.${role}.${key}`, value },
  })
}

function resolveOptions(
  defaults: ProcessBackendOptions,
  role: string,
  roleOptions: Readonly<Record<string, unknown>>,
): ProcessBackendOptions {
  const own = Object.fromEntries(
    Object.entries(roleOptions).filter(([key]) => !ROLE_KEYS.has(key)),
  ) as ProcessBackendOptions
  const env = own.env
  if (
    env !== undefined &&
    (typeof env !== 'object' || env === null || Object.values(env).some((value) => typeof value !== 'string'))
  ) {
    throw configError(role, 'env', 'must map variable names to strings', env)
  }
  if (own.workspace !== undefined && !WORKSPACE_MODES.includes(own.workspace)) {
    throw configError(role, 'workspace', `must be one of ${WORKSPACE_MODES.join(', ')}`, own.workspace)
  }
  const merged: ProcessBackendOptions = { ...defaults, ...own }
  if (defaults.env || env) merged.env = { ...defaults.env, ...env }
  return merged
}

function pidFile(project: ProjectInfo, agent: string): string {
  return join(project.stateDir, 'pids', `${safeName(agent)}.pid`)
}

/**
 * A previous orchestrator killed with -9 leaves its agents' processes running (they have their
 * own process groups). Kill such a leftover, but only when the pid still belongs to it: its
 * environment names this agent and project (Linux's /proc; elsewhere we leave it alone).
 */
function reapLeftover(file: string, agent: string, project: ProjectInfo): void {
  let pid: number
  try {
    pid = Number.parseInt(readFileSync(file, 'utf8'), 10)
  } catch {
    return
  }
  try {
    const environ = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0')
    if (environ.includes(`TANUKI_AGENT=${agent}`) && environ.includes(`TANUKI_PROJECT=${project.root}`))
      killGroup(pid, 'SIGKILL')
  } catch {
    // Gone already, or no /proc: nothing we can safely do.
  }
  rmSync(file, { force: true })
}

/**
 * Creates the `process` backend: agents are local processes of an agent kind (Claude Code, Codex,
 * a command, the task's shell blocks), each working in its own git worktree (or the project
 * directory). Stopping an agent kills its whole process tree; a process killed by a signal Tanuki
 * did not send is reported as a crash.
 *
 * @example
 * const orchestrator = createOrchestrator({
 *   config: defineConfig({ agents: { default: { kind: 'shell' } }, tasks }),
 *   backends: [createProcessBackend({ log: console.warn })],
 * })
 */
export function createProcessBackend(options: ProcessBackendOptions = {}): ProcessBackend {
  const backendName = options.name ?? 'process'
  const agents = new Map<string, ProcessAgent>()
  const warnedShared = new Set<string>()

  const spawn = async (request: SpawnRequest): Promise<ProcessAgent> => {
    const { name, role, project } = request
    const config = resolveOptions(options, role, request.options)
    let kind: AgentKind
    try {
      kind = createKind(config)
    } catch (error) {
      if (isTanukiError(error, 'TANUKI_CONFIG_INVALID')) {
        throw new TanukiError('TANUKI_CONFIG_INVALID', `agents.${role}: ${error.message}`, {
          cause: error,
          details: error.details,
        })
      }
      throw error
    }
    const workspace: Workspace = await openWorkspace({ project, agent: name, mode: config.workspace ?? 'auto' })
    const note =
      workspace.mode === 'shared' && (config.workspace ?? 'auto') === 'auto'
        ? `${project.root} is not a git repository with a commit, so agents work in the project directory itself (workspace "shared"): ` +
          'they share it and nothing is committed. Run `git init && git add -A && git commit -m init` there to give each agent its own worktree.'
        : undefined
    if (note && !warnedShared.has(project.root)) {
      warnedShared.add(project.root)
      config.log?.(note)
    }

    const pids = (config.pidFiles ?? true) ? pidFile(project, name) : undefined
    if (pids) reapLeftover(pids, name, project)
    const baseEnv: Record<string, string | undefined> = {
      ...((config.inheritEnv ?? true) ? process.env : {}),
      ...config.env,
      TANUKI_AGENT: name,
      TANUKI_ROLE: role,
      TANUKI_PROJECT: project.root,
      TANUKI_WORKSPACE: workspace.dir,
    }
    const listeners = new Set<(exit: AgentExit) => void>()
    let state: ProcessAgent['state'] = 'alive'
    /** What the agent runs right now: its pid and how to stop it. */
    let current: { readonly pid: number | undefined; kill(): Promise<unknown> } | undefined
    let session: ShellSession | undefined
    const openSession = (): ShellSession => {
      const opened = new ShellSession(workspace.dir, baseEnv)
      opened.onShellExit((reason) => {
        // While a command runs, its own end reports the crash; an idle agent's shell dying is one.
        if (!current) end({ reason: `its shell ended: ${reason}`, expected: false }, 'crashed')
      })
      return opened
    }

    const end = (exit: AgentExit, next: ProcessAgent['state']): void => {
      if (state !== 'alive') return
      state = next
      for (const listener of [...listeners]) {
        try {
          listener(exit)
        } catch {
          // A listener's failure must not hide the agent's end from the others.
        }
      }
    }

    const execStep = async (
      step: Step,
      onChunk: Parameters<Parameters<typeof runPlan>[1]>[1],
      signal: AbortSignal,
      env: Record<string, string | undefined>,
    ): Promise<StepExit> => {
      const started = (pid: number): void => {
        if (pids) {
          try {
            mkdirSync(join(pids, '..'), { recursive: true })
            writeFileSync(pids, `${pid}\n`)
          } catch {
            // Pid files help people and crash recovery; an agent runs fine without one.
          }
        }
        config.onProcess?.({ agent: name, pid, argv: [...step.argv], state: 'started' })
      }
      if (config.session) return sessionStep(step, onChunk, signal, env, started)
      const handle = startProcess(step.argv, {
        cwd: workspace.dir,
        env: { ...env, ...step.env },
        ...(step.stdin === undefined ? {} : { stdin: step.stdin }),
        signal,
        ...(config.killGraceMs === undefined ? {} : { killGraceMs: config.killGraceMs }),
        onOutput: onChunk,
        onSpawn: started,
      })
      current = handle
      let ended
      try {
        ended = await handle.done
      } catch (error) {
        throw new TanukiError(
          'TANUKI_AGENT_FAILED',
          `agent ${name} (role ${role}, kind ${kind.name}): ${(error as Error).message}. Install it, or set agents.${role}.bin (or .command) to the program to run.`,
          { cause: error },
        )
      } finally {
        current = undefined
        if (pids) rmSync(pids, { force: true })
        if (handle.pid !== undefined)
          config.onProcess?.({ agent: name, pid: handle.pid, argv: [...step.argv], state: 'ended' })
      }
      return stepEnded(step, handle.pid, ended, signal)
    }

    /** One rule for how a command ended, however it was started. */
    const stepEnded = (
      step: Step,
      pid: number | undefined,
      ended: { exitCode: number | null; signal: NodeJS.Signals | null; killedByUs: boolean },
      signal: AbortSignal,
    ): StepExit => {
      if (ended.killedByUs && !signal.aborted) {
        throw new TanukiError('TANUKI_ABORTED', `Aborted: agent ${name} was ${state === 'alive' ? 'stopped' : state}`)
      }
      if (!ended.killedByUs && ended.signal !== null) {
        const reason = `${step.label ?? step.argv[0]}: process ${pid} was killed by ${ended.signal}`
        end({ reason, expected: false }, 'crashed')
        throw new TanukiError('TANUKI_AGENT_CRASHED', `agent ${name} crashed: ${reason}`, {
          details: { agent: name, signal: ended.signal },
        })
      }
      return { exitCode: ended.exitCode, signal: ended.signal }
    }

    /** A step started by the agent's shell (`session: true`). */
    const sessionStep = async (
      step: Step,
      onChunk: Parameters<Parameters<typeof runPlan>[1]>[1],
      signal: AbortSignal,
      env: Record<string, string | undefined>,
      started: (pid: number) => void,
    ): Promise<StepExit> => {
      const shell = (session ??= openSession())
      // The shell has the agent's environment; a step sets only what differs.
      const delta: Record<string, string | undefined> = {}
      for (const [key, value] of Object.entries({ ...env, ...step.env })) if (baseEnv[key] !== value) delta[key] = value
      let pid: number | undefined
      let stderr = ''
      current = {
        get pid() {
          return pid
        },
        kill: async () => shell.close(),
      }
      let ended
      try {
        ended = await shell.run(step.argv, {
          ...(step.stdin === undefined ? {} : { stdin: step.stdin }),
          env: delta,
          signal,
          ...(config.killGraceMs === undefined ? {} : { killGraceMs: config.killGraceMs }),
          onOutput: (chunk) => {
            if (chunk.stream === 'stderr') stderr = (stderr + chunk.text).slice(-2000)
            onChunk(chunk)
          },
          onSpawn: (startedPid) => {
            pid = startedPid
            started(startedPid)
          },
        })
      } catch (error) {
        session = undefined
        if (state !== 'alive') throw new TanukiError('TANUKI_ABORTED', `Aborted: agent ${name} was ${state}`)
        end({ reason: (error as Error).message, expected: false }, 'crashed')
        throw new TanukiError('TANUKI_AGENT_CRASHED', `agent ${name} crashed: ${(error as Error).message}`, {
          cause: error,
        })
      } finally {
        current = undefined
        if (pids) rmSync(pids, { force: true })
        if (pid !== undefined) config.onProcess?.({ agent: name, pid, argv: [...step.argv], state: 'ended' })
      }
      // `env` could not find the program: the same as a process that cannot start.
      if (ended.exitCode === 127 && /^env: .*No such file or directory/m.test(stderr)) {
        throw new TanukiError(
          'TANUKI_AGENT_FAILED',
          `agent ${name} (role ${role}, kind ${kind.name}): could not start ${step.argv[0]}: not found. Install it, or set agents.${role}.bin (or .command) to the program to run.`,
        )
      }
      return stepEnded(step, pid, ended, signal)
    }

    const agent: ProcessAgent = {
      name,
      role,
      backend: backendName,
      workspace: workspace.dir,
      workspaceMode: workspace.mode,
      ...(workspace.branch ? { branch: workspace.branch } : {}),
      ...(note ? { note } : {}),
      get pid() {
        return current?.pid
      },
      get state() {
        return state
      },

      async run(request): Promise<RunResult> {
        if (state !== 'alive') throw new TanukiError('TANUKI_AGENT_CRASHED', `agent ${name} is not running (${state})`)
        if (current) throw new TanukiError('TANUKI_AGENT_FAILED', `agent ${name} is already running an iteration`)
        const { task, iteration, signal } = request
        if (signal.aborted)
          throw new TanukiError('TANUKI_ABORTED', `Aborted: ${String(signal.reason ?? 'stopped')}`, {
            cause: signal.reason,
          })
        const plan = kind.plan({ prompt: request.prompt, task })
        // Every try, not only the first: work a dependency finished meanwhile (or a merge that
        // failed before) still reaches this one. Already merged work costs one `git merge-base`.
        if (config.commit ?? true) {
          for (const line of await workspace.mergeTasks(task.dependsOn))
            request.onOutput?.({ stream: 'stderr', text: `tanuki: ${line}\n` })
        }
        const env = { ...baseEnv, TANUKI_TASK_ID: task.id, TANUKI_ITERATION: String(iteration) }
        const result = await runPlan(plan, (step, onChunk, stepSignal) => execStep(step, onChunk, stepSignal, env), {
          signal,
          ...(request.onOutput ? { onOutput: request.onOutput } : {}),
        })
        if (config.commit ?? true) {
          await workspace
            .commit(
              `tanuki(${name}): ${task.id} iteration ${iteration}: ${task.title}\n\nTanuki-Task: ${task.id}\nTanuki-Agent: ${name}\n`,
            )
            // The work stays in the worktree; say why it is not on the branch (dependents will not see it).
            .catch((error: unknown) =>
              request.onOutput?.({ stream: 'stderr', text: `tanuki: ${(error as Error).message}\n` }),
            )
        }
        return result
      },

      exec(command, execOptions = {}) {
        if (state === 'removed') {
          return Promise.reject(
            new TanukiError('TANUKI_VERIFY_FAILED', `agent ${name} was removed, so "${command}" has nowhere to run`),
          )
        }
        return execShell(command, workspace.dir, {
          ...execOptions,
          env: baseEnv,
          ...(config.killGraceMs === undefined ? {} : { killGraceMs: config.killGraceMs }),
        })
      },

      async stop() {
        const running = current
        end({ reason: 'stopped', expected: true }, 'stopped')
        if (running) await running.kill().catch(() => {})
        session?.close()
      },

      async remove() {
        await agent.stop()
        state = 'removed'
        if (pids) rmSync(pids, { force: true })
        await workspace.remove()
      },

      onExit(listener) {
        listeners.add(listener)
        return () => listeners.delete(listener)
      },
    }
    agents.set(name, agent)
    return agent
  }

  return {
    name: backendName,
    agents,
    spawn,
    async cleanup(project) {
      for (const agent of agents.values()) {
        if (agent.state === 'alive') await agent.stop()
      }
      await removeWorktrees(project)
      const dir = join(project.stateDir, 'pids')
      for (const file of existsSync(dir) ? readdirSync(dir) : []) {
        if (file.endsWith('.pid')) reapLeftover(join(dir, file), file.slice(0, -'.pid'.length), project)
      }
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
