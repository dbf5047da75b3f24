import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { ProjectInfo } from '@tanuki/core'
import { createProcessBackend, type ProcessBackend } from '@tanuki/plugin-agent-process'
import { allowedEnv } from '../../src/env.ts'
import { startWorker, type RemoteWorker } from '../../src/worker.ts'

export const git = (cwd: string, ...args: string[]): string =>
  execFileSync('git', ['-c', 'user.name=test', '-c', 'user.email=test@example.invalid', ...args], {
    cwd,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  }).trim()

const made: string[] = []

export function tempDir(prefix = 'tanuki-remote-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  made.push(dir)
  return dir
}

export function removeTempDirs(): void {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 })
}

/** The orchestrator's project: a git repository whose `origin` is a bare repository, the shared remote. */
export function sharedProject(name = 'demo'): { project: ProjectInfo; bare: string } {
  const root = join(tempDir(), name)
  execFileSync('git', ['init', '-q', '-b', 'main', root])
  writeFileSync(join(root, 'README.md'), '# demo\n')
  git(root, 'add', '-A')
  git(root, 'commit', '-qm', 'init')
  const bare = join(tempDir(), `${name}.git`)
  git(root, 'init', '-q', '--bare', '-b', 'main', bare)
  git(root, 'remote', 'add', 'origin', bare)
  git(root, 'push', '-q', 'origin', 'main')
  return { project: { root, name, stateDir: join(root, '.tanuki') }, bare }
}

/** A worker in a clone of the shared remote, in this process, with its agents' environment limited as `tanuki worker`'s is. */
export async function workerIn(
  bare: string,
  options: {
    redis: string
    project: string
    tls?: { ca: string }
    roles?: string[]
    passEnv?: string[]
    lines?: string[]
  },
): Promise<{ worker: RemoteWorker; local: ProcessBackend; clone: string }> {
  const clone = join(tempDir(), 'worker')
  git(tmpdir(), 'clone', '-q', bare, clone)
  const local = createProcessBackend({ inheritEnv: false, env: allowedEnv(options.passEnv ?? []), killGraceMs: 200 })
  const worker = await startWorker({
    redis: { url: options.redis, ...(options.tls ? { tls: options.tls } : {}) },
    project: options.project,
    ...(options.roles ? { roles: options.roles } : {}),
    backend: local,
    repo: clone,
    lockDurationMs: 2000,
    log: (line) => options.lines?.push(line),
  })
  return { worker, local, clone }
}
