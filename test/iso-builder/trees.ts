/**
 * Source trees for the iso-builder tools suite, and the helpers that read a tree back (from disk, from
 * `isoinfo -l` listings) into comparable shapes.
 */
import { chmodSync, linkSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** One entry of a tree: type, permission bits, and contents or link target. */
export interface Found {
  type: 'd' | 'f' | 'l';
  mode: number;
  /** Link count (st_nlink) and inode number where the tree is. */
  links: number;
  ino: number;
  data?: Buffer;
  target?: string;
}

export function walkTree(root: string, withData = true): Map<string, Found> {
  const out = new Map<string, Found>();
  const visit = (dir: string, prefix: string): void => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      const rel = prefix ? `${prefix}/${name}` : name;
      const st = lstatSync(path);
      const common = { links: st.nlink, ino: st.ino };
      if (st.isDirectory()) {
        out.set(rel, { type: 'd', mode: st.mode & 0o7777, ...common });
        visit(path, rel);
      } else if (st.isSymbolicLink()) out.set(rel, { type: 'l', mode: 0o777, ...common, target: readlinkSync(path) });
      else out.set(rel, { type: 'f', mode: st.mode & 0o7777, ...common, ...(withData ? { data: readFileSync(path) } : {}) });
    }
  };
  visit(root, '');
  return out;
}

export function write(root: string, path: string, data: string | Buffer, mode = 0o644): void {
  mkdirSync(join(root, path, '..'), { recursive: true });
  writeFileSync(join(root, path), data);
  chmodSync(join(root, path), mode);
}

/** The seed's context/ tree (common/network, common/routes, post-install with its exec bit). */
export function makeContextTree(root: string): void {
  write(root, 'common/network', 'GATEWAY=192.0.2.1\nNETWORK=192.0.2.0\nBROADCAST=192.0.2.255\nNETMASK=255.255.255.0\nNAMESERVER=192.0.2.1\nDOMAIN=\nSEARCH=\n');
  write(root, 'common/routes', 'up route add -net 198.51.100.0 netmask 255.255.255.0 dev eth0\nup route del default\n');
  write(root, 'post-install', '#!/bin/sh\necho "contextualization started" > /dev/ttyS0\n', 0o755);
}

/** Names that stress mangling and both trees: long, mixed case, Unicode, dots, empties, links, exec bits, depth 8. */
export function makeNamesTree(root: string): void {
  const names = [
    'README',
    'readme.txt',
    'Mixed Case Name.TXT',
    'a-rather-long-file-name-that-goes-past-sixty-four-characters-for-joliet.conf',
    'x'.repeat(200),
    'été.conf',
    'ünïcode-ñame',
    '日本語のファイル.txt',
    'archive.tar.gz',
    'doc.ps.gz',
    'many.dots.in.the.name',
    '.hidden',
    'trailing.',
    'UPPER.C',
    'Upper.c',
    'upper.c',
    'same-prefix-1.txt',
    'same-prefix-2.txt',
    'same-prefix-3.txt',
    'with space',
    'semi;colon',
  ];
  names.forEach((name, i) => write(root, name, `file ${i}: ${name}\n`.repeat(i + 1)));
  write(root, 'empty-file', '');
  mkdirSync(join(root, 'empty-dir'));
  mkdirSync(join(root, 'dir.with.dots'));
  write(root, 'bin/run.sh', '#!/bin/sh\nexit 0\n', 0o755);
  write(root, 'bin/setuid-tool', 'x', 0o4711);
  write(root, 'private/key', 'secret\n', 0o600);
  chmodSync(join(root, 'private'), 0o700);
  write(root, '1/2/3/4/5/6/7/deepest-file', 'eight levels\n');
  symlinkSync('../README', join(root, 'bin/link-up'));
  symlinkSync('/etc/hostname', join(root, 'absolute-link'));
  symlinkSync('bin', join(root, 'dir-link'));
  symlinkSync('does/not/exist', join(root, 'dangling-link'));
  symlinkSync(`${'component/'.repeat(40)}end`, join(root, 'long-link'));
}

/**
 * What readers that were never used to write the code got wrong (issue 13): a directory name of 180 bytes
 * and more followed by sibling directories (its Rock Ridge continuation area must come before they are read
 * front to back), hard links (one extent, PX link count), and link targets with empty components ("a//b",
 * "a/b/") that must stay byte for byte.
 */
export function makeReadersTree(root: string): void {
  const long = 'd'.repeat(190);
  write(root, `${long}/inside`, 'inside the long directory\n');
  write(root, `${long}/${'e'.repeat(230)}/deeper`, 'two long directories\n');
  write(root, 'sibling/file', 'in the sibling\n');
  write(root, 'zz-last/file', 'after everything\n');
  mkdirSync(join(root, `${'f'.repeat(250)}`));
  write(root, `${'g'.repeat(200)}.txt`, 'a long file name\n');
  write(root, 'links/one', 'shared by three names\n'.repeat(300));
  linkSync(join(root, 'links/one'), join(root, 'links/two'));
  linkSync(join(root, 'links/one'), join(root, 'sibling/three'));
  write(root, 'links/empty-a', '');
  linkSync(join(root, 'links/empty-a'), join(root, 'links/empty-b'));
  write(root, 'links/alone', 'one name only\n');
  for (const [name, target] of [
    ['double-slash', 'a//b'],
    ['trailing-slash', 'a/b/'],
    ['root-double', '//etc//hostname'],
    ['root', '/'],
    ['dot-slash', './'],
    ['parent-double', '..//links/one'],
    ['many-slashes', 'a///b////c'],
    ['long-with-doubles', `${'segment//'.repeat(30)}end`],
  ]) symlinkSync(target as string, join(root, 'links', `link-${name}`));
}

export function makeManyFilesTree(root: string, count: number): void {
  for (let i = 0; i < count; i++) write(root, `dir-${String(i % 100).padStart(2, '0')}/file-${i}.dat`, `${i}\n`);
}

/** One `isoinfo -l` entry: directory path (as listed) and name (without " -> target"), mode string, size. */
export interface Listed {
  dir: string;
  name: string;
  modeString: string;
  size: number;
  extent: number;
  target?: string;
}

// isoinfo prints "[ extent flags]  name"; for a non-final part of a multi-extent file it prints "[ extent FFFF name".
const LINE = /^([-dlrwxsStT]{10})\s+\d+\s+\d+\s+\d+\s+(\d+)\s+\w{3}\s+\d+\s+\d{4}\s+\[\s*(\d+)\s+[0-9A-Fa-f]+(?:\]\s)?\s(.*?) ?$/;

export function parseListing(text: string): Listed[] {
  const out: Listed[] = [];
  let dir = '';
  for (const line of text.split('\n')) {
    const header = /^Directory listing of (.*)$/.exec(line);
    if (header) {
      dir = header[1] as string;
      continue;
    }
    const m = LINE.exec(line);
    if (!m) continue;
    let name = m[4] as string;
    if (name === '.' || name === '..') continue;
    let target: string | undefined;
    const arrow = name.indexOf(' -> ');
    if (m[1]?.startsWith('l') && arrow >= 0) {
      target = name.slice(arrow + 4);
      name = name.slice(0, arrow);
    } else if (m[1]?.startsWith('l') && name.endsWith(' ->')) {
      target = ''; // isoinfo prints nothing after "->" for a link to "/"
      name = name.slice(0, -3);
    }
    out.push({ dir, name, modeString: m[1] as string, size: Number(m[2]), extent: Number(m[3]), ...(target === undefined ? {} : { target }) });
  }
  return out;
}
