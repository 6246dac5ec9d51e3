/**
 * A temporary folder with a deployment's files (image, template, contexts...), and a home of its own so that
 * the tests never read the real ~/.ssh/config.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach } from 'vitest';
import type { Deployment } from './types.js';
import { parseDeployment, type LoadOptions } from './load.js';
import { DeploymentError } from './problems.js';

const made: string[] = [];
afterEach(async () => {
  await Promise.all(made.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

export interface Fixture {
  dir: string;
  home: string;
  path(name: string): string;
  write(name: string, text: string): Promise<string>;
  /** Parses `text` as `<dir>/<name>` with this fixture's home and ssh config. */
  parse(text: string, name?: string, options?: LoadOptions): Promise<Deployment>;
  /** The problems of `text`, as `line: path: message` strings. */
  problems(text: string, name?: string): Promise<string[]>;
}

export async function fixture(files: Record<string, string> = { 'debian-base.raw': 'raw', 'debian1.xml': '<domain/>' }): Promise<Fixture> {
  const dir = await mkdtemp(join(tmpdir(), 'vmctx-config-'));
  made.push(dir);
  const home = join(dir, 'home');
  await mkdir(join(home, '.ssh'), { recursive: true });
  const write = async (name: string, text: string) => {
    const path = join(dir, name);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, text);
    return path;
  };
  for (const [name, text] of Object.entries(files)) await write(name, text);
  const parse = (text: string, name = 'deploy.yaml', options: LoadOptions = {}) =>
    parseDeployment(text, join(dir, name), { homeDir: home, sshConfigPath: join(home, '.ssh', 'config'), ...options });
  return {
    dir,
    home,
    path: (name) => join(dir, name),
    write,
    parse,
    async problems(text, name) {
      try {
        await parse(text, name);
      } catch (error) {
        if (error instanceof DeploymentError) return error.problems.map((p) => `${p.line}: ${p.path}: ${p.message}`);
        throw error;
      }
      throw new Error('expected problems, the deployment loaded');
    },
  };
}
