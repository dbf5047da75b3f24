import { TanukiError, didYouMean } from '@tanuki/core'
import { createClaudeKind } from './claude.ts'
import { createCodexKind } from './codex.ts'
import { createCommandKind } from './command.ts'
import { createShellKind } from './shell.ts'
import type { AgentKind, KindOptions, TokenPrice } from './types.ts'

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
      // Only codex uses it; other kinds ignore it, as they ignore `credentialEnv` (it may come from `defaults`).
      if (options.price !== undefined) checkPrice(options.price)
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
 * What the agents of a kind report of their spend: Claude Code dollars (and tokens), Codex tokens,
 * and dollars too with the role's `price`; the other kinds nothing.
 */
export function kindSpend(options: KindOptions): 'usd' | 'tokens' | undefined {
  switch (options.kind ?? 'claude') {
    case 'claude':
      return 'usd'
    case 'codex':
      return options.price ? 'usd' : 'tokens'
    default:
      return undefined
  }
}

/**
 * The account an agent of a kind spends: the role's own (`account`), else the kind and its
 * credential variable (`claude:ANTHROPIC_API_KEY`); undefined for kinds that spend nothing.
 */
export function kindAccount(options: { account?: string }, kind: AgentKind): string | undefined {
  return options.account ?? (kind.credential ? `${kind.name}:${kind.credential}` : undefined)
}

const PRICE_KEYS = ['input', 'cachedInput', 'output'] as const

/** A `price` codex can use: each figure a number of dollars per million tokens, 0 or more. */
function checkPrice(price: unknown): asserts price is TokenPrice {
  const refuse = (message: string, key = 'price', value: unknown = price): never => {
    throw new TanukiError('TANUKI_CONFIG_INVALID', `"${key}" ${message}, got ${JSON.stringify(value)}`, {
      details: { key, value },
    })
  }
  if (typeof price !== 'object' || price === null || Array.isArray(price))
    refuse('must be USD per million tokens: { input, output, cachedInput? }')
  const given = price as Record<string, unknown>
  for (const [key, value] of Object.entries(given)) {
    if (!(PRICE_KEYS as readonly string[]).includes(key))
      refuse(`is not a price${didYouMean(key, PRICE_KEYS)}; use input, output or cachedInput`, `price.${key}`, value)
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0)
      refuse('must be a number of dollars per million tokens, 0 or more', `price.${key}`, value)
  }
  for (const key of ['input', 'output'] as const) {
    if (given[key] === undefined) refuse('is missing: give USD per million tokens', `price.${key}`, undefined)
  }
}
