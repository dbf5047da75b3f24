import { TanukiError, didYouMean } from '@tanuki/core'
import { createClaudeKind } from './claude.ts'
import { createCodexKind } from './codex.ts'
import { createCommandKind } from './command.ts'
import { createShellKind } from './shell.ts'
import type { AgentKind, KindOptions } from './types.ts'

/** The kinds `createKind` knows, by name. */
export const KIND_NAMES = ['claude', 'codex', 'command', 'shell'] as const

/**
 * Makes the agent kind a role's options ask for (`kind`, default `claude`). Throws
 * `TANUKI_CONFIG_INVALID` for an unknown kind or options the kind cannot work with.
 *
 * @example
 * const kind = createKind({ kind: 'shell' })
 * const { steps } = kind.plan({ prompt, task })
 */
export function createKind(options: KindOptions = {}): AgentKind {
  const kind = options.kind ?? 'claude'
  switch (kind) {
    case 'claude':
      return createClaudeKind(options)
    case 'codex':
      return createCodexKind(options)
    case 'command':
      return createCommandKind(options)
    case 'shell':
      return createShellKind(options)
    default:
      throw new TanukiError(
        'TANUKI_CONFIG_INVALID',
        `"kind" is ${JSON.stringify(kind)}, not an agent kind${didYouMean(String(kind), KIND_NAMES)}; use one of: ${KIND_NAMES.join(', ')}`,
        {
          details: { key: 'kind', value: kind },
        },
      )
  }
}

/**
 * The account an agent of a kind spends: the role's own (`account`), else the kind and its
 * credential variable (`claude:ANTHROPIC_API_KEY`); undefined for kinds that spend nothing.
 */
export function kindAccount(options: { account?: string }, kind: AgentKind): string | undefined {
  return options.account ?? (kind.credential ? `${kind.name}:${kind.credential}` : undefined)
}
