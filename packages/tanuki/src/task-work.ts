import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { tellingLines, type LandingFeedback } from '@tanuki/core'
import { git, gitRepository, revParse, taskRef } from '@tanuki/plugin-agent-process/kit'
import { isIterationLog, taskLogDir, type StatePaths } from './paths.ts'
import { projectInfo, type Project } from './project.ts'

/** Where a task's work is kept in the project's repository, for a person to look at. */
export interface TaskWork {
  /** Where its attempt started (the landed work and its dependencies'). */
  base: string
  /** Its last iteration, as the agent left it. */
  tip: string
  /** `git diff --shortstat` of base to tip: empty when it changed nothing. */
  changed: string
}

/**
 * The refs that hold a task's work (`refs/tanuki/<project>/tasks/<id>/{base,tip}`), when an agent
 * recorded them: a task done where nothing is committed (no git repository) has none.
 */
export async function taskWork(project: Project): Promise<(taskId: string) => Promise<TaskWork | undefined>> {
  const repo = await gitRepository(project.root)
  const info = projectInfo(project)
  return async (taskId) => {
    if (!repo) return undefined
    const base = taskRef(info, taskId, 'base')
    const tip = taskRef(info, taskId, 'tip')
    if (!(await revParse(base, repo.top)) || !(await revParse(tip, repo.top))) return undefined
    const stat = await git(['diff', '--shortstat', base, tip], repo.top)
    return { base, tip, changed: stat.code === 0 ? stat.stdout.trim() : '' }
  }
}

/** The last verify a task's logs hold, when it failed: its header and the telling part of its output. */
export interface FailedVerify {
  /** The log it is in. */
  log: string
  /** `` `npm test` exited 1 `` (as the log's `## Verify:` header says it). */
  what: string
  /** What `tellingLines` picks of its output: the lines naming errors, then its last lines; empty when it printed nothing. */
  lines: string[]
}

/**
 * The output of a task's latest verify, from its iteration logs (the journal keeps no output),
 * when that verify failed: what `tanuki logs ID` would show at its end, without the rest.
 */
export function lastFailedVerify(paths: StatePaths, taskId: string): FailedVerify | undefined {
  const dir = taskLogDir(paths, taskId)
  if (!existsSync(dir)) return undefined
  const number = (name: string): number => Number.parseInt(name.slice('iteration-'.length), 10)
  const logs = readdirSync(dir)
    .filter(isIterationLog)
    .sort((a, b) => number(b) - number(a))
  for (const name of logs) {
    const file = join(dir, name)
    const text = readFileSync(file, 'utf8')
    // The verify section is the last an iteration writes: what follows its header is its output.
    const at = text.lastIndexOf('\n## Verify: ')
    if (at === -1) continue
    const header = text.slice(at + '\n## Verify: '.length).split('\n', 1)[0]!
    if (/ exited 0$/.test(header)) return undefined
    return { log: file, what: header, lines: tellingLines(text.slice(at + '\n## Verify: '.length + header.length)) }
  }
  return undefined
}

/** Why a task's complete work last failed to land, as `task show` says it. */
export interface LastLanding {
  /**
   * `` `npm test` exited 1 on the combined work; it printed `` (`` … (the command printed nothing) ``
   * when it printed nothing), or a conflict's files and `what changed there`.
   */
  what: string
  /** What `tellingLines` picks of the gate's output (a conflict's: of what the other side changed); empty when silent. */
  lines: string[]
}

/**
 * The last failed landing of a task, from what the journal keeps for its next try (`feedback`):
 * kept until its work completes again, so a task sent to review by its landing still has it.
 */
export function lastLanding(feedback: LandingFeedback | undefined): LastLanding | undefined {
  if (!feedback) return undefined
  if (feedback.kind === 'conflict')
    return {
      what: `its work conflicts with ${feedback.what} in ${feedback.files.join(', ')}; what changed there`,
      lines: tellingLines(feedback.detail),
    }
  const exited = `\`${feedback.command}\` exited ${feedback.exitCode ?? 'without a code'} on the combined work`
  const lines = tellingLines(feedback.output)
  // A silent gate (`test -f x`): said in words, as the agent's prompt says it, not an empty quote.
  return lines.length > 0
    ? { what: `${exited}; it printed`, lines }
    : { what: `${exited} (the command printed nothing)`, lines }
}
