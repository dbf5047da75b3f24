import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = (path: string): string => fileURLToPath(new URL(path, import.meta.url))

/** Tests import workspace packages from source, so they never run against a stale build. */
export const alias = {
  '@tanuki/core': here('./packages/core/src/index.ts'),
  '@tanuki/plugin-agent-process/kit': here('./packages/plugin-agent-process/src/kit/index.ts'),
  '@tanuki/plugin-agent-process': here('./packages/plugin-agent-process/src/index.ts'),
  '@tanuki/plugin-agent-docker': here('./packages/plugin-agent-docker/src/index.ts'),
  '@tanuki/plugin-agent-remote': here('./packages/plugin-agent-remote/src/index.ts'),
  '@tanuki/plugin-reporter': here('./packages/plugin-reporter/src/index.ts'),
  '@tanuki/plugin-ui': here('./packages/plugin-ui/src/index.ts'),
  '@tanuki/testing': here('./packages/testing/src/index.ts'),
}

/**
 * The environment tests run in: agents' worktrees go to a state home of the tests' own, not the
 * user's (`~/.local/state`), and temp projects' worktrees never pile up there.
 */
export const env = { XDG_STATE_HOME: join(tmpdir(), 'tanuki-test-state') }
