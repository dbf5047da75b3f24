import { defineConfig, type Options } from 'tsup'

/**
 * How every package builds: ESM with types and source maps, from `src/`. Core targets ES2022
 * (it runs on Node, Deno and Bun); the Node packages target Node 20.
 *
 * @example
 * // packages/<name>/tsup.config.ts
 * export default packageBuild({ entry: ['src/index.ts', 'src/kit/index.ts'] })
 */
export function packageBuild(options: Options & { entry: string[] }) {
  return defineConfig({
    format: ['esm'],
    dts: true,
    clean: true,
    target: 'node20',
    sourcemap: true,
    ...options,
  })
}
