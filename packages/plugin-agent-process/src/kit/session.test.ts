import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { isTanukiError, type OutputChunk } from '@tanuki/core'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { isAlive, removeTempDirs, tempDir, waitFor } from '../../test/support/repo.ts'
import { ShellSession, type SessionOptions, type SessionShell } from './session.ts'
import { PID_WIDTH, readPidFile } from './pid-file.ts'

const sessions: ShellSession[] = []
afterEach(() => {
  for (const session of sessions.splice(0)) session.close()
  removeTempDirs()
})

let shell: SessionShell = 'bash'
function open(options: SessionOptions = {}, env: NodeJS.ProcessEnv = {}): { session: ShellSession; dir: string } {
  const dir = tempDir('tanuki-session-')
  const session = new ShellSession(dir, { ...process.env, FROM_AGENT: 'agent', ...env }, { shell, ...options })
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

describe.each(['bash', 'sh'] as const)('ShellSession under %s', (which) => {
  beforeEach(() => {
    shell = which
  })

  it('is the shell it was asked for; bash by default when there is one and the environment leaves it be', async () => {
    expect(open().session.shell).toBe(which)
    const made = (env: NodeJS.ProcessEnv): ShellSession => {
      const session = new ShellSession(tempDir(), env)
      sessions.push(session)
      return session
    }
    expect(made(process.env).shell).toBe('bash')
    expect(made({ ...process.env, PATH: '/nowhere' }).shell).toBe('sh')
    // bash would take these as its own options and functions: errexit would end it at the first
    // failing step, a function would stand in for its printf.
    const functions = made({ ...process.env, SHELLOPTS: 'errexit', 'BASH_FUNC_printf%%': '() { :; }' })
    expect(functions.shell).toBe('sh')
    const out = collect()
    expect((await functions.run(['sh', '-c', 'exit 1'])).exitCode).toBe(1)
    const passed = await functions.run(['sh', '-c', 'echo "$SHELLOPTS"'], { onOutput: (c) => out.chunks.push(c) })
    expect(passed.exitCode).toBe(0)
    expect(out.text('stdout')).toBe('errexit\n')
  })

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

  it('a command the shell started just as it was closed dies with it', async () => {
    const { session, dir } = open()
    const file = join(dir, 'late.pid')
    const run = session.run(['sh', '-c', `echo $$ > ${file}; exec sleep 1000`])
    // Held here, the event loop cannot read the shell's word that the command started: the
    // session learns its pid only after it was closed.
    const until = Date.now() + 5000
    while (!(existsSync(file) && readFileSync(file, 'utf8').endsWith('\n')) && Date.now() < until)
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10)
    const pid = Number(readFileSync(file, 'utf8'))
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

  it('runs the program a command names, not a shell builtin of the same name', async () => {
    const { session } = open()
    const out = collect()
    // coreutils' echo knows --version; the shells' builtin echo prints the word.
    await session.run(['echo', '--version'], { onOutput: (c) => out.chunks.push(c) })
    expect(out.text('stdout')).toMatch(/coreutils/)
  })

  it("keeps the shell's own words about its jobs out of the commands' output", async () => {
    const { session } = open()
    const out = collect()
    const killed = await session.run(['sh', '-c', 'kill -TERM $$'], { onOutput: (c) => out.chunks.push(c) })
    expect(killed).toEqual({ exitCode: null, signal: 'SIGTERM', killedByUs: false })
    const next = await session.run(['sh', '-c', 'echo after >&2'], { onOutput: (c) => out.chunks.push(c) })
    expect(next.exitCode).toBe(0)
    expect(out.text('stderr')).toBe('after\n')
  })

  it('waits for a command that was stopped and goes on', async () => {
    const { session } = open()
    const out = collect()
    let pid = 0
    // It stops itself once the shell waits for it: a stop before the shell turned job control off
    // for its `wait` ends the wait (see README, "What does not work yet").
    const run = session.run(['sh', '-c', 'sleep 0.3; kill -STOP $$; echo resumed'], {
      onOutput: (c) => out.chunks.push(c),
      onSpawn: (started) => (pid = started),
    })
    await waitFor(() => pid > 0 && /\) T /.test(readFileSync(`/proc/${pid}/stat`, 'utf8')), 5000, 'the stop')
    process.kill(pid, 'SIGCONT')
    expect(await run).toEqual({ exitCode: 0, signal: null, killedByUs: false })
    expect(out.text('stdout')).toBe('resumed\n')
  })

  it("writes each running command's pid to the pid file, and blanks it after, in place", async () => {
    const dir = tempDir('tanuki-pids-')
    const pidFile = join(dir, 'agent.pid')
    // What a pid file of the file before held, longer than a line: what is past the line stays.
    writeFileSync(pidFile, `${' '.repeat(PID_WIDTH)}\nleft\n`)
    const inode = statSync(pidFile).ino
    const { session } = open({ pidFile })
    for (let step = 0; step < 2; step++) {
      let pid = 0
      const run = session.run(['sleep', '1000'], { onSpawn: (started) => (pid = started), killGraceMs: 200 })
      await waitFor(() => pid > 0, 5000, 'the pid')
      expect(readFileSync(pidFile, 'utf8')).toBe(`${String(pid).padEnd(PID_WIDTH)}\nleft\n`)
      expect(readPidFile(pidFile)).toBe(pid)
      process.kill(pid, 'SIGKILL')
      await run
      expect(readFileSync(pidFile, 'utf8')).toBe(`${' '.repeat(PID_WIDTH)}\nleft\n`)
      expect(readPidFile(pidFile)).toBeUndefined()
    }
    // Written in place: the same file all along, never one made anew.
    expect(statSync(pidFile).ino).toBe(inode)
    // A folder that went away costs the pid file, not the shell.
    const gone = open({ pidFile: join(dir, 'no-such-folder', 'agent.pid') }).session
    const out = collect()
    expect((await gone.run(['sh', '-c', 'echo ok'], { onOutput: (c) => out.chunks.push(c) })).exitCode).toBe(0)
    expect(out.text('stdout')).toBe('ok\n')
    expect(out.text('stderr')).toBe('')
  })

  it('gives BASH_ENV to the commands and does not source it itself', async () => {
    const dir = tempDir('tanuki-bashenv-')
    const file = join(dir, 'env.sh')
    writeFileSync(file, 'echo "sourced by $0"\n')
    const { session } = open({}, { BASH_ENV: file })
    const out = collect()
    const result = await session.run(['bash', '-c', 'true'], { onOutput: (c) => out.chunks.push(c) })
    expect(result.exitCode).toBe(0)
    expect(out.text('stdout')).toBe('sourced by bash\n')
  })
})
