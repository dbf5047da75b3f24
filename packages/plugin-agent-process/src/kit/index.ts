/**
 * @tanuki/plugin-agent-process/kit — the parts the process backend is made of, for other backends
 * that run agent kinds (the Docker plugin, remote workers): the kinds and their parsers, the
 * iteration (`runIteration`, `runPlan`), git workspaces, and process helpers.
 *
 * @example
 * import { createKind, openWorkspace, runIteration } from '@tanuki/plugin-agent-process/kit'
 *
 * const kind = createKind({ kind: 'shell' })
 * const workspace = await openWorkspace({ project, agent: 'ci-1' })
 * const result = await runIteration({ agent: 'ci-1', kind, workspace, commit: true, execStep }, request)
 */
export { createKind, kindAccount, kindSpend, KIND_NAMES } from './kinds/index.ts'
export { createClaudeKind, createClaudeParser } from './kinds/claude.ts'
export {
  CODEX_CREDENTIAL,
  codexLimitReset,
  createCodexKind,
  createCodexParser,
  type CodexParserOptions,
} from './kinds/codex.ts'
export { createCommandKind } from './kinds/command.ts'
export { createShellKind, SHELL_LANGS } from './kinds/shell.ts'
export { createTextParser } from './kinds/text-output.ts'
export type { AgentKind, IterationPlan, KindOptions, OutputParser, Step, TokenPrice } from './kinds/types.ts'
export { runPlan, type ExecStep, type RunPlanOptions, type StepExit } from './run-plan.ts'
export { runIteration, type IterationParts } from './iteration.ts'
export {
  execShell,
  killGroup,
  runProcess,
  startProcess,
  type ExecShellOptions,
  type ProcessHandle,
  type ProcessResult,
  type RunProcessOptions,
} from './process.ts'
export { ShellSession, type SessionResult, type SessionStepOptions } from './session.ts'
export {
  branchName,
  endTaskWork,
  execInWorkspace,
  openWorkspace,
  worktreePath,
  worktreesDir,
  TASK_TRAILER,
  type Workspace,
  type WorkspaceMode,
} from './workspace.ts'
export { projectNotCommitted, projectNotCommittedProblem } from './find-program.ts'
export { removeOwned, removeWorktrees, type RemoveReport } from './cleanup.ts'
export { takeHandWork, type HandWork } from './hand-work.ts'
export { safeName, taskRef, taskRefs } from './ref-names.ts'
export {
  git,
  gitOrThrow,
  gitSaid,
  gitRepository,
  listWorktrees,
  revParse,
  isAncestor,
  serialized,
  taskTrailers,
  type GitResult,
} from './git/run.ts'
export { readOwned, updateOwned, type Owned, type OwnedEntry } from './git/owned.ts'
export { createGitLander, type GitLander, type GitLanderOptions } from './git/lander.ts'
export type { LandingPrediction } from './git/dry-run.ts'
