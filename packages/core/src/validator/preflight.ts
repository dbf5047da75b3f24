import type { ExecResult } from '../agent/types.ts'
import { isAssignment, KEYWORDS, type SimpleCommand, simpleCommands, WRAPPERS, type Wrapper } from './shell-words.ts'

/**
 * The programs of a verify command to look for where it will run, before an agent is paid to
 * work on its task: those whose absence makes the verify exit 127 whatever the agent does. Only
 * a plain chain of simple commands joined by `&&` qualifies (with `||`, `;`, `|`, `&`, a newline,
 * parentheses or backquotes, a missing program need not fail it, or what runs cannot be told
 * without a shell): its first command's program, past `VAR=value` assignments and the wrappers
 * `env`, `exec`, `command`, `time`, `nice`, `nohup` and `timeout` (themselves looked for too when
 * they are programs), and past leading `cd DIR &&` the next one's. Not a later command's: the
 * first may install it (`pip install pytest && pytest`) or change PATH (`. .venv/bin/activate`).
 * Nothing for a program the verify names by a path in the workspace (`./run_tests.sh`,
 * `bin/check`): the agent may be the one to write it. Nothing when unsure: an empty list.
 */
export function preflightPrograms(command: string): string[] {
  const commands = andChain(command)
  if (!commands) return []
  const programs: string[] = []
  for (const words of commands) {
    const own = commandPrograms(words)
    if (!own) return []
    // `cd DIR` changes no program's lookup (a PATH entry in the workspace makes a miss unsure
    // anyway): the next command's program is the verify's too.
    if (own.length === 1 && (own[0] === 'cd' || own[0] === 'pushd')) continue
    programs.push(...own.filter((program) => !BUILTINS.has(program)))
    return [...new Set(programs)]
  }
  return []
}

/** Builtins of every shell, never missing: not worth a look. */
const BUILTINS = new Set([
  'cd',
  'pushd',
  'exec',
  'command',
  'exit',
  'true',
  'false',
  'test',
  '[',
  ':',
  'echo',
  'printf',
])
/** A program word that needs no shell to be told: a name, or an absolute path. */
const PLAIN = /^(?:[A-Za-z0-9_][A-Za-z0-9_.+@%,:-]*|\/[A-Za-z0-9_.+@%,:/-]+)$/

/**
 * The simple commands of a plain `&&` chain, as their words (quotes kept as written), or
 * undefined when the string is anything else.
 */
function andChain(command: string): string[][] | undefined {
  const commands: SimpleCommand[] = []
  for (const next of simpleCommands(command)) {
    // A newline after `&&` goes on with the chain, as in sh (`npm ci &&` on a line of its own).
    if (next.raw.length === 0 && next.end === '\n' && commands.at(-1)?.end === '&&') continue
    commands.push(next)
  }
  // Newlines at the end end the verify (a YAML block scalar, `verify: |`, adds one).
  while (commands.length > 1 && commands.at(-1)!.raw.length === 0 && commands.at(-2)!.end === '\n') {
    commands.pop()
    delete commands.at(-1)!.end
  }
  const plain = commands.every(
    ({ raw, end, unsure }, at) =>
      !unsure && raw.length > 0 && (end === '&&' || (end === undefined && at === commands.length - 1)),
  )
  return plain ? commands.map(({ raw }) => raw) : undefined
}

/** A simple command's programs (its wrappers, then what they run), or undefined when unsure. */
function commandPrograms(words: string[]): string[] | undefined {
  const programs: string[] = []
  let wrapper: Wrapper | undefined
  let skip = 0
  for (let i = 0; i < words.length; i++) {
    const word = words[i]!
    if (isAssignment(word)) {
      // Another PATH for this command: where its program is looked for is not the verify's PATH.
      if (word.startsWith('PATH=')) return undefined
      if (wrapper && wrapper !== WRAPPERS.env) return undefined
      continue
    }
    if (wrapper && word.startsWith('-')) {
      // Only options that leave the PATH the program is looked up on, and the program run.
      // A long option may carry its value (`--signal=KILL`).
      const [option, value] = word.split(/=(.*)/s)
      if (!wrapper.samePath?.includes(option!)) return undefined
      if (value === undefined) i += wrapper.options[option!] ?? 0
      continue
    }
    if (skip > 0) {
      skip--
      continue
    }
    if (!PLAIN.test(word) || KEYWORDS.has(word)) return undefined
    // A path relative to where it runs is the workspace's: the agent may be the one to write it.
    if (word.includes('/') && !word.startsWith('/')) return undefined
    programs.push(word)
    // What runs past sudo or xargs is not surely looked up where the verify runs, nor run.
    if (!Object.hasOwn(WRAPPERS, word) || !WRAPPERS[word]!.samePath) return programs
    wrapper = WRAPPERS[word]!
    // timeout's duration comes before its program.
    skip = wrapper.operands ?? 0
  }
  // Assignments alone (they change what the next commands see), or a wrapper with nothing to run.
  return undefined
}

/** The script that looks for a program where a verify runs, with the same shell, PATH and folder. */
export function preflightProbe(program: string): string {
  const quoted = `'${program.replace(/'/g, `'\\''`)}'`
  return (
    `${PROBE_START}${quoted}; ` +
    // Found: where, and whether it is in the workspace (a PATH entry there: not this agent's alone).
    'if q=$(command -v "$p"); then case "$q" in "$PWD"/*|[!/]*/*) echo "$q"; echo \'tanuki-preflight: found here\';; ' +
    '*) echo "$q"; echo \'tanuki-preflight: found\';; esac; exit 0; fi; ' +
    // Not found. Unsure, though, when the workspace may provide it (a PATH entry there, an empty or
    // relative one), or there is such a file that cannot run: the verify's own run tells then.
    'w=; case "$p" in /*) case "$p" in "$PWD"/*) w=1;; esac; [ -e "$p" ] && w=1;; ' +
    '*) case ":$PATH:" in *::*) w=1;; esac; IFS=:; for d in $PATH; do ' +
    'case "$d" in /*) case "$d/" in "$PWD"/*) w=1;; esac;; *) w=1;; esac; [ -e "$d/$p" ] && w=1; done;; esac; ' +
    `if [ -n "$w" ]; then echo 'tanuki-preflight: unsure'; else echo 'tanuki-preflight: missing'; fi; exit 127`
  )
}

const PROBE_START = 'set -f; p='

/**
 * The program a command looks for, when it is a `preflightProbe`: for a backend that answers
 * commands without a shell (the in-memory one of tests).
 */
export function probedProgram(command: string): string | undefined {
  if (!command.startsWith(PROBE_START) || !command.includes('tanuki-preflight')) return undefined
  const quoted = /^'((?:[^']|'\\'')*)';/.exec(command.slice(PROBE_START.length))
  return quoted?.[1]?.replace(/'\\''/g, "'")
}

/**
 * What a probe found: `found` (outside the workspace: so it is for every agent of the role),
 * `found-here` (in this agent's workspace), `missing` (nowhere the verify could find it, nor could
 * the agent make it appear there), or `unsure` (the probe did not run, or the workspace may
 * provide it).
 */
export type ProbeResult = 'found' | 'found-here' | 'missing' | 'unsure'

/** Reads what a `preflightProbe` printed. */
export function readProbe(ran: Pick<ExecResult, 'exitCode' | 'output' | 'timedOut'>): ProbeResult {
  if (ran.timedOut) return 'unsure'
  const said = /tanuki-preflight: (found here|found|missing|unsure)\s*$/.exec(ran.output)?.[1]
  if (said === 'found' && ran.exitCode === 0) return 'found'
  if (said === 'found here' && ran.exitCode === 0) return 'found-here'
  if (said === 'missing' && ran.exitCode === 127) return 'missing'
  return 'unsure'
}

/** What a probe prints for a result: for a backend that answers probes without a shell. */
export function probeOutput(result: 'found' | 'missing', program: string): Pick<ExecResult, 'exitCode' | 'output'> {
  return result === 'found'
    ? { exitCode: 0, output: `/usr/bin/${program}\ntanuki-preflight: found\n` }
    : { exitCode: 127, output: 'tanuki-preflight: missing\n' }
}
