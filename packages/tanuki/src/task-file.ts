import crypto from 'node:crypto'
import fs, { readFileSync, type Stats } from 'node:fs'
import { TanukiError, errorMessage, isTanukiError, parseTask, type Task, type TanukiErrorCode } from '@tanuki/core'
import { readWithStats } from './lister.ts'

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

/**
 * A task file's text. Refuses (`TANUKI_TASK_INVALID`) bytes that are not UTF-8: read loosely they
 * would become U+FFFD, and the next status write would save that in place of the person's bytes.
 */
export function readTaskText(path: string, shown: string): string {
  return decodeTaskText(readFileSync(path), shown)
}

/** A task file's text and its stat (see `readWithStats`), or why it cannot be read, naming the file; never throws. */
export function readTaskFileTextAndStats(
  path: string,
  shown: string,
): { text: string; stats: Stats } | { error: TanukiError } {
  try {
    const { bytes, stats } = readWithStats(fs, path)
    return { text: decodeTaskText(bytes, shown), stats }
  } catch (error) {
    return { error: unreadable(error, shown) }
  }
}

function unreadable(error: unknown, shown: string): TanukiError {
  return isTanukiError(error)
    ? error
    : new TanukiError('TANUKI_TASK_INVALID', `${shown}: cannot be read: ${errorMessage(error)}`, { cause: error })
}

/** A task file's bytes as text; refuses what is not UTF-8 (see `readTaskText`). */
export function decodeTaskText(bytes: Buffer, shown: string): string {
  try {
    return utf8.decode(bytes)
  } catch (error) {
    const loose = Buffer.from(bytes.toString('utf8'), 'utf8')
    let at = 0
    while (at < bytes.length && bytes[at] === loose[at]) at++
    const line = bytes.subarray(0, at).toString('latin1').split('\n').length
    throw new TanukiError(
      'TANUKI_TASK_INVALID',
      `${shown}: is not UTF-8 text (byte 0x${(bytes[at] ?? 0).toString(16).padStart(2, '0')} on line ${line}); ` +
        'save it as UTF-8 (e.g. `iconv -f latin1 -t utf-8`)',
      { cause: error, details: { source: shown, offset: at, line } },
    )
  }
}

/** The one-shot `crypto.hash` (Node 20.12 on): half the time of a `createHash` object per file. */
const oneShot = crypto.hash as typeof crypto.hash | undefined

/**
 * What Tanuki keeps of a task file's text to know it again: its SHA-1 (base64, 27 characters).
 * Telling a person's edit from the echo of Tanuki's own write, or a file's text from the one the
 * cache parsed, needs only equality; keeping every text instead held ~200 bytes a file (and twice
 * that in the cache's lines), most of the memory 100,000 task files took beyond their tasks.
 */
export function textHash(text: string): string {
  const digest = oneShot ? oneShot('sha1', text, 'base64') : crypto.createHash('sha1').update(text).digest('base64')
  return digest.slice(0, 27)
}

/** A task file to read: its path, its path as people see it, and its text (and the text's hash) when already read. */
export type TaskFileToRead = readonly [path: string, shown: string, text?: string, hash?: string]

/** One task file as read: its task and the hash of its text, or the problem, naming the file. */
export type TaskFile = { task: Task; hash: string } | { error: TanukiError }

/** A task file's text, or why it cannot be read, naming the file; never throws. */
export function readTaskFileText(path: string, shown: string): string | { error: TanukiError } {
  try {
    return readTaskText(path, shown)
  } catch (error) {
    return { error: unreadable(error, shown) }
  }
}

/**
 * Reads and parses one task file; never throws. `shown` is its path as people see it; `read`, its
 * text when the caller has read it already, and `hash`, that text's `textHash` if it has it.
 */
export function readTaskFile(path: string, shown: string, read?: string, hash?: string): TaskFile {
  const text = read ?? readTaskFileText(path, shown)
  if (typeof text !== 'string') return text
  try {
    return { task: parseTask(text, shown), hash: hash ?? textHash(text) }
  } catch (error) {
    return {
      error: isTanukiError(error)
        ? error
        : new TanukiError('TANUKI_TASK_INVALID', `${shown}: ${errorMessage(error)}`, { cause: error }),
    }
  }
}

/**
 * A task file as it crosses between threads: a `TanukiError` goes as its code, message and
 * details (its cause, a parser's own error, stays behind).
 */
export type WireTaskFile =
  | { task: Task; hash: string }
  | { error: { code: TanukiErrorCode; message: string; details: Record<string, unknown> } }

export function toWire(file: TaskFile): WireTaskFile {
  if ('task' in file) return file
  const { code, message, details } = file.error
  return { error: { code, message, details } }
}

export function fromWire(file: WireTaskFile): TaskFile {
  if ('task' in file) return file
  const { code, message, details } = file.error
  return { error: new TanukiError(code, message, { details }) }
}
