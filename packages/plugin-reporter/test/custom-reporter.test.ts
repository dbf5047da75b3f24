import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import {
  createWebhookReporter,
  webhookReporter,
  type WebhookPost,
} from '../../../examples/custom-reporter/webhook-reporter.ts'
import { runScenario } from './scenario.ts'

/** A real HTTP server on 127.0.0.1 that keeps what is posted to it. */
async function receiver(status = 204): Promise<{ url: string; posts: WebhookPost[]; paths: string[]; server: Server }> {
  const posts: WebhookPost[] = []
  const paths: string[] = []
  const server = createServer((request, response) => {
    let body = ''
    request.on('data', (chunk: Buffer) => (body += chunk.toString()))
    request.on('end', () => {
      paths.push(`${request.method} ${request.url} ${request.headers['content-type']}`)
      posts.push(JSON.parse(body) as WebhookPost)
      response.writeHead(status).end()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return { url: `http://127.0.0.1:${port}/hooks/tanuki`, posts, paths, server }
}

const servers: Server[] = []
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))))
})

describe('examples/custom-reporter: the webhook reporter', () => {
  it('posts a summary of every event of a real run, in order, as the config plugin', async () => {
    const hook = await receiver()
    servers.push(hook.server)
    const { events, summary } = await runScenario({ config: { plugins: [webhookReporter({ url: hook.url })] } })
    expect(summary.progress.total).toBeGreaterThan(0)
    // Every event reaches the reporter; iteration output is left out by default.
    const seen = events.filter((e) => e.name !== 'iteration:output')
    expect(hook.posts.map((p) => p.event)).toEqual(seen.map((e) => e.name))
    expect(new Set(hook.paths)).toEqual(new Set(['POST /hooks/tanuki application/json']))
    const completed = hook.posts.filter((p) => p.event === 'task:completed')
    expect(completed.length).toBe(summary.progress.complete)
    for (const post of completed) expect(post.summary).toMatch(/^task:completed \(task \S+, agent \S+\)$/)
    const failed = hook.posts.find((p) => p.event === 'task:failed')!
    expect(failed.summary).toMatch(/— verify could not run/)
  })

  it('reports failed posts once and never fails the run', async () => {
    // A server that answers 500, then one that is gone: both must leave the run alone.
    const broken = await receiver(500)
    servers.push(broken.server)
    const errors: string[] = []
    const { summary } = await runScenario({
      reporters: [createWebhookReporter({ url: broken.url, onError: (m) => errors.push(m) })],
    })
    expect(summary.reason).toBe('settled')
    expect(broken.posts.length).toBeGreaterThan(1)
    expect(errors[0]).toMatch(/could not post \S+ to http:\/\/127\.0\.0\.1:\d+\/hooks\/tanuki: HTTP 500/)
    expect(errors[1]).toMatch(new RegExp(`${broken.posts.length} posts to .* failed in all`))
    expect(errors).toHaveLength(2)

    const gone = await receiver()
    await new Promise((resolve) => gone.server.close(resolve))
    const more: string[] = []
    const second = await runScenario({
      reporters: [createWebhookReporter({ url: gone.url, onError: (m) => more.push(m) })],
    })
    expect(second.summary.reason).toBe('settled')
    expect(more[0]).toMatch(/could not post/)
  })
})
