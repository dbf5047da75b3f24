/**
 * A worker thread of the parallel read of task files (`readTaskFiles`): reads and parses the
 * files it is given, in order.
 */
import { readTaskFile, toWire, type WireTaskFile } from './task-file.ts'

export default function parseTaskFiles({ files }: { files: [path: string, shown: string][] }): WireTaskFile[] {
  return files.map(([path, shown]) => toWire(readTaskFile(path, shown)))
}
