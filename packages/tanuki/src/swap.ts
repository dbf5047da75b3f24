import { existsSync, linkSync, readFileSync, renameSync, unlinkSync } from 'node:fs'
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { TanukiError, errorMessage, isTanukiError } from '@tanuki/core'
import { isAlive } from './lock.ts'

/** Where a status write is, for tests that act as a person at that moment (see `swapIfUnchanged`). */
export type SwapStep = 'written' | 'checked' | 'renamed'

/**
 * Renames `temp` over `path` if the file still holds `expected`; else returns what it holds.
 * Either way neither `temp` nor `old` is left once it returns. After a throw the caller removes
 * what is, but for `old` once the rename is done: it may then hold the only copy of a person's
 * save, and the error (`details.kept`) says so. Nothing here waits, so nothing of this process
 * comes between the check and the rename.
 *
 * Without a lock, which people's editors would not take anyway, the check and the rename cannot
 * be one step; what is left between them is narrowed so:
 * - The check compares the bytes, not the stat: a same-size save within one tick of the file
 *   system's clock (a few ms on Linux) keeps size and times, and an in-place write keeps the
 *   inode. A task file is small: reading it again costs little more than a stat.
 * - The check alone still lost a line in nearly every run of the test that appends while
 *   statuses are written (the process can be put off the CPU between the check and the rename).
 *   So the file checked is first linked as `old`, the temp renamed over it, and `old` read again.
 *   A write into the file replaced (`echo >> file`, an editor saving in place) that landed after
 *   the check, or a save that renamed another file over it before the link, shows there: that
 *   file, the person's very inode, is renamed back over Tanuki's, and the write starts over.
 * What is still lost: a save that renames a file over the task file between the link and the
 * rename (two system calls apart), a write in place through a file opened before the rename
 * and written after `old` was read again, and a write into Tanuki's text in the moment before a
 * person's file is put back over it. A file system without hard links keeps only the check.
 */
export function swapIfUnchanged(
  path: string,
  temp: string,
  old: string,
  expected: Buffer,
  commit: () => void,
  beforeRename?: (path: string, step: SwapStep) => void,
): true | Buffer {
  beforeRename?.(path, 'written')
  const now = readFileSync(path)
  if (!now.equals(expected)) {
    removeQuietly(temp)
    return now
  }
  beforeRename?.(path, 'checked')
  let linked = true
  try {
    try {
      linkSync(path, old)
    } catch (error) {
      // Left by a process of the same pid that was killed mid-write (a container's pids repeat):
      // it is this write's own name, and in its way.
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
      unlinkSync(old)
      linkSync(path, old)
    }
  } catch (error) {
    // A temp folder on another file system: beside the file, then (see `replace`).
    if ((error as NodeJS.ErrnoException).code === 'EXDEV') throw error
    linked = false
  }
  commit()
  renameSync(temp, path)
  if (!linked) return true
  try {
    beforeRename?.(path, 'renamed')
    const replaced = readFileSync(old)
    if (replaced.equals(expected)) {
      removeQuietly(old)
      return true
    }
    renameSync(old, path)
    return replaced
  } catch (error) {
    // Under a name no sweep of temps takes (theirs end in .tmp), when it can be renamed at all.
    let kept = old
    try {
      renameSync(old, `${old.replace(/\.tmp$/, '')}.kept`)
      kept = `${old.replace(/\.tmp$/, '')}.kept`
    } catch {}
    throw new TanukiError(
      'TANUKI_TASK_UNWRITABLE',
      `${path}: Tanuki wrote its status into this file, then could not check the text it replaced ` +
        `(${errorMessage(error)}). That text is kept as ${kept}: compare it with the file.`,
      { cause: error, details: { kept } },
    )
  }
}

/** Whether a throw of `swapIfUnchanged` kept the text it replaced (then `old` is not to be removed). */
export function keptOld(error: unknown): boolean {
  return isTanukiError(error) && typeof (error.details as { kept?: unknown } | undefined)?.kept === 'string'
}

/** Removes a temp file if it is there; never throws (its folder may be a file, or gone). */
export function removeQuietly(path: string): void {
  try {
    // Not `rmSync`: its JavaScript walk (lstat first) cost ~45 µs a call, twice per status write.
    unlinkSync(path)
  } catch {}
}

/** Temp files named so far by this process (see `Replacer.replace`). */
let tempCount = 0

/**
 * Writes files' new texts atomically, a temp file renamed over each (`swapIfUnchanged`), the
 * temps in a folder of the state folder (`tempDir`) when it can: a process killed between the
 * two leaves its temp there, not among the person's tasks, where git would see it.
 */
export class Replacer {
  /** The temp folder made, and what earlier processes left in it swept: once, at the first write. */
  private ready: Promise<void> | undefined
  /** The temp folder is on another file system than the files: renames from it fail. */
  private elsewhere = false

  constructor(
    private readonly tempDir: string | undefined,
    private readonly beforeRename?: (path: string, step: SwapStep) => void,
  ) {}

  /**
   * Replaces a file's text atomically, a temp file renamed over it, unless the file no longer
   * holds `expected`, what the write read (a person saved it since): then the file keeps the
   * person's text, returned. `commit` runs right before the rename.
   */
  async replace(path: string, text: string, expected: Buffer, commit: () => void): Promise<true | Buffer> {
    if (this.tempDir && !this.elsewhere) {
      // Named by a counter of the process, not of this source: two sources could share the folder.
      const temp = join(this.tempDir, `${process.pid}-${++tempCount}.tmp`)
      const old = join(this.tempDir, `${process.pid}-${++tempCount}.tmp`)
      let written = false
      let swapped = false
      let kept = false
      try {
        await (this.ready ??= this.prepare(this.tempDir).catch((error: unknown) => {
          // Tried again at the next write: the state folder may be made meanwhile.
          this.ready = undefined
          throw error
        }))
        // Through the pool: creating a file took ~0.35 ms on this machine's disk (bench/README),
        // the orchestrator's thread's time for a dozen tasks' events.
        await writeFile(temp, text, { flag: 'wx' })
        written = true
        const result = swapIfUnchanged(path, temp, old, expected, commit, this.beforeRename)
        swapped = true
        return result
      } catch (error) {
        kept = keptOld(error)
        // The folder cannot be made (yet), or is on another file system than the tasks (for good):
        // beside the file, then. Past the temp, only another file system is a reason to.
        if ((error as NodeJS.ErrnoException).code === 'EXDEV') this.elsewhere = true
        else if (written) throw error
      } finally {
        // A swap leaves nothing: removing names that are gone took the temp folder's lock twice
        // a write, for nothing.
        if (!swapped) {
          removeQuietly(temp)
          if (!kept) removeQuietly(old)
        }
      }
    }
    // Both end as `FileTaskSource`'s watcher's `ownTemp` does, so it pays them no attention.
    const temp = `${path}.tanuki-${process.pid}.tmp`
    const old = `${path}.old.tanuki-${process.pid}.tmp`
    let swapped = false
    let kept = false
    try {
      await writeFile(temp, text)
      const result = swapIfUnchanged(path, temp, old, expected, commit, this.beforeRename)
      swapped = true
      return result
    } catch (error) {
      kept = keptOld(error)
      throw error
    } finally {
      if (!swapped) {
        removeQuietly(temp)
        if (!kept) removeQuietly(old)
      }
    }
  }

  /**
   * Makes the temp folder and removes the temp files of processes that are gone. Refuses a state
   * folder without the .gitignore that says Tanuki made it (a project never run): a temp left in
   * it would show in `git status` all the same.
   */
  private async prepare(dir: string): Promise<void> {
    if (!existsSync(join(dirname(dir), '.gitignore'))) throw new Error(`${dirname(dir)} is not a state folder yet`)
    await mkdir(dir, { recursive: true })
    for (const name of await readdir(dir)) {
      const pid = /^(\d+)-\d+\.tmp$/.exec(name)?.[1]
      if (pid !== undefined && Number(pid) !== process.pid && !isAlive(Number(pid)))
        await rm(join(dir, name), { force: true }).catch(() => {})
    }
  }
}
