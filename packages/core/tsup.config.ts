import { packageBuild } from '../../tsup.shared.ts'

// Runs unchanged on Node, Deno and Bun: no Node target.
export default packageBuild({ entry: ['src/index.ts'], target: 'es2022' })
