import { defineProject } from 'vitest/config'
import { alias } from '../../vitest.shared.ts'

export default defineProject({
  resolve: { alias },
  test: {
    name: 'plugin-agent-docker',
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
  },
})
