/**
 * Local paths of a deployment file: `~/` is the user's home, anything relative is taken from the file's own
 * folder (not the working directory), so that a deployment runs the same from anywhere.
 */
import { stat } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';

export function expandHome(path: string, homeDir: string): string {
  if (path === '~') return homeDir;
  if (path.startsWith('~/')) return join(homeDir, path.slice(2));
  return path;
}

export function resolveLocal(path: string, baseDir: string, homeDir: string): string {
  const expanded = expandHome(path, homeDir);
  return isAbsolute(expanded) ? resolve(expanded) : resolve(baseDir, expanded);
}

export type PathKind = 'file' | 'folder' | 'other' | 'missing';

/** What is at `path` (following symbolic links, as reading it would). */
export async function pathKind(path: string): Promise<PathKind> {
  const info = await stat(path).catch(() => undefined);
  if (info === undefined) return 'missing';
  return info.isFile() ? 'file' : info.isDirectory() ? 'folder' : 'other';
}
