import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs'
import { hostname, tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { isTanukiError } from '@tanuki/core'
import { acquireLock, isAlive, readLock, runningOrchestrator } from './lock.ts'

const dirs: string[] = []
const children: ChildProcess[] = []
afterEach(() => {
  for (const child of children.splice(0)) child.kill('SIGKILL')
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

function lockPath(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tanuki-lock-'))
  dirs.push(dir)
  return join(dir, '.tanuki', 'orchestrator.lock')
}

/** A real process that lives until killed. */
async function liveProcess(): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' })
  children.push(child)
  await new Promise((resolve) => child.once('spawn', resolve))
  return child
}

/** A lock as its process writes it: after the process started. */
const lockOf = (pid: number, startedAt = new Date().toISOString()): string =>
  JSON.stringify({ pid, host: hostname(), startedAt, command: 'start' })

describe('acquireLock', () => {
  it("writes this process's pid and removes the file on release", () => {
    const path = lockPath()
    const lock = acquireLock(path, 'start')
    expect(readLock(path)).toMatchObject({ pid: process.pid, host: hostname(), command: 'start' })
    expect(runningOrchestrator(path)?.pid).toBe(process.pid)
    lock.release()
    expect(existsSync(path)).toBe(false)
  })

  it('refuses a second acquire (TANUKI_LOCKED, naming the pid) while the holder lives', async () => {
    const path = lockPath()
    const holder = await liveProcess()
    acquireLock(path, 'start').release()
    writeFileSync(path, lockOf(holder.pid!))
    let error: unknown
    try {
      acquireLock(path, 'resume')
    } catch (e) {
      error = e
    }
    expect(isTanukiError(error, 'TANUKI_LOCKED')).toBe(true)
    expect((error as Error).message).toContain(`pid ${holder.pid}`)
    expect((error as Error).message).toContain('tanuki project stop')
    // The holder's lock is left alone.
    expect(readLock(path)?.pid).toBe(holder.pid)
  })

  it('refuses a second acquire from the same process too', () => {
    const path = lockPath()
    const first = acquireLock(path, 'start')
    expect(() => acquireLock(path, 'start')).toThrow(/Another orchestrator/)
    first.release()
  })

  it('takes over a stale lock left by a process that died', async () => {
    const path = lockPath()
    const doomed = await liveProcess()
    const pid = doomed.pid!
    const exited = new Promise((resolve) => doomed.once('exit', resolve))
    doomed.kill('SIGKILL')
    await exited
    expect(isAlive(pid)).toBe(false)
    acquireLock(path, 'start').release()
    writeFileSync(path, lockOf(pid))
    expect(runningOrchestrator(path)).toBeUndefined()

    const lock = acquireLock(path, 'resume')
    expect(lock.staleFrom?.pid).toBe(pid)
    expect(JSON.parse(readFileSync(path, 'utf8'))).toMatchObject({ pid: process.pid, command: 'resume' })
    lock.release()
  })

  it('takes over a lock whose pid now belongs to a process that started after the lock was written', async () => {
    // After a kill -9 the kernel may give the pid to an unrelated process: that is no orchestrator.
    const path = lockPath()
    const newcomer = await liveProcess()
    acquireLock(path, 'start').release()
    writeFileSync(path, lockOf(newcomer.pid!, new Date(Date.now() - 3600_000).toISOString()))
    expect(runningOrchestrator(path)).toBeUndefined()
    const lock = acquireLock(path, 'resume')
    expect(lock.staleFrom?.pid).toBe(newcomer.pid)
    lock.release()
  })

  it('never takes over a lock held on another host', () => {
    const path = lockPath()
    acquireLock(path, 'start').release()
    writeFileSync(
      path,
      JSON.stringify({ pid: 1, host: 'elsewhere.example', startedAt: new Date().toISOString(), command: 'start' }),
    )
    expect(() => acquireLock(path, 'start')).toThrow(/pid 1 on elsewhere.example/)
  })

  it('takes over a lock file that is not valid JSON (a write cut short)', () => {
    const path = lockPath()
    acquireLock(path, 'start').release()
    writeFileSync(path, '{"pid": 12')
    const lock = acquireLock(path, 'start')
    expect(readLock(path)?.pid).toBe(process.pid)
    lock.release()
  })

  it('release leaves a lock that another process has since taken', async () => {
    const path = lockPath()
    const other = await liveProcess()
    const lock = acquireLock(path, 'start')
    writeFileSync(path, lockOf(other.pid!))
    lock.release()
    expect(readLock(path)?.pid).toBe(other.pid)
  })
})
