/**
 * ISO readers the builder was not written against (issue 13): libarchive's bsdtar (reads the image front to
 * back, once), 7-Zip (reads the Joliet tree) and pycdlib (parses records itself). Each function reads an
 * image and returns its differences from the source tree, one line each: an empty list is "shows exactly
 * what was written".
 */
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { jolietName } from '@vmctx/iso-builder';
import { walkTree, type Found } from './trees.js';

const here = dirname(fileURLToPath(import.meta.url));

function run(tool: string, args: string[]): { stdout: string; stderr: string; status: number | null } {
  const result = spawnSync(tool, args, { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  return { stdout: result.stdout, stderr: result.stderr, status: result.status };
}

/** The link count each entry should show: files, the names of their inode in the tree; directories, 2 + subdirectories. */
function expectedLinks(tree: Map<string, Found>): Map<string, number> {
  const names = new Map<number, number>();
  for (const found of tree.values()) if (found.type === 'f') names.set(found.ino, (names.get(found.ino) ?? 0) + 1);
  const subdirs = new Map<string, number>();
  for (const [path, found] of tree) {
    if (found.type !== 'd') continue;
    const parent = path.includes('/') ? path.slice(0, path.lastIndexOf('/')) : '';
    subdirs.set(parent, (subdirs.get(parent) ?? 0) + 1);
  }
  const out = new Map<string, number>();
  for (const [path, found] of tree) out.set(path, found.type === 'f' ? (names.get(found.ino) as number) : found.type === 'd' ? 2 + (subdirs.get(path) ?? 0) : 1);
  return out;
}

function sha256(data: Buffer | undefined): string | undefined {
  return data && createHash('sha256').update(data).digest('hex');
}

/** Differences between two path lists: missing, extra, and listed more than once. */
function listDifferences(reader: string, want: string[], got: string[]): string[] {
  const out: string[] = [];
  const seen = new Map<string, number>();
  for (const path of got) seen.set(path, (seen.get(path) ?? 0) + 1);
  const wanted = new Set(want);
  for (const path of want) if (!seen.has(path)) out.push(`${reader} does not list ${JSON.stringify(path)}`);
  for (const [path, n] of seen) {
    if (!wanted.has(path)) out.push(`${reader} lists ${JSON.stringify(path)}, which was not written`);
    else if (n > 1) out.push(`${reader} lists ${JSON.stringify(path)} ${n} times`);
  }
  return out;
}

interface Seen {
  type: string;
  mode?: number;
  links?: number | null;
  target?: string;
  sha256?: string;
}

/** Differences between what a reader gives for each path and the source tree (only the fields it gives). */
function entryDifferences(reader: string, source: Map<string, Found>, got: Map<string, Seen>, fields: (keyof Seen)[], path = (p: string) => p): string[] {
  const out: string[] = [];
  const links = expectedLinks(source);
  for (const [p, want] of source) {
    const g = got.get(path(p));
    if (!g) continue; // reported by the listing
    const expected: Seen = { type: want.type, mode: want.mode, links: links.get(p) as number, ...(want.target === undefined ? {} : { target: want.target }) };
    if (want.type === 'f') expected.sha256 = sha256(want.data);
    for (const field of fields) {
      if (field === 'links' && want.type === 'l') continue;
      if (field === 'mode' && want.type === 'l') continue;
      const w = expected[field];
      const v = g[field];
      if (w !== v) out.push(`${reader}: ${JSON.stringify(p)} ${field} ${field === 'mode' ? (v as number)?.toString(8) : JSON.stringify(v)}, written ${field === 'mode' ? (w as number).toString(8) : JSON.stringify(w)}`);
    }
  }
  return out;
}

function extracted(dir: string): Map<string, Seen> {
  const out = new Map<string, Seen>();
  for (const [path, found] of walkTree(dir)) {
    out.set(path, { type: found.type, mode: found.mode, links: found.links, ...(found.target === undefined ? {} : { target: found.target }), ...(found.type === 'f' ? { sha256: sha256(found.data) } : {}) });
  }
  return out;
}

/**
 * bsdtar -t (names, and the link counts -tv shows) and bsdtar -x -p (types, modes, hard links, link targets,
 * contents), as root.
 */
export function bsdtarDifferences(image: string, source: string, work: string): string[] {
  const tree = walkTree(source);
  const links = expectedLinks(tree);
  const out: string[] = [];
  const listing = run('bsdtar', ['-tf', image]);
  if (listing.status !== 0 || listing.stderr !== '') out.push(`bsdtar -t: exit ${listing.status}: ${listing.stderr.trim()}`);
  const names = listing.stdout.split('\n').filter((line) => line !== '');
  const listed = names.filter((line) => line !== '.');
  out.push(...listDifferences('bsdtar -t', [...tree.keys()], listed));
  // libarchive counts a file's links itself, from the entries that share its data, and makes an entry a hard
  // link of the one before only when it has data ("don't bother for zero-length files",
  // archive_read_support_format_iso9660.c): an empty file shows one link and is extracted on its own.
  const empty = (path: string): boolean => tree.get(path)?.data?.length === 0;
  // -tv prints the same entries in the same order, with the link count second.
  const verbose = run('bsdtar', ['-tvf', image]).stdout.split('\n').filter((line) => line !== '');
  names.forEach((path, i) => {
    const shown = Number(/^\S+\s+(\d+)\s/.exec(verbose[i] ?? '')?.[1]);
    const want = empty(path) ? 1 : links.get(path);
    if (tree.get(path)?.type === 'f' && shown !== want) out.push(`bsdtar -tv: ${JSON.stringify(path)} links ${shown}, written ${want}`);
  });
  const into = join(work, 'bsdtar');
  rmSync(into, { recursive: true, force: true });
  mkdirSync(into, { recursive: true });
  const extraction = run('bsdtar', ['-x', '-p', '-f', image, '-C', into]);
  if (extraction.status !== 0 || extraction.stderr !== '') out.push(`bsdtar -x: exit ${extraction.status}: ${extraction.stderr.trim()}`);
  const got = extracted(into);
  for (const [path, seen] of got) if (empty(path) && seen.links === 1) seen.links = links.get(path) as number;
  out.push(...listDifferences('bsdtar -x', [...tree.keys()], [...got.keys()]));
  out.push(...entryDifferences('bsdtar -x', tree, got, ['type', 'mode', 'links', 'target', 'sha256']));
  rmSync(into, { recursive: true, force: true });
  return out;
}

/** Joliet path of a source path, as 7-Zip shows it: without the dots a name ends with (as on Windows; so for genisoimage's images too). */
function jolietPath(path: string): string {
  return path
    .split('/')
    .map((name) => jolietName(name).replace(/\.+$/, ''))
    .join('/');
}

/** 7-Zip (7zz, or 7z of p7zip): its listing and extraction of the Joliet tree (names, directories, file contents). */
export function sevenZipDifferences(image: string, source: string, work: string): string[] {
  const tool = run('sh', ['-c', 'command -v 7zz || command -v 7z']).stdout.trim();
  if (tool === '') return ['7-Zip is not installed (Debian packages 7zip or p7zip-full)'];
  const tree = walkTree(source);
  const out: string[] = [];
  const listing = run(tool, ['l', '-slt', '-ba', image]);
  if (listing.status !== 0) out.push(`7z l: exit ${listing.status}: ${listing.stderr.trim()}`);
  const listed = listing.stdout
    .split('\n')
    .filter((line) => line.startsWith('Path = '))
    .map((line) => line.slice('Path = '.length));
  const want = [...tree.keys()].map(jolietPath);
  out.push(...listDifferences('7z l', want, listed));
  const into = join(work, '7z');
  rmSync(into, { recursive: true, force: true });
  const extraction = run(tool, ['x', '-y', `-o${into}`, image]);
  if (extraction.status !== 0) out.push(`7z x: exit ${extraction.status}: ${extraction.stderr.trim()}`);
  const got = extracted(into);
  out.push(...listDifferences('7z x', want, [...got.keys()]));
  // Joliet has no modes, links or link targets: directories and file contents are what 7-Zip can show.
  const files = new Map([...tree].filter(([, f]) => f.type !== 'l'));
  out.push(...entryDifferences('7z x', files, got, ['type', 'sha256'], jolietPath));
  rmSync(into, { recursive: true, force: true });
  return out;
}

/** pycdlib (Debian's python3-pycdlib, for /usr/bin/python3): the Rock Ridge tree as its own parser reads it. */
export function pycdlibDifferences(image: string, source: string): string[] {
  const result = run('/usr/bin/python3', [join(here, 'pycdlib-tree.py'), image]);
  if (result.status !== 0) return [`pycdlib: exit ${result.status}: ${result.stderr.trim().split('\n').slice(-3).join(' | ')}`];
  const read = JSON.parse(result.stdout) as Record<string, Seen & { duplicate?: boolean }>;
  const tree = walkTree(source);
  const out: string[] = [];
  const got = new Map(Object.entries(read));
  out.push(...listDifferences('pycdlib', [...tree.keys()], [...got.keys()]));
  for (const [path, seen] of got) if (seen.duplicate) out.push(`pycdlib lists ${JSON.stringify(path)} twice`);
  out.push(...entryDifferences('pycdlib', tree, got, ['type', 'mode', 'links', 'target', 'sha256']));
  return out;
}

/** True when pycdlib can be imported by /usr/bin/python3. */
export function hasPycdlib(): boolean {
  return run('/usr/bin/python3', ['-c', 'import pycdlib']).status === 0;
}
