import { TanukiError } from '@tanuki/core'
import { createTextParser } from './text-output.ts'
import type { AgentKind, KindOptions, Step } from './types.ts'

const PLACEHOLDER = '{prompt}'

/**
 * The `command` kind: any program. `command` is its argv; `{prompt}` in an element is replaced by
 * the prompt. The prompt also goes to stdin unless `promptVia: 'arg'`. The result's output is
 * everything the command printed; a non-zero exit sets `error`.
 *
 * @example
 * createCommandKind({ kind: 'command', command: ['aider', '--yes', '--message', '{prompt}'], promptVia: 'arg' })
 */
export function createCommandKind(options: KindOptions): AgentKind {
  const template = options.command
  if (!Array.isArray(template) || template.length === 0 || !template.every((part) => typeof part === 'string')) {
    throw new TanukiError(
      'TANUKI_CONFIG_INVALID',
      `kind "command" needs "command": the program and its arguments as a list of strings, e.g. ["my-agent", "--prompt", "{prompt}"]; got ${JSON.stringify(template)}`,
      { details: { key: 'command', value: template } },
    )
  }
  if (options.promptVia !== undefined && options.promptVia !== 'stdin' && options.promptVia !== 'arg') {
    throw new TanukiError(
      'TANUKI_CONFIG_INVALID',
      `"promptVia" must be "stdin" or "arg", got ${JSON.stringify(options.promptVia)}`,
      {
        details: { key: 'promptVia', value: options.promptVia },
      },
    )
  }
  const extra = options.extraArgs ?? []
  // The prompt only through `{prompt}`, and no `{prompt}`: the agent would never see its task.
  if (options.promptVia === 'arg' && ![...template, ...extra].some((part) => part.includes(PLACEHOLDER))) {
    throw new TanukiError(
      'TANUKI_CONFIG_INVALID',
      `"promptVia" is "arg", but no element of "command" holds ${PLACEHOLDER}, so the agent would never get the prompt. Put ${PLACEHOLDER} where the program takes it, e.g. ${JSON.stringify([...template, PLACEHOLDER])}, or leave promptVia out (the prompt then goes to stdin)`,
      { details: { key: 'promptVia', value: options.promptVia } },
    )
  }
  return {
    name: 'command',
    plan({ prompt }) {
      const argv = [...template, ...extra].map((part) => part.split(PLACEHOLDER).join(prompt))
      const step: Step = {
        argv,
        label: `command ${argv[0]}`,
        ...(options.promptVia === 'arg' ? {} : { stdin: prompt }),
        ...(options.env ? { env: options.env } : {}),
      }
      return { steps: [step], parser: createTextParser([step], undefined, true) }
    },
  }
}
