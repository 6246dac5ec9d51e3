import { mkdtemp, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createProgram } from '../program.js';
import { captureIo, failure } from './capture-io.fixture.js';
import { readTemplateText } from './input.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vmctx-input-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('readTemplateText (issue 12)', () => {
  it.each([
    ['11 MiB', 11 * 2 ** 20],
    ['600 MiB (Node: "Invalid string length", no code)', 600 * 2 ** 20],
    ['3 GiB (Node: ERR_FS_FILE_TOO_LARGE, no path)', 3 * 2 ** 30],
  ])('refuses a %s template by its size, before reading it, with its code and path', async (_, size) => {
    const file = join(dir, 'big.xml');
    await writeFile(file, '');
    await truncate(file, size); // sparse: no disk space taken
    await expect(readTemplateText(file)).rejects.toMatchObject({ code: 'TEMPLATE_TOO_LARGE', kind: 'input', where: file, message: expect.stringContaining(`${file} is `) });
  });

  it('reads one within the limit', async () => {
    await writeFile(join(dir, 'ok.xml'), '<domain/>');
    expect(await readTemplateText(join(dir, 'ok.xml'))).toBe('<domain/>');
  });

  it("refuses a deployment's too-large native template the same way, before any controller is reached", async () => {
    await writeFile(join(dir, 'base.raw'), '');
    await truncate(join(dir, 'base.raw'), 2 ** 20);
    await writeFile(join(dir, 'big.xml'), '');
    await truncate(join(dir, 'big.xml'), 600 * 2 ** 20);
    await writeFile(join(dir, 'key'), '');
    await writeFile(
      join(dir, 'deployment.yaml'),
      `name: t12
controllers:
  - { name: lc1, host: 127.0.0.1, port: 1, user: root, imageDir: /var/lib/vmctx/images, identityFile: ${join(dir, 'key')}, knownHosts: ${join(dir, 'known_hosts')} }
images:
  - { name: base, path: ${join(dir, 'base.raw')} }
defaults: { image: base, template: ./big.xml, bridge: virbr0 }
vms:
  - { name: web-1, controller: lc1 }
`,
    );
    const io = captureIo();
    const plan = createProgram(io).parseAsync(['plan', '-f', join(dir, 'deployment.yaml'), '--cache', join(dir, 'cache')], { from: 'user' });
    // plan's 2 is "changes": an error is 1 (issue 24).
    expect(await failure(io, plan)).toMatchObject({ exitCode: 1, code: 'TEMPLATE_TOO_LARGE', message: expect.stringContaining(join(dir, 'big.xml')) });
  });
});
