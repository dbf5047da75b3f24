import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { defineCommand } from 'citty'
import { TanukiError } from '@tanuki/core'
import { runningOrchestrator } from '../lock.ts'
import { agentLog } from '../paths.ts'
import { openProject } from '../project.ts'
import { common, projectRoot, sleep } from './shared.ts'

/** The log files of a task (one per iteration, in order) or of an agent. */
function logFiles(logs: string, target: string): string[] | undefined {
  const taskDir = join(logs, 'tasks', target)
  if (existsSync(taskDir)) return readdirSync(taskDir).sort().map((name) => join(taskDir, name))
  const agent = agentLog({ logs } as Parameters<typeof agentLog>[0], target)
  if (existsSync(agent)) return [agent]
  return undefined
}

export const logsCommand = defineCommand({
  meta: { name: 'logs', description: 'Print the logs of a task (every iteration: prompt, output, verify) or of an agent' },
  args: {
    ...common,
    target: { type: 'positional', description: 'A task id or an agent name', required: true },
    follow: { type: 'boolean', alias: 'f', description: 'Keep printing as the logs grow, until the run ends' },
  },
  async run({ args }) {
    const project = await openProject(projectRoot(args))
    const { logs, lock } = project.paths
    let files = logFiles(logs, args.target)
    if (!files && !args.follow) {
      throw new TanukiError(
        'TANUKI_TASK_NOT_FOUND',
        `No logs for "${args.target}" in ${project.source.display(logs)}: it is neither a task that ran nor an agent. \`tanuki task list\` and \`tanuki project status\` show the names.`,
      )
    }
    const printed = new Map<string, number>()
    const drain = (): void => {
      for (const file of files ?? []) {
        const size = statSync(file).size
        const from = printed.get(file) ?? 0
        if (size <= from) continue
        const text = readFileSync(file).subarray(from, size).toString('utf8')
        process.stdout.write(text)
        printed.set(file, size)
      }
    }
    drain()
    if (!args.follow) return 0
    let stopped = false
    process.once('SIGINT', () => (stopped = true))
    // Follow until the run is over and nothing more arrives.
    for (let idle = 0; !stopped; ) {
      await sleep(250)
      files = logFiles(logs, args.target) ?? []
      const before = [...printed.values()].reduce((a, b) => a + b, 0)
      drain()
      const grew = [...printed.values()].reduce((a, b) => a + b, 0) > before
      idle = grew ? 0 : idle + 1
      if (!runningOrchestrator(lock) && idle >= 4) break
    }
    return 0
  },
})
