import { accessSync, constants, existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { dirname, isAbsolute, join, resolve } from 'node:path'
import { TanukiError, errorMessage, type ProjectInfo } from '@tanuki/core'

/** Where a reporter's file goes: `path` under the project root, or `name` in the state dir. */
export function reporterPath(
  project: Pick<ProjectInfo, 'root' | 'stateDir'>,
  path: string | undefined,
  name: string,
): string {
  if (path !== undefined) return isAbsolute(path) ? path : resolve(project.root, path)
  return resolve(project.stateDir, name)
}

/** Creates the file's folder and checks the file can be written; throws a `TanukiError` naming it. */
export function ensureWritable(path: string, reporter: string): void {
  try {
    mkdirSync(dirname(path), { recursive: true })
    // Check without creating the file: a run refused at start should leave no empty report behind.
    accessSync(existsSync(path) ? path : dirname(path), constants.W_OK)
  } catch (error) {
    throw new TanukiError(
      'TANUKI_PLUGIN_FAILED',
      `${reporter} reporter cannot write ${path}: ${errorMessage(error)}. Check the folder is writable or set another path.`,
      { cause: error },
    )
  }
}

/** Writes a whole report file, creating its folder; throws a `TanukiError` naming the file. */
export function writeReport(path: string, text: string, reporter: string): void {
  try {
    mkdirSync(dirname(path), { recursive: true })
    writeFileSync(path, text)
  } catch (error) {
    throw new TanukiError(
      'TANUKI_PLUGIN_FAILED',
      `${reporter} reporter cannot write ${path}: ${errorMessage(error)}. Check the folder is writable or set another path.`,
      { cause: error },
    )
  }
}
