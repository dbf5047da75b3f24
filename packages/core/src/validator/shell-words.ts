/** What ends a simple command: an operator between commands, or a parenthesis of a subshell. */
export type CommandEnd = '&&' | '||' | ';' | '|' | '&' | '\n' | '(' | ')'

/** One simple command of a command line: its words and what follows it. */
export interface SimpleCommand {
  /** Its words as the shell passes them on: quotes and escapes removed (`"a b"` → `a b`). */
  words: string[]
  /** The same words as written, quotes and escapes kept (`"a b"`). */
  raw: string[]
  /** The operator after it; undefined at the end of the line or of a substitution. */
  end?: CommandEnd
  /**
   * Set when it holds what this reading does not follow: a command substitution in a word
   * (`$(…)` or backquotes, whose commands come after it in the list), or an unclosed quote.
   */
  unsure?: true
}

/**
 * The simple commands of a command line, in the order they start, split as `sh` splits them:
 * on `&&`, `||`, `;`, `|`, `&`, newlines and parentheses outside quotes, not on the `&` and `|` of
 * a redirection (`2>&1`, `&>log`, `>|out`). Quotes and backslashes escape, a backslash before a
 * newline joins the lines, a `#` that starts a word comments out the rest of its line. Empty
 * commands are kept (`a && && b`, a trailing `;`), for a reader that must refuse them. Not followed:
 * substitutions inside double quotes, here-documents, `case` patterns, aliases.
 */
export function simpleCommands(line: string): SimpleCommand[] {
  const commands: SimpleCommand[] = []
  scan(line, 0, undefined, commands)
  return commands
}

/**
 * Reads simple commands from `start` into `commands`, up to the end of the line or to `close`,
 * the end of a command substitution: where it stopped, past the closer.
 */
function scan(line: string, start: number, close: ')' | '`' | undefined, commands: SimpleCommand[]): number {
  let command: SimpleCommand = { words: [], raw: [] }
  commands.push(command)
  // The word under way: as the shell passes it, and where it starts in the line (-1: none).
  let word = ''
  let from = -1
  let quote: string | undefined
  // Subshell parentheses open inside this substitution: its own `)` closes them first.
  let depth = 0
  const endWord = (at: number): void => {
    if (from >= 0) {
      command.words.push(word)
      command.raw.push(line.slice(from, at))
    }
    word = ''
    from = -1
  }
  const endCommand = (at: number, end: CommandEnd): void => {
    endWord(at)
    command.end = end
    command = { words: [], raw: [] }
    commands.push(command)
  }
  for (let i = start; i < line.length; i++) {
    const c = line[i]!
    if (quote) {
      if (c === quote) quote = undefined
      else if (c === '\\' && quote === '"' && i + 1 < line.length) word += line[++i]
      else word += c
      continue
    }
    if (from < 0 && c === '#') {
      while (i + 1 < line.length && line[i + 1] !== '\n') i++
      continue
    }
    if (c === '\\' && line[i + 1] === '\n') {
      i++
      continue
    }
    if (close === c && (c === '`' || depth === 0)) {
      endWord(i)
      return i + 1
    }
    const substitution = c === '`' ? 1 : c === '$' && line[i + 1] === '(' ? 2 : 0
    if (substitution > 0) {
      if (from < 0) from = i
      command.unsure = true
      const past = scan(line, i + substitution, substitution === 1 ? '`' : ')', commands)
      word += line.slice(i, past)
      i = past - 1
      continue
    }
    const next = line[i + 1]
    const end: CommandEnd | undefined =
      (c === '&' || c === '|') && next === c
        ? (`${c}${c}` as '&&' | '||')
        : // A redirection's `&` or `|` (`2>&1`, `&>log`, `>|out`) is part of its word.
          (c === '&' && (line[i - 1] === '>' || line[i - 1] === '<' || next === '>')) ||
            (c === '|' && line[i - 1] === '>')
          ? undefined
          : c === ';' || c === '&' || c === '|' || c === '(' || c === ')' || c === '\n'
            ? c
            : undefined
    if (end) {
      if (end === '(') depth++
      if (end === ')' && depth > 0) depth--
      endCommand(i, end)
      i += end.length - 1
    } else if (/\s/.test(c)) {
      endWord(i)
    } else {
      if (from < 0) from = i
      if (c === "'" || c === '"') quote = c
      else if (c === '\\' && i + 1 < line.length) word += line[++i]
      else word += c
    }
  }
  if (quote) command.unsure = true
  endWord(line.length)
  return line.length
}

/** Reserved words that may come before a simple command's program: the program is after them. */
export const COMMAND_PREFIXES = new Set(['!', '{', 'if', 'then', 'else', 'elif', 'while', 'until', 'do'])

/** Every reserved word (and bash's): a command that starts with one is compound, not simple. */
export const KEYWORDS = new Set([
  ...COMMAND_PREFIXES,
  '}',
  'fi',
  'for',
  'in',
  'done',
  'case',
  'esac',
  'select',
  'function',
  '[[',
  ']]',
  'coproc',
])

/** A program that runs the program named after it, past its options and words of its own. */
export interface Wrapper {
  /** Its options that take values, with how many; any other option takes none. */
  options: Record<string, number>
  /** How many words past its options are its own (timeout's duration) before the program. */
  operands?: number
  /**
   * The options with which the program it runs is surely looked up on the caller's PATH, where
   * the caller runs, and surely run. Absent when that is never sure: sudo has a PATH of its own,
   * xargs may run nothing.
   */
  samePath?: string[]
  /** A builtin of every shell: never a program the shell could not find. */
  builtin?: true
}

/** Wrappers: what runs past them is a program the command runs as well. */
export const WRAPPERS: Record<string, Wrapper> = {
  env: { options: { '-u': 1, '--unset': 1, '-C': 1, '--chdir': 1, '-S': 1, '--split-string': 1 }, samePath: [] },
  exec: { options: { '-a': 1 }, samePath: [], builtin: true },
  command: { options: {}, samePath: [], builtin: true },
  time: { options: { '-f': 1, '--format': 1, '-o': 1, '--output': 1 }, samePath: ['-p'] },
  nice: { options: { '-n': 1, '--adjustment': 1 }, samePath: ['-n', '--adjustment'] },
  nohup: { options: {}, samePath: [] },
  sudo: { options: { '-u': 1, '--user': 1, '-g': 1, '--group': 1, '-C': 1, '-D': 1, '--chdir': 1 } },
  xargs: { options: { '-I': 1, '-n': 1, '-P': 1, '-L': 1, '-d': 1, '-E': 1, '-s': 1, '-a': 1 } },
  timeout: {
    options: { '-s': 1, '--signal': 1, '-k': 1, '--kill-after': 1 },
    operands: 1,
    samePath: ['-s', '--signal', '-k', '--kill-after', '--preserve-status', '--foreground', '-v', '--verbose'],
  },
}

/** Whether a word assigns a variable (`CI=1`) rather than naming a program. */
export const isAssignment = (word: string): boolean => /^[A-Za-z_][A-Za-z0-9_]*=/.test(word)
