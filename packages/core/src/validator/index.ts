import type { Agent, AgentFailure, ExecResult, RunResult, VerifyUnrunnable } from '../agent/types.ts'
import { errorMessage } from '../errors.ts'
import type { IterationOutcome } from '../orchestrator/events.ts'
import type { Task } from '../task/types.ts'
import { COMMAND_PREFIXES, isAssignment, simpleCommands, WRAPPERS, type Wrapper } from './shell-words.ts'

/** The Validator's verdict on one iteration. */
export interface Validation {
  outcome: IterationOutcome
  /** One line a person can read: why this outcome. */
  reason: string
  /** Whether the signal was found (undefined when the task has none). */
  signalFound?: boolean
  /** The verify command's result, when it ran. */
  verify?: ExecResult & { command: string }
  /** Why the iteration did not succeed, when it did not. */
  failure?: AgentFailure
}

export interface ValidatorOptions {
  /** Longest the verify command may run. Default 5 minutes. */
  verifyTimeoutMs?: number
}

export interface ValidateRequest {
  task: Task
  agent: Agent
  result: RunResult
  iteration: number
  signal?: AbortSignal
}

/**
 * Decides whether a task is done after an iteration: first the signal must be in the agent's
 * output, then the verify command must exit 0 when run through the agent's own `exec`, so it
 * checks the workspace (or container) the agent changed.
 *
 * Outcomes: `complete`; `retry` while tries remain; `review` when they ran out; `failed` when the
 * agent never started, or verify could not run at all (it timed out, there is no shell to run it,
 * or it exited 126/127). Exit 126/127 depends on the program the shell names: one of the verify's
 * own (`pytest` of `pytest -q`) and the failure's `unrunnable` says what, for the runner to halt
 * the task instead; one a script inside it runs (`vitest` under `npm test`) is an ordinary
 * `verify-failed` the agent may fix; none named, the task fails. Every outcome but `complete`
 * carries a classified failure. A task with neither
 * signal nor verify goes to `review` after the first run without an error.
 */
export class Validator {
  private readonly verifyTimeoutMs: number

  constructor(options: ValidatorOptions = {}) {
    this.verifyTimeoutMs = options.verifyTimeoutMs ?? 5 * 60_000
  }

  async validate({ task, agent, result, iteration, signal }: ValidateRequest): Promise<Validation> {
    const { signal: expected, verify: command, maxIterations } = task.completion
    const lastTry = iteration >= maxIterations
    const notYet = (
      reason: string,
      failure: AgentFailure,
      extra: Omit<Validation, 'outcome' | 'reason'> = {},
    ): Validation => ({
      outcome: lastTry ? 'review' : 'retry',
      reason: lastTry ? `${reason}; no tries left (${maxIterations})` : reason,
      failure,
      ...extra,
    })
    // What the agent itself reported: it never started (fail fast, before any check), it hit a
    // limit (the try does not count), or it failed on its own (that, not a check, is the cause).
    const own = result.failure ?? (result.error ? { class: 'agent-error' as const, cause: result.error } : undefined)
    if (own?.class === 'could-not-start') return { outcome: 'failed', reason: own.cause, failure: own }
    if (own?.class === 'rate-limited') return { outcome: 'retry', reason: own.cause, failure: own }
    // Not done, whatever a check would say (a weak verify passes a file with conflict markers).
    if (own?.unfinished) return notYet(own.cause, own)

    // No criteria: the agent's own account is all there is, and a person judges the work.
    if (expected === undefined && command === undefined) {
      if (own) return notYet(`agent reported: ${own.cause}`, own)
      return {
        outcome: 'review',
        reason: 'the agent finished without an error; the task has no completion criteria, so a person reviews it',
      }
    }

    let signalFound: boolean | undefined
    if (expected !== undefined) {
      signalFound = result.output.includes(expected)
      if (!signalFound) {
        if (own) return notYet(`agent reported: ${own.cause}`, own, { signalFound })
        const why = `signal "${expected}" not in the agent's output`
        return notYet(why, { class: 'verify-failed', cause: why }, { signalFound })
      }
    }
    if (command === undefined) return { outcome: 'complete', reason: `signal "${expected}" found`, signalFound: true }

    let verify: ExecResult
    try {
      verify = await agent.exec(command, { timeoutMs: this.verifyTimeoutMs, ...(signal ? { signal } : {}) })
    } catch (error) {
      const reason = `verify could not run: ${errorMessage(error)}`
      return {
        outcome: 'failed',
        reason,
        failure: { class: 'verify-could-not-run', cause: reason },
        ...(signalFound === undefined ? {} : { signalFound }),
      }
    }
    const ran = { ...verify, command }
    const base = signalFound === undefined ? { verify: ran } : { verify: ran, signalFound }
    if (verify.timedOut) {
      const reason = `verify timed out after ${this.verifyTimeoutMs} ms: ${command}`
      return { outcome: 'failed', reason, failure: { class: 'verify-could-not-run', cause: reason }, ...base }
    }
    if (verify.exitCode === 0) return { outcome: 'complete', reason: `verify passed: ${command}`, ...base }
    // 126/127: the shell could not run a program (not found, not executable). One the verify names
    // itself no try can make run, nor the try of any task with the same verify where this one ran;
    // one a script inside the verify runs (vitest under `npm test`) the agent may install.
    if (verify.exitCode === 126 || verify.exitCode === 127) {
      const said = verify.output.trim().split('\n').at(-1)?.slice(0, 300)
      const program = said ? programNotRun(said) : undefined
      const where = agent.runsIn ? ` in ${agent.runsIn}` : ''
      const unrunnable = verifyUnrunnable(command, verify, agent.runsIn)
      if (unrunnable) {
        return { outcome: 'failed', reason: unrunnable.cause, failure: unrunnable, ...base }
      }
      // Not the verify's own program: the agent reads this in its next prompt and may install it.
      const fix =
        verify.exitCode === 126
          ? `could not be executed${where} (${said}): make it executable`
          : `was not found${where} (${said}): install it where the verify runs ` +
            "(a fresh workspace has none of the project's dependencies until they are installed)"
      const reason = `verify exited with code ${verify.exitCode}: ${command}. It runs \`${program}\`, which ${fix}`
      if (own) return notYet(`agent reported: ${own.cause}`, own, base)
      return notYet(reason, { class: 'verify-failed', cause: reason }, base)
    }
    const reason = `verify exited with code ${verify.exitCode}: ${command}`
    if (own) return notYet(`agent reported: ${own.cause}`, own, base)
    return notYet(reason, { class: 'verify-failed', cause: reason }, base)
  }
}

/**
 * The failure of a verify that could not run at all where it ran (`runsIn`, or this machine): it
 * exited 126/127 for a program it names itself (`pytest` of `pytest -q`), or without saying which
 * (a wrapper's own wording: taken for the verify's, so its tasks wait for a person, unharmed,
 * rather than each failing after a paid run). Undefined for any other result, among them a
 * program a script inside it runs (`vitest` under `npm test`), which an agent may install.
 */
export function verifyUnrunnable(
  command: string,
  verify: Pick<ExecResult, 'exitCode' | 'output'>,
  runsIn?: string,
): (AgentFailure & { unrunnable: VerifyUnrunnable }) | undefined {
  if (verify.exitCode !== 126 && verify.exitCode !== 127) return undefined
  const said = verify.output.trim().split('\n').at(-1)?.slice(0, 300)
  const program = said ? programNotRun(said) : undefined
  if (program !== undefined && !namesProgram(command, program)) return undefined
  // A program by a path in the workspace (`./run_tests.sh`, `bin/check`) is the project's, often
  // the task's own work: an agent may write it or make it executable. Held, it would wait forever,
  // as trying the verify again before the agent works meets it missing again.
  if (program !== undefined ? inWorkspace(program) : verifyPrograms(command).some(inWorkspace)) return undefined
  const where = runsIn ? ` in ${runsIn}` : ''
  const exit = `exit ${verify.exitCode}${said ? `: ${said}` : ''}`
  const cause = `verify could not run${where} (${exit}): ${command}`
  const unrunnable: VerifyUnrunnable = {
    command,
    exitCode: verify.exitCode,
    ...(program ? { program } : {}),
    ...(runsIn ? { runsIn } : {}),
    ...(said ? { said } : {}),
  }
  return { class: 'verify-could-not-run', cause, unrunnable }
}

/** A program named by a path relative to where the verify runs. */
const inWorkspace = (program: string): boolean => program.includes('/') && !program.startsWith('/')

/**
 * The program a shell says it could not find or run, from its last line: `sh: 1: pytest: not
 * found` (dash), `bash: line 1: pytest: command not found`, `sh: pytest: not found` (BusyBox),
 * `zsh:1: command not found: pytest`, `sh: 1: ./check.sh: Permission denied`,
 * `/usr/bin/env: 'python': No such file or directory`.
 */
export function programNotRun(line: string): string | undefined {
  const text = line.trim()
  const zsh = /command not found: (\S+)$/.exec(text)
  if (zsh) return zsh[1]
  // GNU timeout: `timeout: failed to run command 'pytest': No such file or directory`.
  const wrapped = /failed to run command ['‘"]?([^'‘’"]+)['’"]?:/.exec(text)
  if (wrapped) return wrapped[1]
  const said =
    /(?:^|:\s)['‘"]?([^\s:'‘’"]+)['’"]?:\s(?:command not found|not found|No such file or directory|Permission denied)$/.exec(
      text,
    )
  return said?.[1]
}

/** Shells whose `-c` runs a command string of its own: its programs are the verify's too. */
const SHELLS = new Set(['sh', 'bash', 'dash', 'zsh', 'ksh', 'busybox'])

/**
 * The programs a verify command runs itself: the first word of each of its simple commands
 * (`simpleCommands`: split on `&&`, `||`, `;`, `|`, `&`, parentheses and newlines, outside quotes,
 * and inside command substitutions), past leading `VAR=value` assignments and reserved words; and
 * of one that starts with the wrappers `env`, `time`, `nice`, `nohup`, `sudo`, `xargs` or
 * `timeout` (or the builtins `exec` and `command`), those wrappers and the word past their options.
 * Not the programs those run in turn: `npm test` runs `npm`, not the `vitest` of its script.
 */
export function verifyPrograms(command: string): string[] {
  return [...new Set(simpleCommands(command).flatMap(({ words }) => programsOf(words)))]
}

/**
 * A simple command's programs: its wrappers, and its first word past assignments, keywords,
 * wrappers and their options; and for a shell's `-c`, the programs of its command string as well.
 */
function programsOf(words: string[]): string[] {
  // A wrapper missing is as much the verify's own as its program (`timeout: not found`).
  const wrappers: string[] = []
  let wrapper: Wrapper | undefined
  let skip = 0
  for (let i = 0; i < words.length; i++) {
    const word = words[i]!
    if (isAssignment(word) || COMMAND_PREFIXES.has(word)) continue
    if (wrapper && word.startsWith('-')) {
      i += wrapper.options[word] ?? 0
      continue
    }
    if (skip > 0) {
      skip--
      continue
    }
    if (Object.hasOwn(WRAPPERS, word)) {
      wrapper = WRAPPERS[word]!
      if (!wrapper.builtin) wrappers.push(word)
      skip = wrapper.operands ?? 0
      continue
    }
    const base = word.slice(word.lastIndexOf('/') + 1)
    if (SHELLS.has(base)) {
      const script = words.findIndex((w, at) => at > i && /^-[a-z]*c[a-z]*$/.test(w))
      if (script >= 0 && words[script + 1] !== undefined) {
        return [...wrappers, word, ...verifyPrograms(words[script + 1]!)]
      }
    }
    return [...wrappers, word]
  }
  return wrappers
}

/**
 * Whether the program a shell could not run is one the verify names itself (`pytest` of
 * `pytest -q`), by the word as written, or by its file name when the shell names a path
 * (`/usr/bin/pytest`), rather than one a script inside it runs (`vitest` inside `npm test`).
 */
export function namesProgram(command: string, program: string): boolean {
  const base = (path: string): string => path.slice(path.lastIndexOf('/') + 1)
  return verifyPrograms(command).some(
    (own) => own === program || (program.includes('/') && base(program) === base(own)),
  )
}
