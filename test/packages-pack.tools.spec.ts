/**
 * Each package on its own, outside this workspace: `npm pack` every package in packages/, check what the tarball
 * holds (compiled ESM, declarations, README, LICENSE; no sources, tests, maps or build info; no workspace-only
 * dependency), then install each tarball alone into an empty folder under the system's temporary folder (its
 * @vmctx dependencies from their tarballs too, its third-party dependencies from the registry or npm's cache),
 * and run its README's example as written there: the block after `<!-- runnable example: packages-pack test -->`.
 * In that folder the package must resolve to what the tarball ships (the "@vmctx/source" condition is this
 * workspace's own, and its src/ is not in the tarball), and TypeScript must find its declarations.
 * Tarball sizes are printed for the issue's closing note.
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from './support/lab.js';

const run = promisify(execFile);
const PACKAGES = readdirSync(join(REPO_ROOT, 'packages')).sort();
const MARK = '<!-- runnable example: packages-pack test -->';
const work = mkdtempSync(join(tmpdir(), 'vmctx-pack-'));
const tarballs = join(work, 'tarballs');

interface Packed {
  name: string;
  filename: string;
  size: number;
  unpackedSize: number;
  files: { path: string }[];
}
interface Manifest {
  name: string;
  main?: string;
  types?: string;
  exports: Record<string, unknown>;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
}
const packed = new Map<string, Packed & { dir: string; manifest: Manifest }>();

beforeAll(async () => {
  execFileSync(join(REPO_ROOT, 'node_modules/.bin/tsc'), ['-b', ...PACKAGES.map((p) => `packages/${p}/tsconfig.lib.json`)], { cwd: REPO_ROOT, stdio: 'inherit' });
  mkdirSync(tarballs);
  const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', tarballs, ...PACKAGES.flatMap((p) => ['-w', `packages/${p}`])], {
    cwd: REPO_ROOT,
    maxBuffer: 64 * 2 ** 20,
  });
  for (const [i, result] of (JSON.parse(stdout) as Packed[]).entries()) {
    const dir = PACKAGES[i]!;
    packed.set(result.name, { ...result, dir, manifest: JSON.parse(readFileSync(join(REPO_ROOT, 'packages', dir, 'package.json'), 'utf8')) as Manifest });
  }
  process.stdout.write(
    `tarball sizes:\n${[...packed.values()].map((p) => `  ${p.filename}: ${p.size} bytes packed, ${p.unpackedSize} unpacked, ${p.files.length} files`).join('\n')}\n`,
  );
}, 120_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

/** The package and its @vmctx dependencies, transitively. */
function closure(name: string, seen = new Set<string>()): Set<string> {
  if (seen.has(name)) return seen;
  seen.add(name);
  for (const dep of Object.keys(packed.get(name)!.manifest.dependencies ?? {})) if (dep.startsWith('@vmctx/')) closure(dep, seen);
  return seen;
}

function example(dir: string): string {
  const readme = readFileSync(join(REPO_ROOT, 'packages', dir, 'README.md'), 'utf8');
  const at = readme.indexOf(MARK);
  if (at < 0) throw new Error(`packages/${dir}/README.md has no ${MARK}`);
  const block = /^```(?:js|ts)\n([\s\S]*?)^```$/m.exec(readme.slice(at));
  if (!block) throw new Error(`packages/${dir}/README.md: no code block after ${MARK}`);
  return block[1]!;
}

describe('npm pack', () => {
  it('packs every package in packages/', () => {
    expect([...packed.values()].map((p) => p.dir).sort()).toEqual(PACKAGES);
  });

  it.each(PACKAGES)('%s: ESM, declarations, README and LICENSE; no sources, tests, maps or build info', (dir) => {
    const p = [...packed.values()].find((x) => x.dir === dir)!;
    const files = p.files.map((f) => f.path).sort();
    expect(files).toEqual(expect.arrayContaining(['LICENSE', 'README.md', 'package.json', 'dist/index.d.ts']));
    expect(readFileSync(join(REPO_ROOT, 'packages', dir, 'LICENSE'), 'utf8')).toMatch(/^MIT License/);
    const entry = (p.manifest.exports['.'] as Record<string, string>).default!.replace(/^\.\//, '');
    expect(files).toContain(entry);
    expect(files.filter((f) => /\.(spec|test)\.[cm]?[jt]s$|\.map$|\.tsbuildinfo$|(^|\/)(fixtures|node_modules)\//.test(f))).toEqual([]);
    expect(files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);
    // Nothing stale (tsc -b never deletes the output of a deleted source): every module shipped has its source.
    for (const file of files.filter((f) => /^dist\/.*\.(js|d\.ts)$/.test(f))) {
      const source = file.replace(/^dist\//, 'src/').replace(/\.d\.ts$|\.js$/, '');
      expect(readdirSync(join(REPO_ROOT, 'packages', dir, source, '..')).some((f) => f.startsWith(`${source.split('/').pop()}.`)), file).toBe(true);
    }
  });

  it.each(PACKAGES)('%s: depends on published versions only, and declares every package it imports', (dir) => {
    const p = [...packed.values()].find((x) => x.dir === dir)!;
    for (const [dep, range] of Object.entries({ ...p.manifest.dependencies, ...p.manifest.peerDependencies })) {
      expect(range, dep).toMatch(/^[\^~>=<\d]/);
      if (dep.startsWith('@vmctx/')) expect(packed.has(dep), dep).toBe(true);
    }
    const shipped = p.files.filter((f) => /\.js$/.test(f.path)).map((f) => readFileSync(join(REPO_ROOT, 'packages', dir, f.path), 'utf8')).join('\n');
    const imported = new Set([...shipped.matchAll(/(?:from|import\()\s*'((?:@[^/']+\/)?[^/'.][^/']*)/g)].map((m) => m[1]!).filter((m) => !m.startsWith('node:')));
    // A peer dependency (nx, for the plugin's types) counts: the consumer brings it.
    const declared = { ...p.manifest.dependencies, ...p.manifest.peerDependencies };
    expect([...imported].filter((m) => !(m in declared)), 'imported but not a dependency').toEqual([]);
  });
});

describe('the public API', () => {
  it.each(PACKAGES)('%s: the README names everything the package exports', (dir) => {
    const readme = readFileSync(join(REPO_ROOT, 'packages', dir, 'README.md'), 'utf8');
    const declarations = readFileSync(join(REPO_ROOT, 'packages', dir, 'dist/index.d.ts'), 'utf8');
    const names = [...declarations.matchAll(/export\s*\{([^}]*)\}/g), ...declarations.matchAll(/export (?:declare )?(?:const|function|type|interface|class) (\w+)/g)]
      .flatMap((m) => m[1]!.split(','))
      .map((n) => n.trim().replace(/^type\s+/, '').split(/\s+as\s+/).pop()!)
      .filter((n) => n !== '');
    expect(names.length).toBeGreaterThan(0);
    expect(names.filter((n) => !readme.includes(`\`${n}\``) && !readme.includes(`\`${n}(`)), 'exported but not in the README').toEqual([]);
  });
});

describe('each tarball alone in an empty folder outside the workspace', () => {
  const folders = new Map<string, string>();
  beforeAll(async () => {
    // The installs run side by side: npm mostly waits on its cache and the registry.
    await Promise.all(
      PACKAGES.map(async (dir) => {
        const p = [...packed.values()].find((x) => x.dir === dir)!;
        const folder = join(work, `use-${dir}`);
        mkdirSync(folder);
        writeFileSync(join(folder, 'package.json'), JSON.stringify({ name: `use-${dir}`, private: true, type: 'module' }));
        const own = [...closure(p.name)].map((name) => join(tarballs, packed.get(name)!.filename));
        await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--ignore-scripts', ...own], { cwd: folder });
        writeFileSync(join(folder, 'example.mjs'), example(dir));
        folders.set(dir, folder);
      }),
    );
  }, 180_000);

  it.each(PACKAGES)('%s: holds the package and its @vmctx dependencies only, and resolves to what the tarball ships', async (dir) => {
    const p = [...packed.values()].find((x) => x.dir === dir)!;
    const folder = folders.get(dir)!;
    expect(readdirSync(join(folder, 'node_modules/@vmctx')).sort()).toEqual([...closure(p.name)].map((n) => n.replace('@vmctx/', '')).sort());
    // Node ignores the workspace's "@vmctx/source" condition: the package resolves to the shipped entry.
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', `console.log(import.meta.resolve('${p.name}'))`], { cwd: folder });
    const entry = (p.manifest.exports['.'] as Record<string, string>).default!.replace(/^\.\//, '');
    expect(stdout.trim()).toBe(`file://${folder}/node_modules/${p.name}/${entry}`);
  });

  it('type-checks every README example against the declarations installed beside it', async () => {
    // One tsc for all: each example resolves its imports from its own folder's node_modules.
    const examples = PACKAGES.map((dir) => join(folders.get(dir)!, 'example.mjs'));
    const tsc = [join(REPO_ROOT, 'node_modules/typescript/bin/tsc'), '--noEmit', '--allowJs', '--checkJs', '--skipLibCheck', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', '--types', 'node', '--typeRoots', join(REPO_ROOT, 'node_modules/@types')];
    await run(process.execPath, [...tsc, ...examples], { cwd: work }).catch((error: { stdout?: string }) => {
      throw new Error(`tsc on the README examples:\n${error.stdout ?? String(error)}`);
    });
  });

  it.each(PACKAGES)("%s: runs the README's example as written", async (dir) => {
    const { stdout } = await run(process.execPath, ['example.mjs'], { cwd: folders.get(dir)! });
    expect(stdout.length).toBeGreaterThan(0);
  });
});
