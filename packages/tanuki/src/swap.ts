import { linkSync, readFileSync, renameSync, unlinkSync } from 'node:fs'

/**
 * Renames `temp` over `path` if the file still holds `expected`; else returns what it holds.
 * Nothing here waits, so nothing of this process comes between the check and the rename.
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
  beforeRename?: (path: string, step: 'written' | 'checked') => void,
): true | Buffer {
  beforeRename?.(path, 'written')
  const now = readFileSync(path)
  if (!now.equals(expected)) return now
  beforeRename?.(path, 'checked')
  let linked = true
  try {
    linkSync(path, old)
  } catch (error) {
    // A temp folder on another file system: beside the file, then (see `replace`).
    if ((error as NodeJS.ErrnoException).code === 'EXDEV') throw error
    linked = false
  }
  commit()
  renameSync(temp, path)
  if (!linked) return true
  const replaced = readFileSync(old)
  if (replaced.equals(expected)) {
    unlinkSync(old)
    return true
  }
  renameSync(old, path)
  return replaced
}

/** Removes a temp file if it is there; never throws (its folder may be a file, or gone). */
export function removeQuietly(path: string): void {
  try {
    // Not `rmSync`: its JavaScript walk (lstat first) cost ~45 µs a call, twice per status write.
    unlinkSync(path)
  } catch {}
}
