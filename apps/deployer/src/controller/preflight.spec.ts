import { chmodSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { VmArtifacts } from '../artifacts/build.js';
import { foreignDomainXml, vmArtifacts, type VmSketch, DEMO } from '../artifacts/vm-artifacts.fixture.js';
import { ControllerConnection } from './connection.js';
import { closeFakeSession, FakeController, openFakeSession, putDomain, putLink } from './fake-controller.fixture.js';
import { listDomains } from './libvirt.js';
import { hasErrorFindings, preflight, type ControllerState, type Finding } from './preflight.js';
import { uploadToolsFinding } from './upload-tools.js';

let fake: FakeController;
let connection: ControllerConnection;
let local: string;

beforeAll(async () => {
  ({ fake, connection, local } = await openFakeSession('vmctx-preflight-spec-'));
});
afterAll(() => closeFakeSession({ fake, connection, local }));
beforeEach(() => {
  fake.reset();
  putLink(fake, 'br0', 'bridge', true);
});

function vm(name: string, more: Partial<VmSketch> = {}): VmArtifacts {
  return vmArtifacts({ name, local, controller: connection.controller, ...more });
}

const errors = (state: ControllerState) => state.findings.filter((f) => f.severity === 'error');
const byCode = (state: ControllerState, code: Finding['code']) => state.findings.filter((f) => f.code === code);

describe('listDomains', () => {
  it('reads every domain with its state and inactive XML in one batch, and leaves out one that went away meanwhile', async () => {
    putDomain(fake, 'alpha', foreignDomainXml('alpha'), 'running');
    putDomain(fake, 'beta', foreignDomainXml('beta'));
    // Listed by UUID but gone before its XML was read (undefined between the two virsh calls): last in the batch
    // too, whose status is then virsh's failure (the 'zz' name lists it last).
    putDomain(fake, 'zz-gone', foreignDomainXml('zz-gone'));
    rmSync(join(fake.state, 'domains', 'zz-gone.xml'));
    const domains = await listDomains(connection);
    expect(domains.map((d) => [d.name, d.state, d.xml.includes(`<name>${d.name}</name>`)]).sort()).toEqual([
      ['alpha', 'running', true],
      ['beta', 'shut off', true],
    ]);
    // One virsh for the UUIDs, one for the batch (whose commands the fake logs again one by one).
    const calls = readFileSync(join(fake.state, 'virsh.log'), 'utf8').split('\n').filter((l) => l.startsWith('virsh list') || l.includes(';'));
    expect(calls.length).toBe(2);
  });
});

describe('preflight', () => {
  it('finds nothing wrong on a ready controller, and says what it saw', async () => {
    const vms = [vm('web-1', { iso: 'context one' }), vm('web-2', { iso: 'context two' })];
    const state = await preflight(connection, DEMO, vms);
    expect(errors(state)).toEqual([]);
    expect(hasErrorFindings(state)).toBe(false);
    expect(state.libvirt).toEqual({ library: '9.0.0', hypervisor: 'QEMU 7.2.0', domainTypes: ['kvm', 'qemu'] });
    expect(byCode(state, 'CHECK_BRIDGE')).toEqual([{ controller: 'lc1', object: 'bridge br0', code: 'CHECK_BRIDGE', severity: 'ok', message: 'bridge br0 is up' }]);
    // One shared base, two overlays, two ISOs.
    const files = [vms[0]!.base, vms[0]!.overlay, vms[1]!.overlay, vms[0]!.iso!, vms[1]!.iso!];
    expect(state.uploadBytes).toBe(files.reduce((n, f) => n + f.size, 0));
    expect(state.present).toEqual(new Set());
    expect(byCode(state, 'CHECK_NAME_HELD').map((f) => [f.object, f.severity])).toEqual([
      ['domain web-1', 'ok'],
      ['domain web-2', 'ok'],
    ]);
    // Preflight writes nothing.
    expect(readdirSync(fake.imageDir)).toEqual([]);
    expect(readdirSync(join(fake.state, 'domains'))).toEqual([]);
  });

  it('says which sha256 tool verifies uploads there (openssl where present: issue 22); an error when one is missing', async () => {
    const state = await preflight(connection, DEMO, [vm('web-1')]);
    expect(byCode(state, 'CHECK_UPLOAD_TOOLS')).toEqual([
      { controller: 'lc1', object: 'upload tools', code: 'CHECK_UPLOAD_TOOLS', severity: 'ok', message: 'uploads are written by dd and verified by openssl dgst -sha256' },
    ]);
    // A controller without dd and truncate (their absence played by upload-tools.sh's answer): nothing can be uploaded.
    expect(uploadToolsFinding('lc1', { sha256: 'sha256sum', fetch: 'curl', missing: ['truncate'] }, 2)).toMatchObject({ severity: 'error', message: 'uploads there need what is missing: truncate' });
    expect(uploadToolsFinding('lc1', { sha256: 'none', fetch: 'curl', missing: [] }, 0)).toMatchObject({ severity: 'warning' });
    expect(uploadToolsFinding('lc1', { sha256: 'sha256sum', fetch: 'curl', missing: [] }, 1).message).toContain('verified by sha256sum (openssl is not there');
  });

  it('says which tool fetches an image with fetch: controller there; an error when neither curl nor wget is there (issue 22)', async () => {
    const v = vm('web-1');
    const fetched = { ...v, base: { ...v.base, fetchUrl: 'http://127.0.0.1:8480/base.raw' } };
    const state = await preflight(connection, DEMO, [fetched]);
    expect(byCode(state, 'CHECK_UPLOAD_TOOLS')[0]!.message).toBe('uploads are written by dd and verified by openssl dgst -sha256; images are fetched there by curl');
    expect(byCode(state, 'CHECK_IMAGE_DIR')[0]!.message).toContain('(2 of 2 files, 1 fetched by the controller)');
    expect(uploadToolsFinding('lc1', { sha256: 'openssl', fetch: 'none', missing: [] }, 0, 1)).toMatchObject({ severity: 'error', message: '1 image(s) with fetch: controller, and neither curl nor wget is there' });
    expect(uploadToolsFinding('lc1', { sha256: 'openssl', fetch: 'none', missing: [] }, 1, 0).severity).toBe('ok');
  });

  it('counts only the files that are not on the controller yet', async () => {
    const v = vm('web-1');
    writeFileSync(v.base.remotePath, 'base image');
    const state = await preflight(connection, DEMO, [v]);
    expect(state.present).toEqual(new Set([v.base.remotePath]));
    expect(state.uploadBytes).toBe(v.overlay.size);
  });

  describe('bridges', () => {
    it('names a missing bridge and the VMs that use it', async () => {
      const state = await preflight(connection, DEMO, [vm('web-1', { bridge: 'br9' }), vm('web-2', { bridge: 'br9' }), vm('web-3')]);
      expect(errors(state)).toEqual([
        {
          controller: 'lc1',
          object: 'bridge br9',
          code: 'CHECK_BRIDGE',
          severity: 'error',
          message: 'bridge br9 does not exist (used by web-1, web-2)',
          fix: 'create it (ip link add br9 type bridge; ip link set br9 up) or change bridge: in the deployment',
        },
      ]);
      expect(hasErrorFindings(state)).toBe(true);
      expect(fake.commands).toContain('ip -j -d link show dev br9');
    });

    it('says a bridge is down', async () => {
      putLink(fake, 'br1', 'bridge', false);
      const state = await preflight(connection, DEMO, [vm('web-1', { bridge: 'br1' })]);
      expect(errors(state).map((f) => [f.code, f.message, f.fix])).toEqual([['CHECK_BRIDGE', 'bridge br1 is down (used by web-1)', 'ip link set br1 up']]);
    });

    it('says a link is not a bridge, whether it has another kind or none', async () => {
      putLink(fake, 'veth0', 'veth', true);
      putLink(fake, 'eth0', undefined, true);
      const state = await preflight(connection, DEMO, [vm('web-1', { bridge: 'veth0' }), vm('web-2', { bridge: 'eth0' })]);
      expect(errors(state).map((f) => f.message)).toEqual(['veth0 exists but is not a bridge (used by web-1)', 'eth0 exists but is not a bridge (used by web-2)']);
    });
  });

  describe('the image folder', () => {
    it('says it does not exist', async () => {
      rmSync(fake.imageDir, { recursive: true });
      const state = await preflight(connection, DEMO, [vm('web-1')]);
      expect(errors(state).map((f) => [f.code, f.object, f.message])).toEqual([['CHECK_IMAGE_DIR', fake.imageDir, `image folder ${fake.imageDir} does not exist`]]);
    });

    it('says there is not enough room for what would be uploaded', async () => {
      const state = await preflight(connection, DEMO, [vm('web-1', { baseSize: 2 ** 60 })]);
      const [finding] = errors(state);
      expect(finding?.code).toBe('CHECK_SPACE');
      expect(finding?.message).toMatch(new RegExp(`^${fake.imageDir} has [\\d.]+ [KMG]iB free; 1073741824\\.00 GiB would be uploaded$`));
    });

    it("counts a sparse base image's data, not its size: only data is written there (issue 22)", async () => {
      const v = vm('web-1', { baseSize: 2 ** 60 });
      expect(errors(await preflight(connection, DEMO, [{ ...v, base: { ...v.base, allocated: 2 ** 20 } }]))).toEqual([]);
      const [finding] = errors(await preflight(connection, DEMO, [{ ...v, base: { ...v.base, allocated: 2 ** 59 } }]));
      expect(finding?.code).toBe('CHECK_SPACE');
      expect(finding?.message).toMatch(/; 536870912\.00 GiB would be uploaded$/);
    });

    it('does not count a huge base that is already there', async () => {
      const v = vm('web-1', { baseSize: 2 ** 60 });
      writeFileSync(v.base.remotePath, 'base image');
      const state = await preflight(connection, DEMO, [v]);
      expect(errors(state)).toEqual([]);
    });
  });

  describe('iso: paths on the controller', () => {
    it('says a missing ISO is missing, and a present one is there', async () => {
      const present = join(fake.root, 'shared.iso');
      writeFileSync(present, Buffer.alloc(2 * 1024 * 1024));
      const missing = join(fake.root, 'nope.iso');
      const state = await preflight(connection, DEMO, [vm('web-1', { iso: { remote: missing } }), vm('web-2', { iso: { remote: present } }), vm('web-3', { iso: { remote: missing } })]);
      expect(byCode(state, 'CHECK_ISO').map((f) => [f.object, f.severity, f.message])).toEqual([
        [missing, 'error', `ISO ${missing} does not exist on lc1 (iso: of web-1, web-3)`],
        [present, 'ok', `ISO ${present} is there (2.0 MiB)`],
      ]);
      // An iso: path is the controller's own file: it is not counted as an upload.
      expect(state.uploadBytes).toBe(3 * vm('web-1').overlay.size + vm('web-1').base.size);
    });
  });

  describe('what other domains hold', () => {
    it('refuses a name held by a domain of no deployment, or of another one', async () => {
      putDomain(fake, 'web-1', foreignDomainXml('web-1'), 'running');
      putDomain(fake, 'web-2', foreignDomainXml('web-2', { owner: 'other' }));
      const state = await preflight(connection, DEMO, [vm('web-1'), vm('web-2')]);
      expect(errors(state).map((f) => [f.object, f.code, f.message])).toEqual([
        ['domain web-1', 'CHECK_NAME_HELD', 'a domain named web-1 already exists (running, owned by no vmctx deployment); it is left untouched'],
        ['domain web-2', 'CHECK_NAME_HELD', 'a domain named web-2 already exists (shut off, owned by deployment other); it is left untouched'],
      ]);
      expect(state.domains.map((d) => d.name).sort()).toEqual(['web-1', 'web-2']);
    });

    it("accepts the deployment's own domain under the name", async () => {
      const v = vm('web-1');
      putDomain(fake, 'web-1', v.xml, 'running');
      writeFileSync(v.overlay.remotePath, 'overlay');
      const state = await preflight(connection, DEMO, [v]);
      expect(errors(state)).toEqual([]);
      expect(byCode(state, 'CHECK_NAME_HELD')[0]?.message).toBe('web-1 exists and belongs to this deployment');
    });

    it('refuses a UUID held by a domain of another name', async () => {
      const v = vm('web-1');
      putDomain(fake, 'old', foreignDomainXml('old', { uuid: v.uuid }));
      const state = await preflight(connection, DEMO, [v]);
      expect(errors(state).map((f) => [f.code, f.message])).toEqual([['CHECK_UUID_HELD', `domain old already has UUID ${v.uuid}, which web-1 needs`]]);
    });

    it('refuses a MAC held by another domain, whatever the case libvirt writes it in', async () => {
      const v = vm('web-1');
      putDomain(fake, 'old', foreignDomainXml('old', { mac: v.macs[0]!.toUpperCase() }));
      const state = await preflight(connection, DEMO, [v]);
      expect(errors(state).map((f) => [f.code, f.message])).toEqual([['CHECK_MAC_HELD', `domain old already uses MAC ${v.macs[0]}, which web-1 needs`]]);
    });

    it('refuses to overwrite an overlay path held by a file no domain of ours uses', async () => {
      const v = vm('web-1');
      writeFileSync(v.overlay.remotePath, 'someone else');
      const state = await preflight(connection, DEMO, [v]);
      expect(errors(state).map((f) => [f.code, f.message])).toEqual([['CHECK_FILE_HELD', `${v.overlay.remotePath} exists but no domain of this deployment uses it; vmctx will not overwrite it`]]);
    });

    it('refuses the overlay path when the domain of that name belongs to another deployment', async () => {
      const v = vm('web-1');
      putDomain(fake, 'web-1', foreignDomainXml('web-1', { owner: 'other', file: v.overlay.remotePath }));
      writeFileSync(v.overlay.remotePath, 'theirs');
      const state = await preflight(connection, DEMO, [v]);
      expect(errors(state).map((f) => f.code).sort()).toEqual(['CHECK_FILE_HELD', 'CHECK_NAME_HELD']);
    });
  });

  it('says libvirt does not answer, and skips the checks that need its domains', async () => {
    writeFileSync(join(fake.state, 'libvirt-down'), '');
    const state = await preflight(connection, DEMO, [vm('web-1')]);
    expect(errors(state).map((f) => [f.code, f.message])).toEqual([
      ['CHECK_LIBVIRT', expect.stringMatching(/^libvirt does not answer: lc1: virsh list --all --uuid \(exit 1\) failed: error: failed to connect to the hypervisor/)],
    ]);
    expect(state.libvirt).toBeUndefined();
    expect(state.domains).toEqual([]);
  });
});

describe('preflight as a user who may not write the image folder', () => {
  let nobody: FakeController;
  let conn: ControllerConnection;
  beforeAll(async () => {
    nobody = await FakeController.start({ uid: 65534, gid: 65534 });
    nobody.trustHostKey();
    conn = await ControllerConnection.open(nobody.controller({ user: 'nobody' }), { readyTimeoutMs: 5000 });
  });
  afterAll(async () => {
    conn.close();
    await nobody.close();
  });

  it('says the folder is not writable', async () => {
    putLink(nobody, 'br0', 'bridge', true);
    chmodSync(nobody.imageDir, 0o755);
    mkdirSync(join(nobody.root, 'home'), { recursive: true });
    const state = await preflight(conn, DEMO, [vmArtifacts({ name: 'web-1', local, controller: conn.controller })]);
    expect(errors(state).map((f) => [f.code, f.message, f.fix])).toEqual([
      ['CHECK_IMAGE_DIR', `image folder ${nobody.imageDir} is not writable by nobody`, 'chown or chmod it for nobody, or change imageDir'],
    ]);
  });
});
