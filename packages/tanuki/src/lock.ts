import { linkSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
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

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8')
  } catch {
    return undefined
  }
}

function parseLock(text: string | undefined): LockInfo | undefined {
  try {
    const info = JSON.parse(text ?? '') as LockInfo
    return typeof info.pid === 'number' ? info : undefined
  } catch {
    return undefined
  }
}

export function readLock(path: string): LockInfo | undefined {
  return parseLock(readText(path))
}

/**
 * When a process started (ms since the epoch), from /proc on Linux; undefined elsewhere. Tells a
 * pid the kernel reused apart from the orchestrator that wrote the lock.
 */
function processStart(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // Field 22 (starttime, in clock ticks since boot), counted after the command's closing paren.
    const ticks = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19])
    const boot = Number(/^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'))?.[1])
    return Number.isFinite(ticks) && Number.isFinite(boot) ? boot * 1000 + ticks * 10 : undefined
  } catch {
    return undefined
  }
}

/** The lock's process is alive and is the one that took it (not a later process given its pid). */
function holds(info: LockInfo): boolean {
  if (!isAlive(info.pid)) return false
  const started = processStart(info.pid)
  // The lock is written after its process starts; allow for clock-tick and boot-time rounding.
  return started === undefined || started <= Date.parse(info.startedAt) + 2000
}

/**
 * The running orchestrator of a project, if any. A lock whose process is gone, or whose pid now
 * belongs to another process, does not count. A lock from another host is taken at its word.
 */
export function runningOrchestrator(path: string): LockInfo | undefined {
  const info = readLock(path)
  if (!info) return undefined
  if (info.host !== hostname()) return info
  return holds(info) ? info : undefined
}

/**
 * Takes the project's lock: one orchestrator per project. A lock left by a dead process (a
 * crash, kill -9) is taken over. Returns a release function.
 */
export function acquireLock(
  path: string,
  command: string,
): { info: LockInfo; staleFrom?: LockInfo; release: () => void } {
  mkdirSync(dirname(path), { recursive: true })
  const info: LockInfo = { pid: process.pid, host: hostname(), startedAt: new Date().toISOString(), command }
  // Written whole to a file of our own, then linked into place: the lock never exists half-written,
  // and link() fails if it already exists.
  const temp = `${path}.${process.pid}.tmp`
  writeFileSync(temp, JSON.stringify(info, null, 2) + '\n')
  let staleFrom: LockInfo | undefined
  try {
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        linkSync(temp, path)
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
        const raw = readText(path)
        const holder = parseLock(raw)
        if (holder && (holder.host !== hostname() || holds(holder))) {
          throw new TanukiError(
            'TANUKI_LOCKED',
            `Another orchestrator (pid ${holder.pid}${holder.host === hostname() ? '' : ` on ${holder.host}`}, started ${holder.startedAt}) is running this project. ` +
              'Watch it with `tanuki project status`, or stop it with `tanuki project stop`.',
            { details: { lock: path, pid: holder.pid } },
          )
        }
        // Remove the stale lock only if it is still the one just judged stale.
        if (readText(path) === raw) rmSync(path, { force: true })
        staleFrom = holder
        continue
      }
      return {
        info,
        ...(staleFrom ? { staleFrom } : {}),
        release: () => {
          if (readLock(path)?.pid === process.pid) rmSync(path, { force: true })
        },
      }
    }
  } finally {
    rmSync(temp, { force: true })
  }
  throw new TanukiError(
    'TANUKI_LOCKED',
    `Could not take the lock ${path}; another tanuki is starting at the same time.`,
  )
}
