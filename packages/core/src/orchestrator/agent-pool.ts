import type { Agent, AgentBackend, ProjectInfo } from '../agent/types.ts'
import type { AgentCandidate } from '../balancer/index.ts'
import { TanukiError, blamesConfig, errorMessage } from '../errors.ts'
import type { ResolvedConfig, RoleConfig } from '../plugin/index.ts'
import type { LandRequest } from '../land/types.ts'
import { backendRoles, roleBackendName, roleConfig } from '../plugin/roles.ts'
import type { Bus } from './bus.ts'
import type { AgentInfo, AgentStatus } from './types.ts'

/** An agent of the pool, as the balancer and the orchestrator see it. */
export interface AgentRecord extends AgentCandidate {
  backend: string
  agent: Agent
  status: AgentStatus
  taskId?: string
  unsubscribe: () => void
}

/** One role's agents. */
export interface RoleState {
  config: RoleConfig
  /** The most agents this role has at once (`agents.<role>.count`); spawned as its work needs them. */
  count: number
  idle: Set<AgentRecord>
  live: number
  spawning: number
  /** Agents of the role waiting for a free place under `maxAgents`. */
  waiting: number
  lastSpawnError?: string
  /** Why the role takes no work (its agents cannot start: a binary, a flag, credentials). */
  paused?: string
}

export interface AgentPoolOptions {
  config: ResolvedConfig
  project: ProjectInfo
  backends: ReadonlyMap<string, AgentBackend>
  bus: Bus
  /** Whether agents are wanted: a spawn that finishes after the run stopped is stopped at once. */
  running: () => boolean
  /** An agent of this role became idle: hand it work. */
  onIdle: (role: string) => void
  /** An agent came up (before it is handed work). */
  onSpawned?: (record: AgentRecord) => void
  /** A spawn was refused for the role's configuration (`blamesConfig`): pause the role. */
  onRefused?: (role: string, cause: string) => void
  /** An agent died while busy: abort what it ran. */
  onCrash: (record: AgentRecord, reason: string) => void
  /** Agents came or went: the run may have settled. */
  onChange: () => void
  /** Tasks of the role waiting for an agent: under `maxAgents`, where the places go. */
  demand?: (role: string) => number
  /** Why a role `agents` does not list gets no agents (see `OrchestratorOptions.unlistedRole`). */
  unlistedRole?: (role: string) => string | undefined
}

/** The agents of a run, by role: spawned on demand, replaced after crashes, stopped together. */
export interface AgentPool {
  /**
   * Spawns agents for the role's work that can start now (`demand`), up to its `count`: no more
   * than the queued tasks its idle agents and the agents on their way cannot take.
   */
  ensure(role: string): void
  /** The role's agents, once `ensure` asked for them. */
  role(role: string): RoleState | undefined
  roles(): IterableIterator<[string, RoleState]>
  /** The role's backend, by name. */
  backendName(role: string): string
  /** Runs a command in a sandbox like the role's agents', when its backend can (see `AgentBackend.execIn`). */
  sandbox(role: string): LandRequest['exec'] | undefined
  /** Marks an idle agent busy with a task. */
  take(record: AgentRecord, taskId: string): void
  /** Marks a busy agent idle again and tells `onIdle`. */
  release(record: AgentRecord): void
  /** The agent finished a task: its crash count starts over. */
  succeeded(record: AgentRecord): void
  /** The agent died: take it out and spawn a replacement (within `maxRespawns`). */
  crashed(record: AgentRecord, reason: string): void
  /** Every agent, for status views. */
  info(): AgentInfo[]
  /** Every agent record. */
  records(): IterableIterator<AgentRecord>
  /** An agent's record by name. */
  record(name: string): AgentRecord | undefined
  /** Agents that are live or being spawned, over every role. */
  agentCount(): number
  /**
   * Under `maxAgents`: starts agents waiting for a place where their role has work, and stops an
   * idle agent of a role without work when another role's work waits for a place.
   */
  rebalance(): void
  /** Stops (or removes) every live agent, and those still being spawned once they exist. */
  stopAll(remove: boolean): Promise<void>
  /** Runs every backend's `cleanup` (after `stopAll(true)`). */
  cleanup(): Promise<void>
}

/**
 * Makes the agent pool of a run: a factory in the shape of Vitest's pools, holding every agent
 * record, the idle set of each role, the spawns under way and the crash counts.
 */
export function createAgentPool(options: AgentPoolOptions): AgentPool {
  const { config, project, backends, bus } = options
  const roles = new Map<string, RoleState>()
  const agents = new Map<string, AgentRecord>()
  /** Crashes per agent name since its last completed task. */
  const respawns = new Map<string, number>()
  /** Spawns under way; a stop waits for them so no agent outlives the run. */
  const spawning = new Set<Promise<void>>()
  /** Tells spawns that wait (for a remote worker, say) that the run stopped. */
  const stopped = new AbortController()
  /** Names of agents that are live, being spawned or waiting for a place. */
  const occupied = new Set<string>()
  /** Names given up on: their spawn failed, or they crashed more than `maxRespawns` times in a row. */
  const retired = new Set<string>()
  let removeOnStop = false

  const roleState = (role: string): RoleState => {
    let state = roles.get(role)
    if (!state) {
      const options: RoleConfig = roleConfig(config, role)
      const count = typeof options.count === 'number' ? options.count : 1
      state = { config: options, count, idle: new Set(), live: 0, spawning: 0, waiting: 0 }
      roles.set(role, state)
    }
    return state
  }

  /** A role's config, without asking for its agents (that is `ensure`'s). */
  const configOf = (role: string): RoleConfig => roles.get(role)?.config ?? roleConfig(config, role)

  const backendName = (role: string): string => roleBackendName(configOf(role), backends)

  const backendFor = (role: string): AgentBackend => {
    const name = backendName(role)
    const backend = backends.get(name)
    if (backend) return backend
    const known = [...backends.keys()]
    throw new TanukiError(
      'TANUKI_BACKEND_UNKNOWN',
      `Role "${role}" uses backend "${name}", but no plugin registered it` +
        (known.length > 0 ? ` (registered: ${known.join(', ')})` : ' (none is registered)') +
        `. Add the backend's plugin to ${project.configFile ?? 'your Tanuki config (tanuki.config.*)'} or set agents.${role}.backend.`,
    )
  }

  const paid = (backend: AgentBackend, role: string, roleOptions: RoleConfig): boolean =>
    backend.reportsSpend ? backend.reportsSpend({ role, options: roleOptions, project }) !== undefined : true

  const spawn = async (name: string, role: string): Promise<void> => {
    const state = roleState(role)
    state.spawning++
    let agent: Agent
    try {
      const backend = backendFor(role)
      // A role the config does not list, when it does not want such roles on `defaults`: refused
      // when its agent would be a paid one (its backend says it reports spend, or cannot say).
      const refused = config.agents[role] ? undefined : options.unlistedRole?.(role)
      if (refused !== undefined && paid(backend, role, state.config))
        throw new TanukiError('TANUKI_CONFIG_INVALID', refused, { details: { config: true, role } })
      agent = await backend.spawn({ name, role, options: state.config, project, signal: stopped.signal })
    } catch (error) {
      state.spawning--
      occupied.delete(name)
      // A spawn the stop called off is no failure.
      if (stopped.signal.aborted) return
      retired.add(name)
      state.lastSpawnError = errorMessage(error)
      const pausesRole = blamesConfig(error)
      bus.emit('agent:spawn-failed', {
        agent: name,
        role,
        backend: backendName(role),
        message: errorMessage(error),
        ...(pausesRole ? { pausesRole } : {}),
      })
      // Its tasks never ran: failing them would leave them failed after the fix and a resume.
      if (pausesRole) options.onRefused?.(role, errorMessage(error))
      // The work it was for still waits: the role's next agent may start (another host, a free slot).
      else if (options.running()) pool.ensure(role)
      options.onChange()
      return
    }
    state.spawning--
    if (!options.running()) {
      occupied.delete(name)
      await (removeOnStop ? agent.remove() : agent.stop()).catch(() => {})
      return
    }
    const record: AgentRecord = {
      name,
      role,
      backend: agent.backend,
      agent,
      status: 'idle',
      assigned: 0,
      lastFinishedAt: 0,
      unsubscribe: () => {},
    }
    record.unsubscribe = agent.onExit((exit) => {
      if (!exit.expected) pool.crashed(record, exit.reason)
    })
    agents.set(name, record)
    state.live++
    state.idle.add(record)
    bus.emit('agent:spawned', {
      agent: name,
      role,
      backend: agent.backend,
      ...(agent.workspace ? { workspace: agent.workspace } : {}),
    })
    options.onSpawned?.(record)
    options.onIdle(role)
    options.onChange()
  }

  const startSpawn = (name: string, role: string): void => {
    const started = spawn(name, role)
      .finally(() => spawning.delete(started))
      .then(() => {
        // A spawn that failed freed its place.
        if (!agents.get(name) || agents.get(name)!.status !== 'idle') pool.rebalance()
      })
    spawning.add(started)
  }

  // ---- maxAgents: places for agents over every role (`total`) and per backend.
  const caps = config.maxAgents
  /** Agents waiting for a place, in the order they were wanted. */
  let waiting: { name: string; role: string }[] = []
  const used = (backend?: string): number => {
    let count = 0
    for (const [role, state] of roles) {
      if (backend === undefined || backendName(role) === backend) count += state.live + state.spawning
    }
    return count
  }
  const fits = (role: string): boolean => {
    if (caps.total !== undefined && used() >= caps.total) return false
    const backend = backendName(role)
    return caps[backend] === undefined || used(backend) < caps[backend]!
  }
  /** Starts an agent when there is a place for it, else keeps it waiting for one. */
  const want = (name: string, role: string): void => {
    occupied.add(name)
    if (fits(role)) return startSpawn(name, role)
    waiting.push({ name, role })
    roleState(role).waiting++
  }
  const demand = (role: string): number => options.demand?.(role) ?? 1

  const pool: AgentPool = {
    ensure(role) {
      const state = roleState(role)
      if (state.paused) return
      // Agents that will take queued work: idle ones, those on their way, and busy ones whose task's
      // run just ended (they are released right after the tasks it readied are queued).
      let coming = state.idle.size + state.spawning + state.waiting
      for (const record of agents.values()) {
        if (record.role === role && record.status === 'busy' && record.taskId === undefined) coming++
      }
      let short = demand(role) - coming
      for (let i = 1; short > 0 && i <= state.count; i++) {
        const name = `${role}-${i}`
        if (occupied.has(name) || retired.has(name)) continue
        want(name, role)
        short--
      }
    },

    role: (role) => roles.get(role),
    roles: () => roles.entries(),
    backendName,

    sandbox(role) {
      let backend: AgentBackend
      try {
        backend = backendFor(role)
      } catch {
        return undefined
      }
      const execIn = backend.execIn?.bind(backend)
      if (!execIn) return undefined
      const options = configOf(role)
      return (command, dir, exec) => execIn({ project, role, options, dir, command, ...exec })
    },

    take(record, taskId) {
      roles.get(record.role)!.idle.delete(record)
      record.status = 'busy'
      record.taskId = taskId
      record.assigned++
    },

    release(record) {
      if (record.status !== 'busy') return
      record.status = 'idle'
      roles.get(record.role)!.idle.add(record)
      options.onIdle(record.role)
    },

    succeeded(record) {
      respawns.delete(record.name)
    },

    crashed(record, reason) {
      if (record.status === 'crashed' || record.status === 'stopped' || agents.get(record.name) !== record) return
      const state = roleState(record.role)
      const wasBusy = record.status === 'busy'
      record.status = 'crashed'
      record.unsubscribe()
      state.idle.delete(record)
      state.live--
      occupied.delete(record.name)
      bus.emit('agent:crashed', {
        agent: record.name,
        role: record.role,
        ...(record.taskId ? { taskId: record.taskId } : {}),
        reason,
      })
      if (wasBusy) options.onCrash(record, reason)
      void record.agent.stop().catch(() => {})
      if (!options.running()) return
      const crashes = (respawns.get(record.name) ?? 0) + 1
      respawns.set(record.name, crashes)
      if (crashes > config.maxRespawns) {
        retired.add(record.name)
        state.lastSpawnError = `agent ${record.name} crashed ${crashes} times in a row (${reason})`
        options.onChange()
        return
      }
      // Replaced at once when it held a task (which is queued again) or work waits; else once work does.
      if (wasBusy || demand(record.role) > 0) want(record.name, record.role)
    },

    rebalance() {
      if (waiting.length === 0 || !options.running()) return
      // Waiting agents whose role has work take the free places first.
      for (const item of [...waiting]) {
        if (demand(item.role) === 0 || !fits(item.role)) continue
        waiting.splice(waiting.indexOf(item), 1)
        roleState(item.role).waiting--
        startSpawn(item.name, item.role)
      }
      // Work still waits for a place: an idle agent of a role with nothing to do gives up its own.
      const needy = waiting.find((item) => demand(item.role) > 0)
      if (!needy) return
      for (const [role, state] of roles) {
        if (role === needy.role || demand(role) > 0) continue
        const [idle] = state.idle
        if (!idle) continue
        // Only a place the needy role can use (the same backend, or only the total is full).
        const backend = backendName(needy.role)
        if (caps[backend] !== undefined && used(backend) >= caps[backend]! && idle.backend !== backend) continue
        state.idle.delete(idle)
        state.live--
        idle.status = 'stopped'
        idle.unsubscribe()
        waiting.push({ name: idle.name, role })
        state.waiting++
        bus.emit('agent:stopped', { agent: idle.name, role, removed: false })
        void idle.agent.stop().catch((error: unknown) => {
          bus.emit('orchestrator:error', { context: `stopping agent ${idle.name}`, message: errorMessage(error) })
        })
        return pool.rebalance()
      }
    },

    records: () => agents.values(),
    record: (name) => agents.get(name),
    agentCount: () => {
      let count = 0
      for (const state of roles.values()) count += state.live + state.spawning
      return count
    },

    info: () =>
      [...agents.values()].map((record) => ({
        name: record.name,
        role: record.role,
        backend: record.backend,
        status: record.status,
        ...(record.taskId === undefined ? {} : { task: record.taskId }),
        ...(record.agent.workspace === undefined ? {} : { workspace: record.agent.workspace }),
        assigned: record.assigned,
      })),

    async stopAll(remove) {
      removeOnStop = remove
      for (const item of waiting) roleState(item.role).waiting--
      waiting = []
      await Promise.allSettled(
        [...agents.values()].map(async (record) => {
          if (record.status === 'crashed' || record.status === 'stopped') return
          record.status = 'stopped'
          record.unsubscribe()
          try {
            await (remove ? record.agent.remove() : record.agent.stop())
          } catch (error) {
            bus.emit('orchestrator:error', { context: `stopping agent ${record.name}`, message: errorMessage(error) })
          }
          bus.emit('agent:stopped', { agent: record.name, role: record.role, removed: remove })
        }),
      )
      // Agents still being spawned stop (or are removed) as soon as they exist; spawns that wait give up.
      stopped.abort('the run is stopping')
      await Promise.allSettled([...spawning])
    },

    async cleanup() {
      for (const backend of backends.values()) {
        const roles = backendRoles(config, backend.name, backends)
        await backend.cleanup?.(project, { roles }).catch((error: unknown) => {
          bus.emit('orchestrator:error', {
            context: `cleaning up backend ${backend.name}`,
            message: errorMessage(error),
          })
        })
      }
    },
  }
  return pool
}
