import { availableParallelism } from 'node:os'
import { fromWire, readTaskFile, type TaskFile, type TaskFileToRead, type WireTaskFile } from './task-file.ts'

/** From this many task files on, reading them is shared with worker threads (when there are CPUs for them). */
export const PARALLEL_PARSE_MIN_FILES = 2000

/** From this many CPUs on, worker threads help by default. */
export const PARALLEL_PARSE_MIN_CPUS = 4

/** Files per message to a worker: enough to make messages few, few enough to share the work out evenly. */
const CHUNK = 256

/**
 * How many worker threads help the main thread read `files` task files: `setting` (the
 * `TANUKI_PARSE_THREADS` environment variable) when it is a whole number, 0 turning them off;
 * else, from `PARALLEL_PARSE_MIN_FILES` files and `PARALLEL_PARSE_MIN_CPUS` CPUs on, one per CPU
 * beyond the first, and none below. A worker costs its start-up (loading the parser, 0.2–0.4 s)
 * and every task it parsed is copied back to the main thread (about 10 µs each); on 2 CPUs
 * shared with other work, one worker made reading 10,000 and 100,000 files slower, not faster
 * (bench/cli.bench.ts), so there it is off unless asked for.
 */
export function parseThreads(
  files: number,
  setting = process.env.TANUKI_PARSE_THREADS,
  cpus = availableParallelism(),
): number {
  if (setting !== undefined && /^\s*\d+\s*$/.test(setting)) return Number(setting)
  return files >= PARALLEL_PARSE_MIN_FILES && cpus >= PARALLEL_PARSE_MIN_CPUS ? cpus - 1 : 0
}

// The built package has the worker beside it in dist/; the TypeScript sources (tests) need a
// worker that registers tsx first.
const workerFile = import.meta.url.endsWith('.ts')
  ? new URL('./parse-worker-source.mjs', import.meta.url).href
  : new URL('./parse-worker.js', import.meta.url).href

/**
 * Reads and parses task files (`[path, shown, text?]` each) as `readTaskFile` does, on the main thread
 * and `threads` worker threads at once: each takes the next chunk of files whenever it is free, so
 * a worker still starting leaves the work to the others. The result is in the order of `files`,
 * and the same as reading them one by one: tasks are plain data, and a problem comes back as the
 * same `TanukiError` (code, message, details). Should a worker fail, the main thread reads what
 * was left.
 */
export async function readTaskFiles(
  files: readonly TaskFileToRead[],
  threads: number,
  /** Counts the chunks each side read, for people checking the split. */
  chunksRead?: { main: number; workers: number },
): Promise<TaskFile[]> {
  const chunks: TaskFileToRead[][] = []
  for (let at = 0; at < files.length; at += CHUNK) chunks.push(files.slice(at, at + CHUNK))
  const results: TaskFile[][] = new Array(chunks.length)
  const readHere = (index: number): void => {
    results[index] = chunks[index]!.map(([path, shown, text, hash]) => readTaskFile(path, shown, text, hash))
    if (chunksRead) chunksRead.main++
  }
  if (threads <= 0 || chunks.length < 2) {
    for (let index = 0; index < chunks.length; index++) readHere(index)
    return results.flat()
  }
  // Imported only when used: loading tinypool runs two shell pipelines over /proc/cpuinfo to count
  // physical cores (a dozen processes), a cost every start would pay for nothing.
  const { default: Tinypool } = await import('tinypool')
  const pool = new Tinypool({ filename: workerFile, minThreads: threads, maxThreads: threads })
  let next = 0
  let pooled = true
  const worker = async (): Promise<void> => {
    while (pooled && next < chunks.length) {
      const index = next++
      try {
        const read = (await pool.run({ files: chunks[index] })) as WireTaskFile[]
        results[index] = read.map(fromWire)
        if (chunksRead) chunksRead.workers++
      } catch {
        pooled = false
        readHere(index)
      }
    }
  }
  const main = async (): Promise<void> => {
    while (next < chunks.length) {
      readHere(next++)
      // Between chunks, the workers' answers come in and they take their next chunk.
      await new Promise((resolve) => setImmediate(resolve))
    }
  }
  try {
    await Promise.all([...Array.from({ length: threads }, worker), main()])
  } finally {
    await pool.destroy()
  }
  return results.flat()
}
