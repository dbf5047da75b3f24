import { readFileSync } from 'node:fs'
import { isIP } from 'node:net'
import { TanukiError, errorMessage } from '@tanuki/core'
import { Redis, type RedisOptions } from 'ioredis'
import { redactUrl } from './options.ts'

/** Where Redis is and how to log in: what both sides of the queue need. */
export interface RedisTarget {
  /** `redis://…` or `rediss://…`. */
  url: string
  /** Overrides the URL's password (else `TANUKI_REDIS_PASSWORD`, else the URL's). */
  password?: string | undefined
  /** TLS: a CA to trust (PEM text or a path to a PEM file), and whether to check the server's certificate (default true). */
  tls?: { ca?: string | undefined; rejectUnauthorized?: boolean | undefined } | undefined
}

/** The CA option: PEM text as is, anything else read as a file. */
function readCa(ca: string): string {
  if (ca.includes('-----BEGIN')) return ca
  try {
    return readFileSync(ca, 'utf8')
  } catch (error) {
    throw new TanukiError(
      'TANUKI_REMOTE_TLS',
      `The TLS CA file ${ca} could not be read (${errorMessage(error)}). Point remote.tls.ca (or --tls-ca) at a PEM file.`,
      { cause: error },
    )
  }
}

/**
 * ioredis options for a target. `maxRetriesPerRequest: null` lets commands wait through a Redis
 * restart instead of failing (BullMQ's workers require it); reconnections back off up to 2 s.
 */
export function redisOptions(target: RedisTarget): RedisOptions {
  const url = new URL(target.url)
  const secure = url.protocol === 'rediss:'
  const password =
    target.password ??
    process.env.TANUKI_REDIS_PASSWORD ??
    (url.password ? decodeURIComponent(url.password) : undefined)
  const db = url.pathname.length > 1 ? Number.parseInt(url.pathname.slice(1), 10) : undefined
  const tls = secure
    ? {
        // SNI names a host; an address is checked against the certificate's IP entries instead.
        ...(isIP(url.hostname) ? {} : { servername: url.hostname }),
        ...(target.tls?.ca ? { ca: readCa(target.tls.ca) } : {}),
        ...(target.tls?.rejectUnauthorized === false ? { rejectUnauthorized: false } : {}),
      }
    : undefined
  return {
    host: url.hostname,
    port: url.port ? Number.parseInt(url.port, 10) : 6379,
    ...(url.username ? { username: decodeURIComponent(url.username) } : {}),
    ...(password ? { password } : {}),
    ...(db !== undefined && Number.isFinite(db) ? { db } : {}),
    ...(tls ? { tls } : {}),
    maxRetriesPerRequest: null,
    retryStrategy: (times) => Math.min(100 * times, 2000),
  }
}

/** A foreign connection error as a `TanukiError` that says what to do. */
export function connectionError(target: RedisTarget, error: unknown): TanukiError {
  const where = redactUrl(target.url)
  const text = errorMessage(error)
  const code = (error as { code?: string }).code ?? ''
  const withCause = { cause: error, details: { redis: where } }
  if (/WRONGPASS|invalid password|invalid username-password/i.test(text)) {
    return new TanukiError(
      'TANUKI_REMOTE_AUTH',
      `Redis at ${where} refused the password (${text.split('\n')[0]}). Check the password: in the URL (redis://:PASSWORD@host:port), remote.password, or TANUKI_REDIS_PASSWORD.`,
      withCause,
    )
  }
  if (/NOAUTH|Authentication required/i.test(text)) {
    return new TanukiError(
      'TANUKI_REMOTE_AUTH',
      `Redis at ${where} needs a password and none was given. Put it in the URL (redis://:PASSWORD@host:port), remote.password, or TANUKI_REDIS_PASSWORD.`,
      withCause,
    )
  }
  if (
    /certificate|self[- ]signed|SSL|TLS|wrong version number|EPROTO|ERR_SSL/i.test(text) ||
    code.startsWith('ERR_TLS') ||
    code.includes('CERT')
  ) {
    return new TanukiError(
      'TANUKI_REMOTE_TLS',
      `The TLS connection to Redis at ${where} failed (${text}). For a server with its own CA, give that CA (remote.tls.ca, or tanuki worker --tls-ca FILE); use rediss:// only for a TLS port and redis:// otherwise.`,
      withCause,
    )
  }
  return new TanukiError(
    'TANUKI_REMOTE_UNREACHABLE',
    `No Redis answered at ${where} (${text}). Start it, or fix the URL (remote.redis, or tanuki worker --redis).`,
    withCause,
  )
}

/**
 * Connects once, without retrying, to tell a wrong password, a TLS problem or an unreachable
 * server apart at start instead of retrying forever. Resolves with the server's version.
 */
export async function probeRedis(target: RedisTarget, timeoutMs = 5000): Promise<string> {
  const client = new Redis({
    ...redisOptions(target),
    lazyConnect: true,
    retryStrategy: () => null,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    connectTimeout: timeoutMs,
  })
  // ioredis rejects `connect()` with "Connection is closed"; the error event says why.
  let first: unknown
  client.on('error', (error) => {
    first ??= error
  })
  try {
    await client.connect()
    const info = await client.info('server')
    return /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown'
  } catch (error) {
    throw connectionError(target, first ?? error)
  } finally {
    client.disconnect()
  }
}

/** A long-lived client: it reconnects after a Redis restart, and its errors go to `onError` (not the process). */
export function connect(target: RedisTarget, onError?: (error: unknown) => void): Redis {
  const client = new Redis(redisOptions(target))
  client.on('error', (error) => onError?.(error))
  return client
}
