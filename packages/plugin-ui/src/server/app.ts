import { Hono, type Context } from 'hono'
import { getCookie, setCookie } from 'hono/cookie'
import { streamSSE } from 'hono/streaming'
import { errorMessage, isTanukiError } from '@tanuki/core'
import type { DashboardSource } from '../types.ts'
import { TOKEN_COOKIE, TOKEN_HEADER, sameOrigin, sameToken } from './auth.ts'
import type { Hub } from './hub.ts'

/** A file the page needs: its bytes and content type. */
export interface Asset {
  body: Uint8Array | string
  type: string
}

export interface DashboardAppOptions {
  source: DashboardSource
  hub: Hub
  /** The secret every request must carry. */
  token: string
  /**
   * The origins a page of this server has (`http://127.0.0.1:4321`, …), known once it listens;
   * given the request's `Host`, for servers bound to every address.
   */
  origins: (host: string | undefined) => readonly string[]
  /** The page's files by path (`/`, `/assets/app.js`, …). */
  assets: (path: string) => Asset | undefined
  /** Seconds between keep-alive comments on the event stream. Default 20. */
  heartbeatSeconds?: number
}

/** HTTP statuses for the errors actions throw, by code; anything else is a 500. */
const STATUS_OF: Record<string, 400 | 404 | 409 | 501> = {
  TANUKI_TASK_NOT_FOUND: 404,
  TANUKI_ORCHESTRATOR_STATE: 409,
  TANUKI_LOCKED: 409,
  TANUKI_UI_ACTION: 409,
  TANUKI_UI_UNSUPPORTED: 501,
  TANUKI_TASK_INVALID: 400,
}

/** An error as JSON: its code and message, and a status that says whose fault it was. */
function failure(c: Context, error: unknown): Response {
  if (isTanukiError(error)) {
    return c.json({ error: { code: error.code, message: error.message } }, STATUS_OF[error.code] ?? 500)
  }
  return c.json({ error: { code: 'TANUKI_UI_FAILED', message: errorMessage(error) } }, 500)
}

/**
 * The dashboard as a Hono app: the page and its assets, the JSON API, the event stream and the
 * actions, all behind the token; actions also behind a same-origin check. It runs wherever Hono
 * does; `serveDashboard` puts it on Node's HTTP server.
 *
 * Routes: `GET /` (the page), `GET /assets/*`, `GET /api/status`, `GET /api/tasks/:id`,
 * `GET /api/events?since=N&task=ID` (Server-Sent Events), `POST /api/tasks/:id/rerun`,
 * `POST /api/tasks/:id/reset`, `POST /api/run/stop`, `POST /api/run/resume`.
 */
export function createDashboardApp(options: DashboardAppOptions): Hono {
  const { source, hub, token } = options
  const app = new Hono()

  app.use('*', async (c, next) => {
    const fromQuery = c.req.query('token')
    const given = fromQuery ?? c.req.header(TOKEN_HEADER) ?? getCookie(c, TOKEN_COOKIE)
    if (!sameToken(given, token)) {
      return c.text(
        '401 Unauthorized: this Tanuki dashboard needs its token. Open the URL that `tanuki ui` printed (it ends in ?token=…).\n',
        401,
      )
    }
    if (c.req.method !== 'GET' && c.req.method !== 'HEAD') {
      const origins = options.origins(c.req.header('host'))
      const ok = sameOrigin({ origin: c.req.header('origin'), fetchSite: c.req.header('sec-fetch-site') }, origins)
      if (!ok) {
        return c.json(
          {
            error: {
              code: 'TANUKI_UI_FORBIDDEN',
              message: `Refused: a request that changes something must come from the dashboard's own page (Origin ${c.req.header('origin') ?? 'missing'}; allowed: ${origins.join(', ')}).`,
            },
          },
          403,
        )
      }
    }
    if (fromQuery !== undefined) {
      setCookie(c, TOKEN_COOKIE, token, { httpOnly: true, sameSite: 'Strict', path: '/' })
      // The page drops the token from its address, so it stays out of history and Referer headers.
      if (c.req.method === 'GET' && c.req.path === '/') return c.redirect('/', 303)
    }
    await next()
    c.header('Cache-Control', 'no-store')
    c.header('X-Content-Type-Options', 'nosniff')
    c.header('Referrer-Policy', 'no-referrer')
  })

  app.get('/api/status', async (c) => {
    await hub.ready()
    const { seq, doc } = hub.snapshot()
    return c.json({ seq, doc })
  })

  app.get('/api/tasks/:id', async (c) => {
    const id = c.req.param('id')
    try {
      const detail = await source.task(id)
      if (!detail) {
        return c.json({ error: { code: 'TANUKI_TASK_NOT_FOUND', message: `No task "${id}" in this project.` } }, 404)
      }
      return c.json(detail)
    } catch (error) {
      return failure(c, error)
    }
  })

  app.get('/api/events', async (c) => {
    await hub.ready()
    const since = c.req.query('since')
    const task = c.req.query('task')
    return streamSSE(c, async (stream) => {
      let open = true
      const send = (event: string, data: string): void => {
        if (open) stream.writeSSE({ event, data }).catch(() => (open = false))
      }
      const disconnect = hub.connect(
        { ...(task ? { task } : {}), send },
        since === undefined || since === '' ? undefined : Number(since),
      )
      const heartbeat = setInterval(
        () => {
          if (open) stream.write(': keep-alive\n\n').catch(() => (open = false))
        },
        (options.heartbeatSeconds ?? 20) * 1000,
      )
      await new Promise<void>((resolve) => stream.onAbort(resolve))
      open = false
      clearInterval(heartbeat)
      disconnect()
    })
  })

  const action = (run: (c: Context) => Promise<void>) => async (c: Context) => {
    try {
      await run(c)
      return c.json({ ok: true })
    } catch (error) {
      return failure(c, error)
    }
  }
  app.post(
    '/api/tasks/:id/rerun',
    action(async (c) => {
      const body = (await c.req.json().catch(() => ({}))) as { withDependents?: unknown }
      await source.rerun(c.req.param('id')!, { withDependents: body.withDependents === true })
    }),
  )
  app.post(
    '/api/tasks/:id/reset',
    action((c) => source.reset(c.req.param('id')!)),
  )
  app.post(
    '/api/run/stop',
    action(() => source.stop()),
  )
  app.post(
    '/api/run/resume',
    action(() => source.resume()),
  )

  app.all('/api/*', (c) =>
    c.json({ error: { code: 'TANUKI_UI_NOT_FOUND', message: `No API route ${c.req.method} ${c.req.path}.` } }, 404),
  )

  app.get('*', (c) => {
    const path = c.req.path.startsWith('/assets/') ? c.req.path : '/'
    const asset = options.assets(path)
    if (!asset) return c.text('Not found\n', 404)
    return c.body(typeof asset.body === 'string' ? asset.body : (asset.body as Uint8Array<ArrayBuffer>), 200, {
      'Content-Type': asset.type,
    })
  })

  return app
}
