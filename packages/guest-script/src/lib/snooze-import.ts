/**
 * An existing context folder (Snooze's `context/`: post-install, common/network, common/routes, lib/,
 * distributions/...) read as it is into a file map, each file with its own mode, so that it goes onto the CD
 * unchanged. Nothing is rewritten: its post-install keeps its own conventions (bash, run-parts, eth0).
 */
import { CONTEXT_FILES } from '@vmctx/contract';
import { lstat, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { GuestScriptError } from './errors.js';
import type { FileMap } from './file-map.js';

export async function readContextFolder(dir: string): Promise<FileMap> {
  const top = await lstat(dir).catch(() => undefined);
  if (top === undefined || !top.isDirectory()) {
    throw new GuestScriptError('GUEST_NOT_A_CONTEXT_FOLDER', `${dir} is not a folder`, dir);
  }
  const files: FileMap = {};
  async function walk(relative: string): Promise<void> {
    const names = (await readdir(join(dir, relative))).sort();
    for (const name of names) {
      const path = relative === '' ? name : `${relative}/${name}`;
      const info = await lstat(join(dir, path));
      if (info.isDirectory()) await walk(path);
      else if (info.isFile()) files[path] = { data: await readFile(join(dir, path)), mode: info.mode & 0o7777 };
      else {
        throw new GuestScriptError(
          'GUEST_INVALID_TREE',
          `${join(dir, path)} is ${info.isSymbolicLink() ? 'a symbolic link' : 'not a regular file'}; a context folder holds files and folders only`,
          path,
        );
      }
    }
  }
  await walk('');
  return files;
}

/** What the guest will do with this tree, said before building a CD that would only fall back to DHCP. */
export function contextTreeProblems(files: FileMap): string[] {
  const problems: string[] = [];
  const postInstall = files[CONTEXT_FILES.postInstall];
  if (postInstall === undefined) problems.push('no post-install at the top: guests will fall back to DHCP');
  else if ((postInstall.mode & 0o100) === 0) problems.push('post-install is not executable (the guest runs it with its interpreter anyway)');
  return problems;
}
