import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, truncateSync, utimesSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { resolveEpoch, writeIsoFromDirectory, writeIsoFromFiles, writeIsoTree } from './build.js';
import { MAX_ISO_EPOCH } from './encoding.js';
import { fileMapTree } from './file-map.js';
import { readDirectoryTree } from './from-directory.js';
import { readIso } from './read-iso.fixture.js';
import type { DirectoryNode } from './tree.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'iso-builder-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function makeTree(root: string, order: 'forward' | 'backward'): void {
  const files = Array.from({ length: 40 }, (_, i) => [`d${i % 4}/sub/file-${i}.txt`, `content ${i}\n`.repeat(i * 50)] as const);
  for (const [path, data] of order === 'forward' ? files : [...files].reverse()) {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), data);
    chmodSync(join(root, path), 0o644);
  }
  symlinkSync('d0/sub/file-0.txt', join(root, 'link'));
}

describe('writeIsoFromDirectory', () => {
  it('gives byte-identical images for copies made in different orders, with the same epoch', async () => {
    makeTree(join(dir, 'a'), 'forward');
    makeTree(join(dir, 'b'), 'backward');
    await writeIsoFromDirectory(join(dir, 'a'), join(dir, 'a.iso'), { epoch: 1_700_000_000 });
    await writeIsoFromDirectory(join(dir, 'b'), join(dir, 'b.iso'), { epoch: 1_700_000_000 });
    const a = readFileSync(join(dir, 'a.iso'));
    expect(a.equals(readFileSync(join(dir, 'b.iso')))).toBe(true);
    const iso = readIso(a);
    expect(iso.primary.filter((e) => !(e.flags & 2))).toHaveLength(41);
  });

  it('copies file contents to the sectors the records point at', async () => {
    makeTree(join(dir, 't'), 'forward');
    await writeIsoFromDirectory(join(dir, 't'), join(dir, 't.iso'), { epoch: 0, bufferSize: 8192 });
    const image = readFileSync(join(dir, 't.iso'));
    for (const e of readIso(image).primary) {
      if (e.flags & 2 || e.rr.target) continue;
      const data = image.subarray(e.extent * 2048, e.extent * 2048 + e.size);
      expect(data.equals(readFileSync(join(dir, 't', e.path)))).toBe(true);
    }
  });

  it('writes the same bytes to a stream as to a file', async () => {
    makeTree(join(dir, 't'), 'forward');
    await writeIsoFromDirectory(join(dir, 't'), join(dir, 't.iso'), { epoch: 5 });
    const stream = new PassThrough();
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(Buffer.from(c)));
    await writeIsoFromDirectory(join(dir, 't'), stream, { epoch: 5, bufferSize: 4096 });
    expect(Buffer.concat(chunks).equals(readFileSync(join(dir, 't.iso')))).toBe(true);
  });

  it('takes SOURCE_DATE_EPOCH when no epoch is given, and files own times otherwise', async () => {
    mkdirSync(join(dir, 't'));
    writeFileSync(join(dir, 't', 'f'), 'x');
    utimesSync(join(dir, 't', 'f'), 1_000_000_000, 1_000_000_000);
    await writeIsoFromDirectory(join(dir, 't'), join(dir, 'env.iso'), { env: { SOURCE_DATE_EPOCH: '1234567890' } });
    expect(readIso(readFileSync(join(dir, 'env.iso'))).primary[0]?.date).toBe(1234567890);
    await writeIsoFromDirectory(join(dir, 't'), join(dir, 'own.iso'), { env: {} });
    expect(readIso(readFileSync(join(dir, 'own.iso'))).primary[0]?.date).toBe(1_000_000_000);
    expect(() => resolveEpoch({ env: { SOURCE_DATE_EPOCH: 'soon' } })).toThrow(/SOURCE_DATE_EPOCH/);
    expect(resolveEpoch({ epoch: new Date(2000), env: { SOURCE_DATE_EPOCH: '7' } })).toBe(2);
  });

  it('refuses an epoch that not every date of the image can hold (issue 12: ECMA-119 9.1.5 ends in 2155)', () => {
    expect(MAX_ISO_EPOCH).toBe(Date.UTC(2155, 11, 31, 23, 59, 59) / 1000);
    expect(resolveEpoch({ epoch: MAX_ISO_EPOCH })).toBe(MAX_ISO_EPOCH);
    expect(() => resolveEpoch({ epoch: MAX_ISO_EPOCH + 1 })).toThrow(/epoch 5869584000 \(2156-01-01T00:00:00Z\) is not a date an ISO 9660 image can hold/);
    expect(() => resolveEpoch({ epoch: 99_999_999_999_999 })).toThrow(expect.objectContaining({ code: 'ISO_BAD_OPTION', where: 'epoch' }));
    expect(() => resolveEpoch({ epoch: new Date(Date.UTC(1969, 11, 31)) })).toThrow(/epoch -86400 \(1969-12-31T00:00:00Z\)/);
    expect(() => resolveEpoch({ env: { SOURCE_DATE_EPOCH: '9999999999' } })).toThrow(expect.objectContaining({ code: 'ISO_BAD_OPTION', where: 'SOURCE_DATE_EPOCH' }));
  });

  it('refuses a bad label and leaves nothing at the output path', async () => {
    mkdirSync(join(dir, 't'));
    await expect(writeIsoFromDirectory(join(dir, 't'), join(dir, 'x.iso'), { label: 'a/b' })).rejects.toMatchObject({ code: 'ISO_BAD_LABEL', kind: 'input' });
    await expect(writeIsoFromFiles({ f: 'x' }, join(dir, 'x.iso'), { label: 'L'.repeat(33) })).rejects.toThrow(/at most 32/);
    expect(readdirSync(dir)).toEqual(['t']);
  });

  it('fails clearly when a file shrinks or grows after it was measured, and removes the partial image', async () => {
    makeTree(join(dir, 't'), 'forward');
    const target = join(dir, 't', 'd1', 'sub', 'file-9.txt');
    const shrunk = readDirectoryTree(join(dir, 't'));
    truncateSync(target, 10);
    await expect(writeIsoTree(shrunk, join(dir, 'x.iso'), { epoch: 0 })).rejects.toMatchObject({ code: 'ISO_FILE_CHANGED', message: expect.stringMatching(/file-9\.txt" shrank/) });
    const grown = readDirectoryTree(join(dir, 't'));
    appendFileSync(target, 'more');
    await expect(writeIsoTree(grown, join(dir, 'x.iso'), { epoch: 0 })).rejects.toMatchObject({ code: 'ISO_FILE_CHANGED', message: expect.stringMatching(/grew/) });
    expect(readdirSync(dir)).toEqual(['t']);
  });

  it('never reads a file swapped for a link or for another file after the listing (symlink race), from a folder or a file map', async () => {
    const secret = join(dir, 'secret');
    writeFileSync(secret, 'SECRET-SHADOWS\n');
    mkdirSync(join(dir, 't'));
    const victim = join(dir, 't', 'a.txt');
    const cases: Array<[string, () => DirectoryNode]> = [
      ['folder', () => readDirectoryTree(join(dir, 't'))],
      ['file map', () => fileMapTree({ 'a.txt': { file: victim } }, 0)],
    ];
    for (const [, list] of cases) {
      // The same size as the secret, so that only the file's identity tells them apart.
      writeFileSync(victim, 'public-content\n');
      const tree = list();
      rmSync(victim);
      symlinkSync(secret, victim);
      await expect(writeIsoTree(tree, join(dir, 'x.iso'), { epoch: 0 })).rejects.toMatchObject({ code: 'ISO_FILE_CHANGED', message: expect.stringMatching(/a\.txt" became a symbolic link/) });
      rmSync(victim);
      writeFileSync(victim, 'public-content\n');
      const relisted = list();
      // Made before the old one goes, so that it cannot reuse its inode number.
      execFileSync('cp', [secret, `${victim}.new`]);
      renameSync(`${victim}.new`, victim);
      await expect(writeIsoTree(relisted, join(dir, 'x.iso'), { epoch: 0 })).rejects.toMatchObject({ code: 'ISO_FILE_CHANGED', message: expect.stringMatching(/replaced by another file/) });
      rmSync(victim);
      expect(readdirSync(dir).sort()).toEqual(['secret', 't']);
    }
  });

  it('fails clearly on a file that cannot be read, keeping an older image at the output path', async () => {
    makeTree(join(dir, 't'), 'forward');
    writeFileSync(join(dir, 'x.iso'), 'old image');
    const tree = readDirectoryTree(join(dir, 't'));
    rmSync(join(dir, 't', 'd2', 'sub', 'file-2.txt'));
    await expect(writeIsoTree(tree, join(dir, 'x.iso'), { epoch: 0 })).rejects.toMatchObject({ code: 'ISO_READ_FAILED', message: expect.stringMatching(/file-2\.txt/) });
    expect(readFileSync(join(dir, 'x.iso'), 'utf8')).toBe('old image');
    expect(readdirSync(dir).sort()).toEqual(['t', 'x.iso']);
  });

  it("keeps an existing output's mode (a secret-bearing image stays 0600), and makes a new one with the mode asked for", async () => {
    mkdirSync(join(dir, 't'));
    writeFileSync(join(dir, 't', 'f'), 'x');
    writeFileSync(join(dir, 'secret.iso'), 'old', { mode: 0o600 });
    chmodSync(join(dir, 'secret.iso'), 0o600);
    await writeIsoFromDirectory(join(dir, 't'), join(dir, 'secret.iso'), { epoch: 0 });
    expect(statSync(join(dir, 'secret.iso')).mode & 0o7777).toBe(0o600);
    expect(readFileSync(join(dir, 'secret.iso')).length).toBeGreaterThan(2048);
    await writeIsoFromDirectory(join(dir, 't'), join(dir, 'new.iso'), { epoch: 0, mode: 0o600 });
    expect(statSync(join(dir, 'new.iso')).mode & 0o7777).toBe(0o600);
    const before = process.umask(0);
    try {
      await writeIsoFromDirectory(join(dir, 't'), join(dir, 'plain.iso'), { epoch: 0 });
    } finally {
      process.umask(before);
    }
    expect(statSync(join(dir, 'plain.iso')).mode & 0o7777).toBe(0o644);
  });

  it('writes into a character device or FIFO as a stream and never replaces it; refuses a folder or an input file as output', async () => {
    makeTree(join(dir, 't'), 'forward');
    await writeIsoFromDirectory(join(dir, 't'), join(dir, 'file.iso'), { epoch: 0 });
    const image = readFileSync(join(dir, 'file.iso'));
    // Devices of the test's own (mknod as root; else the machine's): code that replaced its output would replace
    // the machine's /dev/null and /dev/full otherwise.
    const device = (name: string, minor: number) => {
      if (process.getuid?.() !== 0) return `/dev/${name}`;
      execFileSync('mknod', ['-m', '666', join(dir, name), 'c', '1', String(minor)]);
      return join(dir, name);
    };
    const devNull = device('null', 3);
    const devFull = device('full', 7);
    // null: written into, still the device afterwards.
    await writeIsoFromDirectory(join(dir, 't'), devNull, { epoch: 0 });
    expect(statSync(devNull).isCharacterDevice()).toBe(true);
    // full: ENOSPC, reported, and the device is left alone.
    if (existsSync(devFull)) {
      await expect(writeIsoFromDirectory(join(dir, 't'), devFull, { epoch: 0 })).rejects.toMatchObject({ code: 'ISO_WRITE_FAILED', message: expect.stringMatching(/full.*ENOSPC|ENOSPC/) });
      expect(statSync(devFull).isCharacterDevice()).toBe(true);
    }
    // A FIFO: a reader gets the very bytes of the file image, and the FIFO stays.
    execFileSync('mkfifo', [join(dir, 'pipe')]);
    // (The reader writes to a file: this process writes synchronously and cannot read a pipe meanwhile.)
    const reader = spawn('sh', ['-c', 'cat pipe >read.iso'], { cwd: dir });
    const done = new Promise((resolve) => reader.on('close', resolve));
    await writeIsoFromDirectory(join(dir, 't'), join(dir, 'pipe'), { epoch: 0 });
    await done;
    expect(readFileSync(join(dir, 'read.iso')).equals(image)).toBe(true);
    rmSync(join(dir, 'read.iso'));
    expect(statSync(join(dir, 'pipe')).isFIFO()).toBe(true);
    await expect(writeIsoFromDirectory(join(dir, 't'), join(dir, 't'), { epoch: 0 })).rejects.toMatchObject({ code: 'ISO_BAD_OPTION', message: expect.stringMatching(/is a folder/) });
    const input = join(dir, 't', 'd0', 'sub', 'file-0.txt');
    const data = readFileSync(input);
    await expect(writeIsoFromDirectory(join(dir, 't'), input, { epoch: 0 })).rejects.toMatchObject({ code: 'ISO_BAD_OPTION', message: expect.stringMatching(/one of the image's input files/) });
    await expect(writeIsoFromFiles({ a: { file: input } }, input, { epoch: 0 })).rejects.toMatchObject({ code: 'ISO_BAD_OPTION' });
    expect(readFileSync(input).equals(data)).toBe(true);
    expect(readdirSync(dir).sort().filter((n) => n !== 'null' && n !== 'full')).toEqual(['file.iso', 'pipe', 't']);
  });

  it('refuses sockets, FIFOs and devices, naming them', async () => {
    mkdirSync(join(dir, 't'));
    execFileSync('mkfifo', [join(dir, 't', 'pipe')]);
    await expect(writeIsoFromDirectory(join(dir, 't'), join(dir, 'x.iso'))).rejects.toThrow(/pipe" is a socket, FIFO or device node/);
  });
});

describe('writeIsoFromFiles', () => {
  it('lets the event loop run while a large image is copied', async () => {
    let ticks = 0;
    const timer = setInterval(() => ticks++, 0);
    try {
      await writeIsoFromFiles({ big: Buffer.alloc(100 * 1024 * 1024, 1) }, join(dir, 'big.iso'), { epoch: 0 });
    } finally {
      clearInterval(timer);
    }
    expect(ticks).toBeGreaterThan(1);
  });

  it('writes a file map, keeping an exec bit and a label such as cidata', async () => {
    await writeIsoFromFiles({ 'user-data': '#cloud-config\n', 'meta-data': 'instance-id: x\n', 'post-install': { data: '#!/bin/sh\n', mode: 0o755 } }, join(dir, 'seed.iso'), {
      label: 'cidata',
      epoch: 0,
    });
    const iso = readIso(readFileSync(join(dir, 'seed.iso')));
    expect(iso.label).toBe('cidata');
    expect(iso.primary.find((e) => e.rr.name === 'post-install')?.rr.mode).toBe(0o100755);
  });
});

describe('readDirectoryTree', () => {
  it('refuses a name that is not UTF-8, showing its bytes escaped rather than mangled (issue 12)', async () => {
    mkdirSync(join(dir, 't/sub'), { recursive: true });
    writeFileSync(join(dir, 't/ok.txt'), 'x');
    writeFileSync(Buffer.from(`${join(dir, 't/sub')}/caf\xe9.txt`, 'latin1'), 'x');
    expect(() => readDirectoryTree(join(dir, 't'))).toThrow(
      expect.objectContaining({ code: 'ISO_BAD_NAME', where: `${join(dir, 't/sub')}/caf\\xe9.txt`, message: expect.stringContaining('caf\\xe9.txt": the name is not UTF-8') }),
    );
    await expect(writeIsoFromDirectory(join(dir, 't'), join(dir, 'x.iso'), { epoch: 0 })).rejects.toMatchObject({ code: 'ISO_BAD_NAME' });
    expect(existsSync(join(dir, 'x.iso'))).toBe(false);
  });

  it('gives every file the path path.join would, whatever the spelling of the root', () => {
    makeTree(join(dir, 't'), 'forward');
    const paths = (node: DirectoryNode): string[] =>
      node.children.flatMap((c) => (c.kind === 'directory' ? paths(c) : c.kind === 'file' && c.data.kind === 'path' ? [c.data.path] : []));
    const expected = paths(readDirectoryTree(join(dir, 't')));
    expect(expected).toContain(join(dir, 't', 'd1', 'sub', 'file-1.txt'));
    for (const root of [`${dir}/t/`, `${dir}//t`, `${dir}/t/../t`, `${dir}/./t`]) expect(paths(readDirectoryTree(root))).toEqual(expected);
    const cwd = process.cwd();
    try {
      process.chdir(dir);
      expect(paths(readDirectoryTree('t'))[0]).toBe(join('t', 'd0', 'sub', 'file-0.txt'));
      process.chdir(join(dir, 't'));
      expect(paths(readDirectoryTree('.'))[0]).toBe(join('d0', 'sub', 'file-0.txt'));
    } finally {
      process.chdir(cwd);
    }
  });

  it('follows a root that is a link to a folder, and refuses a root that is a file', async () => {
    mkdirSync(join(dir, 'real'));
    writeFileSync(join(dir, 'real', 'f'), 'x');
    symlinkSync('real', join(dir, 'alias'));
    expect(readDirectoryTree(join(dir, 'alias')).children.map((c) => c.name)).toEqual(['f']);
    expect(() => readDirectoryTree(join(dir, 'real', 'f'))).toThrow(/is not a directory/);
    expect(() => readDirectoryTree(join(dir, 'nowhere'))).toThrow(/cannot stat/);
  });
});
