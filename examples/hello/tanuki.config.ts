import { defineConfig } from 'tanuki'

// Offline: every agent is the `shell` kind, which runs the fenced sh blocks of its task's body.
// Swap `kind: 'shell'` for `kind: 'claude'` and the same tasks go to Claude Code (see ../claude).
export default defineConfig({
  cooldownMs: 200,
  defaults: { backend: 'process', kind: 'shell' },
  agents: {
    writer: { count: 2 },
    builder: { count: 1 },
    qa: { count: 1 },
  },
})
