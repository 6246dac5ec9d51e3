import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readTemplateFile } from './template-file.js';
import { MAX_TEMPLATE_BYTES } from './xml-tree.js';

const dir = mkdtempSync(join(tmpdir(), 'template-file-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('readTemplateFile', () => {
  it('reads a template as UTF-8 text', async () => {
    writeFileSync(join(dir, 'd.xml'), '<domain type="kvm"><name>é</name></domain>');
    expect(await readTemplateFile(join(dir, 'd.xml'))).toBe('<domain type="kvm"><name>é</name></domain>');
  });

  it('refuses a file over the limit by its size, before reading it, with its path (TEMPLATE_TOO_LARGE)', async () => {
    const big = join(dir, 'big.xml');
    writeFileSync(big, '');
    truncateSync(big, 3 * 2 ** 30); // sparse: reading it whole failed with Node's "Invalid string length"
    await expect(readTemplateFile(big)).rejects.toMatchObject({ code: 'TEMPLATE_TOO_LARGE', where: big, message: `${big} is 3072.0 MiB; virsh define reads at most 10 MiB of domain XML` });
    truncateSync(big, MAX_TEMPLATE_BYTES);
    expect(await readTemplateFile(big)).toHaveLength(MAX_TEMPLATE_BYTES);
    await expect(readTemplateFile(big, 1024)).rejects.toMatchObject({ code: 'TEMPLATE_TOO_LARGE' });
  });

  it('reads a FIFO up to the limit and no further', async () => {
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    const writer = import('node:fs/promises').then(async ({ writeFile }) => writeFile(fifo, 'x'.repeat(4096)).catch(() => undefined));
    await expect(readTemplateFile(fifo, 1000)).rejects.toMatchObject({ code: 'TEMPLATE_TOO_LARGE', message: `${fifo} is over 0.00095367431640625 MiB; virsh define reads at most 0.00095367431640625 MiB of domain XML` });
    await writer;
  });

  it('lets Node say a file is missing, for the caller to say what that means', async () => {
    await expect(readTemplateFile(join(dir, 'nope.xml'))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
