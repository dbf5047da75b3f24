import { defineConfig } from 'tanuki'

// Claude Code agents as local processes, each in its own git worktree. Needs `claude` on PATH and
// a key (ANTHROPIC_API_KEY) or a logged-in Claude Code.
export default defineConfig({
  cooldownMs: 2000,
  defaults: { backend: 'process', kind: 'claude', maxTurns: 20 },
  agents: {
    writer: { count: 2, model: 'haiku', systemPrompt: 'You write short, plain English text files.' },
    builder: { model: 'sonnet', systemPrompt: 'You write small POSIX shell scripts. Keep them portable.' },
    qa: {
      model: 'sonnet',
      systemPrompt: 'You review work and fix what is wrong. Be brief.',
      allowedTools: ['Read', 'Bash', 'Edit', 'Write'],
    },
  },
})
