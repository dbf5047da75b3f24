import { existsSync, readdirSync, readFileSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { extname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createAdaptorServer } from '@hono/node-server'
import { TanukiError, errorMessage } from '@tanuki/core'
import type { DashboardSource } from '../types.ts'
import { type Asset, createDashboardApp } from './app.ts'
import { createToken } from './auth.ts'
import { type Hub, type HubOptions, createHub } from './hub.ts'

export interface ServeOptions extends HubOptions {
  /** Where the data comes from and actions go. */
  source: DashboardSource
  /** Address to listen on. Default `127.0.0.1`: only this machine. Anything else is reachable by others. */
  host?: string
  /** Port; 0 (the default) picks a free one. */
  port?: number
  /** The secret in the URL; default: 32 random bytes. */
  token?: string
  /** The built page (`dist/client`); default: the one shipped with this package. */
  assetsDir?: string
}

/** A dashboard that listens. */
export interface DashboardServer {
  /** The URL to open, token included. */
  url: string
  /** `http://host:port`. */
  origin: string
  host: string
  port: number
  token: string
  hub: Hub
  /** Disconnects every page and stops listening. */
  close(): Promise<void>
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.map': 'application/json',
}

/** The built page's folder: beside the bundle in `dist`, or `dist/client` seen from `src` (tests). */
export function defaultAssetsDir(): string {
  const candidates = [new URL('./client/', import.meta.url), new URL('../../dist/client/', import.meta.url)]
  for (const candidate of candidates) {
    const dir = fileURLToPath(candidate)
    if (existsSync(join(dir, 'index.html'))) return dir
  }
  throw new TanukiError(
    'TANUKI_UI_ASSETS_MISSING',
    `The dashboard's page is not built (looked in ${candidates.map((c) => fileURLToPath(c)).join(' and ')}). Run \`npm run setup\` (or \`pnpm --filter @tanuki/plugin-ui build\`).`,
  )
}

/** Reads the page's files once: they are small, and nothing is compiled or read per request. */
function loadAssets(dir: string): Map<string, Asset> {
  const assets = new Map<string, Asset>()
  assets.set('/', { body: readFileSync(join(dir, 'index.html')), type: TYPES['.html']! })
  const assetDir = join(dir, 'assets')
  for (const name of existsSync(assetDir) ? readdirSync(assetDir) : []) {
    assets.set(`/assets/${name}`, {
      body: readFileSync(join(assetDir, name)),
      type: TYPES[extname(name)] ?? 'application/octet-stream',
    })
  }
  return assets
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1'])
const ANY = new Set(['0.0.0.0', '::', ''])

function hostPart(host: string): string {
  return host.includes(':') ? `[${host}]` : host
}

/**
 * Serves a dashboard on Node's HTTP server (Hono's Node adapter). Listens on 127.0.0.1 and a free
 * port unless told otherwise; every request needs the token the returned `url` carries.
 *
 * @example
 * const server = await serveDashboard({ source })
 * console.log(`Dashboard: ${server.url}`)
 * // later
 * await server.close()
 */
export async function serveDashboard(options: ServeOptions): Promise<DashboardServer> {
  const host = options.host ?? '127.0.0.1'
  const token = options.token ?? createToken()
  const assets = loadAssets(options.assetsDir ?? defaultAssetsDir())
  const hub = createHub(options.source, options)
  let port = options.port ?? 0
  const origins = (requestHost: string | undefined): string[] => {
    const names = LOOPBACK.has(host) ? ['127.0.0.1', 'localhost', '[::1]'] : [hostPart(host)]
    const list = names.map((name) => `http://${name}:${port}`)
    // Bound to every address: the page's origin is whatever address it was opened at.
    if (ANY.has(host) && requestHost) list.push(`http://${requestHost}`)
    return list
  }
  const app = createDashboardApp({
    source: options.source,
    hub,
    token,
    origins,
    assets: (path) => assets.get(path),
  })
  const server = createAdaptorServer({ fetch: app.fetch })
  await new Promise<void>((resolve, reject) => {
    const failed = (error: NodeJS.ErrnoException): void => {
      hub.close()
      const why =
        error.code === 'EADDRINUSE'
          ? `port ${port} is in use; pick another with --port, or leave it out for a free one`
          : error.code === 'EADDRNOTAVAIL'
            ? `${host} is not an address of this machine; check --host`
            : errorMessage(error)
      reject(
        new TanukiError('TANUKI_UI_LISTEN', `The dashboard could not listen on ${host}:${port}: ${why}.`, {
          cause: error,
        }),
      )
    }
    server.once('error', failed)
    server.listen(port, host, () => {
      server.off('error', failed)
      resolve()
    })
  })
  port = (server.address() as AddressInfo).port
  const origin = `http://${hostPart(host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host)}:${port}`
  let closing: Promise<void> | undefined
  return {
    url: `${origin}/?token=${token}`,
    origin,
    host,
    port,
    token,
    hub,
    close() {
      closing ??= (async () => {
        hub.close()
        await options.source.close?.()
        await new Promise<void>((resolve) => {
          server.close(() => resolve())
          // Event streams stay open until their page goes: end them instead of waiting.
          ;(server as { closeAllConnections?: () => void }).closeAllConnections?.()
        })
      })()
      return closing
    },
  }
}
