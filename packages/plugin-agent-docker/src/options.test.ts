import { describe, expect, it } from 'vitest'
import { containerEnv, parseMemory, resolveDockerOptions } from './options.ts'

describe('docker options', () => {
  it('reads memory sizes as docker run --memory does', () => {
    expect(parseMemory('512m')).toBe(512 * 1024 ** 2)
    expect(parseMemory('2g')).toBe(2 * 1024 ** 3)
    expect(parseMemory('1.5G')).toBe(1.5 * 1024 ** 3)
    expect(parseMemory('64MiB')).toBe(64 * 1024 ** 2)
    expect(parseMemory(1_000_000)).toBe(1_000_000)
    expect(() => parseMemory('lots')).toThrow(/"memory" must be bytes or a size like "512m"/)
    expect(() => parseMemory(-1)).toThrow(/positive number of bytes/)
  })

  it('merges plugin and role options, the role winning and env maps merged', () => {
    const resolved = resolveDockerOptions(
      { image: 'base:1', kind: 'claude', env: { A: '1', B: '1' }, cpus: 2 },
      { image: 'role:2', kind: 'shell', env: { B: '2' }, memory: '1g', backend: 'docker', count: 3 },
    )
    expect(resolved).toMatchObject({
      image: 'role:2',
      env: { A: '1', B: '2' },
      nanoCpus: 2e9,
      memoryBytes: 1024 ** 3,
      workdir: '/workspace',
      workspace: 'auto',
      commit: true,
      kind: { kind: 'shell' },
    })
    // Keys of the orchestrator (backend, count) are not the kind's.
    expect(resolved.kind).toEqual({ kind: 'shell' })
    // A codex role's price is the kind's: its runs' costs are worked out in the container's agent too.
    const price = { input: 1.25, output: 10 }
    expect(resolveDockerOptions({ image: 'x' }, { kind: 'codex', price }).kind).toEqual({ kind: 'codex', price })
  })

  it('names the key that is wrong', () => {
    expect(() => resolveDockerOptions({})).toThrow(/"image" is required/)
    expect(() => resolveDockerOptions({ image: 'x', workdir: 'rel' })).toThrow(/"workdir" must be an absolute path/)
    expect(() => resolveDockerOptions({ image: 'x', cpus: 0 })).toThrow(/"cpus" must be a number of CPUs > 0/)
    expect(() => resolveDockerOptions({ image: 'x' }, { mounts: [{ source: '/a', target: 'b' }] })).toThrow(
      /"mounts\[0\]"/,
    )
    expect(() => resolveDockerOptions({ image: 'x' }, { env: { A: 1 } })).toThrow(/"env.A" must be a string/)
    expect(resolveDockerOptions({ build: { context: '.' } }).image).toBe('tanuki-agent:latest')
  })

  it('lets in only the allowed host variables that are set, and the explicit ones', () => {
    const env = containerEnv(
      { passEnv: ['KEY', 'UNSET'], env: { MODE: 'ci' } },
      { KEY: 'k', SECRET: 's', PATH: '/bin' },
    )
    expect(env).toEqual({ KEY: 'k', MODE: 'ci' })
  })
})
