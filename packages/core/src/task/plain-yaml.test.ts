import { describe, expect, it } from 'vitest'
import { parseDocument } from 'yaml'
import { errorMessage } from '../errors.ts'
import { parseTask, parseTaskWithYaml, updateTaskPlainly, updateTaskWithYaml } from './parse.ts'
import type { TaskPatch } from './types.ts'
import { readPlainYaml } from './plain-yaml.ts'

/** A small seeded generator (mulberry32), so a failure comes back with the same seed. */
function random(seed: number): () => number {
  let a = seed
  return () => {
    a = (a + 0x6d2b79f5) | 0
    let t = Math.imul(a ^ (a >>> 15), 1 | a)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/**
 * Plain data as text that keeps every type and the order of keys (vitest's equality takes a
 * `constructor` key for the object's class).
 */
const typed = (value: unknown): string =>
  JSON.stringify(value, (_, x: unknown) => (typeof x === 'string' ? `s:${x}` : typeof x === 'number' ? `n:${x}` : x))

/** What yaml reads, or undefined when yaml reports a problem. */
function viaYaml(text: string): unknown {
  const doc = parseDocument(text, { prettyErrors: false, uniqueKeys: true })
  return doc.errors.length > 0 ? undefined : doc.toJS()
}

describe('readPlainYaml', () => {
  it('reads the front matter Tanuki writes and the README shows', () => {
    const mirrored =
      'id: T-00001\ntitle: Trivial 1\ncompletion:\n  signal: DONE\n  max_iterations: 3\nstatus: complete\n' +
      'assigned_to: default-1\nstarted_at: "2026-11-30T08:32:21.949Z"\ncompleted_at: "2026-11-30T08:32:22.024Z"\niterations: 1\n'
    expect(readPlainYaml(mirrored)).toStrictEqual({
      id: 'T-00001',
      title: 'Trivial 1',
      completion: { signal: 'DONE', max_iterations: 3 },
      status: 'complete',
      assigned_to: 'default-1',
      started_at: '2026-11-30T08:32:21.949Z',
      completed_at: '2026-11-30T08:32:22.024Z',
      iterations: 1,
    })
    const written = [
      '# A person wrote this one.',
      'id: login-form',
      "title: 'Build the login form: it''s first'",
      'role: frontend   # the UI agents',
      'priority: high',
      'depends_on:',
      '- api-auth',
      '- design/tokens',
      'tags: [ui, auth]',
      'completion:',
      '    verify: npm test -- login',
      '',
      '    max_iterations: 5',
      'owner: "Ada \\u00e9"',
      'empty:',
      '',
    ].join('\r\n')
    expect(readPlainYaml(written)).toStrictEqual(viaYaml(written))
    expect(readPlainYaml(written)).toMatchObject({
      title: "Build the login form: it's first",
      role: 'frontend',
      depends_on: ['api-auth', 'design/tokens'],
      tags: ['ui', 'auth'],
      completion: { verify: 'npm test -- login', max_iterations: 5 },
      owner: 'Ada é',
      empty: null,
    })
    expect(readPlainYaml('  id: a\n  title: Indented\n  tags:\n    - x\n')).toStrictEqual({
      id: 'a',
      title: 'Indented',
      tags: ['x'],
    })
  })

  it('leaves to yaml what it does not read, or might read differently', () => {
    const others = [
      'id: a\ntitle: |\n  block\n',
      'id: &x a\nalias: *x\n',
      'id: !!str 1\n',
      'id: a\ntitle: two\n  lines\n',
      '{ id: a, title: b }\n',
      'id: a\nid: b\n',
      'priority: 1.5\n',
      'assigned_to: null\n',
      'done: true\n',
      'id: 007\n',
      'id: -3\n',
      'title: a: b\n',
      'title: ends:\n',
      'title: "a"#c\n',
      'title: "\\x41"\n',
      'title: "open\n',
      'id:\ttab\n',
      'status:\n  - complete\n',
      'status: [a]\n',
      'completion:\n  verify:\n    deeper: x\n',
      'tags: [a, [b]]\n',
      'tags: [a, "b"]\n',
      'tags: [a,]\n',
      '__proto__: x\n',
      '%YAML 1.1\n',
      '# only a comment\n',
      '',
      'id: a\n...\n',
      'title: \u2028\n',
      'title: \ud800\n',
    ]
    for (const text of others) expect(readPlainYaml(text), JSON.stringify(text)).toBeUndefined()
  })

  it('agrees with yaml on 20,000 generated front matters, and their mutations', () => {
    const next = random(12)
    const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!
    const keys = ['id', 'title', 'role', 'priority', 'status', 'depends_on', 'tags', 'completion', 'assigned_to']
    const oddKeys = ['x-y', '_k', '__proto__', 'constructor', 'Key With Space', '"quoted"', 'a.b', '1abc', 'id']
    const values = [
      ...['T-00001', 'Trivial 1', 'dev', 'Fix the login bug', 'C#', 'a:b', 'http://x.y/z?q=1#f', 'naïve café'],
      ...['日本語', 'emoji 🦝', 'a - b', 'with [brackets]', 'with {braces}', "it's", 'say "hi"', '/usr/bin/env'],
      ...['_under', 'yes', 'no', 'on', 'off', 'Null', 'null', 'NULL', 'nULL', 'true', 'True', 'TRUE', 'tRUE'],
      ...['false', '~', '', ' ', 'value # comment', 'value#notcomment', 'key: value', 'ends:', '-dash', '- item'],
      ...['? q', '&anchor', '*alias', '!tag x', '!!str 1', '|', '>', '%x', '@x', '`x', '0', '7', '007', '12', '-3'],
      ...['+3', '1.5', '.5', '1e3', '0x1F', '0o17', '.inf', '-.inf', '.nan', '123456789012345', '12345678901234567'],
      ...['2026-11-30', '2026-11-30T08:32:21.949Z', 'a,b', "'quoted'", "'it''s'", "''", '""', '"dq"', '"a\\"b"'],
      ...['"esc \\n \\" \\u00e9 \\/"', '"\\x41"', '"\\ud83e\\udd9d"', '"\\ud800"', '"bad', "'bad", '"a" # c', '"a"#c'],
      ...["'a' x", '[a, b]', '[]', '[ ]', '[a,]', '[a, [b]]', '[a, "b"]', '[1, 2]', '[a: b]', '[a b, c]', '[a] x'],
      ...['{a: 1}', 'x\ty', 'a\u00a0b', '\u00a0lead', 'trail  ', 'a  #  c', 'a # c # d', 'end\\', 'x\u0085y'],
    ]
    // Most values in real files are of the kinds read without yaml.
    const usual = ['T-00001', 'Trivial 1', 'dev', 'C#', 'a:b', 'naïve café', '12', "'it''s'", '"dq"', '[a, b]']
    const value = (): string => (next() < 0.5 ? pick(usual) : pick(values))
    const scalarLine = (indent: string, key: string): string => `${indent}${key}: ${value()}`
    function generate(): string {
      const base = next() < 0.8 ? '' : '  '
      const lines: string[] = []
      const count = 1 + Math.floor(next() * 7)
      for (let i = 0; i < count; i++) {
        const key = next() < 0.9 ? pick(keys) : pick(oddKeys)
        const shape = next()
        if (shape < 0.55) lines.push(scalarLine(base, key))
        else if (shape < 0.7) {
          lines.push(`${base}${key}:${next() < 0.2 ? ' # nested' : ''}`)
          const inner = base + pick(['  ', '    ', ' '])
          for (let j = 0, n = Math.floor(next() * 4); j < n; j++) {
            lines.push(
              next() < 0.9
                ? scalarLine(inner, pick(['verify', 'signal', 'max_iterations', 'x']))
                : `${inner}  deeper: 1`,
            )
          }
        } else if (shape < 0.85) {
          lines.push(`${base}${key}:`)
          const inner = base + pick(['', '  ', '    '])
          for (let j = 0, n = Math.floor(next() * 4); j < n; j++) lines.push(`${inner}- ${value()}`)
        } else if (shape < 0.92) lines.push(pick(['', '# comment', `${base}  # indented comment`, '   ']))
        else lines.push(`${base}  ${value()}`)
      }
      const text = `${lines.join('\n')}\n`
      return next() < 0.1 ? text.replaceAll('\n', '\r\n') : text
    }
    const mutations = [
      ':',
      '#',
      '-',
      "'",
      '"',
      '[',
      ']',
      '{',
      '}',
      ',',
      '&',
      '*',
      '!',
      '|',
      '>',
      '%',
      ' ',
      '\t',
      '\n',
      '\\',
    ]
    function mutate(text: string): string {
      const at = Math.floor(next() * (text.length + 1))
      const kind = next()
      if (kind < 0.5) return text.slice(0, at) + pick(mutations) + text.slice(at)
      if (kind < 0.8) return text.slice(0, at) + text.slice(at + 1)
      return text.slice(0, at) + pick(['  ', '\n  ', '\n- ', ': ']) + text.slice(at)
    }

    let read = 0
    let checked = 0
    for (let i = 0; i < 20_000; i++) {
      const text = generate()
      for (const candidate of [text, mutate(text)]) {
        checked++
        const plain = readPlainYaml(candidate)
        if (plain === undefined) continue
        read++
        const yaml = viaYaml(candidate)
        expect(yaml, `yaml reports a problem in ${JSON.stringify(candidate)}`).toBeDefined()
        expect(typed(plain), JSON.stringify(candidate)).toBe(typed(yaml))
      }
    }
    expect(checked).toBe(40_000)
    // Not a check that passes by reading nothing: a good part of it is read without yaml.
    expect(read).toBeGreaterThan(4_000)
  })

  it('gives the same task, or the same error, as yaml alone', () => {
    const files = [
      '---\nid: a\ntitle: A\ncompletion:\n  signal: DONE\n---\nbody\n',
      '---\nid: a\ntitle: A\npriority: urgent\ncompletion:\n  verify: make\n---\n',
      '---\nid: a\ntitle: A\ndepends_on: [a]\ncompletion:\n  verify: make\n---\n',
      '---\nid: a\ntitle: A\ncompletion:\n  max_iterations: 0\n---\n',
      '---\nid: a\ncompletion:\n  verify: make\n---\n',
      '---\nid: b\ntitle: B\ndepends_on:\n- a\nextra_field: kept\ntags: [x, 2]\ncompletion:\n  verify: make\n---\n# B\n',
      '---\nid: a\ntitle: A\nstatus: done\ncompletion:\n  verify: make\n---\n',
    ]
    for (const file of files) {
      const outcome = (parse: typeof parseTask): unknown => {
        try {
          return parse(file, 'tasks/a.md')
        } catch (error) {
          return `error: ${errorMessage(error)}`
        }
      }
      expect(readPlainYaml(file.split('---\n')[1]!), file).toBeDefined()
      expect(outcome(parseTask), file).toStrictEqual(outcome(parseTaskWithYaml))
    }
  })

  it("updates plain front matter as yaml's ranges do, byte for byte", () => {
    const next = random(5)
    const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!
    const lines = [
      'id: T-1',
      'title: Trivial 1',
      "title: 'it''s: quoted'",
      'role: dev   ',
      'depends_on: [a, b]',
      'depends_on:\n- a\n- b',
      'completion:\n  signal: DONE\n  max_iterations: 3',
      'status: pending',
      'status: pending  ',
      'completion:\n  status: nested',
      'status:',
      'status:   ',
      'status: "in_progress"',
      'status: review # a comment',
      'assigned_to: dev-1',
      "started_at: '2026-11-30T08:32:21.949Z'",
      'iterations: 2',
      'failure: "exit 1: it failed"',
      '# a comment line',
      '',
    ]
    const patches: TaskPatch[] = [
      { status: 'complete', completed_at: '2026-11-30T08:32:22.024Z', iterations: 1 },
      { status: 'assigned', assigned_to: 'default-1' },
      { status: 'in_progress', started_at: '2026-11-30T08:32:21.949Z' },
      { status: 'pending', assigned_to: null, started_at: null, completed_at: null, failure: null, iterations: null },
      { status: 'failed', failure: 'exit 1: yes # not a comment' },
      { failure: 'no' },
      { status: 'review', iterations: 12 },
    ]
    let plainly = 0
    for (let i = 0; i < 3_000; i++) {
      const base = next() < 0.85 ? '' : '  '
      const front = Array.from({ length: 1 + Math.floor(next() * 6) }, () => pick(lines))
        .join('\n')
        .split('\n')
        .map((line) => (line === '' ? line : base + line))
      let text = `---\n${front.join('\n')}${next() < 0.9 ? '\n' : ''}---\nThe body.\n`
      if (next() < 0.1) text = text.replaceAll('\n', '\r\n')
      const patch = pick(patches)
      const plain = (() => {
        try {
          return updateTaskPlainly(text, patch)
        } catch (error) {
          return `error: ${errorMessage(error)}`
        }
      })()
      if (plain === undefined) continue
      const yaml = (() => {
        try {
          return updateTaskWithYaml(text, patch)
        } catch (error) {
          return `error: ${errorMessage(error)}`
        }
      })()
      expect(typeof plain === 'string' ? plain : plain.text, JSON.stringify({ text, patch })).toBe(
        typeof yaml === 'string' ? yaml : yaml.text,
      )
      expect(plain, JSON.stringify({ text, patch })).toStrictEqual(yaml)
      plainly++
    }
    // Most of these are done without yaml: the check compares real work.
    expect(plainly).toBeGreaterThan(1_500)
  })
})
