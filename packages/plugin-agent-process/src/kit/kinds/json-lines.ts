import type { OutputChunk, RunResult } from '@tanuki/core'
import type { OutputParser } from './types.ts'

/** A JSON object from an NDJSON stream: fields are read defensively, since CLIs add and drop them. */
export type JsonObject = Record<string, unknown>

/**
 * Splits a stream of text into NDJSON lines and hands each parsed object to `onObject`. Chunks may
 * break anywhere; a line is only parsed once complete.
 * Lines that are not JSON objects (a warning a CLI printed to stdout) go to `onOther`.
 */
export function createJsonLines(onObject: (value: JsonObject) => void, onOther?: (line: string) => void) {
  let pending = ''
  const take = (line: string): void => {
    const trimmed = line.trim()
    if (!trimmed) return
    try {
      const value: unknown = JSON.parse(trimmed)
      if (value !== null && typeof value === 'object' && !Array.isArray(value)) return onObject(value as JsonObject)
    } catch {
      // Not JSON: falls through to onOther.
    }
    onOther?.(trimmed)
  }
  return {
    /** More text from the stream. */
    push(text: string): void {
      // Only the new text is searched, and lines are cut from it as they are: joined to what was
      // pending, every chunk was copied whole once more, and a long line once per chunk.
      let newline = text.indexOf('\n')
      if (newline === -1) {
        pending += text
        return
      }
      take(pending + text.slice(0, newline))
      let start = newline + 1
      while ((newline = text.indexOf('\n', start)) !== -1) {
        take(text.slice(start, newline))
        start = newline + 1
      }
      pending = text.slice(start)
    },
    /** The stream ended: a last line without a newline still counts. */
    flush(): void {
      const rest = pending
      pending = ''
      take(rest)
    },
  }
}

/** How a JSON-lines process ended, besides what its events said. */
export interface StreamEnd {
  /** `null`: killed; `undefined`: not ended yet. */
  exitCode: number | null | undefined
  /** The end of stderr: only the end matters for error messages, and memory stays flat. */
  stderr: string
  /** stdout lines that were not JSON (a warning the CLI printed). */
  strayLines: string[]
}

/**
 * The OutputParser of a CLI that prints JSON lines on stdout (Claude Code's stream-json, Codex's
 * --json): each event goes to `onEvent`, and `result` builds the RunResult from what they held.
 */
export function createJsonLinesParser(
  onEvent: (event: JsonObject) => void,
  result: (end: StreamEnd) => RunResult,
): OutputParser {
  const end: StreamEnd = { exitCode: undefined, stderr: '', strayLines: [] }
  const lines = createJsonLines(onEvent, (line) => end.strayLines.push(line))
  return {
    push(chunk: OutputChunk) {
      if (chunk.stream === 'stdout') lines.push(chunk.text)
      else end.stderr = (end.stderr + chunk.text).slice(-8000)
    },
    end(code) {
      lines.flush()
      end.exitCode = code
    },
    result: () => result(end),
  }
}

/** `value[key]` when it is a string. */
export function str(value: unknown, key: string): string | undefined {
  const field = isObject(value) ? value[key] : undefined
  return typeof field === 'string' ? field : undefined
}

/** `value[key]` when it is a finite number. */
export function num(value: unknown, key: string): number | undefined {
  const field = isObject(value) ? value[key] : undefined
  return typeof field === 'number' && Number.isFinite(field) ? field : undefined
}

/** `value[key]` when it is an object. */
export function obj(value: unknown, key: string): JsonObject | undefined {
  const field = isObject(value) ? value[key] : undefined
  return isObject(field) ? field : undefined
}

/** `value[key]` when it is an array. */
export function arr(value: unknown, key: string): unknown[] {
  const field = isObject(value) ? value[key] : undefined
  return Array.isArray(field) ? field : []
}

/** True for a plain JSON object (not null, not an array). */
export function isObject(value: unknown): value is JsonObject {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
}

/** The last lines of a text, for error messages that must stay short. */
export function tail(text: string, lines = 5): string {
  return text.trim().split('\n').slice(-lines).join('\n')
}
