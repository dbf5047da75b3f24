import { defineProject } from 'vitest/config'
import { alias, env } from '../../vitest.shared.ts'

export default defineProject({
  resolve: { alias },
  test: {
    env,
    name: 'plugin-agent-process',
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    // Real processes and git: a loaded machine makes seconds of what takes milliseconds when idle.
    testTimeout: 20_000,
  },
})
