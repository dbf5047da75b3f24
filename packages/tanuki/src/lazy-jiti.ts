import { createRequire } from 'node:module'
import type { createJiti as CreateJiti } from 'jiti'

/**
 * jiti's `createJiti`, required when it is first called rather than imported: an ESM import of
 * jiti's CommonJS bundle has Node scan its 190 KB for named exports before anything runs, ~40 ms
 * of every command (bench/README.md, eleventh session). The c12 bundled into dist imports this
 * module in jiti's place (tsup.config.ts), and calls it only when it is given no jiti of its own;
 * `readConfigFile` gives it one, made here.
 */
export const createJiti: typeof CreateJiti = (...args) =>
  (createRequire(import.meta.url)('jiti') as { createJiti: typeof CreateJiti }).createJiti(...args)
