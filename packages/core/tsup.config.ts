import { packageBuild } from '../../tsup.shared.ts'

// Runs unchanged on Node, Deno and Bun: no Node target, no Node built-ins (platform 'neutral').
// Its dependencies are bundled into dist: loading yaml and remark as ~330 separate modules was
// most of the CLI's start-up (see packageBuild's `bundle`).
export default packageBuild({
  entry: ['src/index.ts'],
  target: 'es2022',
  platform: 'neutral',
  noExternal: ['yaml', 'remark', 'mitt', 'valibot'],
  esbuildOptions(options) {
    options.mainFields = ['module', 'main']
  },
})
