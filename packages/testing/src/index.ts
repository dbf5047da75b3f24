/**
 * @tanuki/testing — a test kit for Tanuki plugin authors. `describeAgentBackend` runs the agent
 * backend contract (the checks every backend must pass) as Vitest tests against your backend.
 * Core itself never imports Vitest; this package does, as a peer dependency.
 *
 * @example
 * // my-backend.test.ts
 * import { describeAgentBackend } from '@tanuki/testing'
 *
 * describeAgentBackend({
 *   name: 'ssh',
 *   backend: () => createSshBackend({ host: 'localhost' }),
 *   project: () => ({ root: repo, name: 'demo', stateDir: `${repo}/.tanuki` }),
 *   roleOptions: { kind: 'shell' },
 * })
 */
export {
  describeAgentBackend,
  shellContractTask,
  type AgentBackendContract,
  type ContractScript,
} from './agent-backend.ts'
