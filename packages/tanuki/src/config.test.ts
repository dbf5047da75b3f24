import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { isTanukiError, type TanukiError } from '@tanuki/core'
import { loadConfig } from './config.ts'

const dirs: string[] = []
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

function projectWith(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'tanuki-config-'))
  dirs.push(root)
  for (const [name, text] of Object.entries(files)) writeFileSync(join(root, name), text)
  return root
}

async function loadError(root: string): Promise<Error> {
  try {
    await loadConfig(root)
  } catch (error) {
    expect(isTanukiError(error, 'TANUKI_CONFIG_INVALID'), String(error)).toBe(true)
    return error as Error
  }
  throw new Error('the config loaded, but it should have been refused')
}

describe('loadConfig', () => {
  const typed = `import { defineConfig } from 'tanuki'
const count: number = 3
export default defineConfig({ name: 'from-FILE', cooldownMs: 250, agents: { backend: { count, kind: 'shell' } } })
`
  const plain = `import { defineConfig } from 'tanuki'
export default defineConfig({ name: 'from-FILE', cooldownMs: 250, agents: { backend: { count: 3, kind: 'shell' } } })
`
  it.each([
    ['tanuki.config.ts', typed],
    ['tanuki.config.mts', typed],
    ['tanuki.config.js', plain],
    ['tanuki.config.mjs', plain],
  ])('loads %s', async (file, text) => {
    const root = projectWith({ [file]: text.replace('FILE', file) })
    const config = await loadConfig(root)
    expect(config.file).toBe(file)
    expect(config.user.name).toBe(`from-${file}`)
    expect(config.resolved.cooldownMs).toBe(250)
    expect(config.resolved.agents.backend).toMatchObject({ count: 3 })
  })

  it('refuses two config files, naming both and the one that would be read', async () => {
    // Only one is read: the other's settings (its agents) would be gone without a word.
    const root = projectWith({
      'tanuki.config.mjs': "export default { name: 'mjs' }\n",
      'tanuki.config.ts': "export default { name: 'ts' }\n",
    })
    const error = await loadConfig(root).catch((caught: unknown) => caught)
    expect(error).toMatchObject({
      code: 'TANUKI_CONFIG_INVALID',
      details: { files: ['tanuki.config.ts', 'tanuki.config.mjs'] },
    })
    expect((error as Error).message).toContain('tanuki.config.ts and tanuki.config.mjs are both in ')
    expect((error as Error).message).toContain('Tanuki reads only one: tanuki.config.ts')
  })

  it('no file means defaults', async () => {
    const root = projectWith({})
    const config = await loadConfig(root)
    expect(config.file).toBeUndefined()
    expect(config.user).toEqual({})
    expect(config.resolved.cooldownMs).toBeGreaterThanOrEqual(0)
    expect(config.resolved.tasks).toEqual([])
  })

  it('a syntax error names the file, its line and column, shows the line and says what to do', async () => {
    const text = [
      "import { defineConfig } from 'tanuki'",
      'export default defineConfig({',
      '  agents: {',
      "    web: { kind: 'shell' }",
      '    qa: { count: 1 },',
      '  },',
      '})',
      '',
    ].join('\n')
    const error = (await loadError(projectWith({ 'tanuki.config.ts': text }))) as TanukiError
    expect(error.message).toBe(
      [
        'tanuki.config.ts:5:5: syntax error at line 5, column 5: Unexpected token, expected ",". ' +
          'Fix it there or just before (often a missing or extra comma, bracket or quote).',
        '',
        '  3 |   agents: {',
        "  4 |     web: { kind: 'shell' }",
        '> 5 |     qa: { count: 1 },',
        '    |     ^',
        '  6 |   },',
        '',
      ].join('\n'),
    )
    expect(error.details).toEqual({ file: 'tanuki.config.ts', line: 5, column: 5 })
    expect(error.cause).toBeInstanceOf(Error)
  })

  it.each([
    // A tab is one column, as editors count it, and two spaces in the frame: the caret follows.
    ['tanuki.config.mjs', "export default {\n\tname: 'a',,\n}\n", 'tanuki.config.mjs:2:12', `    | ${' '.repeat(12)}^`],
    ['tanuki.config.js', "export default { name: 'a' ", 'tanuki.config.js:1:28', undefined],
  ])('a syntax error in %s is placed too', async (file, text, at, caret) => {
    const error = await loadError(projectWith({ [file]: text }))
    expect(error.message).toMatch(new RegExp(`^${at.replace(/\./g, '\\.')}: syntax error`))
    if (caret) expect(error.message).toContain(`> 2 |   name: 'a',,\n${caret}\n`)
  })

  it('a file that ends before its braces close says so', async () => {
    const error = await loadError(projectWith({ 'tanuki.config.ts': 'export default defineConfig({ agents: { \n' }))
    expect(error.message).toMatch(/^tanuki\.config\.ts:2:1: syntax error at the end of the file \(line 2\): /)
    expect(error.message).toContain('Something opened is never closed')
  })

  it('a syntax error in a file the config imports names that file', async () => {
    const root = projectWith({
      'tanuki.config.ts': "import { agents } from './agents.ts'\nexport default { agents }\n",
      'agents.ts': "export const agents = {\n  web: { kind: 'shell' ]\n}\n",
    })
    const error = await loadError(root)
    expect(error.message).toMatch(/^agents\.ts:2:24: syntax error at line 2, column 24: /)
    expect((error as TanukiError).details).toMatchObject({ file: 'agents.ts', config: 'tanuki.config.ts' })
  })

  it('an error thrown while the config runs names its line in the config, and shows it', async () => {
    const text =
      "import { defineConfig } from 'tanuki'\nconst env: any = undefined\n\nexport default defineConfig({\n  name: env.NAME,\n})\n"
    const error = await loadError(projectWith({ 'tanuki.config.ts': text }))
    expect(error.message).toBe(
      [
        "tanuki.config.ts:5: could not be loaded: TypeError: Cannot read properties of undefined (reading 'NAME') (at line 5). " +
          'Fix the code there: the config must `export default defineConfig({ ... })`.',
        '',
        '  3 |',
        '  4 | export default defineConfig({',
        '> 5 |   name: env.NAME,',
        '  6 | })',
        '',
      ].join('\n'),
    )
  })

  it('an error thrown in a function the config calls names the line of the config where it was thrown', async () => {
    const text =
      "function agents(): never {\n  throw new Error('no agents here')\n}\nexport default { agents: agents() }\n"
    const error = await loadError(projectWith({ 'tanuki.config.ts': text }))
    expect(error.message).toMatch(/^tanuki\.config\.ts:2: could not be loaded: no agents here \(at line 2\)/)
    expect(error.message).toContain("> 2 |   throw new Error('no agents here')")
  })

  it('an invalid role count names the file and the key', async () => {
    const root = projectWith({ 'tanuki.config.mjs': 'export default { agents: { backend: { count: -1 } } }\n' })
    const error = await loadError(root)
    expect(error.message).toContain('tanuki.config.mjs')
    expect(error.message).toContain('agents.backend.count')
  })

  it('a cooldownMs that is not a number names the file and the key', async () => {
    const root = projectWith({ 'tanuki.config.ts': "export default { cooldownMs: 'x' }\n" })
    const error = await loadError(root)
    expect(error.message).toContain('tanuki.config.ts')
    expect(error.message).toContain('cooldownMs')
  })

  it.each([
    ['tanuki.config.ts', 'export const agents = {}\n', 'has no default export (it exports agents)'],
    ['tanuki.config.ts', '', 'exports nothing'],
    ['tanuki.config.ts', 'export default undefined\n', 'exports nothing'],
    ['tanuki.config.mjs', 'export default 42\n', 'exports a number (42), not a config'],
    ['tanuki.config.ts', "export default 'agents'\n", 'exports a string ("agents"), not a config'],
    ['tanuki.config.ts', 'export default null\n', 'exports null, not a config'],
    ['tanuki.config.ts', 'export default [1]\n', 'exports a list, not a config'],
  ])('%s containing %j is refused: %s', async (file, text, words) => {
    const error = await loadError(projectWith({ [file]: text }))
    expect(error.message).toMatch(new RegExp(`^${file.replace(/\./g, '\\.')}: `))
    expect(error.message).toContain(words)
  })

  it('an unknown key names the file, the key and the one it most likely meant', async () => {
    const root = projectWith({ 'tanuki.config.ts': "export default { agnets: { web: { kind: 'shell' } } }\n" })
    const error = await loadError(root)
    expect(error.message).toContain(
      'tanuki.config.ts: config key "agnets" is not a config key (did you mean "agents"?)',
    )
  })

  it('every problem is listed, each with the file', async () => {
    const root = projectWith({
      'tanuki.config.mjs': 'export default { iterationTimeoutMs: 0, agents: { web: { count: -1 } } }\n',
    })
    const error = (await loadError(root)) as Error & { details: { problems: string[] } }
    expect(error.details.problems).toEqual([
      'tanuki.config.mjs: config key "agents.web.count" must be a whole number ≥ 0, got -1',
      'tanuki.config.mjs: config key "iterationTimeoutMs" must be a number of milliseconds > 0, got 0',
    ])
  })

  it('a config that exports a function is called for its config', async () => {
    const root = projectWith({ 'tanuki.config.mjs': "export default () => ({ name: 'made' })\n" })
    expect((await loadConfig(root)).resolved.name).toBe('made')
  })

  it('a config that throws while loading names the file', async () => {
    const root = projectWith({ 'tanuki.config.js': "throw new Error('boom from config')\n" })
    const error = await loadError(root)
    expect(error.message).toContain('tanuki.config.js')
    expect(error.message).toContain('boom from config')
  })
})
