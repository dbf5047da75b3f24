/**
 * A worker thread of the parallel read of task files (`readTaskFiles`): reads (unless their text
 * comes along) and parses the files it is given, in order.
 */
import { readTaskFile, toWire, type TaskFileToRead, type WireTaskFile } from './task-file.ts'

export default function parseTaskFiles({ files }: { files: TaskFileToRead[] }): WireTaskFile[] {
  return files.map(([path, shown, text, hash]) => toWire(readTaskFile(path, shown, text, hash)))
}
