import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
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

/** How many of a failed verify's last lines `task show` prints. */
export const VERIFY_TAIL_LINES = 12

/** A line that says what went wrong, as test runners and compilers word it. */
const CAUSE = /\b(error|errors|fail|failed|failure|assert\w*|exception|cannot|not found)\b/i

/** The last verify a task's logs hold, when it failed: its header and its output's last lines. */
export interface FailedVerify {
  /** The log it is in. */
  log: string
  /** `` `npm test` exited 1 `` (as the log's `## Verify:` header says it). */
  what: string
  /**
   * Its output's last lines (at most `VERIFY_TAIL_LINES`, each cut at 300 characters), after the
   * last line that names an error when none of them does.
   */
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
    const output = text
      .slice(at + '\n## Verify: '.length + header.length)
      .replace(/\s+$/, '')
      .replace(/^\n+/, '')
    const lines = output === '' ? [] : output.split('\n')
    const tail = lines.slice(-VERIFY_TAIL_LINES)
    // A stack trace can push the error itself out of the last lines: its line comes first then.
    const before = lines.length - tail.length
    let cause = -1
    if (!tail.some((line) => CAUSE.test(line)))
      for (let i = before - 1; i >= 0 && cause === -1; i--) if (CAUSE.test(lines[i]!)) cause = i
    const shown = cause === -1 ? tail : [lines[cause]!, ...(cause < before - 1 ? ['…'] : []), ...tail]
    return {
      log: file,
      what: header,
      lines: shown.map((line) => (line.length > 300 ? `${line.slice(0, 299)}…` : line)),
    }
  }
  return undefined
}
