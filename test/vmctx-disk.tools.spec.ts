/**
 * `vmctx disk` against the tools it stands in for, on this machine: `disk sha256` against GNU sha256sum (stdout
 * byte for byte, the exit status; sha256sum -c checks its lists), `disk info` against `qemu-img info` on corrupt images.
 * Needs no root and no lab.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { captureIo, Exit } from '../apps/deployer/src/cli/capture-io.fixture.js';
import { diskCommand } from '../apps/deployer/src/commands/disk.js';

interface Result {
  status: number;
  stdout: Buffer;
  stderr: string;
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vmctx-disk-tools-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function tool(command: string, args: string[], input = ''): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: dir, env: { ...process.env, LC_ALL: 'C' } });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => (err += String(c)));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status: status ?? 255, stdout: Buffer.concat(out), stderr: err }));
    child.stdin.on('error', () => undefined); // a tool that does not read its input
    child.stdin.end(input);
  });
}

/** `vmctx disk ...args` in this process, with `input` on standard input. */
async function vmctxDisk(args: string[], input = ''): Promise<Result> {
  const io = captureIo();
  let status = 0;
  try {
    await diskCommand(io, () => Readable.from([Buffer.from(input)])).parseAsync(args, { from: 'user' });
  } catch (error) {
    if (!(error instanceof Exit)) throw error;
    status = error.exitCode;
  }
  return { status, stdout: Buffer.from(io.out), stderr: io.err };
}

describe('vmctx disk sha256 against sha256sum', () => {
  const names = ['plain', 'with space', ' lead', 'a\\b', 'new\nline', 'car\rriage', 'all\\\n\r', 'ünï', '*star', 'x (1)'];
  const paths = () => names.map((n) => join(dir, n));

  beforeAll(async () => {
    for (const [i, name] of names.entries()) await writeFile(join(dir, name), `content ${i}\n`.repeat(i * 1000 + 1));
  });

  it('hashes the same files to the same lines (escaped names included), and - from standard input', async () => {
    const args = [...paths(), '-', '-'];
    const theirs = await tool('sha256sum', args, 'from stdin\n');
    const ours = await vmctxDisk(['sha256', ...args], 'from stdin\n');
    expect(ours.stdout.toString('latin1')).toBe(theirs.stdout.toString('latin1'));
    expect(ours.status).toBe(theirs.status);
  });

  it('without a file reads standard input', async () => {
    const theirs = await tool('sha256sum', [], 'abc');
    expect((await vmctxDisk(['sha256'], 'abc')).stdout.equals(theirs.stdout)).toBe(true);
  });

  it('goes on after a missing file and a folder, and exits as sha256sum (1)', async () => {
    const args = [join(dir, 'gone'), dir, join(dir, 'plain')];
    const theirs = await tool('sha256sum', args);
    const ours = await vmctxDisk(['sha256', ...args]);
    expect(theirs.status).toBe(1);
    expect([ours.status, ours.stdout.toString()]).toEqual([theirs.status, theirs.stdout.toString()]);
    expect(ours.stderr.split('\n').filter(Boolean)).toHaveLength(2);
  });

  it('writes a list sha256sum -c checks, escaped names included', async () => {
    const ours = await vmctxDisk(['sha256', ...paths()]);
    await writeFile(join(dir, 'OURS'), ours.stdout);
    const check = await tool('sha256sum', ['-c', join(dir, 'OURS')]);
    expect(check.status).toBe(0);
    expect(check.stdout.toString('latin1').trimEnd().split('\n')).toHaveLength(names.length);
  });
});

describe('vmctx disk info against qemu-img info on corrupt images', () => {
  /** Each case: a change to a 1 GiB qcow2 qemu-img wrote (or to its v2 twin), and the flags both are given. */
  const cases: Array<{ what: string; base?: 'v3' | 'v2'; edit: (b: Buffer) => Buffer; flags?: string[] }> = [
    { what: 'intact', edit: (b) => b },
    { what: 'intact, -U and --output=json', edit: (b) => b, flags: ['-U', '--output=json'] },
    { what: 'version 2', base: 'v2', edit: (b) => b },
    { what: 'cut in the magic', edit: (b) => b.subarray(0, 3) },
    { what: 'cut at 40 bytes', edit: (b) => b.subarray(0, 40) },
    { what: 'cut at 100 bytes', edit: (b) => b.subarray(0, 100) },
    { what: 'cut after the first cluster (L1 and refcount tables gone)', edit: (b) => b.subarray(0, 65536) },
    { what: 'a bad magic (a raw file then)', edit: (b) => set(b, (v) => v.setUint32(0, 0x514649fc)) },
    { what: 'a bad magic read with -f qcow2', edit: (b) => set(b, (v) => v.setUint32(0, 0x514649fc)), flags: ['-f', 'qcow2'] },
    { what: 'a qcow2 read with -f raw', edit: (b) => b, flags: ['-f', 'raw'] },
    { what: 'version 7', edit: (b) => set(b, (v) => v.setUint32(4, 7)) },
    { what: 'cluster_bits 5', edit: (b) => set(b, (v) => v.setUint32(20, 5)) },
    { what: 'cluster_bits 30', edit: (b) => set(b, (v) => v.setUint32(20, 30)) },
    { what: 'header_length 96', edit: (b) => set(b, (v) => v.setUint32(100, 96)) },
    { what: 'header_length past the cluster', edit: (b) => set(b, (v) => v.setUint32(100, 0x12345)) },
    { what: 'backing_file_offset past the cluster', edit: (b) => set(b, (v) => v.setBigUint64(8, 70_000n)) },
    { what: 'an unknown incompatible feature', edit: (b) => set(b, (v) => v.setBigUint64(72, 1n << 15n)) },
    { what: 'marked corrupt', edit: (b) => set(b, (v) => v.setBigUint64(72, 2n)) },
    { what: 'marked corrupt, --output=json', edit: (b) => set(b, (v) => v.setBigUint64(72, 2n)), flags: ['--output=json'] },
    { what: 'refcount_order 7', edit: (b) => set(b, (v) => v.setUint32(96, 7)) },
    { what: 'an unaligned refcount table', edit: (b) => set(b, (v) => v.setBigUint64(48, 65_537n)) },
    { what: 'a refcount table past the end', edit: (b) => set(b, (v) => v.setBigUint64(48, 2n ** 28n)) },
    { what: 'an unaligned L1 table', edit: (b) => set(b, (v) => v.setBigUint64(40, 65_544n)) },
    { what: 'an L1 table past the end', edit: (b) => set(b, (v) => v.setBigUint64(40, 2n ** 28n)) },
    { what: 'an L1 table too small', edit: (b) => set(b, (v) => v.setUint32(36, 0)) },
  ];
  function set(bytes: Buffer, edit: (view: DataView) => void): Buffer {
    const copy = Buffer.from(bytes);
    edit(new DataView(copy.buffer, copy.byteOffset, copy.byteLength));
    return copy;
  }

  const made: Record<'v3' | 'v2', Buffer> = { v3: Buffer.alloc(0), v2: Buffer.alloc(0) };
  beforeAll(async () => {
    await tool('qemu-img', ['create', '-q', '-f', 'qcow2', 'v3.qcow2', '1G']);
    await tool('qemu-img', ['create', '-q', '-f', 'qcow2', '-o', 'compat=0.10', 'v2.qcow2', '1G']);
    const { readFile } = await import('node:fs/promises');
    made.v3 = await readFile(join(dir, 'v3.qcow2'));
    made.v2 = await readFile(join(dir, 'v2.qcow2'));
  });

  it.each(cases)('$what: the same stdout and status; an error in the same words', async ({ what, base, edit, flags = [] }) => {
    const file = join(dir, `${what.replace(/[^a-z0-9]+/gi, '-')}.qcow2`);
    await writeFile(file, edit(made[base ?? 'v3']));
    const theirs = await tool('qemu-img', ['info', ...flags, file]);
    const ours = await vmctxDisk(['info', ...flags, file]);
    expect(ours.stdout.toString()).toBe(theirs.stdout.toString());
    expect(ours.status).toBe(theirs.status);
    if (theirs.status !== 0) {
      // qemu-img: Could not open 'FILE': REASON  /  vmctx: Could not open 'FILE': REASON (the bytes at fault) [CODE]
      const reason = theirs.stderr.trimEnd().replace(/^qemu-img: /, '');
      expect(ours.stderr).toMatch(/^vmctx: .* \[DISK_[A-Z_]+\]\n$/);
      expect(ours.stderr.startsWith(`vmctx: ${reason} (`)).toBe(true);
    }
  });
});

describe('vmctx disk info against qemu-img info on images qemu-img made that cannot back an overlay', () => {
  it.each([
    ['AES-encrypted', ['--object', 'secret,id=s0,data=pw', '-o', 'encrypt.format=aes,encrypt.key-secret=s0']],
    ['with an external data file', ['-o', 'data_file=ext.data']],
    ['with an external raw data file', ['-o', 'data_file=extraw.data,data_file_raw=on']],
  ])('%s: the same stdout, human and JSON', async (what, options) => {
    const file = join(dir, `${what.replace(/[^a-z0-9]+/gi, '-')}.qcow2`);
    const made = await tool('qemu-img', ['create', '-q', '-f', 'qcow2', ...options, file, '1M']);
    expect(made.stderr).toBe('');
    for (const flags of [[], ['--output=json']]) {
      const theirs = await tool('qemu-img', ['info', ...flags, file]);
      const ours = await vmctxDisk(['info', ...flags, file]);
      expect([ours.status, ours.stdout.toString()]).toEqual([theirs.status, theirs.stdout.toString()]);
    }
  });
});
