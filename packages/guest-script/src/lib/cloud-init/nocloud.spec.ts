import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseContext, type ContextInput } from '../context.js';
import { buildContextTree } from '../context-tree.js';
import { buildCdTree } from './cd-layouts.js';
import { noCloudFiles } from './nocloud.js';

const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBf0o0 alice@example.org';

/** Representative contexts: each golden file under golden/NAME.{meta-data,user-data,network-config}. */
const CONTEXTS: Record<string, ContextInput> = {
  static: {
    instanceId: 'web-1',
    hostname: 'web-1.example.org',
    network: {
      method: 'static',
      address: '198.51.100.10/24',
      gateway: '198.51.100.1',
      mtu: 1400,
      nameservers: ['198.51.100.2', '198.51.100.3'],
      domain: 'example.org',
      routes: [{ to: '203.0.113.0/24', via: '198.51.100.254', metric: 50 }, { to: '192.0.2.0/25' }],
    },
    ssh: { user: 'root', authorizedKeys: [KEY] },
  },
  dhcp: {
    hostname: 'db-1',
    network: { method: 'dhcp', mac: '52:54:00:AB:CD:EF', nameservers: ['192.0.2.53'], search: ['lab.example.org'] },
    ssh: { user: 'debian', authorizedKeys: [KEY] },
  },
  'ip-from-mac': {
    instanceId: 'group-1',
    network: { method: 'ip-from-mac', prefix: 24, interface: 'eth0', gateway: '198.51.100.1', members: ['02:00:c6:33:64:0a', '02:00:c6:33:64:0b'] },
    scripts: [{ name: 'hello', content: '#!/bin/sh\necho "$VMCTX_IP"\n' }],
  },
  'files-scripts': {
    instanceId: 'app-1',
    network: { method: 'static', address: '198.51.100.20/24', interface: 'ens3' },
    files: [
      { path: '/etc/motd', content: 'hello\n' },
      { path: '/etc/app/blob', contentBase64: 'AAECA/8=', mode: '0600' },
      { path: '/home/app/.config/app.conf', content: 'key = value\n', mode: '640', owner: 'app', group: 'app' },
    ],
    scripts: [
      { name: 'first', content: '#!/bin/sh\necho first\n' },
      { name: 'second', contentBase64: Buffer.from('#!/bin/sh\necho second\n').toString('base64') },
    ],
  },
};

const hasCloudInit = spawnSync('cloud-init', ['--version'], { encoding: 'utf8' }).status === 0;
if (!hasCloudInit) console.log("nocloud.spec: cloud-init is not installed (apt-get install cloud-init, tools/setup/setup.sh): its schema and net-convert checks are skipped");

describe('the NoCloud seed of a context (golden files)', () => {
  for (const [name, input] of Object.entries(CONTEXTS)) {
    it(`${name}: meta-data, user-data and network-config`, async () => {
      const files = noCloudFiles(parseContext(input));
      for (const file of ['meta-data', 'user-data', 'network-config']) {
        await expect(String(files[file]?.data)).toMatchFileSnapshot(`golden/${name}.${file}`);
      }
      expect(files['user-data']?.mode).toBe(0o400);
      expect(String(files['user-data']?.data).startsWith('#cloud-config\n')).toBe(true);
    });
  }

  it('has no network-config without a network: cloud-init falls back to DHCP on the first NIC, as vmctx does', () => {
    expect(Object.keys(noCloudFiles(parseContext({ hostname: 'h' }))).sort()).toEqual(['meta-data', 'user-data']);
  });

  it('carries one instance id in both layouts, the hash of the context by default, new when the context changes', () => {
    const tree = buildCdTree(parseContext({ hostname: 'web-1' }), 'both');
    const id = String(tree['instance-id']?.data).trim();
    expect(id).toMatch(/^ctx-[0-9a-f]{16}$/);
    expect(parse(String(tree['meta-data']?.data))['instance-id']).toBe(id);
    expect(buildContextTree(parseContext({ hostname: 'web-1' }))['instance-id']?.data).toBe(`${id}\n`);
    expect(parse(String(buildCdTree(parseContext({ hostname: 'web-2' }), 'both')['meta-data']?.data))['instance-id']).not.toBe(id);
  });

  it('refuses an IP-from-MAC group without its members, and a member outside the MAC prefix', () => {
    expect(() => noCloudFiles(parseContext({ network: { method: 'ip-from-mac', prefix: 24 } }))).toThrow(/network\.members: .*cannot read an address from a MAC/);
    expect(() => noCloudFiles(parseContext({ network: { method: 'ip-from-mac', prefix: 24, members: ['52:54:00:00:00:01'] } }))).toThrow(
      /network\.members\[0\]: 52:54:00:00:00:01 does not start with the group's MAC prefix 02:00/,
    );
  });
});

describe('an edited context on the same guest (a new instance id)', () => {
  /**
   * What cloud-init does at each instance, played through real sh in a folder that stands for the guest's root:
   * Write Files (only adds files), then Runcmd's argument arrays (paths moved under the root). The lab's cloud-init
   * guest ran the first context's scripts again at the edited one's boot when both shared one folder.
   */
  it("runs only its own scripts, and leaves nothing of the earlier instance's", () => {
    const root = mkdtempSync(join(tmpdir(), 'vmctx-nocloud-instances-'));
    try {
      const boot = (input: ContextInput): string => {
        const user = parse(String(noCloudFiles(parseContext(input))['user-data']!.data)) as {
          write_files: Array<{ path: string; content: string; encoding?: string; permissions: string }>;
          runcmd: string[][];
        };
        for (const file of user.write_files) {
          const path = join(root, file.path);
          spawnSync('mkdir', ['-p', join(path, '..')]);
          writeFileSync(path, file.encoding === 'b64' ? Buffer.from(file.content, 'base64') : file.content, { mode: Number.parseInt(file.permissions, 8) });
        }
        let out = '';
        for (const argv of user.runcmd) {
          const moved = argv.map((a) => a.replace(/^(VMCTX_CONTEXT_DIR=)?\/var\/lib\/vmctx/, (_, env: string | undefined) => `${env ?? ''}${root}/var/lib/vmctx`));
          const run = spawnSync(moved[0]!, moved.slice(1), { encoding: 'utf8', env: { ...process.env, VMCTX_ROOT: root } });
          out += run.stdout + run.stderr;
        }
        return out;
      };
      const script = (name: string) => ({ name, content: `#!/bin/sh\necho RAN-${name}\n` });
      expect(boot({ instanceId: 'first', scripts: [script('old-a'), script('old-b')] })).toMatch(/RAN-old-a[\s\S]*RAN-old-b/);
      const second = boot({ instanceId: 'edited', scripts: [script('new')] });
      expect(second).toMatch(/RAN-new/);
      expect(second).not.toMatch(/RAN-old/);
      expect(readdirSync(join(root, 'var/lib/vmctx/context'))).toEqual(['edited']);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe("the operator's cloud-config", () => {
  const context = parseContext(CONTEXTS.static!);
  const operator = (userData: string, networkConfig?: string) => ({
    userData: { text: userData, source: 'ud.yaml' },
    ...(networkConfig !== undefined ? { networkConfig: { text: networkConfig, source: 'nc.yaml' } } : {}),
  });

  it('adds the keys the fields do not give and joins users, write_files and runcmd', () => {
    const files = noCloudFiles(context, operator('#cloud-config\npackages: [htop]\nusers: [default, {name: ops}]\nruncmd: [[touch, /ops]]\n'));
    const user = parse(String(files['user-data']?.data));
    expect(user.packages).toEqual(['htop']);
    expect(user.users).toEqual(['default', { name: 'root', ssh_authorized_keys: [KEY] }, { name: 'ops' }]);
    expect(user.runcmd).toEqual([['touch', '/ops']]);
  });

  it('refuses a key both give with different values, naming it, and a user-data that is not a cloud-config', () => {
    expect(() => noCloudFiles(context, operator('#cloud-config\nhostname: other\n'))).toThrow(/ud\.yaml: hostname is given by the context's fields and by the file with another value/);
    expect(() => noCloudFiles(context, operator('#cloud-config\nusers: [{name: root}]\n'))).toThrow(/users: root is given by the context's fields and by the file/);
    expect(() => noCloudFiles(context, operator('#!/bin/sh\necho hi\n'))).toThrow(/must be a cloud-config: its first line is #cloud-config/);
    expect(() => noCloudFiles(context, operator('#cloud-config\n', 'version: 2\nethernets:\n  eth0: {dhcp4: true}\n'))).toThrow(/nc\.yaml: ethernets\.eth0 is given/);
  });

  it("takes the operator's network-config as it is when the context has no network, and joins other ethernets", () => {
    const plain = noCloudFiles(parseContext({ hostname: 'h' }), { networkConfig: { text: 'network:\n  version: 1\n  config: []\n', source: 'nc' } });
    expect(parse(String(plain['network-config']?.data))).toEqual({ version: 1, config: [] });
    const joined = noCloudFiles(context, operator('#cloud-config\n', 'version: 2\nethernets:\n  storage: {match: {macaddress: "52:54:00:00:00:02"}, dhcp4: true}\n'));
    expect(Object.keys(parse(String(joined['network-config']?.data)).ethernets)).toEqual(['eth0', 'storage']);
  });
});

describe.skipIf(!hasCloudInit)("cloud-init's own judges (cloud-init schema, cloud-init devel net-convert)", () => {
  for (const [name, input] of Object.entries(CONTEXTS)) {
    it(`${name}: user-data is a valid cloud-config; netplan gets the network-config's addresses`, () => {
      const dir = mkdtempSync(join(tmpdir(), 'nocloud-'));
      try {
        const files = noCloudFiles(parseContext(input));
        for (const [file, entry] of Object.entries(files)) writeFileSync(join(dir, file), entry.data);
        const schema = spawnSync('cloud-init', ['schema', '--config-file', join(dir, 'user-data')], { encoding: 'utf8' });
        expect(schema.stdout + schema.stderr).toMatch(/Valid cloud-config/);
        expect(schema.status).toBe(0);
        const args = ['devel', 'net-convert', '-p', join(dir, 'network-config'), '-k', 'yaml', '-d', join(dir, 'out'), '-D', 'debian', '-O', 'netplan'];
        const convert = spawnSync('cloud-init', args, { encoding: 'utf8' });
        expect(convert.status, convert.stderr).toBe(0);
        const netplan = parse(readFileSync(join(dir, 'out/etc/netplan', readdirSync(join(dir, 'out/etc/netplan'))[0]!), 'utf8'));
        expect(netplan.network).toEqual(parse(String(files['network-config']?.data)));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});
