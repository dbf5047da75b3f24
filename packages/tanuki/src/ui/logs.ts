import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Usage } from '@tanuki/core'
import type { IterationRecord } from '@tanuki/plugin-ui'
import type { StatePaths } from '../paths.ts'

const HEADER = /^# (\S+) — iteration (\d+)\/(\d+)(?: \(log \d+ of this task\))? on (\S+) at (\S+)$/
const PROMPT = '\n## Prompt\n\n'
const OUTPUT = '\n## Agent output\n\n'
const RESULT = '\n## Result: '
const VERIFY = /\n## Verify: `([\s\S]*?)` exited (-?\d+|without a code)( \(timed out\))?\n\n/

/**
 * One iteration's log, as the state reporter writes it (`.tanuki/logs/tasks/<id>/iteration-NNN.log`):
 * header, prompt, agent output, and once it ended the result, usage and verify. A log still being
 * written has no result yet: everything after the output's heading is the output so far.
 *
 * @example
 * parseIterationLog(readFileSync(file, 'utf8'), 3).outcome // 'retry'
 */
export function parseIterationLog(text: string, number: number): IterationRecord {
  const firstLine = text.slice(0, text.indexOf('\n') === -1 ? text.length : text.indexOf('\n'))
  const header = HEADER.exec(firstLine)
  const record: IterationRecord = { number, iteration: header ? Number(header[2]) : number, output: '' }
  if (header) {
    record.maxIterations = Number(header[3])
    record.agent = header[4]!
    record.startedAt = header[5]!
  }
  const promptAt = text.indexOf(PROMPT)
  const outputAt = text.indexOf(OUTPUT, promptAt === -1 ? 0 : promptAt)
  if (promptAt !== -1) record.prompt = text.slice(promptAt + PROMPT.length, outputAt === -1 ? undefined : outputAt)
  if (outputAt === -1) return record
  const rest = text.slice(outputAt + OUTPUT.length)
  const resultAt = rest.lastIndexOf(RESULT)
  if (resultAt === -1) {
    record.output = rest
    return record
  }
  record.output = rest.slice(0, resultAt)
  const tail = rest.slice(resultAt + RESULT.length)
  const resultLine = tail.slice(0, tail.indexOf('\n') === -1 ? tail.length : tail.indexOf('\n'))
  const dash = resultLine.indexOf(' — ')
  record.outcome = dash === -1 ? resultLine.trim() : resultLine.slice(0, dash)
  if (dash !== -1) record.reason = resultLine.slice(dash + 3)
  const verify = VERIFY.exec(tail)
  const facts = verify ? tail.slice(0, verify.index) : tail
  for (const line of facts.split('\n')) {
    const usage = /^usage: (\{.*\})$/.exec(line)
    if (usage) {
      try {
        record.usage = JSON.parse(usage[1]!) as Usage
      } catch {
        // a line cut short: the usage is left out
      }
    }
    const failure = /^failure: ([\w-]+) — (.*)$/.exec(line)
    if (failure) record.failure = { class: failure[1]!, cause: failure[2]! }
  }
  if (verify) {
    record.verify = {
      command: verify[1]!,
      exitCode: verify[2] === 'without a code' ? null : Number(verify[2]),
      ...(verify[3] ? { timedOut: true } : {}),
      output: tail.slice(verify.index + verify[0].length).replace(/\n$/, ''),
    }
  }
  return record
}

/** Every iteration log of a task, oldest first. */
export function readIterations(paths: StatePaths, taskId: string): IterationRecord[] {
  const dir = join(paths.logs, 'tasks', taskId)
  if (!existsSync(dir)) return []
  return readdirSync(dir)
    .filter((name) => /^iteration-\d+\.log$/.test(name))
    .sort()
    .map((name) => parseIterationLog(readFileSync(join(dir, name), 'utf8'), Number(/\d+/.exec(name)![0])))
}
