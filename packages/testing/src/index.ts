/**
 * @tanuki/testing — a test kit for Tanuki plugin authors. `describeAgentBackend` runs the agent
 * backend contract (the checks every backend must pass) as Vitest tests against your backend;
 * `startRedis` starts a real `redis-server` of a test's own (for remote backends).
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
export {
  freePort,
  redisAvailable,
  startRedis,
  type RedisServer,
  type RedisServerOptions,
} from './redis.ts'
