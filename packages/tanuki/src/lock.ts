import { closeSync, openSync, readFileSync, rmSync, writeSync, mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import { hostname } from 'node:os'
import { TanukiError } from '@tanuki/core'

/** What the lock file says about the orchestrator holding it. */
export interface LockInfo {
  pid: number
  host: string
  startedAt: string
  /** The command that took the lock (start, resume). */
  command: string
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

export function readLock(path: string): LockInfo | undefined {
  try {
    const info = JSON.parse(readFileSync(path, 'utf8')) as LockInfo
    return typeof info.pid === 'number' ? info : undefined
  } catch {
    return undefined
  }
}

/** The running orchestrator of a project, if any (a lock whose process is gone does not count). */
export function runningOrchestrator(path: string): LockInfo | undefined {
  const info = readLock(path)
  if (!info) return undefined
  if (info.host !== hostname()) return info
  return isAlive(info.pid) ? info : undefined
}

/**
 * Takes the project's lock: one orchestrator per project. A lock left by a dead process (a
 * crash, kill -9) is taken over. Returns a release function.
 */
export function acquireLock(path: string, command: string): { info: LockInfo; staleFrom?: LockInfo; release: () => void } {
  mkdirSync(dirname(path), { recursive: true })
  const info: LockInfo = { pid: process.pid, host: hostname(), startedAt: new Date().toISOString(), command }
  let staleFrom: LockInfo | undefined
  for (let attempt = 0; attempt < 3; attempt++) {
    let fd: number
    try {
      fd = openSync(path, 'wx')
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
      const holder = readLock(path)
      if (holder && runningOrchestrator(path)) {
        throw new TanukiError(
          'TANUKI_LOCKED',
          `Another orchestrator (pid ${holder.pid}, started ${holder.startedAt}) is running this project. ` +
            'Watch it with `tanuki project status`, or stop it with `tanuki project stop`.',
          { details: { lock: path, pid: holder.pid } },
        )
      }
      staleFrom = holder
      rmSync(path, { force: true })
      continue
    }
    writeSync(fd, JSON.stringify(info, null, 2) + '\n')
    closeSync(fd)
    return {
      info,
      ...(staleFrom ? { staleFrom } : {}),
      release: () => {
        if (readLock(path)?.pid === process.pid) rmSync(path, { force: true })
      },
    }
  }
  throw new TanukiError('TANUKI_LOCKED', `Could not take the lock ${path}; another tanuki is starting at the same time.`)
}
