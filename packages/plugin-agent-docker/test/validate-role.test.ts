// A Docker role is checked before anything runs: its options, its kind, and that its image is on
// the engine (or in a registry it reaches), on a real engine, without pulling or starting anything.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type Docker from 'dockerode'
import { createDockerBackend } from '../src/index.ts'
import { TEST_IMAGE, projectContainers, requireEngine, skipDocker, tempProject } from './helpers.ts'

describe.skipIf(skipDocker)('docker backend: validateRole', () => {
  let docker: Docker
  let project: Awaited<ReturnType<typeof tempProject>>
  beforeAll(async () => {
    docker = await requireEngine()
    project = await tempProject('validate')
  })
  afterAll(async () => {
    await project?.cleanup()
  })

  const check = async (role: Record<string, unknown>) => {
    const backend = createDockerBackend()
    try {
      await backend.validateRole!({ role: 'box', options: role, project })
      return undefined
    } catch (error) {
      return error as Error & { code: string }
    } finally {
      backend.close()
    }
  }

  it('accepts a role whose image is on the engine, starting nothing', async () => {
    expect(await check({ image: TEST_IMAGE, kind: 'shell' })).toBeUndefined()
    expect(await projectContainers(docker, project.root)).toEqual([])
  })

  it('refuses an image the engine does not have and cannot find, naming the role and the image', async () => {
    const image = 'tanuki-no-such-image-for-tests:never'
    const error = await check({ image, kind: 'shell' })
    expect(error?.code).toBe('TANUKI_IMAGE_UNAVAILABLE')
    expect(error?.message).toMatch(
      /^agents\.box: Docker image "tanuki-no-such-image-for-tests:never" is not on the engine at /,
    )
    // Checked, not pulled.
    await expect(docker.getImage(image).inspect()).rejects.toMatchObject({ statusCode: 404 })
  })

  it('names the image on the engine that a misspelt one most likely meant', async () => {
    const misspelt = TEST_IMAGE.replace('busybox', 'busybx')
    const error = await check({ image: misspelt, kind: 'shell' })
    expect(error?.code).toBe('TANUKI_IMAGE_UNAVAILABLE')
    expect(error?.message).toContain(`Docker image "${misspelt}" (did you mean "${TEST_IMAGE}"?) is not on the engine`)
  })

  it.each([
    [{ kind: 'shell' }, 'TANUKI_CONFIG_INVALID', 'docker backend option "image" is required'],
    [
      { image: TEST_IMAGE, kind: 'cluade' },
      'TANUKI_CONFIG_INVALID',
      '"kind" is "cluade", not an agent kind (did you mean "claude"?)',
    ],
    [{ image: TEST_IMAGE, kind: 'command' }, 'TANUKI_CONFIG_INVALID', 'kind "command" needs "command"'],
    [
      { imgae: TEST_IMAGE, kind: 'shell' },
      'TANUKI_CONFIG_INVALID',
      'option "imgae" is not an option (did you mean "image"?)',
    ],
    [{ image: TEST_IMAGE, kind: 'shell', memory: 'lots' }, 'TANUKI_CONFIG_INVALID', 'option "memory"'],
  ])('refuses %j', async (role, code, words) => {
    const error = await check(role)
    expect(error?.code).toBe(code)
    expect(error?.message).toMatch(/^agents\.box: /)
    expect(error?.message).toContain(words)
  })

  it('leaves an image to build to the first spawn', async () => {
    expect(await check({ image: 'tanuki-built-later:1', build: { context: '.' }, kind: 'shell' })).toBeUndefined()
  })
})
