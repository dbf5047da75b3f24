import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    projects: ['packages/*', 'test/e2e', 'examples/embed'],
    coverage: {
      provider: 'v8',
      include: ['packages/core/src/**/*.ts'],
      exclude: [
        '**/*.test.ts',
        'packages/core/src/index.ts',
        '**/types.ts',
        '**/events.ts',
        'packages/core/src/orchestrator/test-harness.ts',
      ],
      thresholds: { lines: 80, branches: 80, functions: 80, statements: 80 },
      reporter: ['text-summary', 'text'],
    },
  },
})
