import { availableParallelism } from 'node:os'
import { defineConfig } from 'vitest/config'

// Vitest's default is one worker less than the CPUs: on a 2-CPU CI machine, one, and every file ran
// in turn (1,007 s here). Most of the slow files wait on the processes they start, so two at a time
// took 553 s with every test passing. A project's own `fileParallelism: false` applies only when
// it runs alone (`--config test/e2e/vitest.config.ts`); in this run all projects share the pool.
const workers = Math.max(2, availableParallelism() - 1)

export default defineConfig({
  test: {
    projects: ['packages/*', 'test/e2e', 'examples/embed'],
    maxWorkers: workers,
    minWorkers: 1,
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
