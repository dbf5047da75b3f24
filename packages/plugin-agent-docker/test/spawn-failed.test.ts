import { blamesConfig } from '@tanuki/core'
import { describe, expect, it } from 'vitest'
import { spawnFailed } from '../src/backend.ts'

/** An engine's error as dockerode gives it: the message, and the HTTP status. */
const engineError = (statusCode: number, message: string): Error => Object.assign(new Error(message), { statusCode })

describe('a refused container start', () => {
  const noShell = 'OCI runtime create failed: exec: "sh": executable file not found in $PATH: unknown'

  it('blames the configuration for an image without sh, whatever status the engine answers with', () => {
    for (const status of [400, 500]) {
      const error = spawnFailed(
        'qa-1',
        'qa',
        'scratch:latest',
        'unix:///var/run/docker.sock',
        engineError(status, noShell),
      )
      expect(blamesConfig(error), String(status)).toBe(true)
      expect(error.message).toContain('the image scratch:latest of role qa has no `sh`')
    }
  })

  it('blames the configuration for a request the engine refused (400), not for its own failure (500)', () => {
    const refused = spawnFailed('qa-1', 'qa', 'alpine:3', 'unix:///var/run/docker.sock', engineError(400, 'bad user'))
    expect(blamesConfig(refused)).toBe(true)
    const failed = spawnFailed('qa-1', 'qa', 'alpine:3', 'unix:///var/run/docker.sock', engineError(500, 'disk full'))
    expect(blamesConfig(failed)).toBe(false)
    expect(failed.message).toBe(
      'could not start the container of agent qa-1 (image alpine:3) on unix:///var/run/docker.sock: disk full',
    )
  })
})
