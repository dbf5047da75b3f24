import { defineProject } from 'vitest/config'
import { alias, env } from '../../vitest.shared.ts'

export default defineProject({
  resolve: { alias },
  test: {
    env,
    name: 'plugin-agent-remote',
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    // Real redis-server, git and processes; a worker's lost lease is noticed in seconds, not milliseconds.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Each file starts its own redis-server: running them one at a time keeps the machine's two cores for the workers.
    fileParallelism: false,
  },
})
