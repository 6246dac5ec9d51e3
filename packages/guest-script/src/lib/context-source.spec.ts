import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseContextYaml } from './context.js';
import { buildContextTree } from './context-tree.js';
import { readContextSource } from './context-source.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'guest-context-source-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('readContextSource', () => {
  it('builds the tree of a context file', async () => {
    const yaml = 'hostname: web-1\nnetwork: { method: dhcp }\n';
    await writeFile(join(dir, 'context.yaml'), yaml);
    expect(await readContextSource(join(dir, 'context.yaml'))).toEqual({ files: buildContextTree(parseContextYaml(yaml)), problems: [], label: 'CONTEXT' });
  });

  it('reads a folder as it is, with what the guest would find wrong', async () => {
    await mkdir(join(dir, 'context/common'), { recursive: true });
    await writeFile(join(dir, 'context/common/network'), 'GATEWAY=192.0.2.1\n');
    await writeFile(join(dir, 'context/post-install'), '#!/bin/sh\n');
    await chmod(join(dir, 'context/post-install'), 0o644);
    const { files, problems } = await readContextSource(join(dir, 'context'));
    expect(Object.keys(files)).toEqual(['common/network', 'post-install']);
    expect(problems).toEqual(['post-install is not executable (the guest runs it with its interpreter anyway)']);
  });

  it('says where a context is missing or invalid', async () => {
    await expect(readContextSource(join(dir, 'missing.yaml'))).rejects.toMatchObject({ code: 'GUEST_INVALID_CONTEXT', message: expect.stringContaining('no such file or folder') });
    await writeFile(join(dir, 'bad.yaml'), 'hostname: "web$(reboot)"\n');
    await expect(readContextSource(join(dir, 'bad.yaml'))).rejects.toMatchObject({ code: 'GUEST_INVALID_CONTEXT', message: expect.stringContaining('bad.yaml') });
  });
});
