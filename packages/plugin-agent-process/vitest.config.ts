import { defineProject } from 'vitest/config'
import { alias } from '../../vitest.shared.ts'

export default defineProject({
  resolve: { alias },
  test: {
    name: 'plugin-agent-process',
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    // Real processes and git: a loaded machine makes seconds of what takes milliseconds when idle.
    testTimeout: 20_000,
  },
})
