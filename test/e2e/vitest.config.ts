import { defineProject } from 'vitest/config'
import { alias, env } from '../../vitest.shared.ts'

export default defineProject({
  resolve: { alias },
  test: {
    env,
    name: 'e2e',
    include: ['**/*.test.ts'],
    // End-to-end tests run the built CLI and real processes: one file at a time when this project runs
    // alone; the root config runs two files at a time, of all projects (see its note).
    testTimeout: 120_000,
    hookTimeout: 120_000,
    fileParallelism: false,
  },
})
