import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { accessSync, constants as fs } from 'node:fs'
import { constants } from 'node:os'
import { delimiter, join } from 'node:path'
import { TanukiError, type OutputChunk } from '@tanuki/core'
import { PID_WIDTH } from './pid-file.ts'
import { killGroup } from './process.ts'

/** How a step run through a session ended. */
export interface SessionResult {
  /** `null` when a signal ended it. */
  exitCode: number | null
  signal: NodeJS.Signals | null
  /** True when the session killed it (abort); a signal from elsewhere means a crash. */
  killedByUs: boolean
}

export interface SessionStepOptions {
  /** The step's stdin; without it stdin is /dev/null. */
  stdin?: string
  /** Variables to set (a string) or unset (undefined) for this step only. */
  env?: Record<string, string | undefined>
  signal?: AbortSignal
  killGraceMs?: number
  onOutput?: (chunk: OutputChunk) => void
  /** The step's pid (also its process group) once the shell started it. */
  onSpawn?: (pid: number) => void
}

/** How a session starts its steps; see {@link ShellSession}. */
export type SessionShell = 'bash' | 'sh'

export interface SessionOptions {
  /**
   * Default: `bash` when it is on the environment's PATH (and the environment sets none of bash's
   * options or functions), else `sh`.
   */
  shell?: SessionShell
  /**
   * A file the shell writes each step's pid to while it runs (and empties after), so that a later
   * run can reap what a killed Tanuki left behind. Its folder must exist.
   */
  pidFile?: string
}

/** bash on a PATH, looked up once per PATH. */
const bashOnPath = new Map<string, string | undefined>()
export function findBash(path: string): string | undefined {
  if (!bashOnPath.has(path)) {
    let found: string | undefined
    for (const dir of path.split(delimiter)) {
      if (!dir) continue
      try {
        accessSync(join(dir, 'bash'), fs.X_OK)
        found = join(dir, 'bash')
        break
      } catch {
        // not here
      }
    }
    bashOnPath.set(path, found)
  }
  return bashOnPath.get(path)
}

/**
 * Variables bash takes as its own settings or functions when it starts: options (`SHELLOPTS`,
 * `BASHOPTS`, errexit or pipefail among them) and exported functions, which would stand in for
 * the builtins the session's script uses. With any of them, the session runs `sh`, which
 * passes them on to the steps untouched.
 */
const BASH_TAKES = /^(?:SHELLOPTS|BASHOPTS|BASH_FUNC_.*)$/

/** Single-quotes a word for sh. */
function quote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`
}

const SIGNALS = Object.entries(constants.signals) as [NodeJS.Signals, number][]

/** A variable name sh can assign. */
const SHELL_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/

/**
 * One long-lived shell per agent that starts the agent's commands for it. A Node process that
 * forks a child per command pays for copying its own page tables each time (about 1.5 ms for an
 * orchestrator of 120 MB); a shell forks for almost nothing. Each step runs in a process group of
 * its own, so it can be killed as a tree without the shell: under bash, by job control (`set -m`,
 * which bash keeps without a terminal), at the cost of a fork and one exec; under `sh`, whose job
 * control needs a terminal, through `setsid`, one exec more (on this project's CI machine an exec
 * costs about 5 ms, serialized machine-wide: bench/cli.bench.ts). The shell reports each step's
 * pid and exit status on its stdout after markers no output can forge (a nonce per step: random
 * per shell, then counted), and flushes stderr with a marker of its own. Whatever a step leaves
 * running in its group is killed when it ends.
 */
export class ShellSession {
  private readonly child: ChildProcess
  private stdoutPending = ''
  private stderrPending = ''
  private running:
    | {
        nonce: string
        onOutput?: (chunk: OutputChunk) => void
        onPid: (pid: number) => void
        onEnd: (status: number) => void
        onStderrEnd: () => void
      }
    | undefined
  /** The running step's pid (and process group): its own session, so the shell's kill misses it. */
  private stepPid: number | undefined
  private readonly exitListeners = new Set<(reason: string) => void>()
  private readonly nonces = randomBytes(12).toString('hex')
  private steps = 0
  private exited: string | undefined
  /** The shell this session runs. */
  readonly shell: SessionShell
  private readonly pidFile: string | undefined

  constructor(cwd: string, env: NodeJS.ProcessEnv, options: SessionOptions = {}) {
    const bash =
      options.shell === 'sh' ||
      (options.shell === undefined && Object.keys(env).some((key) => BASH_TAKES.test(key) && env[key] !== undefined))
        ? undefined
        : findBash(env.PATH ?? '')
    if (options.shell === 'bash' && !bash) throw new TanukiError('TANUKI_AGENT_FAILED', 'bash is not on the PATH')
    this.shell = bash ? 'bash' : 'sh'
    this.pidFile = options.pidFile
    // The shell's own messages about its jobs ("Terminated", "[1]+ Done") would land in a step's
    // stderr: they go to /dev/null, the steps' stderr to fd 3 (closed in the step itself).
    let preamble = 'exec 3>&2 2>/dev/null\n'
    let shellEnv = env
    if (bash) {
      // Job control gives each step a group of its own (see `run`). BASH_ENV would be sourced by
      // the shell itself: it is given back to the steps only.
      const { BASH_ENV, ...rest } = env
      shellEnv = rest
      preamble += 'set -m\n' + (BASH_ENV === undefined ? '' : `export BASH_ENV=${quote(BASH_ENV)}\n`)
    }
    this.child = spawn(bash ?? 'sh', [], { cwd, env: shellEnv, detached: true, stdio: ['pipe', 'pipe', 'pipe'] })
    this.child.stdout!.setEncoding('utf8')
    this.child.stderr!.setEncoding('utf8')
    this.child.stdout!.on('data', (text: string) => this.onStdout(text))
    this.child.stderr!.on('data', (text: string) => this.onStderr(text))
    this.child.stdin!.on('error', () => {})
    this.child.on('error', (error) => this.onExit(`the shell could not start: ${error.message}`))
    this.child.on('exit', (code, signal) =>
      this.onExit(signal ? `the shell was killed by ${signal}` : `the shell exited with code ${code}`),
    )
    this.child.stdin!.write(preamble)
  }

  /** The shell's pid (its process group). */
  get pid(): number | undefined {
    return this.child.pid
  }

  /** Subscribes to the shell's end (it was killed, or it failed). */
  onShellExit(listener: (reason: string) => void): () => void {
    this.exitListeners.add(listener)
    return () => this.exitListeners.delete(listener)
  }

  /** Runs one command line (argv) in the shell's directory; one at a time. */
  run(argv: readonly string[], options: SessionStepOptions = {}): Promise<SessionResult> {
    if (this.exited !== undefined)
      return Promise.reject(new TanukiError('TANUKI_AGENT_CRASHED', `the agent's shell is gone: ${this.exited}`))
    if (this.running)
      return Promise.reject(new TanukiError('TANUKI_AGENT_FAILED', "the agent's shell is already running a command"))
    // Random per shell, counted per command: unforgeable by output all the same, and cheaper.
    const nonce = `${this.nonces}${(++this.steps).toString(36)}`
    const variables = Object.entries(options.env ?? {})
    const bash = this.shell === 'bash'
    // bash's `exec` runs the program itself in the forked job, never a builtin or function of
    // the same name (`echo`); `setsid` execs the program in any case.
    const runner = bash ? 'exec --' : 'setsid --'
    let command: string
    // Variables set in front of the command by the shell itself, as `KEY='value' exec …`: `env`
    // would cost one more exec per step. It is still needed to unset a variable, for a name the
    // shell cannot assign, and for PATH (which shells differ on using to find the program).
    if (variables.every(([key, value]) => value !== undefined && SHELL_NAME.test(key) && key !== 'PATH')) {
      command = `${variables.map(([key, value]) => `${key}=${quote(value!)} `).join('')}${runner} ${argv.map(quote).join(' ')}`
    } else {
      const sets: string[] = []
      const unsets: string[] = []
      for (const [key, value] of variables) {
        if (value === undefined) unsets.push('-u', quote(key))
        else sets.push(quote(`${key}=${value}`))
      }
      command = `${runner} env ${[...unsets, ...sets].join(' ')} ${argv.map(quote).join(' ')}`
    }
    // The step's stderr is the shell's fd 3, which the step does not keep open besides.
    const toErr = ' 2>&3 3>&-'
    // Stdin comes as a here-document through the shell's own input (no file to create). A
    // here-document always ends with a newline: text that ends with one (every prompt Tanuki
    // builds) is given as is; other text is cut to its exact length by `head`, which costs one
    // more process per step (on a slow fork, as much as the command itself: bench/cli.bench.ts).
    // Under job control the pipeline is grouped in a subshell, so that `$!` names its group.
    const stdin = options.stdin
    const start =
      stdin === undefined
        ? `${command} </dev/null${toErr} &\n`
        : stdin.endsWith('\n')
          ? `${command} <<'T_${nonce}'${toErr} &\n${stdin}T_${nonce}\n`
          : bash
            ? `{ head -c ${Buffer.byteLength(stdin)} | ${command}; } <<'T_${nonce}'${toErr} &\n${stdin}\nT_${nonce}\n`
            : `head -c ${Buffer.byteLength(stdin)} <<'T_${nonce}'${toErr} | ${command}${toErr} &\n${stdin}\nT_${nonce}\n`
    // The pid file is the shell's to write, not the orchestrator's: printf is a regular builtin,
    // so a folder that went away costs a message to /dev/null, not the shell. It is written in
    // place (`1<>` opens without truncating), as `writePidFile` does: the pid, then blanks.
    const pidFile = this.pidFile === undefined ? undefined : quote(this.pidFile)
    const script =
      start +
      'tanuki_pid=$!\n' +
      (pidFile ? `printf '%-${PID_WIDTH}s\\n' "$tanuki_pid" 2>/dev/null 1<>${pidFile}\n` : '') +
      `printf '%s %s\\n' '@${nonce}:pid' "$tanuki_pid"\n` +
      // Under job control `wait` returns when a step stops (bash 5.1 has `wait -f` against that);
      // without it, as under `sh`, it waits for the step's end.
      (bash ? 'set +m\nwait "$tanuki_pid"\ntanuki_status=$?\nset -m\n' : 'wait "$tanuki_pid"\ntanuki_status=$?\n') +
      // Nothing the command started outlives it (and holds the shell's output open): its group
      // is killed by the shell's own `kill`, before the end is reported.
      `kill -s KILL -- -"$tanuki_pid" 2>/dev/null\n` +
      (pidFile ? `printf '%${PID_WIDTH}s\\n' '' 2>/dev/null 1<>${pidFile}\n` : '') +
      `printf '%s %s\\n' '@${nonce}:end' "$tanuki_status"\nprintf '%s\\n' '@${nonce}:err' >&3\n`

    return new Promise<SessionResult>((resolve, reject) => {
      let pid: number | undefined
      let status: number | undefined
      let stderrDone = false
      let killedByUs = false
      let killTimer: NodeJS.Timeout | undefined
      const kill = (): void => {
        if (pid === undefined || killedByUs) return
        killedByUs = true
        killGroup(pid, 'SIGTERM')
        killTimer = setTimeout(() => killGroup(pid!, 'SIGKILL'), options.killGraceMs ?? 3000)
      }
      const onAbort = (): void => kill()
      const cleanUp = (): void => {
        this.running = undefined
        this.stepPid = undefined
        clearTimeout(killTimer)
        unsubscribe()
        options.signal?.removeEventListener('abort', onAbort)
      }
      const finish = (): void => {
        if (status === undefined || !stderrDone) return
        cleanUp()
        // `wait` reports a step ended by signal N as 128 + N.
        const signal = status > 128 ? (SIGNALS.find(([, n]) => n === status! - 128)?.[0] ?? null) : null
        resolve({ exitCode: signal ? null : status, signal, killedByUs })
      }
      const unsubscribe = this.onShellExit((reason) => {
        cleanUp()
        reject(new TanukiError('TANUKI_AGENT_CRASHED', `the agent's shell is gone: ${reason}`))
      })
      this.running = {
        nonce,
        ...(options.onOutput ? { onOutput: options.onOutput } : {}),
        onPid: (started) => {
          pid = started
          this.stepPid = started
          options.onSpawn?.(started)
          if (options.signal?.aborted) kill()
        },
        onEnd: (code) => {
          status = code
          finish()
        },
        onStderrEnd: () => {
          stderrDone = true
          finish()
        },
      }
      options.signal?.addEventListener('abort', onAbort, { once: true })
      this.child.stdin!.write(script)
    })
  }

  /** Kills the shell and any step it runs. */
  close(): void {
    if (this.exited !== undefined) return
    this.exited = 'closed'
    // The shell first: killed after its step, it could still report the step's end.
    if (this.child.pid !== undefined) killGroup(this.child.pid, 'SIGKILL')
    if (this.stepPid !== undefined) killGroup(this.stepPid, 'SIGKILL')
  }

  /** Splits stdout into the running step's output and the session's own marker lines. */
  private onStdout(text: string): void {
    // Once the shell is gone (or going), a step's end is the shell's: what it said before it died
    // does not count, but a step it started meanwhile, in a group of its own, would outlive it.
    // (Its output can come after its exit, when no step is running any more.)
    if (this.exited !== undefined) {
      const said = this.stdoutPending + text
      const nonce = `${this.nonces}${this.steps.toString(36)}`
      for (const [, pid] of said.matchAll(new RegExp(`@${nonce}:pid (\\d+)\n`, 'g'))) killGroup(Number(pid), 'SIGKILL')
      this.stdoutPending = said.slice(said.lastIndexOf('\n') + 1)
      return
    }
    const step = this.running
    if (!step) return
    this.stdoutPending += text
    const prefix = `@${step.nonce}:`
    for (;;) {
      const at = this.stdoutPending.indexOf(prefix)
      const lineEnd = at === -1 ? -1 : this.stdoutPending.indexOf('\n', at)
      if (lineEnd === -1) {
        this.stdoutPending = this.emitSafely(
          this.stdoutPending,
          at === -1 ? prefix : undefined,
          at,
          'stdout',
          step.onOutput,
        )
        return
      }
      if (at > 0) step.onOutput?.({ stream: 'stdout', text: this.stdoutPending.slice(0, at) })
      const [marker = '', value = ''] = this.stdoutPending.slice(at, lineEnd).split(' ')
      this.stdoutPending = this.stdoutPending.slice(lineEnd + 1)
      if (marker.endsWith(':pid')) step.onPid(Number(value))
      else if (marker.endsWith(':end')) {
        this.stdoutPending = ''
        step.onEnd(Number(value))
        return
      }
    }
  }

  /** Passes stderr through until the running step's closing marker. */
  private onStderr(text: string): void {
    const step = this.running
    if (!step) return
    this.stderrPending += text
    const marker = `@${step.nonce}:err\n`
    const at = this.stderrPending.indexOf(marker)
    if (at === -1) {
      this.stderrPending = this.emitSafely(this.stderrPending, marker, -1, 'stderr', step.onOutput)
      return
    }
    if (at > 0) step.onOutput?.({ stream: 'stderr', text: this.stderrPending.slice(0, at) })
    this.stderrPending = ''
    step.onStderrEnd()
  }

  /**
   * Emits what is certainly output and returns what must wait: from `from` on (a marker whose
   * line is not complete yet), or an end that could be the start of `marker` cut between reads.
   */
  private emitSafely(
    pending: string,
    marker: string | undefined,
    from: number,
    stream: OutputChunk['stream'],
    onOutput: ((chunk: OutputChunk) => void) | undefined,
  ): string {
    let keepFrom = from === -1 ? pending.length : from
    if (marker) {
      for (let n = Math.min(marker.length, pending.length); n > 0; n--) {
        if (pending.endsWith(marker.slice(0, n))) {
          keepFrom = pending.length - n
          break
        }
      }
    }
    if (keepFrom > 0) onOutput?.({ stream, text: pending.slice(0, keepFrom) })
    return pending.slice(keepFrom)
  }

  private onExit(reason: string): void {
    if (this.exited === undefined) this.exited = reason
    // A step runs in a session of its own: it would outlive the shell that waits for it.
    if (this.stepPid !== undefined) killGroup(this.stepPid, 'SIGKILL')
    for (const listener of [...this.exitListeners]) listener(reason)
  }
}
