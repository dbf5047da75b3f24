import { createHash } from 'node:crypto'
import { rmSync } from 'node:fs'
import { createConnection, createServer, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { TanukiError, errorMessage, isTanukiError } from '@tanuki/core'

/** What another terminal (or the dashboard) asks the running orchestrator. */
export type ControlRequest =
  | { command: 'rerun'; id: string; withDependents?: boolean }
  | { command: 'reset'; id: string }
  | { command: 'mark'; id: string; status: 'complete' | 'failed'; landed?: boolean }
  | { command: 'stop'; remove?: boolean; force?: boolean; finish?: boolean }
  | { command: 'land' }

/** The answer: done (with what the command returned, if anything), or a refusal with the error's code and message. */
type ControlReply = { ok: true; result?: unknown } | { ok: false; code: string; message: string }

/** The longest path a Unix socket may have (108 bytes on Linux, 104 on macOS, with the NUL). */
const MAX_SOCKET_PATH = 100

/**
 * Where a project's control socket lives: `<stateDir>/control.sock`, or, when that path is too
 * long for a socket, a name in the temp folder derived from the state folder.
 */
export function controlSocketPath(stateDir: string): string {
  const inState = join(stateDir, 'control.sock')
  if (Buffer.byteLength(inState) <= MAX_SOCKET_PATH) return inState
  return join(tmpdir(), `tanuki-${createHash('sha256').update(stateDir).digest('hex').slice(0, 16)}.sock`)
}

/**
 * Serves the control socket of a running orchestrator: one JSON request per line, one JSON answer
 * per line. Only this machine's processes reach it (a Unix socket in the state folder).
 */
export async function serveControl(
  path: string,
  handle: (request: ControlRequest) => Promise<unknown>,
): Promise<{ close(): Promise<void> }> {
  // A socket file left by an orchestrator that died; the lock says no other one runs.
  rmSync(path, { force: true })
  const server: Server = createServer((socket) => {
    let buffered = ''
    socket.setEncoding('utf8')
    socket.on('data', (chunk: string) => {
      buffered += chunk
      for (let newline = buffered.indexOf('\n'); newline >= 0; newline = buffered.indexOf('\n')) {
        const line = buffered.slice(0, newline)
        buffered = buffered.slice(newline + 1)
        void answer(line).then((reply) => socket.write(`${JSON.stringify(reply)}\n`))
      }
    })
    socket.on('error', () => socket.destroy())
  })
  const answer = async (line: string): Promise<ControlReply> => {
    try {
      const result = await handle(JSON.parse(line) as ControlRequest)
      return result === undefined ? { ok: true } : { ok: true, result }
    } catch (error) {
      return {
        ok: false,
        code: isTanukiError(error) ? error.code : 'TANUKI_CONTROL_FAILED',
        message: errorMessage(error),
      }
    }
  }
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(path, () => resolve())
  })
  return {
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        rmSync(path, { force: true })
      }),
  }
}

/**
 * Sends a request to a running orchestrator and waits for its answer: what the command returned
 * (`land`: the work that still waits for the target), if anything. Rejects with the
 * orchestrator's own `TanukiError` when it refuses, and with `TANUKI_CONTROL_UNREACHABLE` when
 * nothing answers.
 */
export function sendControl(path: string, request: ControlRequest, timeoutMs = 30_000): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(path)
    let buffered = ''
    const timer = setTimeout(() => {
      socket.destroy()
      reject(
        new TanukiError('TANUKI_CONTROL_UNREACHABLE', `The orchestrator did not answer within ${timeoutMs / 1000} s.`),
      )
    }, timeoutMs)
    socket.setEncoding('utf8')
    socket.on('connect', () => socket.write(`${JSON.stringify(request)}\n`))
    socket.on('data', (chunk: string) => {
      buffered += chunk
      const newline = buffered.indexOf('\n')
      if (newline < 0) return
      clearTimeout(timer)
      socket.end()
      const reply = JSON.parse(buffered.slice(0, newline)) as ControlReply
      if (reply.ok) resolve(reply.result)
      else reject(new TanukiError(reply.code as `TANUKI_${string}`, reply.message))
    })
    socket.on('error', (error) => {
      clearTimeout(timer)
      reject(
        new TanukiError(
          'TANUKI_CONTROL_UNREACHABLE',
          `Cannot reach the running orchestrator at ${path}: ${error.message}. Is it still running? See \`tanuki project status\`.`,
          { cause: error },
        ),
      )
    })
  })
}
