import { TanukiError, type ResolvedConfig, type Task, type UserConfig } from '@tanuki/core'

/**
 * Whether the config says which agent runs a role that `agents` does not list: `defaults` names
 * one (`kind` or `backend`), or `agents` lists no role at all (then every role runs on defaults,
 * as with no config file).
 */
export function servesUnlisted(user: UserConfig): boolean {
  const listed = Object.keys(user.agents ?? {})
  const defaults = (user.defaults ?? {}) as Record<string, unknown>
  return listed.length === 0 || defaults.kind !== undefined || defaults.backend !== undefined
}

/** The role as a person reads it: `default` is the role of a task that gives none. */
const roleWords = (role: string): string =>
  role === 'default' ? '"default" (the role of a task that gives none)' : `"${role}"`

/**
 * Why a role the config does not list gets no agent, when the config lists its roles and
 * `defaults` names no agent: it would run on the default agent, Claude Code, a paid one. Said by
 * `task validate` for each task file and by a run that pauses the role (`unlistedRole`).
 */
export function unlistedRoleCause(role: string, user: UserConfig, file: string | undefined): string {
  const listed = Object.keys(user.agents ?? {}).join(', ')
  return (
    `not in agents (${file ?? 'config'}: ${listed}), and \`defaults\` names no agent: its tasks would run on the default agent, claude (Claude Code, a paid one). ` +
    `Add agents.${role} to the config, or fix the role in its task files (or give \`defaults\` a \`kind\` for roles not listed)`
  )
}

/**
 * For a run: why a role the config does not list gets no agent (its tasks wait, the role paused),
 * unless the config says which agent runs such roles (`servesUnlisted`).
 */
export function unlistedRoleRule(
  user: UserConfig,
  file: string | undefined,
): ((role: string) => string | undefined) | undefined {
  if (servesUnlisted(user)) return undefined
  return (role) => `role ${roleWords(role)} is ${unlistedRoleCause(role, user, file)}`
}

/**
 * The tasks' roles that `agents` does not list, each once with the task files that give it:
 * problems for `task validate` when the config lists its roles, `defaults` names no agent and the
 * agent they would get is `paid` (a run pauses such a role); else notes, one line each, that they
 * run on `defaults` or on their backend's own.
 */
export function unlistedRoles(
  config: ResolvedConfig,
  user: UserConfig,
  file: string | undefined,
  tasks: readonly Task[],
  skip: (role: string) => boolean,
  paid: (role: string) => boolean = () => true,
): { problems: TanukiError[]; notes: string[] } {
  const byRole = new Map<string, string[]>()
  for (const task of tasks) {
    if (config.agents[task.role] || skip(task.role)) continue
    const sources = byRole.get(task.role) ?? []
    sources.push(task.source ?? task.id)
    byRole.set(task.role, sources)
  }
  const problems: TanukiError[] = []
  const notes: string[] = []
  if (byRole.size === 0 || Object.keys(user.agents ?? {}).length === 0) return { problems, notes }
  const serves = servesUnlisted(user)
  for (const [role, sources] of byRole) {
    const [first, ...more] = sources
    const also =
      more.length > 0
        ? ` (also ${more.slice(0, 5).join(', ')}${more.length > 5 ? `, and ${more.length - 5} more` : ''})`
        : ''
    if (!serves && !paid(role)) {
      // Its backend's own defaults (a plugin's `kind: 'shell'`) run it, and cost nothing.
      notes.push(`${first}${also}: role ${roleWords(role)} is not in agents: it runs on its backend's defaults`)
      continue
    }
    if (serves) {
      const defaults = (user.defaults ?? {}) as Record<string, unknown>
      const agent =
        defaults.kind !== undefined ? `kind ${String(defaults.kind)}` : `backend ${String(defaults.backend)}`
      notes.push(`${first}${also}: role ${roleWords(role)} is not in agents: it runs on defaults (${agent})`)
      continue
    }
    problems.push(
      new TanukiError(
        'TANUKI_TASK_INVALID',
        `${first}${also}: field "role": ${roleWords(role)} is ${unlistedRoleCause(role, user, file)}. ` +
          '`project start` runs the other roles and leaves its tasks waiting.',
        { details: { source: first, field: 'role', value: role } },
      ),
    )
  }
  return { problems, notes }
}
