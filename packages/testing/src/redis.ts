import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer, connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** How to start a test Redis. */
export interface RedisServerOptions {
  /** `requirepass`. */
  password?: string
  /** Persistence: `appendonly yes` (fsync every write), so a restart keeps everything. */
  appendonly?: boolean
  /** TLS only (no plain port): the server's certificate and key, and the CA clients must trust. */
  tls?: { cert: string; key: string; ca: string }
}

/** A `redis-server` of a test's own, on a free loopback port. */
export interface RedisServer {
  port: number
  /** `redis://[:password@]127.0.0.1:port` (`rediss://` with TLS). */
  url: string
  /** Its data folder (the append-only file lives there). */
  dir: string
  /** Stops it cleanly (SIGTERM: it writes what it must), keeping its data. */
  stop(): Promise<void>
  /** Starts it again on the same port and data. */
  start(): Promise<void>
  /** Stops it and deletes its data. */
  close(): Promise<void>
}

/** Whether Debian's `redis-server` is installed (`apt-get install redis-server`). */
export function redisAvailable(): boolean {
  try {
    execFileSync('redis-server', ['--version'], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

/** A port nothing listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0))
    })
  })
}

function accepting(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1')
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
  })
}

/**
 * Starts a real `redis-server` on a free loopback port, with no snapshots and its data in a temp
 * folder: a test's own, never the machine's. `stop()`/`start()` restart it on the same data.
 *
 * @example
 * const redis = await startRedis({ password: 'secret', appendonly: true })
 * // … redis.url …
 * await redis.close()
 */
export async function startRedis(options: RedisServerOptions = {}): Promise<RedisServer> {
  const port = await freePort()
  const dir = mkdtempSync(join(tmpdir(), 'tanuki-redis-'))
  const args = [
    '--bind',
    '127.0.0.1',
    '--dir',
    dir,
    '--save',
    '',
    '--appendonly',
    options.appendonly ? 'yes' : 'no',
    '--appendfsync',
    'always',
    ...(options.password ? ['--requirepass', options.password] : []),
    ...(options.tls
      ? [
          '--port',
          '0',
          '--tls-port',
          String(port),
          '--tls-cert-file',
          options.tls.cert,
          '--tls-key-file',
          options.tls.key,
          '--tls-ca-cert-file',
          options.tls.ca,
          '--tls-auth-clients',
          'no',
        ]
      : ['--port', String(port)]),
  ]
  let child: ChildProcess | undefined
  const start = async (): Promise<void> => {
    child = spawn('redis-server', args, { stdio: 'ignore' })
    const started = child
    for (let waited = 0; !(await accepting(port)); waited += 20) {
      if (started.exitCode !== null || waited > 10_000) throw new Error(`redis-server did not start on port ${port}`)
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
  }
  const stop = async (): Promise<void> => {
    const running = child
    child = undefined
    if (!running || running.exitCode !== null) return
    await new Promise((resolve) => {
      running.once('exit', resolve)
      running.kill('SIGTERM')
    })
  }
  await start()
  const auth = options.password ? `:${encodeURIComponent(options.password)}@` : ''
  return {
    port,
    url: `${options.tls ? 'rediss' : 'redis'}://${auth}127.0.0.1:${port}`,
    dir,
    stop,
    start,
    async close() {
      await stop()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
