import { randomUUID } from 'node:crypto'
import { StringDecoder } from 'node:string_decoder'
import { Writable } from 'node:stream'
import type { ExecOptions, ExecResult, OutputChunk } from '@tanuki/core'
import type Docker from 'dockerode'

/** What to run in a container. */
export interface ContainerCommand {
  argv: string[]
  /** Written to stdin, which is then closed. */
  stdin?: string
  env?: Record<string, string>
  workdir?: string
  user?: string
}

/** How a command in a container ended. */
export interface ContainerExit {
  /** `null` when we killed it (abort, timeout) or its exit code could not be read. */
  exitCode: number | null
  /** True when we killed it. */
  killed: boolean
}

/** Where the wrapper records each command's pid, inside the container. */
const PID_PREFIX = '/tmp/tanuki-exec-'

/** Seconds a killed command gets between SIGTERM and SIGKILL. */
const KILL_GRACE_S = 3
/** How long we wait for a killed command's output to close before giving up on it. */
const DRAIN_MS = 10_000

/**
 * Runs the command under a wrapper that records its pid, so it can be killed: the Engine API has
 * no "kill exec". `docker exec` starts each command as a session (and process group) leader,
 * so killing the group takes its children along.
 */
function wrap(argv: string[], pidFile: string): string[] {
  return ['sh', '-c', `echo $$ > ${pidFile}; "$@"; s=$?; rm -f ${pidFile}; exit $s`, 'tanuki-exec', ...argv]
}

/** SIGTERM the recorded process group, then SIGKILL what is left after a grace. */
function killScript(pidFile: string): string[] {
  return [
    'sh',
    '-c',
    // The wrapper may not have written its pid yet when an abort comes right after the start.
    `i=0; while [ ! -s ${pidFile} ] && [ $i -lt 20 ]; do sleep 0.1; i=$((i+1)); done; ` +
      `p=$(cat ${pidFile} 2>/dev/null) || exit 0; kill -TERM -$p 2>/dev/null || kill -TERM $p 2>/dev/null; ` +
      `i=0; while [ $i -lt ${KILL_GRACE_S * 10} ] && kill -0 $p 2>/dev/null; do sleep 0.1; i=$((i+1)); done; ` +
      `kill -KILL -$p 2>/dev/null || kill -KILL $p 2>/dev/null; exit 0`,
  ]
}

function sink(stream: OutputChunk['stream'], onOutput: (chunk: OutputChunk) => void): Writable {
  const decoder = new StringDecoder('utf8')
  return new Writable({
    write(chunk: Buffer, _encoding, callback) {
      const text = decoder.write(chunk)
      if (text) onOutput({ stream, text })
      callback()
    },
    final(callback) {
      const text = decoder.end()
      if (text) onOutput({ stream, text })
      callback()
    },
  })
}

const pause = (ms: number): Promise<void> => new Promise((done) => setTimeout(done, ms))

/** The exit code, once the engine has recorded it (it may lag the end of the stream a little). */
async function exitCodeOf(exec: Docker.Exec): Promise<number | null> {
  for (let i = 0; i < 50; i++) {
    const info = await exec.inspect()
    if (!info.Running) return info.ExitCode ?? null
    await pause(20)
  }
  return null
}

/**
 * Runs a command in a running container with its stdout and stderr demultiplexed to `onOutput`
 * as they arrive. Aborting `signal` kills the command's process group. Rejects when the command
 * could not be started (no such container, container not running).
 */
export async function execInContainer(
  container: Docker.Container,
  docker: Docker,
  command: ContainerCommand,
  onOutput: (chunk: OutputChunk) => void,
  signal?: AbortSignal,
): Promise<ContainerExit> {
  const pidFile = `${PID_PREFIX}${randomUUID()}.pid`
  const withStdin = command.stdin !== undefined
  const exec = await container.exec({
    Cmd: wrap(command.argv, pidFile),
    AttachStdout: true,
    AttachStderr: true,
    AttachStdin: withStdin,
    Tty: false,
    Env: Object.entries(command.env ?? {}).map(([name, value]) => `${name}=${value}`),
    ...(command.workdir ? { WorkingDir: command.workdir } : {}),
    ...(command.user ? { User: command.user } : {}),
  })
  const stream = (await exec.start({ hijack: withStdin, stdin: withStdin })) as NodeJS.ReadWriteStream & {
    destroy?: () => void
  }
  const ended = new Promise<void>((done) => {
    stream.once('end', done)
    stream.once('close', done)
    stream.once('error', () => done())
  })
  const stdout = sink('stdout', onOutput)
  const stderr = sink('stderr', onOutput)
  docker.modem.demuxStream(stream, stdout, stderr)
  if (withStdin) {
    stream.write(command.stdin!)
    // Half-closes the hijacked connection: the engine closes the process's stdin.
    stream.end()
  }

  let killed = false
  const kill = async (): Promise<void> => {
    if (killed) return
    killed = true
    try {
      const killer = await container.exec({ Cmd: killScript(pidFile), AttachStdout: true, AttachStderr: true })
      const out = await killer.start({})
      out.resume()
      await new Promise<void>((done) => {
        out.once('end', done)
        out.once('close', done)
        out.once('error', () => done())
      })
    } catch {
      // The container is gone: so is the command.
    }
  }
  let onAbort = (): void => {}
  const abortedWait = new Promise<void>((done) => {
    onAbort = () => {
      void kill()
      done()
    }
  })
  if (signal?.aborted) onAbort()
  else signal?.addEventListener('abort', onAbort, { once: true })
  try {
    await Promise.race([ended, abortedWait])
    if (killed) {
      // A killed command whose output never closes (a daemonised grandchild) is let go of.
      const drained = await Promise.race([ended.then(() => true), pause(DRAIN_MS).then(() => false)])
      if (!drained) stream.destroy?.()
    }
  } finally {
    signal?.removeEventListener('abort', onAbort)
  }
  await new Promise<void>((done) => stdout.end(done))
  await new Promise<void>((done) => stderr.end(done))
  let exitCode: number | null = null
  try {
    exitCode = await exitCodeOf(exec)
  } catch {
    exitCode = null
  }
  return { exitCode: killed ? null : exitCode, killed }
}

/**
 * Kills every command a previous orchestrator left running in a container it reuses (it died
 * with iterations in flight), by the pid files their wrappers wrote. Resolves with how many.
 */
export async function reapCommands(container: Docker.Container): Promise<number> {
  const script =
    `n=0; for f in ${PID_PREFIX}*.pid; do [ -f "$f" ] || continue; p=$(cat "$f"); ` +
    'kill -KILL -$p 2>/dev/null || kill -KILL $p 2>/dev/null; rm -f "$f"; n=$((n+1)); done; echo $n'
  const exec = await container.exec({ Cmd: ['sh', '-c', script], AttachStdout: true, AttachStderr: true })
  const stream = await exec.start({})
  let text = ''
  stream.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')))
  await new Promise<void>((done) => {
    stream.once('end', done)
    stream.once('close', done)
    stream.once('error', () => done())
  })
  // The output is multiplexed: the count is the last line's digits.
  return Number(/(\d+)\s*$/.exec(text)?.[1] ?? 0)
}

/**
 * Runs a command through `run` as `Agent.exec` promises: killed past `timeoutMs` or on `signal`,
 * its output collected and streamed.
 */
export async function timedExec(
  run: (onOutput: (chunk: OutputChunk) => void, signal: AbortSignal) => Promise<ContainerExit>,
  options: ExecOptions = {},
): Promise<ExecResult> {
  const started = performance.now()
  const controller = new AbortController()
  let timedOut = false
  const timer =
    options.timeoutMs === undefined
      ? undefined
      : setTimeout(() => {
          timedOut = true
          controller.abort('timeout')
        }, options.timeoutMs)
  const forward = (): void => controller.abort(options.signal?.reason)
  if (options.signal?.aborted) forward()
  else options.signal?.addEventListener('abort', forward, { once: true })
  let output = ''
  try {
    const exit = await run((chunk) => {
      output += chunk.text
      options.onOutput?.(chunk)
    }, controller.signal)
    return { exitCode: exit.killed ? null : exit.exitCode, output, timedOut, durationMs: performance.now() - started }
  } finally {
    clearTimeout(timer)
    options.signal?.removeEventListener('abort', forward)
  }
}
