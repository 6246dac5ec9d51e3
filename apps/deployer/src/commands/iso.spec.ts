import { createHash } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writeIsoFromDirectory } from '@vmctx/iso-builder';
import { createProgram } from '../program.js';
import { captureIo, failure } from '../cli/capture-io.fixture.js';
import { isoCommand, normalizeGenisoimageArgs } from './iso.js';

let dir: string;
let src: string;
const io = captureIo();
const iso = (...args: string[]) => isoCommand(io).parseAsync(args, { from: 'user' });
const label = (image: Buffer) => image.toString('latin1', 16 * 2048 + 40, 16 * 2048 + 72).trimEnd();

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vmctx-iso-'));
  src = join(dir, 'context');
  await mkdir(join(src, 'common'), { recursive: true });
  await writeFile(join(src, 'common', 'network'), 'GATEWAY=192.0.2.1\n');
  await writeFile(join(src, 'post-install'), '#!/bin/sh\n');
  await chmod(join(src, 'post-install'), 0o755);
  io.reset();
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function reference(options: Parameters<typeof writeIsoFromDirectory>[2]): Promise<Buffer> {
  const path = join(dir, 'reference.iso');
  await writeIsoFromDirectory(src, path, options);
  const bytes = await readFile(path);
  await rm(path);
  return bytes;
}

describe('vmctx iso', () => {
  it('takes genisoimage -R -J -V -o and writes what iso-builder writes', async () => {
    const out = join(dir, 'context.iso');
    await iso('-R', '-J', '-V', 'cidata', '--epoch', '1700000000', '-o', out, src);
    const image = await readFile(out);
    expect(label(image)).toBe('cidata');
    expect(image.equals(await reference({ label: 'cidata', epoch: 1_700_000_000 }))).toBe(true);
    expect(io.err).toMatch(/^\d+ extents written \(\d+ MB\)\n$/);
  });

  it('prints path, size and sha256 on stdout when it writes a file, or a JSON object with --json', async () => {
    const out = join(dir, 'context.iso');
    await iso('--quiet', '--epoch', '0', '-o', out, src);
    const image = await readFile(out);
    const sha256 = createHash('sha256').update(image).digest('hex');
    expect(io.out).toBe(`${out}\t${image.length}\t${sha256}\n`);
    io.reset();
    await iso('--quiet', '--epoch', '0', '--json', '-o', out, src);
    expect(JSON.parse(io.out)).toEqual({ path: out, bytes: image.length, sha256 });
    expect(await failure(io, iso('--json', src))).toMatchObject({ exitCode: 2 });
  });

  it('takes combined flags and genisoimage single-dash long options', async () => {
    const out = join(dir, 'seed.iso');
    await iso('-quiet', '-volid', 'cidata', '-joliet', '-rock', '-input-charset', 'utf-8', '-output', out, '--epoch', '5', src);
    expect((await readFile(out)).equals(await reference({ label: 'cidata', epoch: 5 }))).toBe(true);
    expect(io.err).toBe('');
    await iso('-RJ', '--quiet', '--epoch', '5', '-o', out, src);
    expect(label(await readFile(out))).toBe('CONTEXT');
  });

  it('rationalizes with -r and honours SOURCE_DATE_EPOCH', async () => {
    io.env = { SOURCE_DATE_EPOCH: '1234' };
    const out = join(dir, 'r.iso');
    await iso('-r', '-J', '-o', out, src);
    expect((await readFile(out)).equals(await reference({ ownership: 'rationalize', epoch: 1234 }))).toBe(true);
    expect((await readFile(out)).equals(await reference({ epoch: 1234 }))).toBe(false);
  });

  it('writes the image to stdout without -o, and refuses a terminal', async () => {
    await iso('-R', '-J', '--epoch', '9', src);
    expect(io.bytes().equals(await reference({ epoch: 9 }))).toBe(true);
    io.output.isTTY = true;
    expect(await failure(io, iso('-R', '-J', src))).toMatchObject({ exitCode: 2, message: expect.stringMatching(/terminal/) });
  });

  it('exits 2 on a bad label, a missing folder or a bad epoch, leaving nothing behind', async () => {
    const out = join(dir, 'bad.iso');
    expect(await failure(io, iso('-V', 'no/slash', '-o', out, src))).toMatchObject({ exitCode: 2 });
    expect(io.err).toMatch(/^error: option '-V, --volid <label>' argument 'no\/slash' is invalid\. volume label "no\/slash" contains "\/"/);
    expect(await failure(io, iso('-o', out, join(dir, 'missing')))).toMatchObject({ exitCode: 2, code: 'ISO_BAD_TREE', message: expect.stringMatching(/missing/) });
    expect(await failure(io, iso('--epoch', 'tomorrow', '-o', out, src))).toMatchObject({ exitCode: 2 });
    expect(await failure(io, iso('-o', out, src, 'second-folder'))).toMatchObject({ exitCode: 2 });
    expect((await readdir(dir)).sort()).toEqual(['context']);
  });

  it('writes directories deeper than 8 levels with -D, and refuses them without', async () => {
    await mkdir(join(src, '1/2/3/4/5/6/7/8'), { recursive: true });
    const out = join(dir, 'deep.iso');
    expect(await failure(io, iso('-R', '-J', '-o', out, src))).toMatchObject({ exitCode: 2, code: 'ISO_TOO_DEEP', message: expect.stringMatching(/"1\/2\/3\/4\/5\/6\/7\/8"/) });
    await iso('-R', '-J', '-D', '--epoch', '3', '-o', out, src);
    expect((await readFile(out)).equals(await reference({ deepDirectories: 'allow', epoch: 3 }))).toBe(true);
  });

  it('exits 2 on an unknown flag (usage error)', async () => {
    expect(await failure(io, iso('--no-such-flag', src))).toMatchObject({ exitCode: 2 });
    expect(io.err).toMatch(/unknown option/);
  });
});

describe('vmctx iso in the program', () => {
  it('reads -V after the subcommand as the label, while vmctx -V still prints the version', async () => {
    const out = join(dir, 'p.iso');
    await createProgram().exitOverride().parseAsync(['node', 'vmctx', 'iso', '-quiet', '-V', 'cidata', '--epoch', '1', '-o', out, src]);
    expect(label(await readFile(out))).toBe('cidata');
    await expect(createProgram().exitOverride().configureOutput({ writeOut: () => undefined }).parseAsync(['node', 'vmctx', '-V'])).rejects.toMatchObject({ code: 'commander.version' });
  });
});

describe('normalizeGenisoimageArgs', () => {
  it('maps single-dash long options and leaves the rest, and everything after --', () => {
    expect(normalizeGenisoimageArgs(['-quiet', '-RJ', '-volid', 'x', '--', '-quiet'])).toEqual(['--quiet', '-RJ', '--volid', 'x', '--', '-quiet']);
  });
});
