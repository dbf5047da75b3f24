import { TanukiError, errorMessage } from '@tanuki/core'
import Docker from 'dockerode'

/** The default engine socket, as the docker CLI uses it. */
export const DEFAULT_SOCKET = '/var/run/docker.sock'
const PING_TIMEOUT_MS = 5000

/** A connection to a Docker engine, and the address it was made to (for messages). */
export interface Engine {
  docker: Docker
  /** `unix:///var/run/docker.sock`, `tcp://host:2375`… */
  address: string
}

/**
 * Connection options for an engine address. Without one, dockerode reads `DOCKER_HOST` itself
 * (with `DOCKER_TLS_VERIFY`/`DOCKER_CERT_PATH`), as the docker CLI does.
 */
function connectionOptions(host: string | undefined): { options: Docker.DockerOptions; address: string } {
  if (host === undefined) {
    const env = process.env.DOCKER_HOST
    return { options: {}, address: env && env.length > 0 ? env : `unix://${DEFAULT_SOCKET}` }
  }
  if (host.startsWith('unix://')) return { options: { socketPath: host.slice('unix://'.length) }, address: host }
  if (host.startsWith('/')) return { options: { socketPath: host }, address: `unix://${host}` }
  const url = new URL(host.replace(/^tcp:\/\//, 'http://'))
  return {
    options: { host: url.hostname, port: url.port || 2375, protocol: url.protocol === 'https:' ? 'https' : 'http' },
    address: host,
  }
}

/** The one message for "no engine": which address was tried and how to get one running. */
export function engineUnavailable(address: string, cause: unknown): TanukiError {
  return new TanukiError(
    'TANUKI_DOCKER_UNAVAILABLE',
    `No Docker engine is reachable at ${address} (${errorMessage(cause)}). ` +
      'Start one (`sudo systemctl start docker`, or `sudo dockerd &`; in a clone of Tanuki `bash scripts/docker-setup.sh`), ' +
      "or point DOCKER_HOST (or the docker plugin's `host` option) at a running engine.",
    // Its roles wait for the engine (and a resume) rather than fail their tasks.
    { cause, details: { address, config: true } },
  )
}

/** Connects to the engine and checks it answers; throws `TANUKI_DOCKER_UNAVAILABLE` when it does not. */
export async function connectEngine(host?: string): Promise<Engine> {
  const { options, address } = connectionOptions(host)
  let docker: Docker
  try {
    docker = new Docker({ ...options, timeout: undefined })
  } catch (error) {
    throw engineUnavailable(address, error)
  }
  const timeout = AbortSignal.timeout(PING_TIMEOUT_MS)
  try {
    // dockerode honours `abortSignal` on ping; its types do not list it.
    await (docker.ping as (options: { abortSignal: AbortSignal }) => Promise<unknown>)({ abortSignal: timeout })
  } catch (error) {
    throw engineUnavailable(address, timeout.aborted ? new Error(`no answer within ${PING_TIMEOUT_MS} ms`) : error)
  }
  return { docker, address }
}

/** The HTTP status of a dockerode error (404 for "no such container"), if it has one. */
export function statusCode(error: unknown): number | undefined {
  const code = (error as { statusCode?: unknown } | null)?.statusCode
  return typeof code === 'number' ? code : undefined
}
