/**
 * A fast reader for the front matter most task files have: `key: value` lines, one level of
 * nested `key: value` (as `completion:` has), block lists (`- a`) and one-line flow lists
 * (`[a, b]`) of scalars. It gives exactly what `yaml`'s `parseDocument(text).toJS()` gives
 * (YAML 1.2, core schema), or `undefined` for anything else: any construct it does not read,
 * any value it is not sure how `yaml` would resolve, anything `yaml` would report. Then the
 * caller parses with `yaml`, which stays the authority; this only skips its document model for
 * the files that need none. Reading 10,000 files with `yaml` took ~0.6 s of a first start.
 *
 * `plain-yaml.test.ts` checks it against `yaml` over generated and mutated front matter.
 */

/** Keys Tanuki writes back: their values must be scalars for the file to stay writable. */
const WRITTEN = new Set(['status', 'assigned_to', 'started_at', 'completed_at', 'failure', 'iterations'])

/** A mapping key this reader takes: an identifier, then `:` and a space or the line's end. */
const KEY = /^([A-Za-z_][A-Za-z0-9_-]*):(?: +|$)/

/**
 * A character this reader leaves to `yaml`: not printable, a tab, a BOM, a line separator, a
 * lone surrogate (a pair is one printable character).
 */
const UNSAFE =
  /[^\n\x20-\x7e\u00a0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\ud800-\udfff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/

/** Plain scalars `yaml`'s core schema resolves to something other than a string. */
const NOT_A_STRING = /^(?:~|[Nn]ull|NULL|[Tt]rue|TRUE|[Ff]alse|FALSE)$/

/** A decimal integer this reader resolves itself; other numbers go to `yaml`. */
const INTEGER = /^(?:0|[1-9][0-9]{0,14})$/

/** Marks what this reader does not read. */
const NO = Symbol('not plain')

/**
 * The value of a front matter written in the plain subset, or `undefined` when it is not (or
 * when `yaml` would read it differently or report a problem): then parse it with `yaml`.
 */
export function readPlainYaml(text: string): Record<string, unknown> | undefined {
  const crlf = text.includes('\r')
  if (UNSAFE.test(crlf ? text.replaceAll('\r\n', '\n') : text)) return undefined
  const lines = crlf ? text.split(/\r?\n/) : text.split('\n')
  const top: Record<string, unknown> = {}
  const keys = new Set<string>()
  let indent = -1
  let i = 0
  while (i < lines.length) {
    const line = lines[i]!
    const at = indentOf(line)
    if (at === line.length || line[at] === '#') {
      i++
      continue
    }
    if (indent === -1) indent = at
    if (at !== indent) return undefined
    const key = KEY.exec(line.slice(at))
    if (!key || keys.has(key[1]!) || key[1] === '__proto__') return undefined
    keys.add(key[1]!)
    const rest = line.slice(at + key[0].length)
    i++
    if (rest !== '' && rest[0] !== '#') {
      const value = rest[0] === '[' ? flowList(rest) : scalar(rest)
      if (value === NO || (Array.isArray(value) && WRITTEN.has(key[1]!))) return undefined
      // A deeper line after a value continues it (a multi-line scalar): not plain.
      const next = nextContent(lines, i)
      if (next !== undefined && indentOf(lines[next]!) > indent) return undefined
      top[key[1]!] = value
      continue
    }
    // `key:` alone: null, or a nested block on the lines after it.
    const next = nextContent(lines, i)
    const nested = next === undefined ? -1 : indentOf(lines[next]!)
    const list = next !== undefined && nested >= indent && lines[next]!.startsWith('-', nested)
    if (next === undefined || (nested <= indent && !list)) {
      top[key[1]!] = null
      continue
    }
    if (WRITTEN.has(key[1]!)) return undefined
    const block = list ? blockList(lines, next, nested) : blockMap(lines, next, nested)
    if (!block) return undefined
    top[key[1]!] = block.value
    i = block.end
  }
  return indent === -1 ? undefined : top
}

function indentOf(line: string): number {
  let at = 0
  while (line.charCodeAt(at) === 32) at++
  return at
}

/** The index of the next line with content (not blank, not a comment), from `from` on. */
function nextContent(lines: readonly string[], from: number): number | undefined {
  for (let i = from; i < lines.length; i++) {
    const line = lines[i]!
    const at = indentOf(line)
    if (at < line.length && line[at] !== '#') return i
  }
  return undefined
}

/** `- a` items at one indent; ends at the first content line that is not one. */
function blockList(
  lines: readonly string[],
  from: number,
  indent: number,
): { value: unknown[]; end: number } | undefined {
  const value: unknown[] = []
  let i = from
  for (; i < lines.length; i++) {
    const line = lines[i]!
    const at = indentOf(line)
    if (at === line.length || line[at] === '#') continue
    if (at !== indent || !line.startsWith('-', at)) break
    const item = line.slice(at + 1)
    if (!item.startsWith(' ')) return undefined
    const parsed = scalar(item.slice(indentOf(item)))
    if (parsed === NO) return undefined
    value.push(parsed)
  }
  // What follows must be shallower than the items (or the next top-level key beside a list at the
  // key's own indent, which the caller checks).
  return i < lines.length && indentOf(lines[i]!) > indent ? undefined : { value, end: i }
}

/** `key: value` lines at one indent; ends at the first shallower content line. */
function blockMap(
  lines: readonly string[],
  from: number,
  indent: number,
): { value: Record<string, unknown>; end: number } | undefined {
  const value: Record<string, unknown> = {}
  let i = from
  for (; i < lines.length; i++) {
    const line = lines[i]!
    const at = indentOf(line)
    if (at === line.length || line[at] === '#') continue
    if (at < indent) break
    if (at > indent) return undefined
    const key = KEY.exec(line.slice(at))
    if (!key || key[1]! in value || key[1] === '__proto__') return undefined
    const rest = line.slice(at + key[0].length)
    const parsed = rest === '' || rest[0] === '#' ? null : rest[0] === '[' ? flowList(rest) : scalar(rest)
    if (parsed === NO) return undefined
    value[key[1]!] = parsed
  }
  return { value, end: i }
}

/** What may follow a value on its line: spaces, then a comment after at least one space. */
function endsClean(rest: string): boolean {
  const at = indentOf(rest)
  return at === rest.length || (at > 0 && rest[at] === '#')
}

/** A one-line scalar value (plain, single- or double-quoted), trailing comment allowed. */
function scalar(text: string): unknown {
  const first = text[0]
  if (first === '"') {
    const close = closingDoubleQuote(text)
    if (close === -1 || !endsClean(text.slice(close + 1))) return NO
    try {
      // JSON's escapes mean the same in YAML; YAML's others (\x, \e, \N…) make JSON throw.
      return JSON.parse(text.slice(0, close + 1)) as string
    } catch {
      return NO
    }
  }
  if (first === "'") {
    let at = 1
    for (;;) {
      const quote = text.indexOf("'", at)
      if (quote === -1) return NO
      if (text[quote + 1] === "'") at = quote + 2
      else {
        if (!endsClean(text.slice(quote + 1))) return NO
        return text.slice(1, quote).replaceAll("''", "'")
      }
    }
  }
  const comment = text.indexOf(' #')
  let plain = comment === -1 ? text : text.slice(0, comment)
  plain = plain.slice(0, plain.length - trailingSpaces(plain))
  return plainScalar(plain, false)
}

function trailingSpaces(text: string): number {
  let n = 0
  while (text.charCodeAt(text.length - 1 - n) === 32) n++
  return n
}

/** Resolves a plain scalar, or NO when it might not be a plain string or small integer. */
function plainScalar(text: string, flow: boolean): unknown {
  if (text === '') return NO
  if (INTEGER.test(text)) return Number(text)
  // Starts like a string: a letter, `_` or `/`, or any non-ASCII character.
  const code = text.charCodeAt(0)
  const starts = (code >= 65 && code <= 90) || (code >= 97 && code <= 122) || code === 95 || code === 47 || code >= 0xa0
  if (!starts || NOT_A_STRING.test(text)) return NO
  // `: ` or a final `:` would make a mapping; in a flow list `,[]{}` and `:` have meanings too.
  if (text.includes(': ') || text.endsWith(':')) return NO
  if (flow && /[,[\]{}:#"']/.test(text)) return NO
  return text
}

/** The index of the `"` that closes a double-quoted scalar starting at 0, or -1. */
function closingDoubleQuote(text: string): number {
  for (let i = 1; i < text.length; i++) {
    const c = text[i]
    if (c === '\\') i++
    else if (c === '"') return i
  }
  return -1
}

/** `[a, b]` on one line, of plain strings and small integers. */
function flowList(text: string): unknown[] | typeof NO {
  const close = text.indexOf(']')
  if (close === -1 || !endsClean(text.slice(close + 1))) return NO
  const inner = text.slice(1, close)
  if (inner.trim() === '') return inner === '' || /^ +$/.test(inner) ? [] : NO
  const items: unknown[] = []
  for (const raw of inner.split(',')) {
    const at = indentOf(raw)
    const item = raw.slice(at, raw.length - trailingSpaces(raw))
    const value = plainScalar(item, true)
    if (value === NO) return NO
    items.push(value)
  }
  return items
}
