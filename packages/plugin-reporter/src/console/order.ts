import type { TanukiEventName } from '@tanuki/core'

/** Events that end a task's turn on its agent. */
const OUTCOMES: ReadonlySet<TanukiEventName> = new Set([
  'task:completed',
  'task:review',
  'task:failed',
  'task:requeued',
  'agent:crashed',
])

/** Lines held back for one agent: those of the tasks it took while its last task's outcome was still to come. */
interface Held {
  tasks: Set<string>
  lines: { name: TanukiEventName; taskId: string; write: () => void }[]
  timer: ReturnType<typeof setTimeout>
}

/**
 * Keeps each agent's lines in the order of its work. The orchestrator gives an agent its next task
 * as soon as the last one passed, and announces that completion only once the journal holds it: in
 * the order of events, `B assigned to coder-1` comes before `A complete (coder-1)`. Here the lines
 * of the agent's next task wait for the last one's outcome, at most `maxWaitMs` (an outcome that
 * never comes, as when a person's command takes the task over, holds nothing for long).
 */
export class AgentOrder {
  /** Per agent, the task whose outcome line is still to come. */
  private readonly current = new Map<string, string>()
  private readonly held = new Map<string, Held>()
  /** The agent whose held lines a task's belong with. */
  private readonly heldTask = new Map<string, string>()

  constructor(private readonly maxWaitMs = 250) {}

  /** Writes an event's lines now, or once the agent's previous task has its outcome line. */
  route(name: TanukiEventName, payload: { taskId?: string; agent?: string }, write: () => void): void {
    const { taskId, agent } = payload
    if (taskId === undefined) return write()
    const holder = this.heldTask.get(taskId)
    if (holder !== undefined) {
      this.held.get(holder)!.lines.push({ name, taskId, write })
      return
    }
    if (agent === undefined) return write()
    const before = this.current.get(agent)
    if (name === 'task:assigned' && before !== undefined && before !== taskId) {
      let held = this.held.get(agent)
      if (!held) {
        const timer = setTimeout(() => this.release(agent), this.maxWaitMs)
        timer.unref?.()
        held = { tasks: new Set(), lines: [], timer }
        this.held.set(agent, held)
      }
      held.tasks.add(taskId)
      held.lines.push({ name, taskId, write })
      this.heldTask.set(taskId, agent)
      return
    }
    write()
    this.follow(agent, name, taskId)
    if (OUTCOMES.has(name) && before === taskId) this.release(agent)
  }

  /** Writes every line still held (the run ended). */
  flush(): void {
    for (const agent of [...this.held.keys()]) this.release(agent)
  }

  /** Writes an agent's held lines, in the order they came. */
  private release(agent: string): void {
    const held = this.held.get(agent)
    if (!held) return
    clearTimeout(held.timer)
    this.held.delete(agent)
    for (const id of held.tasks) this.heldTask.delete(id)
    this.current.delete(agent)
    for (const line of held.lines) {
      line.write()
      this.follow(agent, line.name, line.taskId)
    }
  }

  /** Which task the agent is on once a line of `taskId` is written. */
  private follow(agent: string, name: TanukiEventName, taskId: string): void {
    if (name === 'task:assigned') this.current.set(agent, taskId)
    else if (OUTCOMES.has(name) && this.current.get(agent) === taskId) this.current.delete(agent)
  }
}
