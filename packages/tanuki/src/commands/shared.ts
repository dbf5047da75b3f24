import { resolve } from 'node:path'

/** Arguments every command takes. */
export const common = {
  cwd: { type: 'string', description: 'Project directory (default: the current directory)', valueHint: 'DIR' },
} as const

export function projectRoot(args: { cwd?: string | undefined }): string {
  return resolve(args.cwd ?? process.cwd())
}

export function sleep(ms: number): Promise<void> {
  return new Promise((done) => setTimeout(done, ms))
}

/** Left-aligned columns, as wide as their widest cell. */
export function table(rows: string[][]): string {
  const widths: number[] = []
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)))
  return rows
    .map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  '))
    .join('\n')
}
