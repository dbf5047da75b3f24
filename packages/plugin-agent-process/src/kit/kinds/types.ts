import type { OutputChunk, RunResult, Task } from '@tanuki/core'

/**
 * How a role's agents work, shared by every backend that runs processes (local, Docker): which
 * command(s) an iteration runs, and how their output becomes a `RunResult`.
 */
export interface KindOptions {
  /** `claude` (default), `codex`, `command` (any argv) or `shell` (the task's sh/bash blocks). */
  kind?: 'claude' | 'codex' | 'command' | 'shell'
  /** The executable, when not the kind's usual one (`claude`, `codex`). */
  bin?: string
  /** For `command`: the argv; `{prompt}` in an element is replaced by the prompt. */
  command?: string[]
  /** For `command`: give the prompt on stdin (default) or only through `{prompt}`. */
  promptVia?: 'stdin' | 'arg'
  /** Model name passed to the agent CLI. */
  model?: string
  /** Appended to the agent's system prompt (`--append-system-prompt` for Claude Code). */
  systemPrompt?: string
  /** Claude Code's `--max-turns`. */
  maxTurns?: number
  /** Tools the agent may use without asking (`--allowedTools`). */
  allowedTools?: string[]
  /** Tools the agent may not use (`--disallowedTools`). */
  disallowedTools?: string[]
  /** More arguments for the agent CLI, appended as given. */
  extraArgs?: string[]
  /** Extra environment variables for the agent's processes. */
  env?: Record<string, string>
  /**
   * The environment variable the agent's key is in, when not the kind's usual one (for `codex`, a
   * model provider's `env_key`): named when the key is refused, and the account its agents share.
   */
  credentialEnv?: string
  /**
   * The account its agents spend: agents sharing one park together on its usage and rate limits.
   * Default: the kind and its credential variable (`claude:ANTHROPIC_API_KEY`); none for `command`
   * and `shell`.
   */
  account?: string
  /**
   * What the model's tokens cost, in USD per million, for `codex`, which reports tokens but no
   * dollars: each iteration's cost is worked out from its tokens, so `usd` budgets count it.
   * (Claude Code reports its own cost; `command` and `shell` spend no tokens.)
   */
  price?: TokenPrice
}

/** USD per million tokens: input, input read from the provider's cache (default: `input`), output. */
export interface TokenPrice {
  /** USD per million input tokens (those not read from the cache). */
  input: number
  /** USD per million input tokens read from the provider's cache. Default: `input`. */
  cachedInput?: number
  /** USD per million output tokens (reasoning tokens among them). */
  output: number
}

/** One process an iteration runs. */
export interface Step {
  argv: string[]
  /** Written to the process's stdin, which is then closed. Without it stdin is empty. */
  stdin?: string
  env?: Record<string, string>
  /** For logs: what this step is ("sh block at line 12"). */
  label?: string
}

/** Turns the output of an iteration's steps into its result. */
export interface OutputParser {
  /** Raw output, as it arrives. */
  push(chunk: OutputChunk): void
  /** A step ended with this exit code (`null`: killed). */
  end(exitCode: number | null): void
  /** The iteration's result once every step ran (or one failed). */
  result(): RunResult
  /**
   * True once the output shows the run cannot succeed however long it goes on (Claude Code
   * retrying a refused key for minutes): the step is stopped, and `result()` says why.
   */
  shouldStop?(): boolean
}

/** What one iteration runs. Steps run in order; the first that exits non-zero ends the iteration. */
export interface IterationPlan {
  steps: Step[]
  parser: OutputParser
}

/** An agent kind: plans iterations. */
export interface AgentKind {
  readonly name: string
  /**
   * The environment variable holding the credentials the kind spends (`ANTHROPIC_API_KEY`): agents
   * of one kind and credential share an account, and park together on its limits.
   */
  readonly credential?: string
  /** `budget`: what the iteration may spend, for a kind that can cap itself. */
  plan(input: { prompt: string; task: Task; budget?: { usd?: number; tokens?: number } }): IterationPlan
}
