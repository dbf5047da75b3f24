/**
 * What happens when a reader closes the CLI's stdout or stderr (`tanuki … | head`, a pager
 * quit). A command that only prints ends there: what it printed is all the reader wanted. A run
 * must not: ended at once, it left its agents' processes running, its journal saying it still
 * ran, and an exit code of 0. While a run is on, it registers what to do instead.
 */
let whenClosed: ((stream: 'stdout' | 'stderr') => void) | undefined
const closed = new Set<string>()

/** Registers what a closed output does until the returned function is called. */
export function onOutputClosed(handler: (stream: 'stdout' | 'stderr') => void): () => void {
  whenClosed = handler
  return () => {
    if (whenClosed === handler) whenClosed = undefined
  }
}

/**
 * Handles an error of stdout or stderr: a closed reader goes to the registered handler (once per
 * stream) or ends the command; anything else is thrown.
 */
export function outputFailed(stream: 'stdout' | 'stderr', error: NodeJS.ErrnoException): void {
  // After the first EPIPE the stream is destroyed: later writes fail with ERR_STREAM_DESTROYED.
  if (error.code !== 'EPIPE' && error.code !== 'ERR_STREAM_DESTROYED') throw error
  // Once closed, the rest of a run's output (its summary, written after the run) goes nowhere.
  if (closed.has(stream)) return
  closed.add(stream)
  if (!whenClosed) process.exit(process.exitCode ?? 0)
  whenClosed(stream)
}

/** Whether a reader closed this output: nothing more should be written to it. */
export function outputClosed(stream: 'stdout' | 'stderr'): boolean {
  return closed.has(stream)
}
