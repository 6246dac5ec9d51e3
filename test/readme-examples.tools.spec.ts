/**
 * The READMEs' examples run as written, outside the repository: apps/deployer's steps to install `vmctx` elsewhere
 * (build, `npm pack` the six packages, `npm install` the tarballs in an empty folder) are run as they stand, and
 * that installation then runs every block marked `<!-- runnable in an empty folder: readme-examples test ... -->`
 * of the packages' READMEs, each in an empty folder of its own: sh blocks under `sh -e` with the installed `vmctx`
 * on the PATH, js/ts blocks as an .mjs file importing the installed packages. (Each package's own "Use it on its
 * own" example is test/packages-pack.tools.spec.ts's.) Needs qemu-img, the registry or npm's cache; no lab.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from './support/lab.js';

const run = promisify(execFile);
const work = mkdtempSync(join(tmpdir(), 'vmctx-readme-'));
const use = join(work, 'use');
const pack = join(work, 'pack');
const INSTALL_MARK = '<!-- runnable: readme-examples test (outside the repository) -->';
const FOLDER_MARK = /<!-- runnable in an empty folder: readme-examples test[^>]*-->\n```(sh|js|ts)\n([\s\S]*?)^```$/gm;

interface Block {
  readme: string;
  index: number;
  language: string;
  code: string;
}

/** The marked blocks of a README, in order. */
function blocks(readme: string): Block[] {
  const text = readFileSync(join(REPO_ROOT, readme), 'utf8');
  return [...text.matchAll(FOLDER_MARK)].map((m, index) => ({ readme, index, language: m[1]!, code: m[2]! }));
}

/** What a block needs in its folder before it runs, by README. */
const SETUP: Record<string, (dir: string) => void> = {
  // "In a folder that holds the seed's debian1.xml".
  'packages/template-renderer/README.md': (dir) => copyFileSync(join(REPO_ROOT, 'packages/template-renderer/fixtures/native/debian1.xml'), join(dir, 'debian1.xml')),
};

const env = () => ({
  ...process.env,
  PATH: `${join(use, 'node_modules/.bin')}:${process.env.PATH}`,
  // npm as the steps run it, without its audit and funding notes, and from its cache when it can.
  npm_config_audit: 'false',
  npm_config_fund: 'false',
  npm_config_prefer_offline: 'true',
});

beforeAll(async () => {
  const readme = readFileSync(join(REPO_ROOT, 'apps/deployer/README.md'), 'utf8');
  const at = readme.indexOf(INSTALL_MARK);
  if (at < 0) throw new Error(`apps/deployer/README.md has no ${INSTALL_MARK}`);
  const steps = /^```sh\n([\s\S]*?)^```$/m.exec(readme.slice(at))![1]!;
  // The steps as written, with their two folders here instead of /tmp/vmctx-pack and ~/vmctx.
  const script = steps.replaceAll('/tmp/vmctx-pack', pack).replaceAll('~/vmctx', use);
  const { stdout } = await run('sh', ['-ec', script], { cwd: REPO_ROOT, env: env(), maxBuffer: 64 * 2 ** 20 });
  process.stdout.write(stdout);
}, 600_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe("apps/deployer README: vmctx installed outside the repository, as it says", () => {
  it('runs from the folder it was installed in, and only from the tarballs', async () => {
    const { stdout } = await run('vmctx', ['--version'], { cwd: use, env: env() });
    expect(stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
    const { stdout: resolved } = await run(process.execPath, ['--input-type=module', '-e', "console.log(import.meta.resolve('@vmctx/deployer'))"], { cwd: use });
    expect(resolved.trim()).toBe(`file://${use}/node_modules/@vmctx/deployer/dist/index.js`);
  });

  it('shows the sample context of examples/ as a CD', async () => {
    const { stdout } = await run('vmctx', ['context', 'show', join(REPO_ROOT, 'examples/sample-context.yaml')], { cwd: use, env: env() });
    expect(stdout).toMatch(/ post-install$/m);
    expect(stdout).toMatch(/ files\/001$/m);
  });
});

const README_BLOCKS = ['packages/disk-builder/README.md', 'packages/iso-builder/README.md', 'packages/template-renderer/README.md'].flatMap(blocks);

describe('README examples, each in an empty folder with the installed vmctx and packages', () => {
  it('finds the marked blocks: disk-builder CLI, iso-builder API and CLI, template-renderer snippet', () => {
    expect(README_BLOCKS.map((b) => `${b.readme}:${b.language}`)).toEqual([
      'packages/disk-builder/README.md:sh',
      'packages/iso-builder/README.md:ts',
      'packages/iso-builder/README.md:sh',
      'packages/template-renderer/README.md:js',
    ]);
  });

  it.each(README_BLOCKS)('$readme block $index ($language) runs as written', async ({ readme, index, language, code }) => {
    const dir = join(use, `example-${readme.split('/')[1]}-${index}`);
    mkdirSync(dir);
    SETUP[readme]?.(dir);
    let result: { stdout: string; stderr: string };
    if (language === 'sh') {
      result = await run('sh', ['-ec', code], { cwd: dir, env: env(), maxBuffer: 64 * 2 ** 20 });
    } else {
      writeFileSync(join(dir, 'example.mjs'), code);
      result = await run(process.execPath, ['example.mjs'], { cwd: dir, env: env() });
    }
    // What each example says it makes.
    if (readme.includes('disk-builder')) {
      const chain = JSON.parse(result.stdout.slice(result.stdout.indexOf('['), result.stdout.lastIndexOf(']') + 1)) as Array<{ format: string; 'cluster-size': number }>;
      expect(chain.map((i) => i.format)).toEqual(['qcow2', 'raw']);
      expect(chain[0]!['cluster-size']).toBe(2 * 2 ** 20);
      expect(result.stdout).toMatch(/^debian-base\.raw: OK\ndebian2\.qcow2: OK\n$/m);
    }
    if (readme.includes('iso-builder')) {
      const { stdout } = await run('isoinfo', ['-d', '-i', join(dir, 'seed.iso')]);
      expect(stdout).toMatch(/Volume id: cidata/);
      const listing = await run('isoinfo', ['-f', '-R', '-i', join(dir, 'context.iso')]);
      expect(listing.stdout).toMatch(/^\/post-install$/m);
    }
    if (readme.includes('template-renderer')) expect(result.stderr).toMatch(/^error duplicate-name: debian7\.xml \/domain\/name: /m);
  });
});
