import { readFileSync } from 'node:fs'
import { Writable } from 'node:stream'
import xterm from '@xterm/headless'
import { hookName, type Reporter, type TanukiEventName, type TanukiEvents } from '@tanuki/core'
import type { RecordedEvent } from './scenario.ts'

/** The events of a real run, recorded by test/fixtures/record-events.ts. */
export function loadFixture(): RecordedEvent[] {
  return JSON.parse(readFileSync(new URL('./fixtures/events.json', import.meta.url), 'utf8')) as RecordedEvent[]
}

/** Feeds events to a reporter the way the orchestrator does (`onEvent`, then the named hook), then closes it. */
export async function replay(
  reporter: Reporter,
  events: RecordedEvent[],
  options: { close?: boolean } = {},
): Promise<void> {
  for (const { name, payload } of events) {
    await reporter.onEvent?.(name, payload as TanukiEvents[TanukiEventName])
    const hook = reporter[hookName(name)] as ((event: unknown) => unknown) | undefined
    await hook?.call(reporter, payload)
  }
  if (options.close ?? true) await reporter.onClose?.()
}

/** The final status of every task, as the events tell it (the last `task:status`, else its loaded status). */
export function finalStatuses(events: RecordedEvent[]): Map<string, string> {
  const statuses = new Map<string, string>()
  for (const { name, payload } of events) {
    if (name === 'project:loaded')
      for (const task of (payload as TanukiEvents['project:loaded']).tasks) statuses.set(task.id, task.status)
    if (name === 'task:status') {
      const change = payload as TanukiEvents['task:status']
      statuses.set(change.taskId, change.to)
    }
  }
  return statuses
}

/** A writable stream that says it is a terminal, and keeps everything written to it. */
export class FakeTerminal extends Writable {
  readonly isTTY = true
  output = ''
  writes = 0
  constructor(
    readonly columns = 100,
    readonly rows = 30,
  ) {
    super()
  }
  override _write(chunk: Buffer | string, _encoding: BufferEncoding, callback: () => void): void {
    this.output += chunk.toString()
    this.writes++
    callback()
  }
}

/** A plain writable (a pipe, a CI log) that keeps what is written. */
export class FakePipe extends Writable {
  output = ''
  override _write(chunk: Buffer | string, _encoding: BufferEncoding, callback: () => void): void {
    this.output += chunk.toString()
    callback()
  }
}

/**
 * What a terminal shows after receiving `output`: a real terminal emulator (xterm.js, headless)
 * interprets the escape codes, so cursor moves and erasing are checked, not guessed.
 */
export async function screen(output: string, columns = 100, rows = 30): Promise<string[]> {
  const term = new xterm.Terminal({ cols: columns, rows, allowProposedApi: true, scrollback: 1000, convertEol: true })
  await new Promise<void>((resolve) => term.write(output, resolve))
  const buffer = term.buffer.active
  const lines: string[] = []
  for (let i = 0; i < buffer.length; i++) lines.push(buffer.getLine(i)?.translateToString(true) ?? '')
  term.dispose()
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop()
  return lines
}
