import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { defineCommand } from 'citty'
import { CONFIG_NAMES } from '../config.ts'
import { STATE_GITIGNORE } from '../paths.ts'
import { common, projectRoot } from './shared.ts'

const SAMPLE_TASK = `---
id: TASK-001
title: Write a hello file
role: default
priority: medium
completion:
  verify: "test -f hello.txt"
  max_iterations: 5
---
Create a file named \`hello.txt\` in the project root containing a friendly greeting.
`

const SAMPLE_CONFIG = `import { defineConfig } from 'tanuki'

// Every role gets one agent unless it is listed here. The default agent is Claude Code
// (\`claude -p … --output-format stream-json\`), run as a local process in a git worktree.
export default defineConfig({
  agents: {
    default: { count: 1, kind: 'claude' },
    // backend: { count: 2, kind: 'claude', model: 'sonnet', systemPrompt: 'You write TypeScript.' },
    // qa: { kind: 'command', command: ['my-agent', '--prompt', '{prompt}'] },
  },
})
`

export const initCommand = defineCommand({
  meta: { name: 'init', description: 'Write .tanuki/tasks/ with a sample task and a tanuki.config.ts' },
  args: { ...common },
  async run({ args }) {
    const root = projectRoot(args)
    const wrote: string[] = []
    const kept: string[] = []
    const write = (path: string, text: string): void => {
      if (existsSync(path)) kept.push(relative(root, path))
      else {
        writeFileSync(path, text)
        wrote.push(relative(root, path))
      }
    }
    mkdirSync(join(root, '.tanuki', 'tasks'), { recursive: true })
    write(join(root, '.tanuki', '.gitignore'), STATE_GITIGNORE)
    write(join(root, '.tanuki', 'tasks', 'TASK-001.md'), SAMPLE_TASK)
    const config = CONFIG_NAMES.find((name) => existsSync(join(root, name)))
    if (config) kept.push(config)
    else write(join(root, 'tanuki.config.ts'), SAMPLE_CONFIG)
    for (const file of wrote) process.stdout.write(`wrote ${file}\n`)
    for (const file of kept) process.stdout.write(`kept  ${file} (already there)\n`)
    process.stdout.write('\nNext: edit the tasks, then `tanuki task validate` and `tanuki project start`.\n')
    return 0
  },
})
