import type { AgentExit } from './types.ts'

/** An agent's end, told once to every listener: the part of `Agent.onExit` every backend needs. */
export interface AgentExits {
  /** The agent's `onExit`: subscribes, and returns an unsubscribe function. */
  onExit(listener: (exit: AgentExit) => void): () => void
  /**
   * Records the end and tells every listener, once: later calls do nothing and return false. A
   * listener that throws does not keep the end from the others.
   */
  end(exit: AgentExit): boolean
  /** How the agent ended, once it has. */
  readonly ended: AgentExit | undefined
}

/**
 * For backend authors: the bookkeeping of `Agent.onExit`.
 *
 * @example
 * const exits = createAgentExits()
 * child.on('exit', (code) => exits.end({ reason: `exit code ${code}`, expected: stopping }))
 * return { ...agent, onExit: exits.onExit }
 */
export function createAgentExits(): AgentExits {
  const listeners = new Set<(exit: AgentExit) => void>()
  let ended: AgentExit | undefined
  return {
    onExit(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
    end(exit) {
      if (ended) return false
      ended = exit
      for (const listener of [...listeners]) {
        try {
          listener(exit)
        } catch {
          // A listener's failure is its own; the others must still hear of the end.
        }
      }
      return true
    },
    get ended() {
      return ended
    },
  }
}
