import { describe, expect, it } from 'vitest'
import { onOutputClosed, outputClosed, outputFailed } from './output.ts'

const epipe = (): NodeJS.ErrnoException => Object.assign(new Error('write EPIPE'), { code: 'EPIPE' })

describe('a closed output while a run is on', () => {
  it('goes to the run once per stream, and what is not a closed reader is thrown', () => {
    const seen: string[] = []
    const stop = onOutputClosed((stream) => seen.push(stream))
    try {
      expect(outputClosed('stdout')).toBe(false)
      outputFailed('stdout', epipe())
      // Later writes to the destroyed stream fail too: the run heard of it once.
      outputFailed('stdout', Object.assign(new Error('destroyed'), { code: 'ERR_STREAM_DESTROYED' }))
      outputFailed('stderr', epipe())
      expect(seen).toEqual(['stdout', 'stderr'])
      expect(outputClosed('stdout')).toBe(true)
      const full = Object.assign(new Error('no space left'), { code: 'ENOSPC' })
      expect(() => outputFailed('stdout', full)).toThrow(full)
    } finally {
      stop()
    }
  })
})
