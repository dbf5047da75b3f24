import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { isTanukiError, type OutputChunk } from '@tanuki/core'
import { afterEach, describe, expect, it } from 'vitest'
import { isAlive, removeTempDirs, tempDir, waitFor } from '../../test/support/repo.ts'
import { ShellSession } from './session.ts'

const sessions: ShellSession[] = []
afterEach(() => {
  for (const session of sessions.splice(0)) session.close()
  removeTempDirs()
})

function open(): { session: ShellSession; dir: string } {
  const dir = tempDir('tanuki-session-')
  const session = new ShellSession(dir, { ...process.env, FROM_AGENT: 'agent' })
  sessions.push(session)
  return { session, dir }
}

function collect(): { chunks: OutputChunk[]; text: (stream: OutputChunk['stream']) => string } {
  const chunks: OutputChunk[] = []
  return {
    chunks,
    text: (stream) =>
      chunks
        .filter((c) => c.stream === stream)
        .map((c) => c.text)
        .join(''),
  }
}

describe('ShellSession', () => {
  it('runs commands one after another in one shell, keeping stdout and stderr apart, byte for byte', async () => {
    const { session } = open()
    const shell = session.pid
    const out = collect()
    const first = await session.run(['sh', '-c', 'printf "no newline @ the end"; printf "to stderr\\n" >&2; exit 3'], {
      onOutput: (c) => out.chunks.push(c),
    })
    expect(first).toEqual({ exitCode: 3, signal: null, killedByUs: false })
    expect(out.text('stdout')).toBe('no newline @ the end')
    expect(out.text('stderr')).toBe('to stderr\n')
    // Big output crosses many reads; "@" and marker-like text inside it must come through unchanged.
    const big = collect()
    const second = await session.run(
      ['sh', '-c', 'i=0; while [ $i -lt 3000 ]; do echo "line $i @x:end 1"; i=$((i+1)); done'],
      { onOutput: (c) => big.chunks.push(c) },
    )
    expect(second.exitCode).toBe(0)
    const lines = big.text('stdout').split('\n')
    expect(lines).toHaveLength(3001)
    expect(lines[2999]).toBe('line 2999 @x:end 1')
    expect(session.pid).toBe(shell)
  })

  it("gives each command its stdin, its own variables, and the agent's environment", async () => {
    const { session, dir } = open()
    const out = collect()
    const result = await session.run(['sh', '-c', 'cat; echo "$STEP_ONLY $FROM_AGENT ${GONE:-unset}"; pwd'], {
      stdin: "it's a prompt\n",
      env: { STEP_ONLY: 'step', GONE: undefined },
      onOutput: (c) => out.chunks.push(c),
    })
    expect(result.exitCode).toBe(0)
    expect(out.text('stdout')).toBe(`it's a prompt\nstep agent unset\n${dir}\n`)
    const later = collect()
    await session.run(['sh', '-c', 'echo "${STEP_ONLY:-gone}"'], { onOutput: (c) => later.chunks.push(c) })
    expect(later.text('stdout')).toBe('gone\n')
  })

  it('sets variables with any value, by the shell or through env, for that command only', async () => {
    const { session } = open()
    const value = `it's "quoted" $HOME \`id\`\nand a second line`
    for (const env of [
      { STEP_A: value },
      { STEP_A: value, 'odd.name': 'x' },
      { STEP_A: value, PATH: process.env.PATH },
    ]) {
      const out = collect()
      // `env` itself prints them: sh would drop a name it cannot assign from what it passes on.
      await session.run(['env'], { env, onOutput: (c) => out.chunks.push(c) })
      const printed = `\n${out.text('stdout')}`
      expect(printed).toContain(`\nSTEP_A=${value}\n`)
      expect(printed.includes('\nodd.name=x\n')).toBe('odd.name' in env)
    }
    const later = collect()
    await session.run(['sh', '-c', 'echo "${STEP_A:-gone}"'], { onOutput: (c) => later.chunks.push(c) })
    expect(later.text('stdout')).toBe('gone\n')
  })

  it('passes stdin byte for byte, with a final newline or without one', async () => {
    const { session } = open()
    for (const stdin of [
      'one line\n',
      'no final newline',
      '$HOME `id` \\n T_x\n\n  indented\ttab\n\n',
      '\n',
      '',
      'ünïcödé ✓\n',
    ]) {
      const out = collect()
      const result = await session.run(['od', '-An', '-tx1', '-v'], { stdin, onOutput: (c) => out.chunks.push(c) })
      expect(result.exitCode).toBe(0)
      const bytes = out.text('stdout').split(/\s+/).filter(Boolean).join('')
      expect(bytes).toBe(Buffer.from(stdin).toString('hex'))
    }
  })

  it('an abort kills the command and everything it started, and says so', async () => {
    const { session, dir } = open()
    const controller = new AbortController()
    let pid = 0
    const run = session.run(['sh', '-c', `sleep 1000 & echo $! > ${join(dir, 'child.pid')}; wait`], {
      signal: controller.signal,
      killGraceMs: 200,
      onSpawn: (started) => (pid = started),
    })
    await waitFor(
      () => pid > 0 && existsSync(join(dir, 'child.pid')) && readFileSync(join(dir, 'child.pid'), 'utf8').length > 0,
      5000,
      'the child',
    )
    const child = Number(readFileSync(join(dir, 'child.pid'), 'utf8'))
    controller.abort()
    expect(await run).toMatchObject({ killedByUs: true, signal: 'SIGTERM', exitCode: null })
    await waitFor(() => !isAlive(child) && !isAlive(pid), 5000, 'the tree to die')
    expect((await session.run(['true'])).exitCode).toBe(0)
  })

  it('what a command leaves running when it ends dies with it', async () => {
    const { session, dir } = open()
    const result = await session.run(['sh', '-c', `sleep 1000 >/dev/null 2>&1 & echo $! > ${join(dir, 'left.pid')}`])
    expect(result).toMatchObject({ exitCode: 0, killedByUs: false })
    const left = Number(readFileSync(join(dir, 'left.pid'), 'utf8'))
    await waitFor(() => !isAlive(left), 5000, 'the leftover to die')
    expect((await session.run(['true'])).exitCode).toBe(0)
  })

  it('a command killed from outside is reported with its signal, not as ours', async () => {
    const { session } = open()
    let pid = 0
    const run = session.run(['sleep', '1000'], { onSpawn: (started) => (pid = started) })
    await waitFor(() => pid > 0, 5000, 'the pid')
    process.kill(pid, 'SIGKILL')
    expect(await run).toEqual({ exitCode: null, signal: 'SIGKILL', killedByUs: false })
  })

  it('closing the session kills a running command too, though it runs in a session of its own', async () => {
    const { session } = open()
    let pid = 0
    const run = session.run(['sleep', '1000'], { onSpawn: (started) => (pid = started) })
    await waitFor(() => pid > 0, 5000, 'the pid')
    session.close()
    await expect(run).rejects.toThrow(/shell is gone/)
    await waitFor(() => !isAlive(pid), 5000, 'the command to die')
  })

  it('a shell that dies takes the running command with it, as a crash', async () => {
    const { session } = open()
    let pid = 0
    const run = session.run(['sleep', '1000'], { onSpawn: (started) => (pid = started) })
    await waitFor(() => pid > 0, 5000, 'the pid')
    process.kill(session.pid!, 'SIGKILL')
    const error = await run.catch((e: unknown) => e)
    expect(isTanukiError(error, 'TANUKI_AGENT_CRASHED')).toBe(true)
    expect((error as Error).message).toMatch(/shell is gone: the shell was killed by SIGKILL/)
    await expect(session.run(['true'])).rejects.toThrow(/shell is gone/)
    await waitFor(() => !isAlive(pid), 5000, 'the orphaned command to die')
  })
})
