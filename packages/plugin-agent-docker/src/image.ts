import { readdir } from 'node:fs/promises'
import { isAbsolute, resolve } from 'node:path'
import { TanukiError, closestName, errorMessage } from '@tanuki/core'
import type Docker from 'dockerode'
import { statusCode } from './engine.ts'
import type { DockerBuildOptions } from './options.ts'

/** Waits for a progress stream (pull, build) and fails on the first error it reports. */
function followProgress(docker: Docker, stream: NodeJS.ReadableStream): Promise<void> {
  return new Promise((done, fail) => {
    docker.modem.followProgress(
      stream,
      (error: Error | null, events: { error?: string; errorDetail?: { message?: string } }[]) => {
        const failed = events?.find((event) => event.error || event.errorDetail)
        if (error) fail(error)
        else if (failed) fail(new Error(failed.errorDetail?.message ?? failed.error))
        else done()
      },
    )
  })
}

/** Whether the engine has the image locally. */
export async function present(docker: Docker, image: string): Promise<boolean> {
  try {
    await docker.getImage(image).inspect()
    return true
  } catch (error) {
    if (statusCode(error) === 404) return false
    throw error
  }
}

/** ` (did you mean "…"?)` naming the engine's image a misspelt name most likely meant, else ''. */
async function meantImage(docker: Docker, image: string): Promise<string> {
  const tags = await docker.listImages().then(
    (images) => images.flatMap((info) => info.RepoTags ?? []).filter((tag) => tag !== '<none>:<none>'),
    () => [],
  )
  // `name` means `name:latest`: compare like with like, and name the image as it is tagged.
  const full = image.includes(':') ? image : `${image}:latest`
  const meant = closestName(full, tags)
  return meant ? ` (did you mean "${meant}"?)` : ''
}

/** Pulls an image that is not present; throws `TANUKI_IMAGE_UNAVAILABLE` saying how to get it otherwise. */
export async function ensureImage(docker: Docker, image: string): Promise<void> {
  if (await present(docker, image)) return
  try {
    await followProgress(docker, await docker.pull(image))
  } catch (error) {
    throw new TanukiError(
      'TANUKI_IMAGE_UNAVAILABLE',
      `Docker image "${image}"${await meantImage(docker, image)} is not present locally and could not be pulled (${errorMessage(error)}). ` +
        `Build it (\`docker build -t ${image} .\`), load it (\`docker load\`), or give the docker backend ` +
        '`build: { context, dockerfile }` so Tanuki builds it.',
      { cause: error, details: { image, config: true } },
    )
  }
}

/**
 * Refuses (`TANUKI_IMAGE_UNAVAILABLE`) an image that is neither on the engine nor in a registry
 * the engine can reach, without pulling it: the check before a run that would otherwise fail at
 * its first spawn.
 */
export async function assertImageAvailable(docker: Docker, image: string, address: string): Promise<void> {
  if (await present(docker, image)) return
  try {
    await docker.getImage(image).distribution()
  } catch (error) {
    throw new TanukiError(
      'TANUKI_IMAGE_UNAVAILABLE',
      `Docker image "${image}"${await meantImage(docker, image)} is not on the engine at ${address}, and no registry it can reach has it (${errorMessage(error).split('\n')[0]!.trim()}). ` +
        `Build it (\`docker build -t ${image} .\`), load it (\`docker load\`), fix the name, or give the docker backend ` +
        '`build: { context, dockerfile }` so Tanuki builds it.',
      { cause: error, details: { image, address, config: true } },
    )
  }
}

/** Builds `image` from a Dockerfile and its context directory (honouring `.dockerignore`). */
export async function buildImage(
  docker: Docker,
  image: string,
  build: DockerBuildOptions,
  projectRoot: string,
): Promise<void> {
  const context = isAbsolute(build.context) ? build.context : resolve(projectRoot, build.context)
  const dockerfile = build.dockerfile ?? 'Dockerfile'
  try {
    // dockerode tars the listed entries of the context (directories recursively).
    const src = await readdir(context)
    const stream = await docker.buildImage(
      { context, src },
      { t: image, dockerfile, buildargs: build.args ?? {}, rm: true, forcerm: true },
    )
    await followProgress(docker, stream)
  } catch (error) {
    throw new TanukiError(
      'TANUKI_IMAGE_UNAVAILABLE',
      `Building Docker image "${image}" from ${context} (${dockerfile}) failed: ${errorMessage(error)}. ` +
        `Fix the Dockerfile, or try \`docker build -t ${image} -f ${dockerfile} ${context}\` to see the whole build log.`,
      { cause: error, details: { image, context, dockerfile, config: true } },
    )
  }
}
