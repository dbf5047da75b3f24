import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import {
  TanukiError,
  closestName,
  isTanukiError,
  pathName,
  type Agent,
  type AgentBackend,
  type CleanupOptions,
  type CleanupReport,
  type AgentExit,
  type ProgramCheck,
  type ProjectInfo,
  type RunResult,
  type SpawnRequest,
} from '@tanuki/core'
import { createProcessAgent, type ProcessAgent } from './agent.ts'
import { createKind, kindSpend } from './kit/kinds/index.ts'
import type { AgentKind, KindOptions } from './kit/kinds/types.ts'
import { findProgram, notInWorktrees, projectNotCommittedProblem } from './kit/find-program.ts'
import { killGroup } from './kit/process.ts'
import { readPidFile } from './kit/pid-file.ts'
import { findBash } from './kit/session.ts'
import { removeWorktrees } from './kit/cleanup.ts'
import { safeName } from './kit/ref-names.ts'
import { openWorkspace, type Workspace, type WorkspaceMode } from './kit/workspace.ts'

/** A process an agent started or that ended, for hosts that watch agents' pids. */
export interface ProcessEvent {
  agent: string
  /** The process id, also its process group id. */
  pid: number
  argv: string[]
  state: 'started' | 'ended'
}

/**
 * Options of the process backend. Every key can also be set per role (`agents.<role>` in the
 * config), which wins over the plugin's value; `env` maps are merged.
 */
export interface ProcessBackendOptions extends KindOptions {
  /** The backend's name, which roles refer to with `backend:`. Default `process`. */
  name?: string
  /** The project, when known before spawns (the plugin passes it); spawn requests carry it too. */
  project?: ProjectInfo
  /** `auto` (default): a git worktree per agent in a git repository with a commit, else `shared`. */
  workspace?: WorkspaceMode
  /**
   * In a worktree, commit the agent's changes on its branch after each iteration, and merge the
   * work of a task's dependencies before it starts. Default true.
   */
  commit?: boolean
  /** Start agents' processes with Tanuki's environment (plus `env`). Default true. */
  inheritEnv?: boolean
  /** Time between SIGTERM and SIGKILL when stopping a process tree. Default 3000 ms. */
  killGraceMs?: number
  /**
   * Write each running process's pid to `<stateDir>/pids/<agent>.pid` (and reap a previous run's
   * leftovers at spawn). Default true.
   */
  pidFiles?: boolean
  /**
   * Start the agent's commands from one long-lived shell per agent instead of from Tanuki's own
   * process. Forking a shell costs almost nothing, forking Node about 1.5 ms: worth it for roles
   * whose iterations are many quick commands (bench/cli.bench.ts). `true` runs bash when it is on
   * the PATH (each command a job of its own, by bash's job control) and otherwise `sh` (each
   * command under util-linux's `setsid`, one exec more), as it does when the environment sets
   * bash's options or functions; `'bash'` or `'sh'` chooses. Default false.
   */
  session?: boolean | 'bash' | 'sh'
  /** Notes for people (e.g. that agents share the project directory). Default: none. */
  log?: (message: string) => void
  /** Called when an agent's process starts and ends. */
  onProcess?: (event: ProcessEvent) => void
}

/** The process backend, with the agents it spawned. */
export interface ProcessBackend extends AgentBackend {
  /** The latest agent of each name. */
  readonly agents: ReadonlyMap<string, ProcessAgent>
  /**
   * Stops this backend's agents, then removes the worktrees and branches Tanuki created for the
   * project (its records say which; work that has not landed is kept unless `force`) and its pid files.
   */
  cleanup(project: ProjectInfo, options?: CleanupOptions): Promise<CleanupReport>
}

/** Role keys that are the orchestrator's, not ours. */
const ROLE_KEYS = new Set(['backend', 'count', 'budget', 'setup'])
/** Every key a role of this backend may set: a near miss of one of them is most likely a typo. */
export const PROCESS_ROLE_KEYS = [
  ...ROLE_KEYS,
  'kind',
  'bin',
  'command',
  'promptVia',
  'model',
  'systemPrompt',
  'maxTurns',
  'allowedTools',
  'disallowedTools',
  'extraArgs',
  'env',
  'workspace',
  'commit',
  'inheritEnv',
  'killGraceMs',
  'pidFiles',
  'session',
  'account',
  'credentialEnv',
  'price',
]
const WORKSPACE_MODES: readonly string[] = ['auto', 'worktree', 'shared']

function configError(role: string, key: string, message: string, value: unknown): TanukiError {
  return new TanukiError('TANUKI_CONFIG_INVALID', `agents.${role}.${key} ${message}, got ${JSON.stringify(value)}`, {
    details: { key: `agents.${role}.${key}`, value },
  })
}

function resolveOptions(
  defaults: ProcessBackendOptions,
  role: string,
  roleOptions: Readonly<Record<string, unknown>>,
): ProcessBackendOptions {
  const own = Object.fromEntries(
    Object.entries(roleOptions).filter(([key]) => !ROLE_KEYS.has(key)),
  ) as ProcessBackendOptions
  const env = own.env
  if (
    env !== undefined &&
    (typeof env !== 'object' || env === null || Object.values(env).some((value) => typeof value !== 'string'))
  ) {
    throw configError(role, 'env', 'must map variable names to strings', env)
  }
  if (own.session !== undefined && typeof own.session !== 'boolean' && own.session !== 'bash' && own.session !== 'sh') {
    throw configError(role, 'session', "must be true, false, 'bash' or 'sh'", own.session)
  }
  if (own.workspace !== undefined && !WORKSPACE_MODES.includes(own.workspace)) {
    throw configError(role, 'workspace', `must be one of ${WORKSPACE_MODES.join(', ')}`, own.workspace)
  }
  const merged: ProcessBackendOptions = { ...defaults, ...own }
  if (defaults.env || env) merged.env = { ...defaults.env, ...env }
  return merged
}

/** `session: 'bash'` needs bash on the PATH the agents get. */
function sessionShellThere(role: string, config: ProcessBackendOptions): void {
  if (config.session !== 'bash') return
  const path = config.env?.PATH ?? ((config.inheritEnv ?? true) ? process.env.PATH : undefined) ?? ''
  if (!findBash(path)) {
    throw configError(
      role,
      'session',
      "asks for bash, which is not on the agents' PATH. Install bash, or set it to true (bash where there is one, else sh) or 'sh'",
      config.session,
    )
  }
}

const KIND_PROGRAMS: Record<string, string> = { claude: 'Claude Code', codex: 'Codex CLI' }

/**
 * Whether the program a role's agents would start is on this machine, looked for as spawning it
 * does (the agents' PATH, a relative path from the project). A program the config names (a
 * command's, an explicit `bin`) that is not there is a problem: most often a typo. A kind's
 * default binary (`claude`, `codex`) that is not there is a note: people validate on machines
 * where agents do not run. So is anything missing for a role with a `setup`, which may install it.
 */
function programCheck(
  backend: string,
  role: string,
  config: ProcessBackendOptions,
  roleOptions: Readonly<Record<string, unknown>>,
  project: ProjectInfo,
): ProgramCheck {
  const none: ProgramCheck = { problems: [], notes: [] }
  const kind = config.kind ?? 'claude'
  const key = kind === 'command' ? 'command' : kind === 'claude' || kind === 'codex' ? 'bin' : undefined
  if (!key) return none
  const program = kind === 'command' ? config.command?.[0] : (config.bin ?? kind)
  // A program the prompt itself names cannot be looked for before there is a prompt.
  if (typeof program !== 'string' || program.includes('{prompt}')) return none
  const ownPath = config.env?.PATH !== undefined
  const lookup = findProgram(program, {
    path: ownPath ? config.env!.PATH : (config.inheritEnv ?? true) ? process.env.PATH : undefined,
    cwd: project.root,
  })
  // Found here, a relative path may still be missing from the worktrees agents work in.
  const notThere =
    'found' in lookup && (config.workspace ?? 'auto') !== 'shared' ? notInWorktrees(program, project.root) : undefined
  if ('found' in lookup && !notThere) return none
  const path = ownPath ? 'the PATH its env sets' : "this machine's PATH"
  const named = kind === 'command' || config.bin !== undefined
  if (!named) {
    return {
      problems: [],
      notes: [
        `kind "${kind}" starts \`${program}\`, which is not on ${path}: its agents could not start here. ` +
          `Install ${KIND_PROGRAMS[kind]} where the agents run, or set \`bin\` to where it is (in \`agents.<role>\` or \`defaults\`).`,
      ],
    }
  }
  const index = kind === 'command' ? '[0]' : ''
  // Set on the role (or in `defaults`, which the check names instead), else the plugin's option.
  const field =
    key in roleOptions ? `agents.${role}.${key}${index}` : `${key}${index} of the "${backend}" backend's plugin options`
  const what =
    'found' in lookup
      ? notThere
      : 'notExecutable' in lookup
        ? `"${program}" is not executable (${lookup.notExecutable}): \`chmod +x ${lookup.notExecutable}\`, or run it through its interpreter`
        : lookup.missing === 'path'
          ? `"${program}" is not a file (looked for ${lookup.looked}): fix the path, or create the file`
          : `"${program}" is not on ${path} (nor a file): fix the ${key === 'bin' ? 'bin' : 'command'}, or install it`
  const setup = typeof roleOptions.setup === 'string' && roleOptions.setup.trim() !== ''
  if (setup && !('notExecutable' in lookup)) {
    return { problems: [], notes: [`${field}: ${what}, unless the role's setup makes it.`] }
  }
  return {
    problems: [
      new TanukiError('TANUKI_CONFIG_INVALID', `${field}: ${what}`, {
        details: { key: key in roleOptions ? `agents.${role}.${key}` : key, value: program, role },
      }),
    ],
    notes: [],
  }
}

function pidFile(project: ProjectInfo, agent: string): string {
  return join(project.stateDir, 'pids', `${safeName(pathName(agent, 'agent name'))}.pid`)
}

/** A role's keys that look like typos of known ones (`comand`, `modle`), refused with the key meant. */
export function roleKeyTypos(role: string, options: Readonly<Record<string, unknown>>, known: readonly string[]): void {
  for (const key of Object.keys(options)) {
    if (known.includes(key)) continue
    const meant = closestName(key, known)
    if (meant) throw configError(role, key, `is not an option (did you mean "${meant}"?)`, options[key])
  }
}

/** The kind a role's options ask for, or the kind's refusal naming the role. */
function roleKind(role: string, options: KindOptions): AgentKind {
  try {
    return createKind(options)
  } catch (error) {
    if (isTanukiError(error, 'TANUKI_CONFIG_INVALID')) {
      throw new TanukiError('TANUKI_CONFIG_INVALID', `agents.${role}: ${error.message}`, {
        cause: error,
        details: { ...error.details, role },
      })
    }
    throw error
  }
}

/**
 * A previous orchestrator killed with -9 leaves its agents' processes running (they have their
 * own process groups). Kill such a leftover, but only when the pid still belongs to it: its
 * environment names this agent and project (Linux's /proc; elsewhere we leave it alone).
 */
function reapLeftover(file: string, agent: string, project: Pick<ProjectInfo, 'root'>): boolean {
  // Blank once its process ended; missing when its agent was removed.
  const pid = readPidFile(file)
  const ours = pid !== undefined && isOurs(pid, agent, project)
  if (ours) killGroup(pid, 'SIGKILL')
  rmSync(file, { force: true })
  return ours
}

/** Whether a process runs, and its environment names this agent of this project. */
function isOurs(pid: number, agent: string, project: Pick<ProjectInfo, 'root'>): boolean {
  try {
    const environ = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0')
    return environ.includes(`TANUKI_AGENT=${agent}`) && environ.includes(`TANUKI_PROJECT=${project.root}`)
  } catch {
    // Gone already, or no /proc: nothing we can safely say.
    return false
  }
}

/** Each agent's pid file in the state folder, with the agent it belongs to. */
function pidFiles(stateDir: string): { agent: string; file: string }[] {
  const dir = join(stateDir, 'pids')
  if (!existsSync(dir)) return []
  return readdirSync(dir)
    .sort()
    .filter((file) => file.endsWith('.pid'))
    .map((file) => ({ agent: file.slice(0, -'.pid'.length), file: join(dir, file) }))
}

/**
 * The processes of a run's process agents that still run though the run was killed: each agent
 * with its pid, read without touching anything (`project status`; `reapLeftovers` stops them).
 * Call it only when no orchestrator runs the project: a running one's agents would be listed.
 */
export function leftovers(project: Pick<ProjectInfo, 'root' | 'stateDir'>): { agent: string; pid: number }[] {
  return pidFiles(project.stateDir).flatMap(({ agent, file }) => {
    const pid = readPidFile(file)
    return pid !== undefined && isOurs(pid, agent, project) ? [{ agent, pid }] : []
  })
}

/**
 * Kills what a run's process agents left running when the run itself was killed (`kill -9`, a
 * crash): each agent's pid file names its process, which is killed (its group) only when it is
 * still that agent of this project. Returns the agents whose processes were killed. Call it only
 * when no orchestrator runs the project: it would kill a running one's agents.
 */
export function reapLeftovers(project: ProjectInfo): string[] {
  return pidFiles(project.stateDir).flatMap(({ agent, file }) => (reapLeftover(file, agent, project) ? [agent] : []))
}

/**
 * Creates the `process` backend: agents are local processes of an agent kind (Claude Code, Codex,
 * a command, the task's shell blocks), each working in its own git worktree (or the project
 * directory). Stopping an agent kills its whole process tree; a process killed by a signal Tanuki
 * did not send is reported as a crash.
 *
 * @example
 * const orchestrator = createOrchestrator({
 *   config: defineConfig({ agents: { default: { kind: 'shell' } }, tasks }),
 *   backends: [createProcessBackend({ log: console.warn })],
 * })
 */
export function createProcessBackend(options: ProcessBackendOptions = {}): ProcessBackend {
  const backendName = options.name ?? 'process'
  const agents = new Map<string, ProcessAgent>()
  const warnedShared = new Set<string>()

  const spawn = async (request: SpawnRequest): Promise<ProcessAgent> => {
    const { name, role, project } = request
    const config = resolveOptions(options, role, request.options)
    const kind = roleKind(role, config)
    sessionShellThere(role, config)
    const workspace: Workspace = await openWorkspace({ project, agent: name, mode: config.workspace ?? 'auto' })
    const note =
      workspace.mode === 'shared' && (config.workspace ?? 'auto') === 'auto'
        ? `${project.root} is not a git repository with a commit, so agents work in the project directory itself (workspace "shared"): ` +
          'they share it and nothing is committed. Run `git init && git add -A && git commit -m init` there to give each agent its own worktree.'
        : undefined
    if (note && !warnedShared.has(project.root)) {
      warnedShared.add(project.root)
      config.log?.(note)
    }

    const pids = (config.pidFiles ?? true) ? pidFile(project, name) : undefined
    if (pids) reapLeftover(pids, name, project)
    const baseEnv: Record<string, string | undefined> = {
      ...((config.inheritEnv ?? true) ? process.env : {}),
      ...config.env,
      TANUKI_AGENT: name,
      TANUKI_ROLE: role,
      TANUKI_PROJECT: project.root,
      TANUKI_WORKSPACE: workspace.dir,
    }
    const agent = createProcessAgent({
      name,
      role,
      backend: backendName,
      kind,
      workspace,
      config,
      env: baseEnv,
      pidFile: pids,
      note,
      projectRoot: project.root,
    })
    agents.set(name, agent)
    return agent
  }

  return {
    name: backendName,
    agents,
    spawn,
    reportsSpend({ role, options: roleOptions }) {
      try {
        return kindSpend(resolveOptions(options, role, roleOptions))
      } catch {
        return undefined
      }
    },
    validateRole({ role, options: roleOptions }) {
      roleKeyTypos(role, roleOptions, PROCESS_ROLE_KEYS)
      const config = resolveOptions(options, role, roleOptions)
      roleKind(role, config)
      sessionShellThere(role, config)
    },
    checkPrograms({ role, options: roleOptions, project }) {
      let config: ProcessBackendOptions
      try {
        config = resolveOptions(options, role, roleOptions)
        roleKind(role, config)
      } catch {
        // `validateRole` says what is wrong with the options.
        return { problems: [], notes: [] }
      }
      const found = programCheck(backendName, role, config, roleOptions, project)
      // The same for every role (said once): a project folder its agents' worktrees will not have.
      const problem = (config.workspace ?? 'auto') !== 'shared' ? projectNotCommittedProblem(project.root) : undefined
      if (!problem) return found
      return { problems: [problem, ...found.problems], notes: found.notes }
    },
    async cleanup(project, cleanupOptions = {}) {
      for (const agent of agents.values()) {
        if (agent.state === 'alive') await agent.stop()
      }
      const report = await removeWorktrees(project, cleanupOptions)
      reapLeftovers(project)
      rmSync(join(project.stateDir, 'pids'), { recursive: true, force: true })
      return report
    },
  }
}
