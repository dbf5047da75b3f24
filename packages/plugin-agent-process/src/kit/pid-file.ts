import { readFileSync, writeFileSync } from 'node:fs'

/**
 * The width a pid file's line is padded to (Linux's pids have at most 7 digits), so that each
 * write covers the whole of the one before it.
 */
export const PID_WIDTH = 10

/**
 * Writes a pid file in place: the pid (or, once its process ended, blanks) padded to
 * `PID_WIDTH`. The file is made the first time, and never truncated after: a file truncated and
 * written again gives its block back and takes another each time, which on a disk mounted with
 * `discard` waits for the device (0.6 ms a write on this project's VM, bench/README.md). Throws
 * what the file system says (a folder that went away).
 */
export function writePidFile(path: string, pid: number | undefined): void {
  const line = `${(pid ?? '').toString().padEnd(PID_WIDTH)}\n`
  try {
    writeFileSync(path, line, { flag: 'r+' })
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
    writeFileSync(path, line)
  }
}

/** The pid a pid file names: `undefined` when it is blank (its process ended) or unreadable. */
export function readPidFile(path: string): number | undefined {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch {
    return undefined
  }
  const pid = Number.parseInt(text, 10)
  return Number.isInteger(pid) && pid > 0 ? pid : undefined
}
