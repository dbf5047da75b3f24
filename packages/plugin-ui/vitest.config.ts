import { defineProject } from 'vitest/config'
import { alias } from '../../vitest.shared.ts'

export default defineProject({
  resolve: { alias },
  test: {
    name: 'plugin-ui',
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    // The browser tests start a real run and a real Chromium: one file at a time when this project
    // runs alone; the root config runs two files at a time, of all projects (see its note).
    testTimeout: 120_000,
    hookTimeout: 120_000,
    fileParallelism: false,
  },
})
