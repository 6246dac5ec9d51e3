import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildCdTree, buildContextTree, parseContextYaml } from '@vmctx/guest-script';
import { captureIo, failure } from '../cli/capture-io.fixture.js';
import { contextCommand } from './context.js';

let dir: string;
const io = captureIo();
const context = (...args: string[]) => contextCommand(io).parseAsync(args, { from: 'user' });

const YAML = `instanceId: web-1
hostname: web-1
network:
  method: static
  address: 198.51.100.10/24
  gateway: 198.51.100.1
files:
  - { path: /etc/motd, content: "hello\\n" }
`;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vmctx-context-'));
  io.reset();
  await writeFile(join(dir, 'context.yaml'), YAML);
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('vmctx context build', () => {
  it('writes the tree of a context file', async () => {
    await context('build', join(dir, 'context.yaml'), '-o', join(dir, 'out'));
    // Both layouts by default: Snooze's tree and the NoCloud seed, with one instance id.
    const expected = buildCdTree(parseContextYaml(YAML), 'both');
    expect(Object.keys(expected)).toEqual(expect.arrayContaining([...Object.keys(buildContextTree(parseContextYaml(YAML))), 'meta-data', 'user-data', 'network-config']));
    for (const [path, entry] of Object.entries(expected)) {
      expect(Buffer.from(await readFile(join(dir, 'out', path))).equals(Buffer.from(entry.data))).toBe(true);
      expect((await stat(join(dir, 'out', path))).mode & 0o7777).toBe(entry.mode);
    }
    expect(io.err).toBe(`wrote ${Object.keys(expected).length} files to ${join(dir, 'out')}\n`);
  });

  it('copies a Snooze context/ folder unchanged, and warns when it has no post-install', async () => {
    await mkdir(join(dir, 'snooze/common'), { recursive: true });
    await writeFile(join(dir, 'snooze/common/network'), 'GATEWAY=192.168.122.1\n');
    await context('build', join(dir, 'snooze'), '-o', join(dir, 'out'));
    expect(await readFile(join(dir, 'out/common/network'), 'utf8')).toBe('GATEWAY=192.168.122.1\n');
    expect(io.err).toMatch(/no post-install at the top: guests will fall back to DHCP/);
  });

  it('exits 2 on a bad context and writes nothing', async () => {
    await writeFile(join(dir, 'bad.yaml'), 'hostname: "web$(reboot)"\n');
    expect(await failure(io, context('build', join(dir, 'bad.yaml'), '-o', join(dir, 'out')))).toMatchObject({ exitCode: 2, code: 'GUEST_INVALID_CONTEXT' });
    expect(await failure(io, context('build', join(dir, 'missing.yaml'), '-o', join(dir, 'out')))).toMatchObject({ exitCode: 2, code: 'CLI_NOT_FOUND' });
    expect((await readdir(dir)).sort()).toEqual(['bad.yaml', 'context.yaml']);
  });

  it('exits 3 (a conflict) when the output folder has files', async () => {
    await mkdir(join(dir, 'out'));
    await writeFile(join(dir, 'out/keep'), '');
    expect(await failure(io, context('build', join(dir, 'context.yaml'), '-o', join(dir, 'out')))).toMatchObject({ exitCode: 3, code: 'GUEST_OUTPUT_EXISTS' });
  });
});

describe('vmctx context iso', () => {
  it('writes an ISO 9660 image labelled cidata (CONTEXT with --format snooze) that holds the tree, the same bytes for the same epoch', async () => {
    const iso = join(dir, 'context.iso');
    await context('iso', join(dir, 'context.yaml'), '-o', join(dir, 'snooze.iso'), '--epoch', '1700000000', '--format', 'snooze');
    const snooze = await readFile(join(dir, 'snooze.iso'));
    expect(snooze.subarray(16 * 2048 + 40, 16 * 2048 + 72).toString('latin1').trimEnd()).toBe('CONTEXT');
    expect(snooze.includes(Buffer.from('#cloud-config'))).toBe(false);
    await context('iso', join(dir, 'context.yaml'), '-o', iso, '--epoch', '1700000000');
    const image = await readFile(iso);
    // ECMA-119 8.4: the Primary Volume Descriptor at sector 16, standard identifier CD001, volume identifier at 40.
    expect(image.subarray(16 * 2048 + 1, 16 * 2048 + 6).toString('latin1')).toBe('CD001');
    expect(image.subarray(16 * 2048 + 40, 16 * 2048 + 72).toString('latin1').trimEnd()).toBe('cidata');
    expect(image.includes(Buffer.from('#cloud-config\n'))).toBe(true);
    expect(image.includes(Buffer.from('#!/bin/sh\n# vmctx post-install'))).toBe(true);
    await context('iso', join(dir, 'context.yaml'), '-o', join(dir, 'again.iso'), '--epoch', '1700000000');
    expect((await readFile(join(dir, 'again.iso'))).equals(image)).toBe(true);
    expect(io.err).toMatch(/wrote .*context\.iso \(\d+ files, label cidata, format both\)/);
  });

  it('prints path, size and sha256 on stdout, or a JSON object with --json', async () => {
    const iso = join(dir, 'context.iso');
    await context('iso', join(dir, 'context.yaml'), '-o', iso, '--epoch', '0');
    const image = await readFile(iso);
    const sha256 = createHash('sha256').update(image).digest('hex');
    expect(io.out).toBe(`${iso}\t${image.length}\t${sha256}\n`);
    io.reset();
    await context('iso', join(dir, 'context.yaml'), '-o', iso, '--epoch', '0', '--json');
    expect(JSON.parse(io.out)).toEqual({ path: iso, bytes: image.length, sha256 });
    expect(io.out.split('\n')).toHaveLength(2);
  });

  it('writes a new ISO of a context with files 0600 and says so, keeps an existing mode, and 0644 without secrets', async () => {
    const iso = join(dir, 'context.iso');
    await context('iso', join(dir, 'context.yaml'), '-o', iso, '--epoch', '0');
    expect((await stat(iso)).mode & 0o777).toBe(0o600);
    expect(io.err).toMatch(/context\.iso: mode 0600, as the context holds files, keys or scripts/);
    await chmod(iso, 0o640);
    await context('iso', join(dir, 'context.yaml'), '-o', iso, '--epoch', '0');
    expect((await stat(iso)).mode & 0o777).toBe(0o640);
    await writeFile(join(dir, 'plain.yaml'), 'instanceId: p\nnetwork: { method: dhcp }\n');
    await context('iso', join(dir, 'plain.yaml'), '-o', join(dir, 'plain.iso'), '--epoch', '0');
    expect((await stat(join(dir, 'plain.iso'))).mode & 0o777).toBe(0o644);
  });

  it('refuses an output that is its input, and leaves the input as it was', async () => {
    expect(await failure(io, context('iso', join(dir, 'context.yaml'), '-o', join(dir, 'context.yaml')))).toMatchObject({ exitCode: 2, code: 'CLI_OUTPUT_IS_INPUT' });
    expect(await readFile(join(dir, 'context.yaml'), 'utf8')).toBe(YAML);
    await mkdir(join(dir, 'snooze/common'), { recursive: true });
    await writeFile(join(dir, 'snooze/common/network'), 'GATEWAY=192.168.122.1\n');
    expect(await failure(io, context('iso', join(dir, 'snooze'), '-o', join(dir, 'snooze/common/network')))).toMatchObject({ exitCode: 2, code: 'ISO_BAD_OPTION' });
    expect(await readFile(join(dir, 'snooze/common/network'), 'utf8')).toBe('GATEWAY=192.168.122.1\n');
  });

  it('streams a context folder into the ISO (files listed, never read whole), the same bytes as from memory', async () => {
    await mkdir(join(dir, 'snooze/common'), { recursive: true });
    await writeFile(join(dir, 'snooze/common/network'), 'GATEWAY=192.168.122.1\n');
    await writeFile(join(dir, 'snooze/post-install'), '#!/bin/sh\n', { mode: 0o755 });
    await context('iso', join(dir, 'snooze'), '-o', join(dir, 'a.iso'), '--epoch', '0');
    const { writeIsoFromFiles } = await import('@vmctx/iso-builder');
    const { readContextFolder } = await import('@vmctx/guest-script');
    await writeIsoFromFiles(await readContextFolder(join(dir, 'snooze')), join(dir, 'b.iso'), { epoch: 0 });
    expect((await readFile(join(dir, 'a.iso'))).equals(await readFile(join(dir, 'b.iso')))).toBe(true);
    // The 2 GiB limit of a whole-file read does not apply: a sparse 3 GiB file is listed with its size, not read.
    await writeFile(join(dir, 'snooze/big'), '');
    await truncate(join(dir, 'snooze/big'), 3 * 2 ** 30);
    io.reset();
    await context('show', join(dir, 'snooze'));
    expect(io.out).toMatch(/^0644 3221225472 big$/m);
  });

  it('exits 2 on a bad label', async () => {
    expect(await failure(io, context('iso', join(dir, 'context.yaml'), '-o', join(dir, 'x.iso'), '--label', 'no/slash'))).toMatchObject({ exitCode: 2 });
    expect(io.err).toMatch(/^error: option '--label <label>' argument 'no\/slash' is invalid\. volume label "no\/slash" contains "\/"/);
    expect(await readdir(dir)).toEqual(['context.yaml']);
  });
});

describe('vmctx context iso: one CD, both layouts (issue 20)', () => {
  it("holds the NoCloud seed and Snooze's layout at its root, as isoinfo reads them back (Rock Ridge names)", async () => {
    const iso = join(dir, 'both.iso');
    await context('iso', join(dir, 'context.yaml'), '-o', iso, '--epoch', '0');
    const listing = spawnSync('isoinfo', ['-R', '-f', '-i', iso], { encoding: 'utf8' });
    expect(listing.status, listing.stderr).toBe(0);
    const paths = listing.stdout.split('\n').filter(Boolean).sort();
    expect(paths).toEqual(expect.arrayContaining(['/meta-data', '/user-data', '/network-config', '/post-install', '/instance-id', '/common/network', '/files/001']));
    const read = (path: string) => spawnSync('isoinfo', ['-R', '-x', path, '-i', iso], { encoding: 'utf8' }).stdout;
    expect(read('/meta-data')).toBe('instance-id: web-1\nlocal-hostname: web-1\n');
    expect(read('/instance-id')).toBe('web-1\n');
    expect(read('/user-data')).toMatch(/^#cloud-config\nhostname: web-1\n/);
    // cloud-init-only and Snooze-only CDs hold one layout each.
    await context('iso', join(dir, 'context.yaml'), '-o', join(dir, 'ci.iso'), '--epoch', '0', '--format', 'cloud-init');
    const ci = spawnSync('isoinfo', ['-R', '-f', '-i', join(dir, 'ci.iso')], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean).sort();
    expect(ci).toEqual(['/meta-data', '/network-config', '/user-data']);
  });

  it('refuses --format both for a Snooze folder, which has no fields to make the NoCloud seed from', async () => {
    await mkdir(join(dir, 'snooze'));
    await writeFile(join(dir, 'snooze/post-install'), '#!/bin/sh\n');
    expect(await failure(io, context('iso', join(dir, 'snooze'), '-o', join(dir, 'x.iso'), '--format', 'both'))).toMatchObject({ exitCode: 2, code: 'GUEST_INVALID_CONTEXT' });
  });
});

describe('vmctx context show', () => {
  it('lists each reader of the guest with its files', async () => {
    await context('show', join(dir, 'context.yaml'));
    expect(io.out).toMatch(/^# read by cloud-init's NoCloud datasource \(meta-data, user-data, network-config\)\n0444 +\d+ meta-data\n0444 +\d+ network-config\n0400 +\d+ user-data\n# read by vmctx's script \(Snooze's layout\)\n/);
  });

  it('lists mode, size and path', async () => {
    await context('show', join(dir, 'context.yaml'));
    expect(io.out).toMatch(/^0755 +\d+ post-install$/m);
    expect(io.out).toMatch(/^0400 +6 files\/001$/m);
    expect(io.out).toMatch(/^0444 +\d+ instance-id$/m);
  });
});

describe('an empty context (issue 12)', () => {
  it.each([
    ['an empty file', ''],
    ['null', 'null\n'],
    ['{}', '{}\n'],
    ['an instance id alone', 'instanceId: web-1\n'],
  ])('is refused by build, iso and show (%s), exit 2, nothing written, unless --allow-empty', async (_, yaml) => {
    const input = join(dir, 'empty.yaml');
    await writeFile(input, yaml);
    for (const args of [['build', input, '-o', join(dir, 'out')], ['iso', input, '-o', join(dir, 'out.iso')], ['show', input]]) {
      io.reset();
      expect(await failure(io, context(...args)), args[0]).toMatchObject({ exitCode: 2, code: 'GUEST_EMPTY_CONTEXT', message: expect.stringContaining(`${input}: the context is empty`) });
      expect(io.out).toBe('');
    }
    expect((await readdir(dir)).sort()).toEqual(['context.yaml', 'empty.yaml']);
    await context('build', input, '-o', join(dir, 'out'), '--allow-empty');
    await context('iso', input, '-o', join(dir, 'out.iso'), '--allow-empty', '--epoch', '0');
    io.reset();
    await context('show', input, '--allow-empty');
    expect(io.out).toMatch(/ post-install\n/);
  });
});
