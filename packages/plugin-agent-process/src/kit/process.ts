import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { TanukiError, type ExecResult, type OutputChunk } from '@tanuki/core'

/** How to run one process. */
export interface RunProcessOptions {
  /** Working directory. */
  cwd: string
  /** The whole environment of the process (not merged with `process.env`). Default: `process.env`. */
  env?: NodeJS.ProcessEnv
  /** Written to stdin, which is then closed. Without it stdin is closed at once. */
  stdin?: string
  /** Aborting kills the process tree. */
  signal?: AbortSignal
  /** Kills the process tree after this long; the result then has `timedOut: true`. */
  timeoutMs?: number
  /** Time between SIGTERM and SIGKILL when killing. Default 3000 ms. */
  killGraceMs?: number
  /** Output as it arrives. */
  onOutput?: (chunk: OutputChunk) => void
  /**
   * Keep the output for the result (`output`). Default true; false when `onOutput` takes it all (an
   * agent streaming megabytes need not hold them twice).
   */
  collect?: boolean
  /** Called once the process started, with its pid (also its process group id). */
  onSpawn?: (pid: number) => void
}

/** How a process ended. */
export interface ProcessResult {
  /** `null` when a signal ended it. */
  exitCode: number | null
  /** The signal that ended it, if any. */
  signal: NodeJS.Signals | null
  /** True when Tanuki killed it (abort, timeout, `kill()`); a signal not sent by us means a crash. */
  killedByUs: boolean
  /** True when `timeoutMs` ran out. */
  timedOut: boolean
  /** stdout and stderr, interleaved as they arrived. */
  output: string
  durationMs: number
}

/** A started process: its pid, a way to kill its tree, and its end. */
export interface ProcessHandle {
  readonly pid: number | undefined
  /** Kills the whole process tree: SIGTERM, then SIGKILL after the grace. Resolves once it ended. */
  kill(): Promise<ProcessResult>
  /** Resolves when the process ended; rejects only when it could not start. */
  readonly done: Promise<ProcessResult>
}

const DEFAULT_GRACE_MS = 3000
/** After the leader exits, how long we wait for its stdio to close before giving up on it. */
const STDIO_DRAIN_MS = 2000

/** Sends a signal to a whole process group; false when the group is gone. */
export function killGroup(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pid, signal)
    return true
  } catch {
    return false
  }
}

/**
 * Starts a process in its own process group (a new session, `detached`), so that stopping it
 * reaches everything it started: `kill(-pid)`. When the leader exits, whatever it left behind in
 * its group is killed too, so no step outlives itself and holds the output pipes open.
 *
 * @example
 * const handle = startProcess(['sh', '-c', 'echo hi'], { cwd: '/tmp', onOutput: (c) => process.stdout.write(c.text) })
 * const { exitCode } = await handle.done
 */
export function startProcess(argv: readonly string[], options: RunProcessOptions): ProcessHandle {
  const [file, ...args] = argv
  if (!file) throw new TanukiError('TANUKI_AGENT_FAILED', 'cannot start a process with an empty command line')
  const grace = options.killGraceMs ?? DEFAULT_GRACE_MS
  const started = performance.now()
  const child = spawn(file, args, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    detached: true,
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  let output = ''
  let killedByUs = false
  let timedOut = false
  let exited = false
  let killTimer: NodeJS.Timeout | undefined
  let timeoutTimer: NodeJS.Timeout | undefined

  const terminate = (): void => {
    if (exited || killedByUs || child.pid === undefined) return
    killedByUs = true
    killGroup(child.pid, 'SIGTERM')
    killTimer = setTimeout(() => killGroup(child.pid!, 'SIGKILL'), grace)
  }
  const onAbort = (): void => terminate()

  const done = new Promise<ProcessResult>((resolve, reject) => {
    const collect = options.collect ?? true
    const emit = (stream: OutputChunk['stream']) => (text: string) => {
      if (collect) output += text
      options.onOutput?.({ stream, text })
    }
    // Decoded per stream, so a character split across two reads arrives whole.
    child.stdout.setEncoding('utf8')
    child.stderr.setEncoding('utf8')
    child.stdout.on('data', emit('stdout'))
    child.stderr.on('data', emit('stderr'))
    // A process that exits without reading its stdin makes the write fail with EPIPE: harmless.
    child.stdin.on('error', () => {})
    child.stdin.end(options.stdin ?? '')

    let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined
    let drainTimer: NodeJS.Timeout | undefined
    const finish = (): void => {
      if (!exit) return
      clearTimeout(drainTimer)
      clearTimeout(killTimer)
      clearTimeout(timeoutTimer)
      options.signal?.removeEventListener('abort', onAbort)
      resolve({
        exitCode: exit.code,
        signal: exit.signal,
        killedByUs,
        timedOut,
        output,
        durationMs: performance.now() - started,
      })
    }
    child.once('error', (error: NodeJS.ErrnoException) => {
      if (child.pid !== undefined) return
      options.signal?.removeEventListener('abort', onAbort)
      clearTimeout(timeoutTimer)
      const what =
        error.code === 'EACCES'
          ? `"${file}" is not executable (\`chmod +x ${file}\`, or run it through its interpreter)`
          : error.code !== 'ENOENT'
            ? error.message
            : options.cwd && !existsSync(options.cwd)
              ? `the directory it was to run in, ${options.cwd}, does not exist`
              : `"${file}" was not found`
      reject(
        new TanukiError('TANUKI_AGENT_FAILED', `could not start ${file}: ${what}`, {
          cause: error,
          details: { argv, cwd: options.cwd },
        }),
      )
    })
    child.once('exit', (code, signal) => {
      exited = true
      exit = { code, signal }
      // Background children of the step must not outlive it (nor keep our pipes open).
      if (child.pid !== undefined) killGroup(child.pid, 'SIGKILL')
      drainTimer = setTimeout(() => {
        child.stdout.destroy()
        child.stderr.destroy()
        finish()
      }, STDIO_DRAIN_MS)
    })
    child.once('close', () => finish())
  })

  if (child.pid !== undefined) {
    options.onSpawn?.(child.pid)
    if (options.signal?.aborted) terminate()
    else options.signal?.addEventListener('abort', onAbort, { once: true })
    if (options.timeoutMs !== undefined) {
      timeoutTimer = setTimeout(() => {
        timedOut = true
        terminate()
      }, options.timeoutMs)
    }
  }

  return {
    get pid() {
      return child.pid
    },
    kill() {
      terminate()
      return done
    },
    done,
  }
}

/** Runs a process to its end. Rejects with `TANUKI_AGENT_FAILED` when it cannot start. */
export function runProcess(argv: readonly string[], options: RunProcessOptions): Promise<ProcessResult> {
  return startProcess(argv, options).done
}

/** Options of {@link execShell}. */
export interface ExecShellOptions {
  /** Kill the command after this long; the result then has `timedOut: true`. */
  timeoutMs?: number
  signal?: AbortSignal
  onOutput?: (chunk: OutputChunk) => void
  /** The whole environment. Default: `process.env`. */
  env?: NodeJS.ProcessEnv
  /** Time between SIGTERM and SIGKILL. Default 3000 ms. */
  killGraceMs?: number
}

/**
 * Runs a shell command (`sh -c COMMAND`) in a directory, as verify commands run. Resolves with
 * the exit code and output, `exitCode: null` when it was killed; rejects with
 * `TANUKI_VERIFY_FAILED` when the shell could not start (no `sh`, no such directory), so the
 * Validator marks the task failed instead of retrying forever.
 *
 * @example
 * const result = await execShell('test -f out.txt', '/path/to/worktree', { timeoutMs: 60_000 })
 */
export async function execShell(command: string, cwd: string, options: ExecShellOptions = {}): Promise<ExecResult> {
  try {
    const result = await runProcess(['sh', '-c', command], { cwd, ...options })
    return {
      exitCode: result.exitCode,
      output: result.output,
      timedOut: result.timedOut,
      durationMs: result.durationMs,
    }
  } catch (error) {
    throw new TanukiError(
      'TANUKI_VERIFY_FAILED',
      `verify "${command}" could not run in ${cwd}: ${(error as Error).message}`,
      { cause: error },
    )
  }
}
