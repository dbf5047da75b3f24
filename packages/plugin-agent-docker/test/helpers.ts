import { execFile } from 'node:child_process'
import { mkdtemp, realpath, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { errorMessage, type ProjectInfo } from '@tanuki/core'
import Docker from 'dockerode'
import { worktreePath } from '@tanuki/plugin-agent-process/kit'
import { LABELS, connectEngine } from '../src/index.ts'

const run = promisify(execFile)

/** The image `scripts/docker-setup.sh` imports from Debian's busybox-static: no registry needed. */
export const TEST_IMAGE = 'tanuki-test-busybox:latest'
const SETUP_SCRIPT = fileURLToPath(new URL('../../../scripts/docker-setup.sh', import.meta.url))

/** Why Docker tests cannot run here, or undefined when an engine answers. */
export async function engineProblem(): Promise<string | undefined> {
  try {
    await connectEngine()
    return undefined
  } catch (error) {
    return errorMessage(error)
  }
}

/**
 * Under CI the Docker tests must run: a missing engine fails them. Elsewhere they are skipped,
 * saying why.
 */
export const problem = await engineProblem()
export const skipDocker = problem !== undefined && process.env.CI !== 'true'
if (skipDocker) console.warn(`[plugin-agent-docker] Docker tests skipped: ${problem}`)

/** Fails loudly when Docker tests were expected to run; makes sure the test image exists. */
export async function requireEngine(): Promise<Docker> {
  if (problem !== undefined) throw new Error(`CI=true but the Docker engine is unavailable: ${problem}`)
  const docker = new Docker()
  try {
    await docker.getImage(TEST_IMAGE).inspect()
  } catch {
    await run('bash', [SETUP_SCRIPT], { maxBuffer: 16 * 1024 * 1024 })
  }
  return docker
}

/** A temp git repository with one commit: the project agents work on. */
export async function tempProject(prefix: string): Promise<ProjectInfo & { cleanup: () => Promise<void> }> {
  const root = await realpath(await mkdtemp(join(tmpdir(), `tanuki-docker-${prefix}-`)))
  const git = (...args: string[]) => run('git', args, { cwd: root })
  await git('init', '-q', '-b', 'main')
  await writeFile(join(root, 'README.md'), '# test project\n')
  await git('add', '-A')
  await git('-c', 'user.name=test', '-c', 'user.email=test@example.invalid', 'commit', '-q', '-m', 'init')
  const name = `t${Math.random().toString(36).slice(2, 8)}`
  return {
    root,
    name,
    stateDir: join(root, '.tanuki'),
    cleanup: async () => {
      await removeProjectContainers(new Docker(), root)
      await rm(root, { recursive: true, force: true })
    },
  }
}

/** Containers labelled with the project, running or not. */
export async function projectContainers(docker: Docker, root: string): Promise<Docker.ContainerInfo[]> {
  return docker.listContainers({ all: true, filters: JSON.stringify({ label: [`${LABELS.project}=${root}`] }) })
}

export async function removeProjectContainers(docker: Docker, root: string): Promise<void> {
  for (const info of await projectContainers(docker, root).catch(() => [])) {
    await docker
      .getContainer(info.Id)
      .remove({ force: true })
      .catch(() => {})
  }
}

/** Polls until `check` returns something truthy. */
export async function until<T>(
  check: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 30_000,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await check()
    if (value) return value
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((done) => setTimeout(done, 100))
  }
}

/** Where an agent's worktree is for a project: outside it, under the tests' state home. */
export function agentWorktree(root: string, agent: string): string {
  return worktreePath({ root, name: '', stateDir: join(root, '.tanuki') }, agent)
}
