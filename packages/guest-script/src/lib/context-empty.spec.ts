import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseContextYaml } from './context.js';
import { contextIsEmpty } from './context-empty.js';
import { buildContextTree } from './context-tree.js';
import { readContextSource } from './context-source.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'guest-context-empty-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBf0o0 alice@example.org';

describe('an empty context (issue 12)', () => {
  it.each(['', '\n', '# nothing yet\n', 'null\n', '~\n', '{}\n', 'instanceId: web-1\n', 'files: []\nscripts: []\n'])('%j gives the guest nothing to do', (yaml) => {
    expect(contextIsEmpty(parseContextYaml(yaml))).toBe(true);
  });

  it.each([
    'hostname: web-1\n',
    'network: { method: dhcp }\n',
    `ssh: { authorizedKeys: ["${KEY}"] }\n`,
    'files: [{ path: /etc/motd, content: "" }]\n',
    'scripts: [{ name: hello, content: "true" }]\n',
  ])('%j does something', (yaml) => {
    expect(contextIsEmpty(parseContextYaml(yaml))).toBe(false);
  });

  it.each(['', 'null\n', '{}\n'])('a context file %j is refused by readContextSource unless allowed', async (yaml) => {
    const path = join(dir, 'empty.yaml');
    await writeFile(path, yaml);
    await expect(readContextSource(path)).rejects.toMatchObject({ code: 'GUEST_EMPTY_CONTEXT', kind: 'input', where: path, message: expect.stringMatching(/empty\.yaml: the context is empty/) });
    expect(await readContextSource(path, { allowEmpty: true })).toEqual({ files: buildContextTree(parseContextYaml(yaml)), problems: [], label: 'CONTEXT' });
  });
});
