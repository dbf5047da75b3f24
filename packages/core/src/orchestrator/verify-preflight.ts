import type { Agent, AgentFailure, VerifyUnrunnable } from '../agent/types.ts'
import { abortError } from '../clock.ts'
import type { Task } from '../task/types.ts'
import { preflightProbe, preflightPrograms, readProbe, type ProbeResult } from '../validator/preflight.ts'

/** The longest a probe may take (a container's first `exec` can be slow); past it, it is unsure. */
const PROBE_TIMEOUT_MS = 60_000

/**
 * Before an agent is paid to work on a task, looks for its verify's program where the verify will
 * run (the agent's `exec`: its worktree, its container, with their PATH), without running the
 * verify: a program missing there (`pytset` for `pytest`) would fail every try of every task that
 * has it, so the task is held at once, as a verify that could not run is, and no agent is paid to
 * meet it. A program found outside the workspace is found for every agent of the role: looked for
 * once per role and run. Concurrent looks for the same one share the first's answer.
 */
export class VerifyPreflight {
  /** role → programs found outside the workspace where its agents work. */
  private readonly found = new Map<string, Set<string>>()
  /** `role\0program` → the look under way. */
  private readonly looking = new Map<string, Promise<ProbeResult>>()

  constructor(private readonly timeoutMs: number) {}

  /**
   * Looks for the task's verify programs where the agent works: the failure that holds the task
   * when one is missing, else undefined (found, or unsure: then the verify's own run tells).
   */
  async check(
    task: Task,
    agent: Agent,
    signal: AbortSignal,
  ): Promise<(AgentFailure & { unrunnable: VerifyUnrunnable }) | undefined> {
    const command = task.completion.verify
    if (command === undefined) return undefined
    for (const program of preflightPrograms(command)) {
      if (this.found.get(task.role)?.has(program)) continue
      const key = `${task.role}\0${program}`
      const under = this.looking.get(key)
      let result = under ? await under : await this.look(key, agent, program, signal)
      if (signal.aborted) throw abortError(signal)
      // Another agent's answer holds for this one unless it was about that agent's workspace.
      if (under && result !== 'found' && result !== 'missing') result = await this.look(key, agent, program, signal)
      if (signal.aborted) throw abortError(signal)
      if (result === 'found') {
        let programs = this.found.get(task.role)
        if (!programs) this.found.set(task.role, (programs = new Set()))
        programs.add(program)
      }
      if (result !== 'missing') continue
      const unrunnable: VerifyUnrunnable = {
        command,
        exitCode: 127,
        program,
        preflight: true,
        ...(agent.runsIn ? { runsIn: agent.runsIn } : {}),
      }
      const where = agent.runsIn ? ` in ${agent.runsIn}` : ''
      const cause = `verify could not run${where} (\`${program}\` not found, looked for before any agent worked): ${command}`
      return { class: 'verify-could-not-run', cause, unrunnable }
    }
    return undefined
  }

  private async look(key: string, agent: Agent, program: string, signal: AbortSignal): Promise<ProbeResult> {
    const looking = agent
      .exec(preflightProbe(program), { timeoutMs: Math.min(this.timeoutMs, PROBE_TIMEOUT_MS), signal })
      // A probe that cannot run tells nothing: the verify's own run will.
      .then(readProbe, () => 'unsure' as const)
    if (!this.looking.has(key)) {
      this.looking.set(key, looking)
      void looking.finally(() => {
        if (this.looking.get(key) === looking) this.looking.delete(key)
      })
    }
    return looking
  }
}
