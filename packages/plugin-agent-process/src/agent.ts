import { mkdirSync, rmSync } from 'node:fs'
import { dirname } from 'node:path'
import { TanukiError, abortError, createAgentExits, type Agent, type AgentExit, type RunResult } from '@tanuki/core'
import type { ProcessBackendOptions } from './backend.ts'
import { notInWorktrees } from './kit/find-program.ts'
import { runIteration } from './kit/iteration.ts'
import { kindAccount } from './kit/kinds/index.ts'
import type { AgentKind, Step } from './kit/kinds/types.ts'
import { execShell, startProcess } from './kit/process.ts'
import type { StepExit } from './kit/run-plan.ts'
import { writePidFile } from './kit/pid-file.ts'
import { ShellSession } from './kit/session.ts'
import { endTaskWork, execInWorkspace, type Workspace } from './kit/workspace.ts'

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

/** What a process agent is made of; the backend assembles it. */
export interface ProcessAgentParts {
  name: string
  role: string
  /** The backend's name. */
  backend: string
  kind: AgentKind
  workspace: Workspace
  /** The role's options over the plugin's. */
  config: ProcessBackendOptions
  /** The agent's environment: Tanuki's (unless `inheritEnv: false`), `env`, and `TANUKI_*`. */
  env: Record<string, string | undefined>
  /** Where the running process's pid is written, if pid files are on. */
  pidFile: string | undefined
  note: string | undefined
  /** The project's folder, where a relative program that is missing from a worktree may be. */
  projectRoot: string
}

/** What bash's `exec`, `setsid` and `env` print for a program that is not there. */
const NOT_FOUND =
  /^(?:(?:setsid|env): .*No such file or directory|\S*bash: (?:line \d+: )?(?:exec: )?.*: (?:not found|No such file or directory))$/m

type OnChunk = Parameters<Parameters<typeof runIteration>[0]['execStep']>[1]
type Ended = { exitCode: number | null; signal: NodeJS.Signals | null; killedByUs: boolean }

/**
 * Wraps an agent kind as an agent of local processes: each step of an iteration is a process
 * started in the agent's workspace (from Tanuki itself, or from the agent's long-lived shell with
 * `session: true`), in a process group of its own so that stopping kills the whole tree. A
 * process killed by a signal Tanuki did not send is the agent's crash.
 */
export function createProcessAgent(parts: ProcessAgentParts): ProcessAgent {
  const { name, role, kind, workspace, config, env: baseEnv, pidFile } = parts
  const exits = createAgentExits()
  let state: ProcessAgent['state'] = 'alive'
  /** What the agent runs right now: its pid and how to stop it. */
  let current: { readonly pid: number | undefined; kill(): Promise<unknown> } | undefined
  let session: ShellSession | undefined

  const end = (exit: AgentExit, next: ProcessAgent['state']): void => {
    if (state !== 'alive') return
    state = next
    exits.end(exit)
  }

  const openSession = (): ShellSession => {
    // The shell writes the pid file itself, off the orchestrator's thread.
    let sessionPidFile: string | undefined
    if (pidFile) {
      try {
        mkdirSync(dirname(pidFile), { recursive: true })
        sessionPidFile = pidFile
      } catch {
        // Pid files help people and crash recovery; an agent runs fine without one.
      }
    }
    const opened = new ShellSession(workspace.dir, baseEnv, {
      ...(sessionPidFile ? { pidFile: sessionPidFile } : {}),
      ...(typeof config.session === 'string' ? { shell: config.session } : {}),
    })
    opened.onShellExit((reason) => {
      // The shell empties the pid file after each step; killed, it could not.
      if (sessionPidFile) rmSync(sessionPidFile, { force: true })
      // While a command runs, its own end reports the crash; an idle agent's shell dying is one.
      if (!current) end({ reason: `its shell ended: ${reason}`, expected: false }, 'crashed')
    })
    return opened
  }

  /** The program the role names is missing: the option that names it, for this kind. */
  const programKey = kind.name === 'command' ? 'command' : kind.name === 'shell' ? undefined : 'bin'
  const notFound = (what: string, program: string | undefined): TanukiError => {
    // A script in the project folder that was never committed is not in the agent's worktree.
    const notThere =
      workspace.mode === 'worktree' && program !== undefined ? notInWorktrees(program, parts.projectRoot) : undefined
    return new TanukiError(
      'TANUKI_AGENT_FAILED',
      `agent ${name} (role ${role}, kind ${kind.name}): ${what.replace(/\.$/, '')}.` +
        (notThere
          ? ` ${notThere}.`
          : // A folder that is missing is not the program's fault; a program not executable says its fix.
            / does not exist$| is not executable /.test(what)
            ? ''
            : ` Install it${programKey ? `, or set agents.${role}.${programKey} to the program to run` : ''}.`),
    )
  }

  /** Whether the pid file's folder was made: once per agent, not per command. */
  let pidFolder = false
  /**
   * A process started from Tanuki's own process: its pid goes to the pid file, blanks once it
   * ended (a session's shell writes its own).
   */
  const writePid = (pid: number | undefined): void => {
    if (!pidFile) return
    try {
      if (!pidFolder) mkdirSync(dirname(pidFile), { recursive: true })
      writePidFile(pidFile, pid)
      pidFolder = true
    } catch {
      pidFolder = false
      // Pid files help people and crash recovery; an agent runs fine without one.
    }
  }

  const started = (step: Step, pid: number): void => {
    config.onProcess?.({ agent: name, pid, argv: [...step.argv], state: 'started' })
  }

  const finished = (step: Step, pid: number | undefined): void => {
    current = undefined
    if (pid !== undefined) config.onProcess?.({ agent: name, pid, argv: [...step.argv], state: 'ended' })
  }

  /** One rule for how a command ended, however it was started. */
  const stepEnded = (step: Step, pid: number | undefined, ended: Ended, signal: AbortSignal): StepExit => {
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

  /** A step started from Tanuki's own process. */
  const processStep = async (step: Step, onChunk: OnChunk, signal: AbortSignal): Promise<StepExit> => {
    const handle = startProcess(step.argv, {
      cwd: workspace.dir,
      env: { ...baseEnv, ...step.env },
      ...(step.stdin === undefined ? {} : { stdin: step.stdin }),
      signal,
      ...(config.killGraceMs === undefined ? {} : { killGraceMs: config.killGraceMs }),
      onOutput: onChunk,
      // The kind's parser reads the output as it comes; the step's result needs only its end.
      collect: false,
      onSpawn: (pid) => {
        writePid(pid)
        started(step, pid)
      },
    })
    current = handle
    let ended: Ended
    try {
      ended = await handle.done
    } catch (error) {
      // The program is not there (or not executable): the same as a shell's 127, said on stderr,
      // so the kind classifies it as a start that failed.
      onChunk({ stream: 'stderr', text: `${notFound((error as Error).message, step.argv[0]).message}\n` })
      return { exitCode: 127, signal: null }
    } finally {
      if (handle.pid !== undefined) writePid(undefined)
      finished(step, handle.pid)
    }
    return stepEnded(step, handle.pid, ended, signal)
  }

  /** A step started by the agent's shell (`session: true`). */
  const sessionStep = async (step: Step, onChunk: OnChunk, signal: AbortSignal): Promise<StepExit> => {
    const shell = (session ??= openSession())
    // The shell has the agent's environment; a step sets only what differs.
    const delta: Record<string, string | undefined> = {}
    for (const [key, value] of Object.entries(step.env ?? {})) if (baseEnv[key] !== value) delta[key] = value
    let pid: number | undefined
    let stderr = ''
    current = {
      get pid() {
        return pid
      },
      kill: async () => shell.close(),
    }
    let ended: Ended
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
          started(step, startedPid)
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
      finished(step, pid)
    }
    // The program could not be found (by bash's `exec`, `setsid` or `env`): the same as a
    // process that cannot start.
    if (ended.exitCode === 127 && NOT_FOUND.test(stderr)) {
      onChunk({
        stream: 'stderr',
        text: `${notFound(`could not start ${step.argv[0]}: not found`, step.argv[0]).message}\n`,
      })
    }
    return stepEnded(step, pid, ended, signal)
  }

  const account = kindAccount(config, kind)
  const agent: ProcessAgent = {
    name,
    role,
    backend: parts.backend,
    ...(account ? { account } : {}),
    workspace: workspace.dir,
    workspaceMode: workspace.mode,
    ...(workspace.branch ? { branch: workspace.branch } : {}),
    ...(parts.note ? { note: parts.note } : {}),
    get pid() {
      return current?.pid
    },
    get state() {
      return state
    },

    async run(request): Promise<RunResult> {
      if (state !== 'alive') throw new TanukiError('TANUKI_AGENT_CRASHED', `agent ${name} is not running (${state})`)
      if (current) throw new TanukiError('TANUKI_AGENT_FAILED', `agent ${name} is already running an iteration`)
      if (request.signal.aborted) throw abortError(request.signal)
      return runIteration(
        {
          agent: name,
          kind,
          workspace,
          commit: config.commit ?? true,
          execStep: config.session ? sessionStep : processStep,
        },
        request,
      )
    },

    async beginTask(task, context) {
      return (config.commit ?? true) ? workspace.begin(task, context) : {}
    },

    async endTask(task, outcome) {
      if (config.commit ?? true) await endTaskWork(workspace, task, outcome)
    },

    exec(command, execOptions = {}) {
      if (state === 'removed') {
        return Promise.reject(
          new TanukiError('TANUKI_VERIFY_FAILED', `agent ${name} was removed, so "${command}" has nowhere to run`),
        )
      }
      return execInWorkspace(workspace, config.commit ?? true, execOptions, () =>
        execShell(command, workspace.dir, {
          ...execOptions,
          env: baseEnv,
          ...(config.killGraceMs === undefined ? {} : { killGraceMs: config.killGraceMs }),
        }),
      )
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
      if (pidFile) rmSync(pidFile, { force: true })
      await workspace.remove()
    },

    onExit: exits.onExit,
  }
  return agent
}
