/**
 * Docker agents: time from `spawn` to the end of the first command run in the agent's container,
 * against a plain `docker run --rm IMAGE true` of the same image; and the cost of one more `exec`
 * in a running agent (what every verify and every shell block pays).
 *
 * Run: `node --import tsx bench/docker.bench.ts [--reps 7] [--image tanuki-test-busybox:latest]`
 * after `bash scripts/docker-setup.sh` (engine + image) and `pnpm -r build` (the plugin imports
 * the process backend's kinds by package name).
 *
 * This is not a test: it prints figures and never fails on them.
 */
import { execFile } from 'node:child_process'
import { mkdtemp, realpath, rm, writeFile } from 'node:fs/promises'
import { cpus, tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { createDockerBackend } from '../packages/plugin-agent-docker/src/index.ts'

const run = promisify(execFile)

function arg(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`)
  return at >= 0 && process.argv[at + 1] ? process.argv[at + 1]! : fallback
}

const REPS = Number(arg('reps', '7'))
const IMAGE = arg('image', 'tanuki-test-busybox:latest')
const WARM_EXECS = 30

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}
const ms = (value: number): string => `${value.toFixed(1).padStart(7)} ms`

async function tempRepo(): Promise<string> {
  const root = await realpath(await mkdtemp(join(tmpdir(), 'tanuki-docker-bench-')))
  const git = (...args: string[]) => run('git', args, { cwd: root })
  await git('init', '-q')
  await writeFile(join(root, 'README.md'), 'bench\n')
  await git('add', '-A')
  await git('-c', 'user.name=bench', '-c', 'user.email=bench@example.invalid', 'commit', '-q', '-m', 'init')
  return root
}

async function main(): Promise<void> {
  const { stdout: version } = await run('docker', ['version', '--format', '{{.Server.Version}}'])
  console.log(
    `docker agents bench: engine ${version.trim()}, image ${IMAGE}, ${REPS} repetitions, ${cpus().length} CPUs`,
  )

  // Warm the engine and the page cache once, so the first repetition does not pay for them.
  await run('docker', ['run', '--rm', IMAGE, 'true'])

  const plain: number[] = []
  for (let i = 0; i < REPS; i++) {
    const started = performance.now()
    await run('docker', ['run', '--rm', IMAGE, 'true'])
    plain.push(performance.now() - started)
  }

  const root = await tempRepo()
  const project = { root, name: 'bench' }
  const backend = createDockerBackend({ image: IMAGE, kind: 'shell' })
  const spawnOnly: number[] = []
  const firstExec: number[] = []
  const toFirstExec: number[] = []
  const removal: number[] = []
  const warm: number[] = []
  try {
    for (let i = 0; i < REPS; i++) {
      const started = performance.now()
      const agent = await backend.spawn({ name: `bench-${i}`, role: 'bench', options: {}, project })
      const spawned = performance.now()
      const result = await agent.exec('true')
      const ran = performance.now()
      if (result.exitCode !== 0) throw new Error(`exec failed: ${result.output}`)
      spawnOnly.push(spawned - started)
      firstExec.push(ran - spawned)
      toFirstExec.push(ran - started)
      if (i === 0) {
        for (let j = 0; j < WARM_EXECS; j++) {
          const t = performance.now()
          await agent.exec('true')
          warm.push(performance.now() - t)
        }
      }
      const t = performance.now()
      await agent.remove()
      removal.push(performance.now() - t)
    }
  } finally {
    await backend.cleanup(project).catch(() => {})
    await rm(root, { recursive: true, force: true })
  }

  console.log('')
  console.log('medians')
  const rows: [string, number, string?][] = [
    [`docker run --rm ${IMAGE} true`, median(plain)],
    ['spawn (worktree + container create/start)', median(spawnOnly)],
    ['first exec after spawn', median(firstExec)],
    ['spawn → first exec done', median(toFirstExec), `${(median(toFirstExec) / median(plain)).toFixed(2)}× docker run`],
    ['one more exec in a running agent', median(warm), `median of ${WARM_EXECS}`],
    ['remove (container + worktree)', median(removal)],
  ]
  const width = Math.max(...rows.map(([label]) => label.length))
  for (const [label, value, note] of rows)
    console.log(`  ${label.padEnd(width)} ${ms(value)}${note ? `   (${note})` : ''}`)
  console.log('')
  console.log(
    `all runs (ms): docker run [${plain.map((v) => v.toFixed(0)).join(', ')}]; spawn→first exec [${toFirstExec.map((v) => v.toFixed(0)).join(', ')}]`,
  )
}

await main()
