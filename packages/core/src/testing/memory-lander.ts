import type { Awaitable } from '../agent/types.ts'
import type { GateAloneRequest, GateAloneVerdict, Lander, LandOutcome, LandRequest } from '../land/types.ts'

export interface MemoryLanderOptions {
  /** Decides each landing; default: it lands, as commit `<task id>@<n>`. */
  land?: (request: LandRequest, attempt: number) => Awaitable<LandOutcome>
  /** What `prepare` reports as already landed (a crash after the commit). */
  alreadyLanded?: { taskId: string; commit: string }[]
  /** How long each landing takes, in ms. */
  delayMs?: number
  /** Runs a failed gate on a base alone (`Lander.gateAlone`); absent: the lander cannot. */
  gateAlone?: (request: GateAloneRequest) => Awaitable<GateAloneVerdict | undefined>
  /** The target's tip now (`Lander.targetTip`); absent: the lander cannot tell. */
  targetTip?: () => Awaitable<string | undefined>
}

/** A lander that keeps landed work in memory: for embedding without git, and for tests. */
export interface MemoryLander extends Lander {
  /** Task ids in the order they landed. */
  readonly landed: readonly string[]
  /** Every landing asked for, in order (landed or not). */
  readonly requests: readonly string[]
  /** How many times `prepare` ran. */
  readonly prepared: number
  /** Every `gateAlone` asked, in order. */
  readonly alone: readonly GateAloneRequest[]
}

/**
 * @example
 * const lander = createMemoryLander()
 * const orchestrator = createOrchestrator({ config, backends, plugins: [...] })
 */
export function createMemoryLander(options: MemoryLanderOptions = {}): MemoryLander {
  const landed: string[] = []
  const requests: string[] = []
  const alone: GateAloneRequest[] = []
  let prepared = 0
  const { gateAlone, targetTip } = options
  return {
    name: 'memory',
    landed,
    requests,
    alone,
    ...(gateAlone
      ? {
          gateAlone: async (request: GateAloneRequest) => {
            alone.push(request)
            return gateAlone(request)
          },
        }
      : {}),
    ...(targetTip ? { targetTip: async () => targetTip() } : {}),
    get prepared() {
      return prepared
    },
    async prepare() {
      prepared++
      return { target: 'memory', base: `memory@${landed.length}`, landed: options.alreadyLanded ?? [] }
    },
    async land(request) {
      requests.push(request.task.id)
      const attempt = requests.filter((id) => id === request.task.id).length
      if (options.delayMs) await new Promise((done) => setTimeout(done, options.delayMs))
      const outcome: LandOutcome = options.land
        ? await options.land(request, attempt)
        : { status: 'landed', commit: `${request.task.id}@${attempt}`, moved: true }
      if (outcome.status === 'landed') landed.push(request.task.id)
      return outcome
    },
  }
}
