/**
 * Helpers for end-to-end tests of the built `tanuki` CLI: a temp git repository with task files
 * and a `tanuki.config.ts`, the CLI run as a real process, and its state read back from `.tanuki/`.
 *
 * Build first (`npx -y pnpm@10.34.8 --filter tanuki build`): the tests run `packages/tanuki/dist`.
 * Call `cleanup()` in `afterEach`: it kills every process started here and deletes the temp dirs.
 *
 * @example
 * const project = await createProject({ tasks: [{ id: 'T-1', sh: 'touch a', verify: 'test -f a' }] })
 * const run = await tanuki(project.dir, 'project', 'start')
 * expect(run.code).toBe(0)
 * expect((await statusJson(project.dir)).progress.complete).toBe(1)
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { worktreePath } from '@tanuki/plugin-agent-process/kit'

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
/** The CLI as people run it: the root's `node_modules/.bin/tanuki` (it execs node, so its pid is node's). */
export const TANUKI_BIN = join(REPO_ROOT, 'node_modules', '.bin', 'tanuki')

/** One task file, written as Markdown with front matter. */
export interface TaskSpec {
  id: string
  title?: string
  role?: string
  priority?: string
  status?: string
  dependsOn?: string[]
  verify?: string
  signal?: string
  maxIterations?: number
  /** A fenced `sh` block the `shell` agent runs. */
  sh?: string
  /** Where under the tasks folder (default `<id>.md`). */
  file?: string
}

/** A temp project on disk. */
export interface TempProject {
  dir: string
  /** The tasks folder (`.tanuki/tasks` unless `tasksDir` says otherwise). */
  tasksDir: string
  /** The file of a task written from a `TaskSpec`. */
  taskPath(id: string): string
}

export interface ProjectOptions {
  tasks?: TaskSpec[]
  /** Raw files to write, path relative to the project → content (tasks in odd shapes, configs). */
  files?: Record<string, string>
  /** The whole `tanuki.config.ts`; default: `configFor(agents)`. `null` writes none. */
  config?: string | null
  /** Role → agent count for the default config (default `{ default: 1 }`). */
  agents?: Record<string, number>
  /** Make it a git repository with one commit, so agents get worktrees (default true). */
  git?: boolean
  /** Tasks folder relative to the project (default `.tanuki/tasks`). */
  tasksDir?: string
}

const dirs = new Set<string>()
const children = new Set<ChildProcess>()
const pids = new Set<number>()

/** A config for offline runs: `shell` agents as local processes, a short cooldown. */
export function configFor(agents: Record<string, number> = { default: 1 }, extra = ''): string {
  const roles = Object.entries(agents).map(([role, count]) => `    ${JSON.stringify(role)}: { count: ${count} },`)
  return `import { defineConfig } from 'tanuki'

export default defineConfig({
  cooldownMs: 50,
  defaults: { backend: 'process', kind: 'shell' },
  agents: {
${roles.join('\n')}
  },${extra}
})
`
}

/** The Markdown of a task file. */
export function taskText(spec: TaskSpec): string {
  const lines = ['---', `id: ${spec.id}`, `title: ${spec.title ?? `Task ${spec.id}`}`]
  if (spec.role) lines.push(`role: ${spec.role}`)
  if (spec.priority) lines.push(`priority: ${spec.priority}`)
  if (spec.status) lines.push(`status: ${spec.status}`)
  if (spec.dependsOn?.length) lines.push(`depends_on: [${spec.dependsOn.join(', ')}]`)
  const completion: string[] = []
  if (spec.verify !== undefined) completion.push(`  verify: ${JSON.stringify(spec.verify)}`)
  if (spec.signal !== undefined) completion.push(`  signal: ${JSON.stringify(spec.signal)}`)
  if (spec.maxIterations !== undefined) completion.push(`  max_iterations: ${spec.maxIterations}`)
  // Every task needs a way to complete: with nothing given, the shell block's exit is checked by `true`.
  if (completion.length === 0) completion.push('  verify: "true"')
  lines.push('completion:', ...completion, '---', `Task ${spec.id}.`, '')
  if (spec.sh !== undefined) lines.push('```sh', spec.sh, '```', '')
  return lines.join('\n')
}

/** Creates a temp project (a git repository with one commit by default). */
export function createProject(options: ProjectOptions = {}): TempProject {
  const dir = mkdtempSync(join(tmpdir(), 'tanuki-e2e-'))
  dirs.add(dir)
  const tasksDir = join(dir, options.tasksDir ?? join('.tanuki', 'tasks'))
  const files: Record<string, string> = { ...options.files }
  const config = options.config === undefined ? configFor(options.agents) : options.config
  if (config !== null) files['tanuki.config.ts'] = config
  const project: TempProject = {
    dir,
    tasksDir,
    taskPath: (id) => join(tasksDir, options.tasks?.find((t) => t.id === id)?.file ?? `${id}.md`),
  }
  for (const spec of options.tasks ?? [])
    files[join(options.tasksDir ?? join('.tanuki', 'tasks'), spec.file ?? `${spec.id}.md`)] = taskText(spec)
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true })
    writeFileSync(join(dir, path), text)
  }
  if (options.git ?? true) {
    const git = (...args: string[]): void => {
      execFileSync('git', ['-c', 'user.name=tanuki e2e', '-c', 'user.email=e2e@tanuki.invalid', ...args], {
        cwd: dir,
        stdio: 'ignore',
      })
    }
    git('init', '-q', '-b', 'main')
    git('add', '-A')
    git('commit', '-qm', 'tasks', '--allow-empty')
  }
  return project
}

export interface CliResult {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

/** A CLI process still running: its output so far, and its end. */
export interface CliProcess {
  child: ChildProcess
  pid: number
  output(): { stdout: string; stderr: string }
  done: Promise<CliResult>
}

function assertBuilt(): void {
  if (!existsSync(join(REPO_ROOT, 'packages', 'tanuki', 'dist', 'cli.js'))) {
    throw new Error('packages/tanuki/dist is missing: run `npx -y pnpm@10.34.8 -r build` before the e2e tests')
  }
}

/** Environment added to every CLI run until `cleanup` (e.g. what points Claude Code at a fake API). */
let extraEnv: Record<string, string> = {}
export function setCliEnv(env: Record<string, string>): void {
  extraEnv = env
}

/** Starts `tanuki ARGS --cwd DIR` without waiting for it. No colours, no TTY. */
export function startTanuki(dir: string, ...args: string[]): CliProcess {
  assertBuilt()
  const child = spawn(TANUKI_BIN, [...args, '--cwd', dir], {
    cwd: dir,
    env: { ...process.env, ...extraEnv, NO_COLOR: '1', FORCE_COLOR: '0', CI: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  children.add(child)
  let stdout = ''
  let stderr = ''
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  const done = new Promise<CliResult>((resolve) => {
    child.on('close', (code, signal) => {
      children.delete(child)
      resolve({ code, signal, stdout, stderr })
    })
  })
  return { child, pid: child.pid!, output: () => ({ stdout, stderr }), done }
}

/** Runs `tanuki ARGS --cwd DIR` to its end. */
export function tanuki(dir: string, ...args: string[]): Promise<CliResult> {
  return startTanuki(dir, ...args).done
}

/** `tanuki project status --json`, parsed. */
export async function statusJson(dir: string): Promise<StatusJson> {
  const run = await tanuki(dir, 'project', 'status', '--json')
  if (run.code !== 0) throw new Error(`status --json exited ${run.code}: ${run.stderr}`)
  return JSON.parse(run.stdout) as StatusJson
}

/** The parts of `project status --json` the tests read. */
export interface StatusJson {
  status: string
  pid?: number
  tasks: {
    id: string
    status: string
    iterations: number
    assignedTo?: string
    role: string
    dependsOn: string[]
    landed: { commit: string; at: string } | null
    /** Present while its landing waits on the integration branch for the target. */
    heldBack?: { target: string; commit: string; at: string; note: string }
    /** Complete, not landed, done for another branch than the project lands on now: that branch. */
    waitsFor?: string
    lastError: { class: string; cause: string } | null
  }[]
  /** The branch complete work lands on, as the last run recorded it (none without git). */
  target?: string
  progress: {
    landed: number
    /** With no orchestrator running: complete tasks whose work has not landed on `target`. */
    notLanded?: number
    heldBack: number
    total: number
    complete: number
    inProgress: number
    pending: number
    failed: number
    byStatus: Record<string, number>
  }
  agents: { name: string; role: string; status: string; leftRunning?: { pid: number } }[]
  /** Remote workers (projects with `remote` in their config). */
  workers?: {
    name: string
    host: string
    roles: string[]
    capacity: number
    backend: string
    agents: { name: string; role: string; task?: string }[]
    lastSeen: string
    alive: boolean
  }[]
}

/** The lines of `.tanuki/events.ndjson` (the NDJSON reporter's log), parsed. */
export function readEvents(dir: string): { event: string; [key: string]: unknown }[] {
  const path = join(dir, '.tanuki', 'events.ndjson')
  if (!existsSync(path)) return []
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .flatMap((line) => {
      try {
        return [JSON.parse(line) as { event: string }]
      } catch {
        return [] // a line cut short by a kill -9
      }
    })
}

/** The status of each task as the project's journal records it (the authority; files only mirror it). */
export function journalStatuses(dir: string): Record<string, string> {
  let text = ''
  try {
    text = readFileSync(join(dir, '.tanuki', 'journal.ndjson'), 'utf8')
  } catch {
    return {}
  }
  const statuses: Record<string, string> = {}
  // Only whole lines: the orchestrator may be writing the last one.
  for (const line of text.slice(0, text.lastIndexOf('\n') + 1).split('\n')) {
    if (!line) continue
    const record = JSON.parse(line) as {
      t: string
      id?: string
      status?: string
      state?: { tasks: Record<string, { status: string }> }
    }
    if (record.t === 'snapshot')
      for (const [id, task] of Object.entries(record.state!.tasks)) statuses[id] = task.status
    if (record.t === 'task' && record.id && record.status) statuses[record.id] = record.status
  }
  return statuses
}

/**
 * Where the CLI puts an agent's worktree for a project: outside it, under the state home the tests
 * run with (`XDG_STATE_HOME`, inherited by the CLI they start).
 */
export function agentWorktree(dir: string, agent: string): string {
  return worktreePath({ root: dir, name: '', stateDir: join(dir, '.tanuki') }, agent)
}

/** The pid in `.tanuki/orchestrator.lock`, if any. */
export function lockPid(dir: string): number | undefined {
  try {
    return (JSON.parse(readFileSync(join(dir, '.tanuki', 'orchestrator.lock'), 'utf8')) as { pid: number }).pid
  } catch {
    return undefined
  }
}

/** The pid of an agent's running process (`.tanuki/pids/<agent>.pid`, written by the process backend). */
export function agentPid(dir: string, agent: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(join(dir, '.tanuki', 'pids', `${agent}.pid`), 'utf8'), 10)
    return Number.isFinite(pid) ? pid : undefined
  } catch {
    return undefined
  }
}

/** Every task file's bytes, by path, to show that a refused run modified none. */
export function snapshotFiles(root: string): Map<string, Buffer> {
  const found = new Map<string, Buffer>()
  if (!existsSync(root)) return found
  for (const entry of readdirSync(root, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue
    const path = join(entry.parentPath, entry.name)
    found.set(path, readFileSync(path))
  }
  return found
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/** Remembers a pid to SIGKILL at cleanup (a detached orchestrator, say). */
export function trackPid(pid: number): void {
  pids.add(pid)
}

/** Polls until `check` returns a truthy value; throws after `timeoutMs` with `what`. */
export async function waitFor<T>(
  what: string,
  check: () => T | Promise<T>,
  timeoutMs = 30_000,
  everyMs = 50,
): Promise<NonNullable<T>> {
  const until = Date.now() + timeoutMs
  for (;;) {
    const value = await check()
    if (value) return value
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, everyMs))
  }
}

/** Whether a pid is still a process of this temp project (never kill a recycled pid). */
function belongsTo(pid: number, dir: string): boolean {
  try {
    const seen = readFileSync(`/proc/${pid}/cmdline`, 'utf8') + readFileSync(`/proc/${pid}/environ`, 'utf8')
    return seen.includes(dir)
  } catch {
    return false
  }
}

/** Kills what the tests started (and an orchestrator still holding a temp project's lock), then deletes the temp dirs. */
export async function cleanup(): Promise<void> {
  extraEnv = {}
  for (const dir of dirs) {
    const pid = lockPid(dir)
    if (pid !== undefined && belongsTo(pid, dir)) pids.add(pid)
    const pidDir = join(dir, '.tanuki', 'pids')
    for (const file of existsSync(pidDir) ? readdirSync(pidDir) : []) {
      const agent = agentPid(dir, file.replace(/\.pid$/, ''))
      // Agents run in their own process groups: kill the group.
      if (agent !== undefined && belongsTo(agent, dir)) pids.add(-agent)
    }
  }
  for (const child of children) child.kill('SIGKILL')
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL')
    } catch {
      // already gone
    }
  }
  await Promise.all(
    [...children].map(
      (child) =>
        new Promise((resolve) =>
          child.exitCode !== null || child.signalCode !== null ? resolve(null) : child.once('close', resolve),
        ),
    ),
  )
  children.clear()
  pids.clear()
  // Agents' processes in their own groups may still hold files for a moment.
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 })
  dirs.clear()
}

/** A `node --test` file whose first test fails, then ten that pass: TAP puts the failure far from the end. */
export const slugTests = [
  "const test = require('node:test')",
  "const assert = require('node:assert')",
  "test('slugify', () => assert.strictEqual('a-b', 'a--b'))",
  'for (let i = 0; i < 10; i++) test(`passes ${i}`, () => {})',
  '',
].join('\n')
