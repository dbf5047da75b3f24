import { TanukiError } from '@tanuki/core'
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
        `unknown agent kind ${JSON.stringify(kind)}; use one of: ${KIND_NAMES.join(', ')}`,
        {
          details: { key: 'kind', value: kind },
        },
      )
  }
}

/**
 * The account an agent of this kind spends: `<kind>:<credential variable>` (`codex:CODEX_API_KEY`),
 * so agents on the same key park together when it hits a limit; undefined for kinds that spend no
 * key (the agent's own name then).
 *
 * @example
 * kindAccount(createKind({ kind: 'codex', credentialEnv: 'OPENAI_API_KEY' })) // 'codex:OPENAI_API_KEY'
 */
export function kindAccount(kind: AgentKind): string | undefined {
  return kind.credential ? `${kind.name}:${kind.credential}` : undefined
}
