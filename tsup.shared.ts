import { defineConfig, type Options } from 'tsup'

/**
 * How every package builds: ESM with types and source maps, from `src/`. Core targets ES2022
 * (it runs on Node, Deno and Bun); the Node packages target Node 20.
 *
 * `bundle` names third-party dependencies to build into dist (with the packages they import)
 * instead of importing them at run time: Node 20 resolves, reads and links every module of its
 * own, and the ~400 modules of yaml, remark, c12 and their dependencies were most of the time a
 * `tanuki` command took to start (bench/cli.bench.ts). They stay in `dependencies`, for the types
 * the declarations name. Bundled CommonJS code may `require` Node's built-ins: the banner gives
 * an ES module the `require` it needs.
 *
 * @example
 * // packages/<name>/tsup.config.ts
 * export default packageBuild({ entry: ['src/index.ts', 'src/kit/index.ts'], bundle: ['hono'] })
 */
export function packageBuild({ bundle, ...options }: Options & { entry: string[]; bundle?: string[] }) {
  return defineConfig({
    format: ['esm'],
    dts: true,
    clean: true,
    target: 'node20',
    sourcemap: true,
    ...(bundle
      ? {
          noExternal: bundle,
          ...(options.platform === 'neutral'
            ? {}
            : {
                banner: {
                  js: "import { createRequire as __tanukiCreateRequire } from 'node:module'; const require = __tanukiCreateRequire(import.meta.url);",
                },
              }),
        }
      : {}),
    ...options,
  })
}
