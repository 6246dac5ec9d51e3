import { chmod, mkdir, mkdtemp, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { contextTreeProblems, listContextFolder, readContextFolder, readListedFile } from './snooze-import.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gs-snooze-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The layout of snoozesoftware/snooze-deploy-grid5000's context/ folder. */
async function snoozeFolder(): Promise<string> {
  const root = join(dir, 'context');
  await mkdir(join(root, 'common'), { recursive: true });
  await mkdir(join(root, 'lib'));
  await mkdir(join(root, 'distributions/debian'), { recursive: true });
  await writeFile(join(root, 'post-install'), '#!/bin/bash\necho start > /dev/ttyS0\n', { mode: 0o755 });
  await writeFile(join(root, 'common/network'), 'GATEWAY=192.168.122.1\nNETMASK=255.255.255.0\n');
  await writeFile(join(root, 'common/routes'), 'up route del default\n');
  await writeFile(join(root, 'lib/functions'), 'detect() { :; }\n');
  await writeFile(join(root, 'distributions/debian/00_network'), '#!/bin/bash\n', { mode: 0o750 });
  return root;
}

describe('readContextFolder', () => {
  it('takes a Snooze context/ folder unchanged, with each mode', async () => {
    const files = await readContextFolder(await snoozeFolder());
    expect(Object.keys(files)).toEqual(['common/network', 'common/routes', 'distributions/debian/00_network', 'lib/functions', 'post-install']);
    expect(String(files['post-install']!.data)).toBe('#!/bin/bash\necho start > /dev/ttyS0\n');
    expect(files['post-install']!.mode).toBe(0o755);
    expect(files['distributions/debian/00_network']!.mode).toBe(0o750);
    expect(contextTreeProblems(files)).toEqual([]);
  });

  it('says what the guest will do with a folder that has no usable post-install', async () => {
    const root = await snoozeFolder();
    await chmod(join(root, 'post-install'), 0o644);
    expect(contextTreeProblems(await readContextFolder(root))).toEqual([expect.stringMatching(/not executable/)]);
    await rm(join(root, 'post-install'));
    expect(contextTreeProblems(await readContextFolder(root))).toEqual([expect.stringMatching(/fall back to DHCP/)]);
  });

  it('refuses what it cannot carry, and what is not a folder', async () => {
    const root = await snoozeFolder();
    await symlink('/etc/passwd', join(root, 'lib/passwd'));
    await expect(readContextFolder(root)).rejects.toMatchObject({ code: 'GUEST_INVALID_TREE', path: 'lib/passwd' });
    await expect(readContextFolder(join(root, 'post-install'))).rejects.toMatchObject({ code: 'GUEST_NOT_A_CONTEXT_FOLDER' });
    await expect(readContextFolder(join(dir, 'missing'))).rejects.toMatchObject({ code: 'GUEST_NOT_A_CONTEXT_FOLDER' });
  });
});

describe('listContextFolder and readContextFolder', () => {
  it('refuses a name that is not UTF-8, showing its bytes escaped (issue 12)', async () => {
    await mkdir(join(dir, 'ctx/files'), { recursive: true });
    await writeFile(Buffer.from(`${join(dir, 'ctx/files')}/caf\xe9`, 'latin1'), 'x');
    await expect(listContextFolder(join(dir, 'ctx'))).rejects.toMatchObject({
      code: 'GUEST_INVALID_TREE',
      where: 'files/caf\\xe9',
      message: `${join(dir, 'ctx/files/caf\\xe9')}: the name is not UTF-8; a context CD's names are written from UTF-8: rename it`,
    });
  });

  it('list without reading, and read a file only if it is the one listed (no link swapped in)', async () => {
    const root = await snoozeFolder();
    const listed = await listContextFolder(root);
    expect(listed.map((f) => [f.path, f.mode, f.size])).toContainEqual(['post-install', 0o755, 36]);
    expect(listed.find((f) => f.path === 'common/network')?.file).toBe(join(root, 'common/network'));
    await writeFile(join(dir, 'shadow'), 'GATEWAY=10.0.0.1\nNETMASK=255.0.0.0\n');
    // A link put in place of a listed file is refused, not followed; so is another file renamed over it.
    const network = listed.find((f) => f.path === 'common/network')!;
    expect((await readListedFile(network)).toString()).toBe('GATEWAY=192.168.122.1\nNETMASK=255.255.255.0\n');
    // The listed file is kept (moved away, not removed): a file made later could otherwise get its freed inode
    // number and pass for it (inode reuse made this test fail on a busy machine).
    await rename(network.file, join(dir, 'kept'));
    await symlink(join(dir, 'shadow'), network.file);
    await expect(readListedFile(network)).rejects.toMatchObject({ code: 'GUEST_INVALID_TREE', message: expect.stringMatching(/network became a symbolic link after it was listed/) });
    await writeFile(join(dir, 'other'), 'x');
    await rm(network.file);
    await rename(join(dir, 'other'), network.file);
    await expect(readListedFile(network)).rejects.toMatchObject({ code: 'GUEST_INVALID_TREE', message: expect.stringMatching(/was replaced after it was listed/) });
  });
});
