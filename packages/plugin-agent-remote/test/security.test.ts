// What the remote backend lets through and what it refuses: passwords, TLS, project keys, and the
// orchestrator's environment and secrets, against a real redis-server and a real worker.
import { execFileSync } from 'node:child_process'
import { join } from 'node:path'
import { createTask, isTanukiError, type Agent } from '@tanuki/core'
import { redisAvailable, startRedis, freePort, type RedisServer } from '@tanuki/testing'
import { afterEach, describe, expect, it } from 'vitest'
import { createRemoteBackend, type RemoteBackend } from '../src/backend.ts'
import { probeRedis } from '../src/connection.ts'
import { allowedEnv, sessionOptions } from '../src/env.ts'
import { redactUrl, resolveRemoteOptions } from '../src/options.ts'
import type { RemoteWorker } from '../src/worker.ts'
import { removeTempDirs, sharedProject, tempDir, workerIn } from './support/cluster.ts'

const available = redisAvailable()
if (!available && process.env.CI === 'true') throw new Error('redis-server is missing: CI must install it (.ci/run)')

const closing: (() => Promise<unknown>)[] = []
afterEach(async () => {
  for (const close of closing.splice(0).reverse()) await close().catch(() => {})
  removeTempDirs()
})

async function redisServer(options: Parameters<typeof startRedis>[0] = {}): Promise<RedisServer> {
  const server = await startRedis(options)
  closing.push(() => server.close())
  return server
}

async function remoteBackend(
  redis: string,
  project: ReturnType<typeof sharedProject>['project'],
  key: string,
): Promise<RemoteBackend> {
  const backend = createRemoteBackend({ remote: { redis, project: key, stalledIntervalMs: 500 }, project })
  closing.push(() => backend.close())
  await backend.open()
  return backend
}

async function worker(...args: Parameters<typeof workerIn>): Promise<RemoteWorker> {
  const started = await workerIn(...args)
  closing.push(() => started.worker.close())
  return started.worker
}

/** A CA, and a certificate for 127.0.0.1 signed by it, made with openssl. */
function certificates(): { ca: string; cert: string; key: string } {
  const dir = tempDir('tanuki-tls-')
  const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' })
  ssl(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '1',
    '-subj',
    '/CN=tanuki test CA',
    '-keyout',
    'ca.key',
    '-out',
    'ca.pem',
  )
  ssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=127.0.0.1', '-keyout', 'server.key', '-out', 'server.csr')
  execFileSync('sh', ['-c', 'printf "subjectAltName=IP:127.0.0.1\\n" > san.cnf'], { cwd: dir })
  ssl(
    'x509',
    '-req',
    '-in',
    'server.csr',
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-days',
    '1',
    '-extfile',
    'san.cnf',
    '-out',
    'server.pem',
  )
  return { ca: join(dir, 'ca.pem'), cert: join(dir, 'server.pem'), key: join(dir, 'server.key') }
}

const shellTask = (id: string, sh: string) =>
  createTask({ id, title: id, body: `\`\`\`sh\n${sh}\n\`\`\`\n`, completion: { signal: 'DONE' } })

async function runOnce(agent: Agent, id: string, sh: string) {
  return agent.run({ prompt: id, task: shellTask(id, sh), iteration: 1, signal: new AbortController().signal })
}

describe('options', () => {
  it('checks remote and masks passwords in what it shows', () => {
    expect(resolveRemoteOptions({ redis: 'redis://127.0.0.1:6379' }, 'shop')).toMatchObject({
      project: 'shop',
      git: 'origin',
      prefix: 'tanuki',
      stalledIntervalMs: 5000,
    })
    expect(() => resolveRemoteOptions({ redis: 'http://x' }, 'shop')).toThrow(
      /remote.redis must be a redis:\/\/ or rediss:\/\/ URL/,
    )
    expect(() => resolveRemoteOptions({ redis: 'redis://x', project: 'a b' }, 'shop')).toThrow(
      /remote.project must be letters/,
    )
    expect(() => resolveRemoteOptions({ redis: 'redis://x', stalledIntervalMs: -1 }, 'shop')).toThrow(
      /stalledIntervalMs/,
    )
    expect(redactUrl('redis://:hunter2@host:6379/0')).toBe('redis://:***@host:6379/0')
    expect(redactUrl('rediss://ops:hunter2@host:6380')).toBe('rediss://ops:***@host:6380')
  })

  it('sends a role’s options without its environment or anything that looks like a secret', () => {
    const sent = sessionOptions({
      backend: 'remote',
      count: 3,
      kind: 'claude',
      model: 'sonnet',
      env: { ANTHROPIC_API_KEY: 'sk-1' },
      passEnv: ['HOME'],
      apiKey: 'sk-2',
      githubToken: 'ghp',
      dbPassword: 'pw',
      onProcess: () => {},
    })
    expect(sent.options).toEqual({ kind: 'claude', model: 'sonnet' })
    expect(sent.withheld.sort()).toEqual(['apiKey', 'dbPassword', 'env', 'githubToken', 'onProcess', 'passEnv'])
    expect(allowedEnv(['EXTRA'], { PATH: '/bin', EXTRA: 'yes', SECRET: 'no' })).toEqual({ PATH: '/bin', EXTRA: 'yes' })
  })
})

describe.skipIf(!available)('connecting', () => {
  it('refuses a wrong password, and a missing one, with what to do', async () => {
    const redis = await redisServer({ password: 'right' })
    const wrong = redis.url.replace(':right@', ':wrong@')
    const refused = await probeRedis({ url: wrong }).catch((error: unknown) => error)
    expect(isTanukiError(refused, 'TANUKI_REMOTE_AUTH')).toBe(true)
    expect((refused as Error).message).toMatch(/^Redis at redis:\/\/:\*\*\*@127\.0\.0\.1:\d+ refused the password/)
    expect((refused as Error).message).not.toContain('wrong')
    const none = await probeRedis({ url: redis.url.replace(':right@', '') }).catch((error: unknown) => error)
    expect(isTanukiError(none, 'TANUKI_REMOTE_AUTH')).toBe(true)
    expect((none as Error).message).toMatch(/needs a password and none was given/)
    // The password may come apart from the URL, kept out of files and process lists.
    expect(await probeRedis({ url: redis.url.replace(':right@', ''), password: 'right' })).toMatch(/^\d+\./)
  })

  it('says when nothing answers', async () => {
    const port = await freePort()
    const error = await probeRedis({ url: `redis://127.0.0.1:${port}` }).catch((e: unknown) => e)
    expect(isTanukiError(error, 'TANUKI_REMOTE_UNREACHABLE')).toBe(true)
    expect((error as Error).message).toMatch(new RegExp(`No Redis answered at redis://127.0.0.1:${port}.*ECONNREFUSED`))
  })

  it('speaks TLS with a CA it is given, and refuses a server it cannot verify', async () => {
    const tls = certificates()
    const redis = await redisServer({ tls, password: 'tls-pw' })
    expect(redis.url).toMatch(/^rediss:\/\//)
    expect(await probeRedis({ url: redis.url, tls: { ca: tls.ca } })).toMatch(/^\d+\./)
    const unverified = await probeRedis({ url: redis.url }).catch((e: unknown) => e)
    expect(isTanukiError(unverified, 'TANUKI_REMOTE_TLS')).toBe(true)
    expect((unverified as Error).message).toMatch(/give that CA \(remote.tls.ca, or tanuki worker --tls-ca FILE\)/)
    const plain = await probeRedis({ url: redis.url.replace('rediss:', 'redis:') }).catch((e: unknown) => e)
    expect(isTanukiError(plain)).toBe(true)

    // A whole session over TLS: the worker and the orchestrator both trust the CA.
    const { project, bare } = sharedProject('tls')
    await worker(bare, { redis: redis.url, project: 'tls', tls: { ca: tls.ca } })
    const backend = createRemoteBackend({
      remote: { redis: redis.url, tls: { ca: tls.ca }, stalledIntervalMs: 500 },
      project,
    })
    closing.push(() => backend.close())
    const agent = await backend.spawn({ name: 'tls-1', role: 'default', options: { kind: 'shell' }, project })
    expect((await runOnce(agent, 'TLS-1', 'echo DONE over tls')).output).toContain('DONE over tls')
    await agent.stop()
  })
})

describe.skipIf(!available)('what crosses to a worker', () => {
  it('a worker takes sessions of its own project key only', async () => {
    const redis = await redisServer()
    const mine = sharedProject('mine')
    const lines: string[] = []
    await worker(mine.bare, { redis: redis.url, project: 'mine', lines })
    const theirs = sharedProject('theirs')
    const backend = await remoteBackend(redis.url, theirs.project, 'theirs')
    const called = new AbortController()
    const spawning = backend.spawn({
      name: 'theirs-1',
      role: 'default',
      options: { kind: 'shell' },
      project: theirs.project,
      signal: called.signal,
    })
    // Nothing takes it: give the worker time to have taken it, had it been for its key.
    const backendMine = await remoteBackend(redis.url, mine.project, 'mine')
    const agent = await backendMine.spawn({
      name: 'mine-1',
      role: 'default',
      options: { kind: 'shell' },
      project: mine.project,
    })
    await agent.stop()
    called.abort('test')
    await expect(spawning).rejects.toMatchObject({ code: 'TANUKI_ABORTED' })
    expect(lines.join('\n')).not.toContain('theirs-1')
    expect(lines.join('\n')).toContain('mine-1')
  })

  it('agents run with the worker’s allow-listed environment: nothing of the orchestrator’s, no role env or secrets', async () => {
    const redis = await redisServer()
    const { project, bare } = sharedProject('env')
    process.env.TANUKI_TEST_ORCHESTRATOR_SECRET = 'orchestrator-only'
    process.env.TANUKI_TEST_WORKER_KEY = 'the-worker-s-own'
    closing.push(async () => {
      delete process.env.TANUKI_TEST_ORCHESTRATOR_SECRET
      delete process.env.TANUKI_TEST_WORKER_KEY
    })
    await worker(bare, { redis: redis.url, project: 'env', passEnv: ['TANUKI_TEST_WORKER_KEY'] })
    const notes: string[] = []
    const backend = createRemoteBackend({
      remote: { redis: redis.url, stalledIntervalMs: 500 },
      project,
      log: (note) => notes.push(note),
    })
    closing.push(() => backend.close())
    const agent = await backend.spawn({
      name: 'env-1',
      role: 'default',
      options: { kind: 'shell', env: { ROLE_ENV: 'role-value' }, apiToken: 'tok-123' },
      project,
    })
    const result = await runOnce(agent, 'ENV-1', 'env; echo DONE')
    expect(result.output).toContain('TANUKI_TEST_WORKER_KEY=the-worker-s-own')
    expect(result.output).not.toContain('orchestrator-only')
    expect(result.output).not.toContain('role-value')
    expect(result.output).not.toContain('tok-123')
    expect(notes.join('\n')).toMatch(/agents.default: env, apiToken stay here/)
    await agent.stop()
  })
})
