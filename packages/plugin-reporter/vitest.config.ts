import { defineProject } from 'vitest/config'
import { alias, env } from '../../vitest.shared.ts'

export default defineProject({
  resolve: { alias },
  test: {
    env,
    name: 'plugin-reporter',
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
  },
})
