import { backendRoles, resolveConfig } from '@tanuki/core'
import { describe, expect, it } from 'vitest'
import { engineHosts } from './backend.ts'

// `project stop` after a kill -9 and `stop --remove` look for a project's containers on every
// engine its Docker roles use; they looked on the backend's own (`DOCKER_HOST`) only.
describe('the engines a project of Docker roles uses', () => {
  const backends = new Map([
    ['docker', {}],
    ['process', {}],
  ])

  it("is each Docker role's engine once, the backend's default among them, and no other backend's role", () => {
    const config = resolveConfig({
      defaults: { backend: 'docker' },
      agents: {
        build: { host: 'tcp://127.0.0.1:2375' },
        test: { host: 'tcp://127.0.0.1:2375' },
        remote: { host: 'unix:///run/other.sock' },
        local: { backend: 'process', host: 'tcp://elsewhere:2375' },
      },
    })
    const roles = backendRoles(config, 'docker', backends)
    expect(engineHosts({ image: 'busybox' }, roles)).toEqual([
      undefined,
      'tcp://127.0.0.1:2375',
      'unix:///run/other.sock',
    ])
    // The plugin's own `host` is every role's default: one engine, unless a role says another.
    expect(engineHosts({ image: 'busybox', host: 'unix:///run/other.sock' }, roles)).toEqual([
      'unix:///run/other.sock',
      'tcp://127.0.0.1:2375',
    ])
  })

  it('skips a role whose options do not resolve (its check says why), and needs no roles at all', () => {
    const config = resolveConfig({
      defaults: { backend: 'docker' },
      agents: { bad: { host: 'tcp://bad:2375', memory: 'lots' }, good: { host: 'tcp://good:2375' } },
    })
    expect(engineHosts({ image: 'busybox' }, backendRoles(config, 'docker', backends))).toEqual([
      undefined,
      'tcp://good:2375',
    ])
    expect(engineHosts({ image: 'busybox' })).toEqual([undefined])
  })

  it("leaves out the backend's default engine when every Docker role names its own host", () => {
    const config = resolveConfig({
      agents: { default: { backend: 'docker', host: 'unix:///var/run/docker.sock' }, other: { backend: 'process' } },
    })
    expect(engineHosts({ image: 'busybox' }, backendRoles(config, 'docker', backends))).toEqual([
      'unix:///var/run/docker.sock',
    ])
  })
})
