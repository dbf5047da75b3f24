/**
 * The Docker backend end to end through the CLI: a project whose role runs the `shell` agent in
 * containers (`backend: 'docker'`), on a real engine with the image `scripts/docker-setup.sh`
 * imports. Shows that the work and its verify ran inside the container, that the configured
 * memory/CPU limits hold, that a host variable not allowed never gets in, that a container killed
 * mid-task costs only a retry in a new container, and that `project stop --remove` leaves no
 * container. Under CI=true a missing engine fails these tests; elsewhere they are skipped.
 *
 * Needs a build (`npx -y pnpm@10.34.8 -r build`): the config imports the plugin's dist.
 */
import { execFile, execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import {
  cleanup,
  createProject,
  lockPid,
  setCliEnv,
  startTanuki,
  statusJson,
  tanuki,
  waitFor,
  REPO_ROOT,
  agentWorktree,
  taskText,
} from './helpers.ts'

const run = promisify(execFile)
const IMAGE = 'tanuki-test-busybox:latest'

async function engineProblem(): Promise<string | undefined> {
  try {
    await run('docker', ['info', '--format', '{{.ServerVersion}}'])
    return undefined
  } catch (error) {
    return ((error as { stderr?: string }).stderr || (error as Error).message).trim().split('\n')[0]
  }
}

const problem = await engineProblem()
const skip = problem !== undefined && process.env.CI !== 'true'
if (skip) console.warn(`[e2e docker] skipped: no Docker engine (${problem}); run \`bash scripts/docker-setup.sh\``)

const docker = async (...args: string[]): Promise<string> => (await run('docker', args)).stdout.trim()
const containersOf = async (dir: string): Promise<string[]> =>
  (await docker('ps', '-aq', '--no-trunc', '--filter', `label=dev.tanuki.project=${dir}`)).split('\n').filter(Boolean)

const CONFIG = `import { defineConfig } from 'tanuki'
import { dockerAgents } from '@tanuki/plugin-agent-docker'

export default defineConfig({
  cooldownMs: 100,
  plugins: [dockerAgents({ image: '${IMAGE}', passEnv: ['TANUKI_E2E_ALLOWED'] })],
  agents: {
    default: { backend: 'docker', kind: 'shell', memory: '160m', cpus: 0.75, env: { GREETING: 'hello' } },
  },
})
`

describe.skipIf(skip)(`docker agents through the CLI${skip ? ` (skipped: ${problem})` : ''}`, () => {
  beforeAll(async () => {
    if (problem !== undefined)
      throw new Error(
        `CI=true but no Docker engine is reachable: ${problem}. Run \`bash scripts/docker-setup.sh\` first.`,
      )
    const images = await docker('images', '-q', IMAGE)
    if (images === '')
      await run('bash', [join(REPO_ROOT, 'scripts', 'docker-setup.sh')], { maxBuffer: 16 * 1024 * 1024 })
    if (!existsSync(join(REPO_ROOT, 'packages', 'plugin-agent-docker', 'dist', 'index.js'))) {
      throw new Error(
        'packages/plugin-agent-docker/dist is missing: run `npx -y pnpm@10.34.8 -r build` before the e2e tests',
      )
    }
  }, 180_000)

  afterEach(async () => {
    await cleanup()
  })

  it('runs work and verify in containers with the configured limits and environment, survives docker kill, and stop --remove leaves nothing', async () => {
    process.env.TANUKI_E2E_ALLOWED = 'let-in'
    process.env.TANUKI_E2E_SECRET = 'kept-out'
    const project = createProject({
      config: CONFIG,
      tasks: [
        {
          id: 'WHERE',
          sh: 'cat /etc/hostname > where.txt\nif [ -f /.dockerenv ]; then echo yes > dockerenv.txt; fi',
          // True only in a container; it leaves its own trace too. Landing runs it again on the
          // combined work, in a one-off container of the role: on the host it would fail.
          verify: 'cat /etc/hostname > verified-in.txt && test -f /.dockerenv && test -s where.txt',
        },
        {
          id: 'ENV',
          sh: 'env > env.txt',
          verify:
            'grep -qx TANUKI_E2E_ALLOWED=let-in env.txt && grep -qx GREETING=hello env.txt && ! grep -q TANUKI_E2E_SECRET env.txt',
        },
        {
          id: 'HANG',
          priority: 'low',
          sh: 'if [ ! -f first.txt ]; then cat /etc/hostname > first.txt; sleep 300; fi\ncat /etc/hostname > second.txt',
          verify: 'test -f second.txt',
        },
      ],
    })
    const worktree = agentWorktree(project.dir, 'default-1')
    try {
      const start = startTanuki(project.dir, 'project', 'start')
      await waitFor('the HANG task to start its first try', () => existsSync(join(worktree, 'first.txt')), 90_000)
      // The agent's container (landing's one-off gate containers come and go beside it).
      const [victim] = (
        await docker(
          'ps',
          '-q',
          '--no-trunc',
          '--filter',
          `label=dev.tanuki.project=${project.dir}`,
          '--filter',
          'label=dev.tanuki.agent=default-1',
        )
      ).split('\n')
      expect(victim).toBeDefined()
      await docker('kill', victim!)

      const result = await start.done
      expect(result.code, `tanuki project start failed:\n${result.stdout}\n${result.stderr}`).toBe(0)
      const status = await statusJson(project.dir)
      expect(status.tasks.map((t) => [t.id, t.status]).sort()).toEqual([
        ['ENV', 'complete'],
        ['HANG', 'complete'],
        ['WHERE', 'complete'],
      ])

      // The killed container was replaced by a new one; it is stopped now, not gone.
      const containers = await containersOf(project.dir)
      expect(containers).toHaveLength(1)
      expect(containers).not.toContain(victim)
      const [info] = JSON.parse(await docker('inspect', containers[0]!)) as {
        Config: { Hostname: string; Labels: Record<string, string> }
        HostConfig: { Memory: number; NanoCpus: number; Binds: string[] }
      }[]
      expect(info!.HostConfig.Memory).toBe(160 * 1024 * 1024)
      expect(info!.HostConfig.NanoCpus).toBe(750_000_000)
      expect(info!.HostConfig.Binds).toEqual([`${worktree}:/workspace`])
      expect(info!.Config.Labels['dev.tanuki.agent']).toBe('default-1')

      const read = (file: string): string => readFileSync(join(worktree, file), 'utf8').trim()
      // The host is called something else: the block and its verify ran in a container.
      const hostHostname = readFileSync('/etc/hostname', 'utf8').trim()
      expect(read('where.txt')).not.toBe(hostHostname)
      expect(read('verified-in.txt')).toBe(read('where.txt'))
      expect(read('dockerenv.txt')).toBe('yes')
      expect(read('env.txt')).toContain('TANUKI_E2E_ALLOWED=let-in')
      expect(read('env.txt')).not.toContain('kept-out')
      // The retry ran in the new container.
      expect(read('second.txt')).toBe(info!.Config.Hostname)
      expect(read('first.txt')).not.toBe(read('second.txt'))

      // Every task landed: its verify passed again, in a container, on the combined work.
      expect(status.tasks.map((t) => [t.id, typeof t.landed?.commit]).sort()).toEqual([
        ['ENV', 'string'],
        ['HANG', 'string'],
        ['WHERE', 'string'],
      ])
      const stop = await tanuki(project.dir, 'project', 'stop', '--remove')
      expect(stop.code, stop.stderr).toBe(0)
      expect(await containersOf(project.dir)).toEqual([])
      expect(existsSync(worktree)).toBe(false)
    } finally {
      delete process.env.TANUKI_E2E_ALLOWED
      delete process.env.TANUKI_E2E_SECRET
      for (const id of await containersOf(project.dir).catch(() => [])) await docker('rm', '-f', id).catch(() => '')
    }
  }, 240_000)

  it('resumes after the orchestrator is killed -9: the running container is found by label and reused', async () => {
    const project = createProject({
      config: CONFIG,
      tasks: [
        {
          id: 'HANG',
          sh: 'cat /etc/hostname >> tries.txt\nif [ ! -f first.txt ]; then touch first.txt; sleep 300; fi\ntouch second.txt',
          verify: 'test -f second.txt',
        },
      ],
    })
    const worktree = agentWorktree(project.dir, 'default-1')
    try {
      const start = startTanuki(project.dir, 'project', 'start')
      await waitFor('the first try to start', () => existsSync(join(worktree, 'first.txt')), 90_000)
      const pid = await waitFor('the orchestrator lock', () => lockPid(project.dir), 10_000)
      process.kill(pid, 'SIGKILL')
      await start.done
      const [left] = await containersOf(project.dir)
      expect(left).toBeDefined()
      expect(await docker('inspect', '--format', '{{.State.Running}}', left!)).toBe('true')

      const resume = await tanuki(project.dir, 'project', 'resume')
      expect(resume.code, `tanuki project resume failed:\n${resume.stdout}\n${resume.stderr}`).toBe(0)
      expect((await statusJson(project.dir)).tasks.map((t) => t.status)).toEqual(['complete'])
      // Both tries ran in the one container, which the resumed orchestrator took over.
      expect(await containersOf(project.dir)).toEqual([left])
      const tries = readFileSync(join(worktree, 'tries.txt'), 'utf8').trim().split('\n')
      expect(tries).toHaveLength(2)
      expect(new Set(tries).size).toBe(1)
      // Settled, the resumed orchestrator stopped it (stopped, not removed: a later resume reuses the worktree).
      expect(await docker('inspect', '--format', '{{.State.Running}}', left!)).toBe('false')

      expect((await tanuki(project.dir, 'project', 'stop', '--remove')).code).toBe(0)
      expect(await containersOf(project.dir)).toEqual([])
    } finally {
      for (const id of await containersOf(project.dir).catch(() => [])) await docker('rm', '-f', id).catch(() => '')
    }
  }, 240_000)
  it('classifies in containers as on the host: a missing claude pauses its role, a verify whose program the image lacks holds its task', async () => {
    const project = createProject({
      config: `import { defineConfig } from 'tanuki'
import { dockerAgents } from '@tanuki/plugin-agent-docker'

export default defineConfig({
  cooldownMs: 100,
  plugins: [dockerAgents({ image: '${IMAGE}' })],
  agents: {
    ai: { backend: 'docker', kind: 'claude' },
    default: { backend: 'docker', kind: 'shell' },
  },
})
`,
      tasks: [
        // The image has no claude: never "complete" because the work already passes verify.
        { id: 'AI', role: 'ai', verify: 'true' },
        { id: 'NODE', sh: 'echo work > w.txt', verify: 'node --test', maxIterations: 5 },
      ],
    })
    try {
      const run = await tanuki(project.dir, 'project', 'start')
      expect(run.code, run.stdout + run.stderr).toBe(1)
      expect(run.stderr).toMatch(/role "ai" is paused: .*claude/)
      const status = await statusJson(project.dir)
      const task = (id: string) => status.tasks.find((t) => t.id === id)
      expect(task('AI')).toMatchObject({ status: 'pending', lastError: { class: 'could-not-start' } })
      // Looked for in the container before its agent worked: no try was paid for.
      expect(task('NODE')).toMatchObject({
        status: 'pending',
        iterations: 0,
        lastError: { class: 'verify-could-not-run' },
      })
      // What to install, and where: in the image.
      expect(run.stderr).toContain(
        `verify \`node --test\` cannot run in the container of agent default-1 (image ${IMAGE}) for role "default" (looked for before any agent worked: \`command -v node\` found nothing)`,
      )
      expect(run.stderr).toContain('`node` was not found there: install it')
      expect(task('NODE')!.lastError!.cause).toMatch(/`node` not found, looked for before any agent worked/)
      // node is on the host, not in the image: the causes say where the command was looked for.
      expect(task('NODE')!.lastError!.cause).toContain(`in the container of agent default-1 (image ${IMAGE})`)
      expect(task('AI')!.lastError!.cause).toContain(`in the container of agent ai-1 (image ${IMAGE})`)
    } finally {
      await tanuki(project.dir, 'project', 'stop', '--remove')
      for (const id of await containersOf(project.dir).catch(() => [])) await docker('rm', '-f', id).catch(() => '')
    }
  }, 240_000)
  it('project stop after the orchestrator is killed -9 stops the containers it left working, keeping the worktree', async () => {
    const project = createProject({
      config: CONFIG,
      tasks: [{ id: 'SLOW', sh: 'touch started.txt\nsleep 6\ntouch late.txt', verify: 'test -f late.txt' }],
    })
    const worktree = agentWorktree(project.dir, 'default-1')
    try {
      const start = startTanuki(project.dir, 'project', 'start')
      await waitFor('the try to start', () => existsSync(join(worktree, 'started.txt')), 90_000)
      const pid = await waitFor('the orchestrator lock', () => lockPid(project.dir), 10_000)
      process.kill(pid, 'SIGKILL')
      await start.done
      const [left] = await containersOf(project.dir)
      expect(await docker('inspect', '--format', '{{.State.Running}}', left!)).toBe('true')

      const stop = await tanuki(project.dir, 'project', 'stop')
      expect(stop.code, stop.stdout + stop.stderr).toBe(0)
      expect(stop.stdout).toContain('stopped the agents a killed run left running: default-1')
      expect(await docker('inspect', '--format', '{{.State.Running}}', left!)).toBe('false')
      // Its command was stopped with it: nothing more is written in the worktree, which stays.
      await new Promise((resolve) => setTimeout(resolve, 7_000))
      expect(existsSync(join(worktree, 'started.txt'))).toBe(true)
      expect(existsSync(join(worktree, 'late.txt'))).toBe(false)

      const resume = await tanuki(project.dir, 'project', 'resume')
      expect(resume.code, resume.stdout + resume.stderr).toBe(0)
      expect((await statusJson(project.dir)).progress).toMatchObject({ complete: 1, landed: 1 })
    } finally {
      await tanuki(project.dir, 'project', 'stop', '--remove')
      for (const id of await containersOf(project.dir).catch(() => [])) await docker('rm', '-f', id).catch(() => '')
    }
  }, 240_000)

  it("project stop after a kill -9, and stop --remove, find the containers on a role's own host, not only the default engine", async () => {
    // The role names its engine; the backend's default (DOCKER_HOST, for the CLI) reaches none.
    const engine = process.env.DOCKER_HOST ?? 'unix:///var/run/docker.sock'
    setCliEnv({ DOCKER_HOST: 'unix:///nonexistent/tanuki-e2e-docker.sock' })
    const project = createProject({
      config: CONFIG.replace(
        "backend: 'docker', kind: 'shell',",
        `backend: 'docker', kind: 'shell', host: '${engine}',`,
      ),
      tasks: [{ id: 'SLOW', sh: 'touch started.txt\nsleep 6\ntouch late.txt', verify: 'test -f late.txt' }],
    })
    const worktree = agentWorktree(project.dir, 'default-1')
    try {
      const start = startTanuki(project.dir, 'project', 'start')
      await waitFor('the try to start', () => existsSync(join(worktree, 'started.txt')), 90_000)
      const pid = await waitFor('the orchestrator lock', () => lockPid(project.dir), 10_000)
      process.kill(pid, 'SIGKILL')
      await start.done
      const [left] = await containersOf(project.dir)
      expect(await docker('inspect', '--format', '{{.State.Running}}', left!)).toBe('true')

      const stop = await tanuki(project.dir, 'project', 'stop')
      expect(stop.code, stop.stdout + stop.stderr).toBe(0)
      expect(stop.stdout).toContain('stopped the agents a killed run left running: default-1')
      expect(await docker('inspect', '--format', '{{.State.Running}}', left!)).toBe('false')

      const remove = await tanuki(project.dir, 'project', 'stop', '--remove', '--force')
      expect(remove.code, remove.stdout + remove.stderr).toBe(0)
      expect(await containersOf(project.dir)).toEqual([])
    } finally {
      setCliEnv({})
      for (const id of await containersOf(project.dir).catch(() => [])) await docker('rm', '-f', id).catch(() => '')
    }
  }, 240_000)

  it('an image without sh pauses its role, naming the image; its tasks wait and run after the fix and a resume', async () => {
    const NO_SH = 'tanuki-test-no-sh:latest'
    const maker = `tanuki-e2e-no-sh-${process.pid}`
    await docker('run', '--name', maker, IMAGE, 'rm', '/bin/sh')
    try {
      await docker('commit', maker, NO_SH)
    } finally {
      await docker('rm', '-f', maker).catch(() => '')
    }
    const project = createProject({
      config: CONFIG.replace(`image: '${IMAGE}'`, `image: '${NO_SH}'`),
      tasks: [
        { id: 'ONE', sh: 'echo one > one.txt', verify: 'test -f one.txt' },
        { id: 'TWO', sh: 'echo two > two.txt', verify: 'test -f two.txt' },
      ],
    })
    try {
      const run = await tanuki(project.dir, 'project', 'start')
      expect(run.code, run.stdout + run.stderr).toBe(1)
      // What is wrong, with what, and what to do.
      expect(run.stderr).toMatch(/role "default" is paused: .*tanuki-test-no-sh:latest of role default has no `sh`/)
      expect(run.stderr).toContain('tanuki project resume')
      for (const task of (await statusJson(project.dir)).tasks) {
        expect(task).toMatchObject({ status: 'pending', iterations: 0 })
      }
      writeFileSync(join(project.dir, 'tanuki.config.ts'), CONFIG)
      const resumed = await tanuki(project.dir, 'project', 'resume')
      expect(resumed.code, resumed.stdout + resumed.stderr).toBe(0)
      expect((await statusJson(project.dir)).progress).toMatchObject({ complete: 2, landed: 2 })
    } finally {
      await tanuki(project.dir, 'project', 'stop', '--remove')
      for (const id of await containersOf(project.dir).catch(() => [])) await docker('rm', '-f', id).catch(() => '')
      await docker('rmi', NO_SH).catch(() => '')
    }
  }, 240_000)

  it("runs the role's setup inside its containers: the agent's before the task, a gate's one-off before the gate", async () => {
    const project = createProject({
      config: CONFIG.replace(
        "memory: '160m',",
        "memory: '160m', setup: 'test -f /.dockerenv && touch .ready && mkdir -p deps/x && echo x > deps/x/index.js',",
      ),
      // `.ready` is what an install leaves: git does not track it, so the landing cannot bring it.
      // `deps/` is one the project forgot to ignore: left out of the task's commits all the same.
      files: { '.gitignore': '.ready\n' },
      tasks: [{ id: 'SET', sh: 'test -f .ready && echo set > set.txt', verify: 'test -f .ready && test -f set.txt' }],
    })
    try {
      const run = await tanuki(project.dir, 'project', 'start')
      expect(run.code, run.stdout + run.stderr).toBe(0)
      const status = await statusJson(project.dir)
      expect(status.tasks[0]).toMatchObject({ status: 'complete', iterations: 1 })
      expect(status.progress.landed).toBe(1)
      expect(readFileSync(join(project.dir, 'set.txt'), 'utf8')).toBe('set\n')
      expect(existsSync(join(project.dir, '.ready'))).toBe(false)
      expect(existsSync(join(project.dir, 'deps'))).toBe(false)
      expect(run.stdout).toContain('created deps/, which git neither tracks nor ignores')
    } finally {
      await tanuki(project.dir, 'project', 'stop', '--remove')
      for (const id of await containersOf(project.dir).catch(() => [])) await docker('rm', '-f', id).catch(() => '')
    }
  }, 240_000)

  it('tanuki land, with no run on, runs the gate in a container of the role too', async () => {
    const project = createProject({
      config: CONFIG.replace('  cooldownMs: 100,', '  cooldownMs: 100,\n  land: { auto: false },'),
      // Passes only in a container: on the host there is no /.dockerenv.
      tasks: [{ id: 'BOX', sh: 'echo boxed > boxed.txt', verify: 'test -f /.dockerenv && test -f boxed.txt' }],
    })
    try {
      const run = await tanuki(project.dir, 'project', 'start')
      expect(run.code, run.stdout + run.stderr).toBe(0)
      expect((await statusJson(project.dir)).progress.landed).toBe(0)
      const land = await tanuki(project.dir, 'land')
      expect(land.code, land.stdout + land.stderr).toBe(0)
      expect((await statusJson(project.dir)).progress.landed).toBe(1)
      expect(readFileSync(join(project.dir, 'boxed.txt'), 'utf8')).toBe('boxed\n')
      // Its one-off gate container is gone.
      const agents = await docker(
        'ps',
        '-a',
        '--filter',
        `label=dev.tanuki.project=${project.dir}`,
        '--format',
        '{{.Label "dev.tanuki.agent"}}',
      )
      expect(agents.split('\n').filter((agent) => agent.startsWith('gate-'))).toEqual([])
    } finally {
      await tanuki(project.dir, 'project', 'stop', '--remove')
      for (const id of await containersOf(project.dir).catch(() => [])) await docker('rm', '-f', id).catch(() => '')
    }
  }, 240_000)

  describe("a project in a subfolder of its repository (a monorepo's services/api)", () => {
    // `land.verify` reads a file of the project's folder and the monorepo's shared config above it.
    const SUB_CONFIG = CONFIG.replace(
      '  cooldownMs: 100,',
      "  cooldownMs: 100,\n  land: { verify: 'grep -qx strict ../../shared/lint.conf && grep -qx api api.txt' },",
    )
    const git = (dir: string, ...args: string[]): string =>
      execFileSync('git', ['-c', 'user.name=e2e', '-c', 'user.email=e2e@tanuki.invalid', ...args], {
        cwd: dir,
        encoding: 'utf8',
      })

    it("mounts the whole worktree, runs in the project's folder as a process agent does, and its gate sees the files above", async () => {
      const repo = createProject({
        config: null,
        files: {
          'shared/lint.conf': 'strict\n',
          'services/api/tanuki.config.ts': SUB_CONFIG,
          'services/api/.tanuki/tasks/API.md': taskText({
            id: 'API',
            // Where it runs, what it sees above, and a change outside its folder (a shared library).
            sh: 'pwd > where.txt\necho "$TANUKI_WORKSPACE" >> where.txt\ncp ../../shared/lint.conf seen.txt\necho api > api.txt\necho lib > ../../shared/lib.txt',
            verify: 'grep -qx api api.txt && grep -qx strict seen.txt',
            maxIterations: 1,
          }),
        },
      })
      const top = realpathSync(repo.dir)
      const api = join(top, 'services', 'api')
      const worktree = agentWorktree(api, 'default-1')
      try {
        const run = await tanuki(api, 'project', 'start')
        expect(run.code, run.stdout + run.stderr).toBe(0)
        const status = await statusJson(api)
        expect(status.tasks[0]).toMatchObject({ id: 'API', status: 'complete', iterations: 1 })
        // Its gate passed in the role's one-off container: the task's verify and land.verify.
        expect(typeof status.tasks[0]!.landed?.commit).toBe('string')
        expect(readFileSync(join(api, 'where.txt'), 'utf8')).toBe('/workspace/services/api\n/workspace/services/api\n')
        expect(readFileSync(join(api, 'seen.txt'), 'utf8')).toBe('strict\n')
        // What it changed outside the project's folder lands with the task, as for a process agent.
        expect(readFileSync(join(top, 'shared', 'lib.txt'), 'utf8')).toBe('lib\n')
        const [container] = await containersOf(api)
        const [info] = JSON.parse(await docker('inspect', container!)) as {
          Config: { WorkingDir: string }
          HostConfig: { Binds: string[] }
        }[]
        expect(info!.HostConfig.Binds).toEqual([`${worktree}:/workspace`])
        expect(info!.Config.WorkingDir).toBe('/workspace/services/api')
      } finally {
        await tanuki(api, 'project', 'stop', '--remove')
        for (const id of await containersOf(api).catch(() => [])) await docker('rm', '-f', id).catch(() => '')
      }
    }, 240_000)

    it('a project folder git does not track yet is refused by validate and pauses the run, naming the commit that fixes it', async () => {
      const repo = createProject({ config: null, files: { 'README.md': 'monorepo\n' } })
      const top = realpathSync(repo.dir)
      const service = join(top, 'services', 'newapi')
      mkdirSync(join(service, '.tanuki', 'tasks'), { recursive: true })
      writeFileSync(join(service, 'tanuki.config.ts'), CONFIG)
      writeFileSync(join(service, '.tanuki', 'tasks', 'A.md'), taskText({ id: 'A', sh: 'echo a > a.txt' }))
      const cause = `the project folder ${service} is not committed: git tracks no file in it, and agents work in git worktrees made from commits, where it does not exist.`
      const fix = `Commit it (\`git add services/newapi && git commit\` in ${top})`
      try {
        const validate = await tanuki(service, 'task', 'validate')
        expect(validate.code, validate.stdout + validate.stderr).toBe(1)
        expect(validate.stderr).toContain(`tanuki: The ${cause.slice('the '.length)}`)
        expect(validate.stderr).toContain(fix)
        expect(validate.stderr).toContain('TANUKI_PROJECT_NOT_COMMITTED')

        const run = await tanuki(service, 'project', 'start')
        expect(run.code).toBe(1)
        expect(run.stdout).toContain(cause)
        expect(run.stdout).toContain(fix)

        git(top, 'add', 'services/newapi')
        git(top, 'commit', '-qm', 'newapi')
        const fixed = await tanuki(service, 'task', 'validate')
        expect(fixed.code, fixed.stderr).toBe(0)
      } finally {
        await tanuki(service, 'project', 'stop', '--remove')
        for (const id of await containersOf(service).catch(() => [])) await docker('rm', '-f', id).catch(() => '')
      }
    }, 240_000)
  })
})
