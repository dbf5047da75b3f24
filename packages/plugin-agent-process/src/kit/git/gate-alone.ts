import type { GateAloneRequest, GateAloneVerdict } from '@tanuki/core'
import { execShell } from '../process.ts'
import { git, revParse } from './run.ts'
import { repairIntegration, type Integration } from './target.ts'

/** What `gateAlone` works in: the prepared lander's repository, integration worktree and target. */
export interface GateAloneContext {
  repo: string
  integration: Integration
  target: string
  /** The target's tip as the lander last saw it (brought into the integration branch), if known. */
  knownTarget: string | undefined
  /** Longest the gate may run. */
  timeoutMs: number
}

/**
 * `Lander.gateAlone` for the git lander: puts the integration worktree back on its branch's tip
 * (the landing whose gate failed left its work there; the branch did not move), which is the
 * landing's base, runs the gate there, and names the target's newest commit in it. Undefined when
 * something landed or came in since (the base is no longer where landings start), or the run
 * stopped. Callers serialize per repository; the worktree is left to the next landing to repair.
 */
export async function gateAlone(
  { repo, integration, target, knownTarget, timeoutMs }: GateAloneContext,
  { base, command, signal, exec }: GateAloneRequest,
): Promise<GateAloneVerdict | undefined> {
  await repairIntegration(integration)
  const head = (await git(['rev-parse', 'HEAD'], integration.dir)).stdout.trim()
  // Something landed or came in since: that base is no longer where landings start.
  if (head !== base) return undefined
  const env = { TANUKI_LANDING: '1' }
  const common = { timeoutMs, signal }
  const ran = exec
    ? await exec(command, integration.cwd, { ...common, env, top: integration.dir })
    : await execShell(command, integration.cwd, { ...common, env: { ...process.env, ...env } })
  if (signal.aborted) return undefined
  // The target's newest commit in the base: the person's, as the lander's `catchUp` brought it in.
  const commit = knownTarget ?? (await revParse(`refs/heads/${target}`, repo)) ?? base
  const subject = (await git(['log', '-1', '--format=%s', commit], repo)).stdout.trim()
  return {
    passed: ran.exitCode === 0,
    exitCode: ran.exitCode,
    output: ran.timedOut ? `${ran.output}\n(timed out)` : ran.output,
    commit,
    subject,
  }
}

/** `Lander.targetTip` for the git lander: the target's tip now, one `rev-parse`. */
export function targetTip(repo: string | undefined, target: string | undefined): Promise<string | undefined> {
  return repo && target ? revParse(`refs/heads/${target}`, repo) : Promise.resolve(undefined)
}
