/**
 * examples/custom-reporter through the CLI: its tanuki.config.ts imports its own TypeScript
 * reporter, which posts every event to a webhook — here a real HTTP server on 127.0.0.1.
 * Runs the built CLI (`npm run setup` builds it).
 */
import { spawn } from 'node:child_process'
import { cpSync, mkdtempSync, rmSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const repoRoot = fileURLToPath(new URL('../..', import.meta.url))
const tanuki = join(repoRoot, 'node_modules', '.bin', 'tanuki')

describe('examples/custom-reporter with the CLI', () => {
  let dir: string
  let server: Server
  let url: string
  const posts: { event: string; summary: string }[] = []

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tanuki-webhook-'))
    cpSync(join(repoRoot, 'examples', 'custom-reporter'), dir, {
      recursive: true,
      filter: (source) => basename(source) !== 'node_modules',
    })
    server = createServer((request, response) => {
      let body = ''
      request.on('data', (chunk: Buffer) => (body += chunk.toString()))
      request.on('end', () => {
        posts.push(JSON.parse(body) as { event: string; summary: string })
        response.writeHead(204).end()
      })
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/tanuki`
  })
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve))
    rmSync(dir, { recursive: true, force: true })
  })

  it('posts every event of the run, in order, and the run completes', async () => {
    // Asynchronous: the server lives in this process and must answer while the CLI runs.
    const child = spawn(tanuki, ['project', 'start', '--cwd', dir], {
      env: { ...process.env, TANUKI_WEBHOOK_URL: url, NO_COLOR: '1' },
    })
    let output = ''
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()))
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve))
    expect(code, output).toBe(0)

    const events = posts.map((p) => p.event)
    expect(events[0]).toBe('orchestrator:state')
    expect(events.at(-1)).toBe('orchestrator:state')
    expect(posts.at(-1)!.summary).toMatch(/→ stopped/)
    for (const id of ['NOTE-001', 'NOTE-002', 'NOTE-003']) {
      expect(posts.filter((p) => p.event === 'task:completed' && p.summary.includes(`task ${id},`))).toHaveLength(1)
    }
    // In order: the project settles after the last completion.
    const settled = events.indexOf('project:settled')
    expect(settled).toBeGreaterThan(events.lastIndexOf('task:completed'))
    expect(events).not.toContain('iteration:output')
  })
})
