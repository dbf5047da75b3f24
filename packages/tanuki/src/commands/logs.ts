import { closeSync, existsSync, openSync, readdirSync, readSync, statSync } from 'node:fs'
import { StringDecoder } from 'node:string_decoder'
import { join } from 'node:path'
import { defineCommand } from 'citty'
import { TanukiError, nameProblem } from '@tanuki/core'
import { runningOrchestrator } from '../lock.ts'
import { agentLog, taskLogDir, type StatePaths } from '../paths.ts'
import { openProject } from '../project.ts'
import type { createTranscriptRenderer } from '../transcript.ts'
import { common, checkedProjectRoot, sleep } from './shared.ts'

/** The log files of a task (one per iteration, in order) or of an agent. */
function logFiles(paths: StatePaths, target: string): string[] | undefined {
  const taskDir = taskLogDir(paths, target)
  if (existsSync(taskDir))
    return readdirSync(taskDir)
      .sort()
      .map((name) => join(taskDir, name))
  const agent = agentLog(paths, target)
  if (existsSync(agent)) return [agent]
  return undefined
}

export const logsCommand = defineCommand({
  meta: {
    name: 'logs',
    description: 'Print the logs of a task (every iteration: prompt, output, verify) or of an agent',
  },
  args: {
    ...common,
    target: { type: 'positional', description: 'A task id or an agent name', required: true },
    follow: { type: 'boolean', alias: 'f', description: 'Keep printing as the logs grow, until the run ends' },
    raw: { type: 'boolean', description: "Print the agents' output as it came (Claude Code and Codex JSON lines)" },
  },
  async run({ args }) {
    // A task id or agent name becomes a path under .tanuki/logs: `..`, `.`, '' and separators never do.
    const problem = nameProblem(args.target, 'task id')
    if (problem) {
      throw new TanukiError(
        'TANUKI_NAME_INVALID',
        `tanuki logs: ${problem.replace('task id', 'task id or agent name')}. \`tanuki task list\` and \`tanuki project status\` show the names.`,
        { details: { target: args.target } },
      )
    }
    const project = await openProject(checkedProjectRoot(args))
    const { logs, lock } = project.paths
    let files = logFiles(project.paths, args.target)
    if (!files && !args.follow) {
      throw new TanukiError(
        'TANUKI_TASK_NOT_FOUND',
        `No logs for "${args.target}" in ${project.source.display(logs)}: it is neither a task that ran nor an agent. \`tanuki task list\` and \`tanuki project status\` show the names.`,
      )
    }
    // Agents' JSON made readable, per file (a line cut between reads waits for its end). The
    // renderer's module (the dashboard's transcript parser) loads only here.
    const { createTranscriptRenderer: makeRenderer } = await import('../transcript.ts')
    const renderers = new Map<string, ReturnType<typeof createTranscriptRenderer>>()
    const render = (file: string) => {
      let renderer = renderers.get(file)
      if (!renderer) renderers.set(file, (renderer = makeRenderer()))
      return renderer
    }
    // Per file: how far it was printed, and a decoder that holds a character cut between reads.
    const printed = new Map<string, { offset: number; decoder: StringDecoder }>()
    const drain = (): boolean => {
      let grew = false
      for (const file of files ?? []) {
        let seen = printed.get(file)
        if (!seen) printed.set(file, (seen = { offset: 0, decoder: new StringDecoder('utf8') }))
        const size = statSync(file).size
        if (size <= seen.offset) continue
        const fd = openSync(file, 'r')
        try {
          const chunk = Buffer.alloc(size - seen.offset)
          const read = readSync(fd, chunk, 0, chunk.length, seen.offset)
          const text = seen.decoder.write(chunk.subarray(0, read))
          process.stdout.write(args.raw ? text : render(file).push(text))
          seen.offset += read
          grew ||= read > 0
        } finally {
          closeSync(fd)
        }
      }
      return grew
    }
    const finish = (): void => {
      if (!args.raw) for (const renderer of renderers.values()) process.stdout.write(renderer.end())
    }
    drain()
    if (!args.follow) {
      finish()
      return 0
    }
    let stopped = false
    process.once('SIGINT', () => (stopped = true))
    // Follow until the run is over and nothing more arrives.
    for (let idle = 0; !stopped; ) {
      await sleep(250)
      files = logFiles(project.paths, args.target) ?? []
      idle = drain() ? 0 : idle + 1
      if (!runningOrchestrator(lock) && idle >= 4) break
    }
    finish()
    return 0
  },
})
