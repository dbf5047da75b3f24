import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { isTanukiError, type OutputChunk } from '@tanuki/core'
import { afterEach, describe, expect, it } from 'vitest'
import { isAlive, readPids, removeTempDirs, tempDir, waitFor } from '../../test/support/repo.ts'
import { execShell, runProcess, startProcess } from './process.ts'

afterEach(removeTempDirs)

/** A script that starts two long sleeps in the background, records their pids, and waits. */
const TREE = 'sleep 1000 & echo $! > pids; sleep 1000 & echo $! >> pids; echo started; wait'

describe('runProcess', () => {
  it('streams stdout and stderr, feeds stdin and reports the exit code', async () => {
    const chunks: OutputChunk[] = []
    const result = await runProcess(['sh', '-c', 'read line; echo "got $line"; echo oops >&2; exit 3'], {
      cwd: tempDir(),
      stdin: 'hello\n',
      onOutput: (chunk) => chunks.push(chunk),
    })
    expect(result.exitCode).toBe(3)
    expect(result.signal).toBeNull()
    expect(result.killedByUs).toBe(false)
    expect(
      chunks
        .filter((c) => c.stream === 'stdout')
        .map((c) => c.text)
        .join(''),
    ).toBe('got hello\n')
    expect(
      chunks
        .filter((c) => c.stream === 'stderr')
        .map((c) => c.text)
        .join(''),
    ).toBe('oops\n')
    expect(result.output).toContain('got hello\n')
    expect(result.output).toContain('oops\n')
  })

  it('never splits a character across chunks', async () => {
    const chunks: string[] = []
    // 3-byte characters written one byte at a time.
    const script = "printf '\\342'; sleep 0.05; printf '\\202'; sleep 0.05; printf '\\254\\n'"
    const result = await runProcess(['sh', '-c', script], {
      cwd: tempDir(),
      onOutput: (chunk) => chunks.push(chunk.text),
    })
    expect(result.output).toBe('€\n')
    expect(chunks.join('')).toBe('€\n')
    expect(chunks.every((text) => !text.includes('\uFFFD'))).toBe(true)
  })

  it('runs in the given directory with the given environment', async () => {
    const dir = tempDir()
    const result = await runProcess(['sh', '-c', 'pwd; echo "$GREETING"'], {
      cwd: dir,
      env: { PATH: process.env.PATH, GREETING: 'hi' },
    })
    expect(result.output.split('\n').slice(0, 2)).toEqual([dir, 'hi'])
  })

  it('rejects with a clear TanukiError when the program does not exist', async () => {
    const error = await runProcess(['tanuki-no-such-program'], { cwd: tempDir() }).catch((e: unknown) => e)
    expect(isTanukiError(error, 'TANUKI_AGENT_FAILED')).toBe(true)
    expect((error as Error).message).toContain('"tanuki-no-such-program" was not found')
  })

  it('kills the whole process tree on abort', async () => {
    const dir = tempDir()
    const controller = new AbortController()
    const handle = startProcess(['sh', '-c', TREE], {
      cwd: dir,
      signal: controller.signal,
      killGraceMs: 500,
      onOutput: (chunk) => {
        if (chunk.text.includes('started')) controller.abort('test')
      },
    })
    const result = await handle.done
    expect(result.killedByUs).toBe(true)
    expect(result.exitCode).toBeNull()
    const pids = readPids(join(dir, 'pids'))
    expect(pids).toHaveLength(2)
    await waitFor(() => pids.every((pid) => !isAlive(pid)), 5000, 'the background sleeps to die')
    expect(isAlive(handle.pid!)).toBe(false)
  })

  it('kills the whole process tree on timeout, even a shell that ignores SIGTERM', async () => {
    const dir = tempDir()
    const result = await runProcess(['sh', '-c', `trap '' TERM; ${TREE}`], {
      cwd: dir,
      timeoutMs: 300,
      killGraceMs: 300,
    })
    expect(result.timedOut).toBe(true)
    expect(result.killedByUs).toBe(true)
    expect(result.signal).toBe('SIGKILL')
    const pids = readPids(join(dir, 'pids'))
    await waitFor(() => pids.every((pid) => !isAlive(pid)), 5000, 'the background sleeps to die')
  })

  it('leaves no background process behind once the leader exits', async () => {
    const dir = tempDir()
    const result = await runProcess(['sh', '-c', 'sleep 1000 & echo $! > pids; echo bye'], { cwd: dir })
    expect(result.exitCode).toBe(0)
    expect(result.output).toBe('bye\n')
    const [pid] = readPids(join(dir, 'pids'))
    await waitFor(() => !isAlive(pid!), 5000, 'the background sleep to die')
  })

  it('reports a signal it did not send as not killed by us', async () => {
    const pids: number[] = []
    const handle = startProcess(['sh', '-c', 'echo ready; sleep 1000'], {
      cwd: tempDir(),
      onOutput: () => {
        if (handle.pid) process.kill(handle.pid, 'SIGKILL')
      },
      onSpawn: (pid) => pids.push(pid),
    })
    const result = await handle.done
    expect(result.killedByUs).toBe(false)
    expect(result.signal).toBe('SIGKILL')
    expect(pids).toEqual([handle.pid])
  })
})

describe('execShell', () => {
  it('runs a command with sh in a directory', async () => {
    const dir = tempDir()
    const pass = await execShell('test -d . && echo "in $(pwd)"', dir)
    expect(pass).toMatchObject({ exitCode: 0, timedOut: false, output: `in ${dir}\n` })
    const fail = await execShell('test -f missing.txt', dir)
    expect(fail.exitCode).toBe(1)
  })

  it('marks a command that runs too long as timed out', async () => {
    const result = await execShell('sleep 1000', tempDir(), { timeoutMs: 200, killGraceMs: 200 })
    expect(result).toMatchObject({ exitCode: null, timedOut: true })
  })

  it('rejects when the shell cannot start', async () => {
    const missing = join(tempDir(), 'gone')
    expect(existsSync(missing)).toBe(false)
    const error = await execShell('true', missing).catch((e: unknown) => e)
    expect(isTanukiError(error, 'TANUKI_VERIFY_FAILED')).toBe(true)
    expect((error as Error).message).toContain(missing)
  })
})
