import { describe, expect, it } from 'vitest';
import { fileMapTree } from './file-map.js';
import type { DirectoryNode } from './tree.js';

const find = (dir: DirectoryNode, name: string) => dir.children.find((c) => c.name === name);

describe('fileMapTree', () => {
  it('creates parent directories and takes strings, bytes and objects', () => {
    const root = fileMapTree(
      {
        'common/network': 'GATEWAY=192.0.2.1\n',
        'post-install': { data: '#!/bin/sh\n', mode: 0o755 },
        'bin/blob': new Uint8Array([1, 2, 3]),
        'link': { symlink: 'post-install' },
        'empty/': { directory: true, mode: 0o700 },
      },
      1000,
    );
    const common = find(root, 'common') as DirectoryNode;
    expect(common.kind).toBe('directory');
    expect(common.attrs.mode).toBe(0o755);
    const network = find(common, 'network');
    expect(network).toMatchObject({ kind: 'file', size: 18, attrs: { mode: 0o644, uid: 0, gid: 0, mtime: 1000 } });
    expect(find(root, 'post-install')).toMatchObject({ kind: 'file', attrs: { mode: 0o755 } });
    expect(find(find(root, 'bin') as DirectoryNode, 'blob')).toMatchObject({ size: 3 });
    expect(find(root, 'link')).toMatchObject({ kind: 'symlink', target: 'post-install', attrs: { mode: 0o777 } });
    expect(find(root, 'empty')).toMatchObject({ kind: 'directory', children: [], attrs: { mode: 0o700 } });
  });

  it('lets an explicit directory entry set the mode of a directory its files created', () => {
    const root = fileMapTree(new Map<string, import('./file-map.js').FileMapEntry>([['d/f', 'x'], ['d', { directory: true, mode: 0o750, mtime: new Date(5000) }]]), 1);
    expect(find(root, 'd')).toMatchObject({ attrs: { mode: 0o750, mtime: 5 } });
  });

  it.each([
    ['a\0b', /NUL/],
    ['dir/../x', /not a file name/],
    ['a//b', /not a file name/],
    ['./x', /not a file name/],
    ['x'.repeat(256), /256 bytes long/],
  ])('refuses the path %j', (path, message) => {
    expect(() => fileMapTree({ [path]: 'x' }, 0)).toThrow(expect.objectContaining({ code: 'ISO_BAD_NAME', kind: 'input' }));
    expect(() => fileMapTree({ [path]: 'x' }, 0)).toThrow(message);
  });

  it('refuses a name with "/" given as a single component through a directory clash', () => {
    expect(() => fileMapTree({ a: 'file', 'a/b': 'x' }, 0)).toThrow(/"a" is a file, not a directory/);
  });

  it('refuses the same path twice', () => {
    expect(() => fileMapTree([['a', 'x'], ['/a', 'y']], 0)).toThrow(/given twice/);
  });

  it('refuses empty symbolic link targets', () => {
    expect(() => fileMapTree({ l: { symlink: '' } }, 0)).toThrow(/symbolic link target/);
  });
});
