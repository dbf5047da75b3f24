import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { isTanukiError } from '@tanuki/core'
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

  it('prefers tanuki.config.ts when there are several', async () => {
    const root = projectWith({
      'tanuki.config.mjs': "export default { name: 'mjs' }\n",
      'tanuki.config.ts': "export default { name: 'ts' }\n",
    })
    expect((await loadConfig(root)).user.name).toBe('ts')
  })

  it('no file means defaults', async () => {
    const root = projectWith({})
    const config = await loadConfig(root)
    expect(config.file).toBeUndefined()
    expect(config.user).toEqual({})
    expect(config.resolved.cooldownMs).toBeGreaterThanOrEqual(0)
    expect(config.resolved.tasks).toEqual([])
  })

  it('a syntax error names the file', async () => {
    const root = projectWith({ 'tanuki.config.ts': 'export default defineConfig({ agents: { \n' })
    const error = await loadError(root)
    expect(error.message).toMatch(/^tanuki\.config\.ts: /)
    expect(error.message).toContain('could not be loaded')
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
