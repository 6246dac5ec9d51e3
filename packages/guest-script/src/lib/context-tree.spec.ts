import { describe, expect, it } from 'vitest';
import { parseContext } from './context.js';
import { buildContextTree, instanceIdOf } from './context-tree.js';
import { parseKeyValue } from './key-value.js';
import { postInstallScript } from './post-install.js';

const full = parseContext({
  hostname: 'web-1',
  network: { method: 'static', address: '198.51.100.10/24' },
  ssh: { authorizedKeys: ['ssh-ed25519 AAAA one', 'ssh-rsa BBBB two'] },
  files: [
    { path: '/etc/motd', content: 'hello' },
    { path: '/root/key', contentBase64: 'AAEC/w==', mode: '0600', owner: 'root', group: '0' },
  ],
  scripts: [{ name: 'first', content: 'echo 1' }, { name: 'second.sh', contentBase64: Buffer.from('echo 2').toString('base64') }],
});

describe('context tree', () => {
  it("has Snooze's layout plus our folders, with modes that keep secrets to root", () => {
    const tree = buildContextTree(full);
    const listing = Object.fromEntries(Object.entries(tree).map(([path, { mode }]) => [path, mode.toString(8)]));
    expect(listing).toEqual({
      'post-install': '755',
      'instance-id': '444',
      'common/network': '444',
      'common/routes': '444',
      'ssh/authorized_keys': '444',
      'files/001': '400',
      'files/001.meta': '400',
      'files/002': '400',
      'files/002.meta': '400',
      'scripts/01-first': '500',
      'scripts/02-second.sh': '500',
    });
    expect(tree['post-install']!.data).toBe(postInstallScript());
    expect(tree['ssh/authorized_keys']!.data).toBe('ssh-ed25519 AAAA one\nssh-rsa BBBB two\n');
    expect(Buffer.from(tree['files/002']!.data).equals(Buffer.from([0, 1, 2, 255]))).toBe(true);
    expect(parseKeyValue(String(tree['files/002.meta']!.data))).toEqual({ FILE_PATH: '/root/key', FILE_MODE: '0600', FILE_OWNER: 'root', FILE_GROUP: '0' });
    expect(Buffer.from(tree['scripts/02-second.sh']!.data).toString()).toBe('echo 2');
  });

  it('derives a stable instance id from the content, and a new one when it changes', () => {
    const id = instanceIdOf(full);
    expect(id).toMatch(/^ctx-[0-9a-f]{16}$/);
    expect(instanceIdOf(parseContext({ ...full }))).toBe(id);
    expect(instanceIdOf(parseContext({ ...full, hostname: 'web-2' }))).not.toBe(id);
    expect(instanceIdOf(parseContext({ ...full, instanceId: 'mine' }))).toBe('mine');
    const tree = buildContextTree(full);
    expect(tree['instance-id']!.data).toBe(`${id}\n`);
    expect(parseKeyValue(String(tree['common/network']!.data)).INSTANCE_ID).toBe(id);
  });

  it('carries only the common files for an empty context', () => {
    expect(Object.keys(buildContextTree(parseContext({}))).sort()).toEqual(['common/network', 'common/routes', 'instance-id', 'post-install']);
  });
});
