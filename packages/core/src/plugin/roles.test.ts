import { describe, expect, it } from 'vitest'
import type { AgentBackend, RoleCheck } from '../agent/types.ts'
import { TanukiError, combineErrors } from '../errors.ts'
import { createMemoryBackend } from '../testing/memory-backend.ts'
import { resolveConfig, type UserConfig } from './index.ts'
import { checkRoles } from './roles.ts'

const project = { root: '/work/app', name: 'app', stateDir: '/work/app/.tanuki' }

/** A backend that refuses roles whose `kind` is not `good`, and records what it was asked. */
function picky(name = 'picky'): AgentBackend & { checked: RoleCheck[] } {
  const checked: RoleCheck[] = []
  return {
    ...createMemoryBackend({ name }),
    name,
    checked,
    validateRole(check) {
      checked.push(check)
      if (check.options.kind !== 'good') {
        throw new TanukiError(
          'TANUKI_CONFIG_INVALID',
          `agents.${check.role}: kind ${JSON.stringify(check.options.kind)} is bad`,
        )
      }
    },
  }
}

async function problems(config: UserConfig, backends: AgentBackend[], roles: string[]): Promise<TanukiError[]> {
  return checkRoles({
    config: resolveConfig(config),
    backends: new Map(backends.map((b) => [b.name, b])),
    project,
    roles,
  })
}

describe('checkRoles', () => {
  it('asks each role’s backend to check the role’s options, defaults under the role’s own', async () => {
    const backend = picky()
    const found = await problems(
      { defaults: { kind: 'good', model: 'm' }, agents: { web: { count: 0 }, qa: { kind: 'bad' } } },
      [backend],
      ['web', 'qa', 'docs'],
    )
    expect(backend.checked.map((c) => [c.role, c.options])).toEqual([
      ['web', { kind: 'good', model: 'm', count: 0 }],
      ['qa', { kind: 'bad', model: 'm', count: 1 }],
      ['docs', { kind: 'good', model: 'm', count: 1 }],
    ])
    expect(found.map((e) => e.message)).toEqual(['agents.qa: kind "bad" is bad'])
  })

  it('names a bad option typed in defaults as `defaults.<key>`, once, not as each role’s', async () => {
    const strict: AgentBackend = {
      ...createMemoryBackend({ name: 'strict' }),
      name: 'strict',
      validateRole({ role, options }) {
        if ('modle' in options) {
          const key = `agents.${role}.modle`
          throw new TanukiError('TANUKI_CONFIG_INVALID', `${key} is not an option (did you mean "model"?), got "x"`, {
            details: { key, value: 'x' },
          })
        }
      },
    }
    const found = await problems(
      { defaults: { backend: 'strict', modle: 'x' }, agents: { web: {}, qa: {} } },
      [strict],
      ['web', 'qa'],
    )
    expect(found.map((e) => [e.message, e.details?.key])).toEqual([
      ['defaults.modle is not an option (did you mean "model"?), got "x"', 'defaults.modle'],
    ])
    // Typed in the role itself, it is the role's.
    const own = await problems({ defaults: { backend: 'strict' }, agents: { web: { modle: 'x' } } }, [strict], ['web'])
    expect(own.map((e) => e.message)).toEqual(['agents.web.modle is not an option (did you mean "model"?), got "x"'])
  })

  it('names a backend no plugin registered, with the closest registered one', async () => {
    const found = await problems({ agents: { qa: { backend: 'dokcer' } } }, [picky('docker'), picky('process')], ['qa'])
    expect(found).toHaveLength(1)
    expect(found[0]!.code).toBe('TANUKI_BACKEND_UNKNOWN')
    expect(found[0]!.message).toContain('config key "agents.qa.backend" is "dokcer"')
    expect(found[0]!.message).toContain('did you mean "docker"?')
    expect(found[0]!.message).toContain('registered: docker, process')
  })

  it('refuses an unknown balancer, with the closest strategy', async () => {
    const found = await problems({ balancer: 'round-robbin' }, [picky()], [])
    expect(found.map((e) => e.message)).toEqual([
      'config key "balancer" is "round-robbin" (did you mean "round-robin"?); known strategies: least-loaded, round-robin',
    ])
    const registered = await checkRoles({
      config: resolveConfig({ balancer: 'mine' }),
      backends: new Map(),
      strategies: new Map([['mine', { name: 'mine', select: (c) => c[0] }]]),
      project,
      roles: [],
    })
    expect(registered).toEqual([])
  })

  it('wraps what a backend throws that is not a TanukiError, naming the role and backend', async () => {
    const broken: AgentBackend = {
      ...createMemoryBackend({ name: 'broken' }),
      validateRole: () => {
        throw new Error('socket hang up')
      },
    }
    const [error] = await problems({ agents: { web: {} } }, [broken], ['web'])
    expect(error!.message).toBe(`agents.web: backend "broken" refused the role's options: socket hang up`)
  })

  it('finds every problem in one pass', async () => {
    const found = await problems(
      { agents: { a: { kind: 'bad' }, b: { backend: 'nope' }, c: { kind: 'bad' } }, balancer: 'x' },
      [picky()],
      ['a', 'b', 'c'],
    )
    expect(found).toHaveLength(4)
    const all = combineErrors(found, 'in the config')
    expect(all.code).toBe('TANUKI_PROJECT_INVALID')
    expect(all.message).toMatch(/^4 problems in the config:\n {2}- agents\.a: /)
    expect(all.details.problems).toHaveLength(4)
  })
})
