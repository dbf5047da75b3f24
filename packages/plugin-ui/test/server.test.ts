import { afterEach, describe, expect, it } from 'vitest'
import { serveDashboard, type DashboardServer } from '../src/index.ts'
import { chainDoc, memorySource } from './memory-source.ts'

const servers: DashboardServer[] = []
afterEach(async () => {
  for (const server of servers.splice(0)) await server.close()
})

async function serve(n = 3) {
  const source = memorySource(chainDoc(n))
  const server = await serveDashboard({ source, batchMs: 10 })
  servers.push(server)
  return { source, server }
}

/** Reads Server-Sent Events from a response until `done` says so. */
async function readEvents(response: Response, done: (events: { event: string; data: string }[]) => boolean) {
  const reader = response.body!.getReader()
  const decoder = new TextDecoder()
  const events: { event: string; data: string }[] = []
  let buffer = ''
  while (!done(events)) {
    const { value, done: ended } = await reader.read()
    if (ended) break
    buffer += decoder.decode(value, { stream: true })
    let end = buffer.indexOf('\n\n')
    while (end !== -1) {
      const block = buffer.slice(0, end)
      buffer = buffer.slice(end + 2)
      const event = /^event: (.*)$/m.exec(block)?.[1]
      const data = block
        .split('\n')
        .filter((line) => line.startsWith('data: '))
        .map((line) => line.slice(6))
        .join('\n')
      if (event) events.push({ event, data })
      end = buffer.indexOf('\n\n')
    }
  }
  await reader.cancel()
  return events
}

/** Waits until a page's event stream is connected to the hub. */
async function connected(server: DashboardServer, pages = 1): Promise<void> {
  while (server.hub.clients < pages) await new Promise((resolve) => setTimeout(resolve, 5))
}

describe('the dashboard server', () => {
  it('listens on 127.0.0.1 at a free port and prints a URL with a long random token', async () => {
    const { server } = await serve()
    const other = await serve()
    expect(server.host).toBe('127.0.0.1')
    expect(server.port).toBeGreaterThan(0)
    expect(server.url).toBe(`http://127.0.0.1:${server.port}/?token=${server.token}`)
    expect(server.token).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(other.server.token).not.toBe(server.token)
  })

  it('refuses every request without the token with 401: page, assets, API, event stream, actions', async () => {
    const { server, source } = await serve()
    const origin = server.origin
    for (const path of ['/', '/assets/app.js', '/api/status', '/api/tasks/T-00000', '/api/events', '/?token=wrong']) {
      const response = await fetch(origin + path)
      expect(response.status, path).toBe(401)
      expect(await response.text()).toContain('token')
    }
    const post = await fetch(`${origin}/api/run/stop`, { method: 'POST', headers: { Origin: origin } })
    expect(post.status).toBe(401)
    const cookie = await fetch(`${origin}/api/status`, { headers: { Cookie: 'tanuki_ui_token=guess' } })
    expect(cookie.status).toBe(401)
    expect(source.actions).toEqual([])
  })

  it('takes the token from the URL once, keeps it in an HttpOnly SameSite=Strict cookie, and drops it from the address', async () => {
    const { server } = await serve()
    const first = await fetch(server.url, { redirect: 'manual' })
    expect(first.status).toBe(303)
    expect(first.headers.get('location')).toBe('/')
    const cookie = first.headers.get('set-cookie')!
    expect(cookie).toContain(`tanuki_ui_token=${server.token}`)
    expect(cookie).toMatch(/HttpOnly/i)
    expect(cookie).toMatch(/SameSite=Strict/i)
    const page = await fetch(`${server.origin}/`, { headers: { Cookie: cookie.split(';')[0]! } })
    expect(page.status).toBe(200)
    expect(await page.text()).toContain('/assets/app.js')
    const script = await fetch(`${server.origin}/assets/app.js`, { headers: { 'X-Tanuki-Token': server.token } })
    expect(script.status).toBe(200)
    expect(script.headers.get('content-type')).toMatch(/javascript/)
  })

  it('refuses actions from another origin, or with no origin at all, with 403; carries them out from its own', async () => {
    const { server, source } = await serve()
    const headers = { 'X-Tanuki-Token': server.token, 'Content-Type': 'application/json' }
    const foreign = await fetch(`${server.origin}/api/tasks/T-00001/rerun`, {
      method: 'POST',
      headers: { ...headers, Origin: 'http://evil.example' },
    })
    expect(foreign.status).toBe(403)
    expect(((await foreign.json()) as { error: { code: string } }).error.code).toBe('TANUKI_UI_FORBIDDEN')
    const crossSite = await fetch(`${server.origin}/api/run/stop`, {
      method: 'POST',
      headers: { ...headers, 'Sec-Fetch-Site': 'cross-site' },
    })
    expect(crossSite.status).toBe(403)
    const none = await fetch(`${server.origin}/api/run/stop`, { method: 'POST', headers })
    expect(none.status).toBe(403)
    expect(source.actions).toEqual([])

    const own = await fetch(`${server.origin}/api/tasks/T-00001/rerun`, {
      method: 'POST',
      headers: { ...headers, Origin: server.origin },
      body: JSON.stringify({ withDependents: true }),
    })
    expect(own.status).toBe(200)
    const viaLocalhost = await fetch(`${server.origin}/api/run/stop`, {
      method: 'POST',
      headers: { ...headers, Origin: `http://localhost:${server.port}` },
    })
    expect(viaLocalhost.status).toBe(200)
    const missing = await fetch(`${server.origin}/api/tasks/NOPE/rerun`, {
      method: 'POST',
      headers: { ...headers, Origin: server.origin },
    })
    expect(missing.status).toBe(404)
    expect(source.actions).toEqual(['rerun T-00001 with dependents', 'stop'])
  })

  it('streams events in batches numbered after the status, replays what a page missed, and tells it to reload after a resync', async () => {
    const { server, source } = await serve()
    const headers = { 'X-Tanuki-Token': server.token }
    const { seq } = (await (await fetch(`${server.origin}/api/status`, { headers })).json()) as { seq: number }
    const stream = await fetch(`${server.origin}/api/events?since=${seq}`, { headers })
    expect(stream.headers.get('content-type')).toMatch(/text\/event-stream/)
    const reading = readEvents(stream, (events) => events.some((e) => e.event === 'resync'))
    await connected(server)
    source.emit('task:status', { taskId: 'T-00000', from: 'pending', to: 'in_progress', agent: 'a-1', at: 1 })
    source.emit('iteration:started', {
      taskId: 'T-00000',
      agent: 'a-1',
      iteration: 1,
      maxIterations: 3,
      prompt: 'long',
      at: 2,
    })
    source.emit('iteration:output', { taskId: 'T-00000', agent: 'a-1', iteration: 1, stream: 'stdout', text: 'x' })
    source.doc.status = 'stopped'
    source.emit('dashboard:resync', {})
    const events = await reading
    const batches = events
      .filter((e) => e.event === 'events')
      .flatMap((e) => JSON.parse(e.data) as [number, string, unknown][])
    expect(batches.map(([n, name]) => [n, name])).toEqual([
      [seq + 1, 'task:status'],
      [seq + 2, 'iteration:started'],
    ])
    // Prompts and outputs stay on the task's page; the overview's stream carries no output.
    expect(batches[1]![2]).not.toHaveProperty('prompt')
    expect(events.some((e) => e.event === 'output')).toBe(false)

    const after = (await (await fetch(`${server.origin}/api/status`, { headers })).json()) as {
      seq: number
      doc: { status: string }
    }
    expect(after.doc.status).toBe('stopped')
    expect(after.seq).toBeGreaterThan(seq + 2)
    // A page that reconnects with an old number is told to read the status again.
    const late = await fetch(`${server.origin}/api/events?since=${seq}`, { headers })
    const lateEvents = await readEvents(late, (events) => events.length > 0)
    expect(lateEvents[0]!.event).toBe('resync')
  })

  it("sends a task's output only to the pages that show that task", async () => {
    const { server, source } = await serve()
    const headers = { 'X-Tanuki-Token': server.token }
    const stream = await fetch(`${server.origin}/api/events?task=T-00002`, { headers })
    const reading = readEvents(stream, (events) => events.some((e) => e.event === 'output'))
    await connected(server)
    source.emit('iteration:output', {
      taskId: 'T-00001',
      agent: 'a-1',
      iteration: 1,
      stream: 'stdout',
      text: 'not this',
    })
    source.emit('iteration:output', { taskId: 'T-00002', agent: 'a-2', iteration: 1, stream: 'stdout', text: 'hello ' })
    source.emit('iteration:output', { taskId: 'T-00002', agent: 'a-2', iteration: 1, stream: 'stderr', text: 'world' })
    const events = await reading
    const output = events.filter((e) => e.event === 'output').map((e) => JSON.parse(e.data))
    expect(output).toEqual([
      {
        taskId: 'T-00002',
        chunks: [
          { iteration: 1, agent: 'a-2', stream: 'stdout', text: 'hello ' },
          { iteration: 1, agent: 'a-2', stream: 'stderr', text: 'world' },
        ],
      },
    ])
  })

  it('refuses a port in use with a TanukiError that says what to do', async () => {
    const { server } = await serve()
    const error = await serveDashboard({ source: memorySource(chainDoc(1)), port: server.port }).catch(
      (e: unknown) => e,
    )
    expect(error).toMatchObject({ code: 'TANUKI_UI_LISTEN' })
    expect((error as Error).message).toContain('--port')
  })
})
