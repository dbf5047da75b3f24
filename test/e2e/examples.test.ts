/**
 * The README's first command runs `scripts/demo.mjs` (after the set-up): examples/hello in a fresh
 * git repository, with worktrees and the merges of dependencies' work. It must finish with every
 * task complete, every time.
 */
import { execFile, execFileSync } from 'node:child_process'
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { startRedis } from '@tanuki/testing'
import { describe, expect, it } from 'vitest'

const root = fileURLToPath(new URL('../..', import.meta.url))
const tanuki = join(root, 'node_modules', '.bin', 'tanuki')

function run(
  file: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; output: string }> {
  return new Promise((done) => {
    execFile(
      file,
      args,
      { cwd: root, env: { ...process.env, NO_COLOR: '1', ...env }, timeout: 90_000 },
      (error, stdout, stderr) => {
        done({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, output: stdout + stderr })
      },
    )
  })
}

describe('examples', () => {
  it('the demo runs examples/hello to completion in a fresh repository, three times over', async () => {
    for (let round = 0; round < 3; round++) {
      const { code, output } = await run(process.execPath, ['scripts/demo.mjs'])
      const dir = /The project is in (\S+)\./.exec(output)?.[1]
      try {
        expect(output).toContain('all 5 tasks complete')
        expect(code).toBe(0)
        // Every task's work landed on the person's branch, in their checkout, one commit each.
        expect(readFileSync(join(dir!, 'out', 'message.txt'), 'utf8')).toBe('Hello, world!\n')
        const landed = execFileSync('git', ['log', '--format=%(trailers:key=Tanuki-Task,valueonly)', 'HEAD'], {
          cwd: dir!,
          encoding: 'utf8',
        })
          .split('\n')
          .filter(Boolean)
        expect([...landed].sort()).toEqual(['HELLO-001', 'HELLO-002', 'HELLO-003', 'HELLO-004', 'HELLO-005'])
        // Newest first: each landed after what it depends on.
        expect(landed.indexOf('HELLO-005')).toBeLessThan(landed.indexOf('HELLO-004'))
        expect(landed.indexOf('HELLO-004')).toBeLessThan(landed.indexOf('HELLO-003'))
        const status = JSON.parse((await run(tanuki, ['project', 'status', '--json', '--cwd', dir!])).output) as {
          tasks: { status: string }[]
        }
        expect(status.tasks.map((task) => task.status)).toEqual(Array(5).fill('complete'))
        // The builder saw both writers' files through the merges: the message is whole.
        const log = readFileSync(join(dir!, '.tanuki', 'logs', 'tasks', 'HELLO-003', 'iteration-001.log'), 'utf8')
        expect(log).toContain('Hello, world!')
      } finally {
        if (dir) rmSync(dir, { recursive: true, force: true })
      }
    }
  })

  it.each(['hello', 'claude', 'custom-reporter', 'remote'])('examples/%s has valid tasks and config', async (name) => {
    // Validating remote agents reaches their Redis (its URL comes from the environment: a test's
    // own) and the git remote workers clone: the example in a repository of its own, with one.
    const redis = name === 'remote' ? await startRedis() : undefined
    const copy = name === 'remote' ? mkdtempSync(join(tmpdir(), 'tanuki-example-remote-')) : undefined
    try {
      let dir = join(root, 'examples', name)
      if (copy) {
        dir = join(copy, 'project')
        cpSync(join(root, 'examples', name), dir, { recursive: true })
        const git = (cwd: string, ...args: string[]) => execFileSync('git', args, { cwd, stdio: 'ignore' })
        git(copy, 'init', '-q', '--bare', 'shared.git')
        git(dir, 'init', '-q', '-b', 'main')
        git(dir, 'remote', 'add', 'origin', join(copy, 'shared.git'))
      }
      const env: Record<string, string> = redis ? { TANUKI_REDIS_URL: redis.url } : {}
      const { code, output } = await run(tanuki, ['task', 'validate', '--cwd', dir], env)
      expect(output).toMatch(/\d+ tasks? OK/)
      expect(code).toBe(0)
    } finally {
      await redis?.close()
      if (copy) rmSync(copy, { recursive: true, force: true })
    }
  })
})
