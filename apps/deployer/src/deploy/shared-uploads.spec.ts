/**
 * Read once for many (issue 22): the rules of SharedUploads with uploaders that only record what they are asked
 * (which controllers share a reading, when it starts), then a deploy to three in-process controllers (real sh,
 * fake virsh) that share a base image: one reading, three identical copies.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RemoteArtifact } from '../artifacts/build.js';
import { DEMO, vmArtifacts } from '../artifacts/vm-artifacts.fixture.js';
import type { ControllerConfig, Deployment } from '../config/types.js';
import type { ControllerConnection } from '../controller/connection.js';
import { FakeController, putLink } from '../controller/fake-controller.fixture.js';
import { DeployerError } from '../errors.js';
import { runDeploy } from './deploy.js';
import type { DeployEvent } from './events.js';
import { SharedUploads, type Uploaders } from './shared-uploads.js';

const file = (name: string, kind: RemoteArtifact['kind'] = 'base'): RemoteArtifact => ({ kind, localPath: `/local/${name}`, sha256: name.padEnd(64, '0'), size: 1, remotePath: `/images/${name}`, mode: '0644' });
const connection = (lc: string) => ({ controller: { name: lc } }) as unknown as ControllerConnection;
const tick = () => new Promise((resolve) => setImmediate(resolve));

/** Uploaders that record each reading (its file and controllers) and answer with the controller's name. */
function recording() {
  const reads: string[] = [];
  const uploaders: Uploaders = {
    one: async (c, localPath) => {
      reads.push(`${localPath} for ${c.controller.name}`);
      return `id-${c.controller.name}`;
    },
    many: async (targets, localPath) => {
      reads.push(`${localPath} for ${targets.map((t) => t.connection.controller.name).join(', ')}`);
      return targets.map((t) => `id-${t.connection.controller.name}`);
    },
  };
  return { reads, shared: new SharedUploads(() => undefined, uploaders) };
}

describe('SharedUploads', () => {
  it('reads a file once it is asked for by every controller under way that needs it, for all of them at once', async () => {
    const { reads, shared } = recording();
    for (const lc of ['lc1', 'lc2', 'lc3']) shared.enter(lc);
    shared.planned('lc1', [file('base')]);
    const one = shared.upload('lc1', connection('lc1'), file('base'), undefined);
    await tick();
    // lc2 has not said what it needs yet: nothing is read.
    expect(reads).toEqual([]);
    shared.planned('lc2', [file('base')]);
    shared.planned('lc3', [file('other')]);
    await tick();
    expect(reads).toEqual([]);
    const two = shared.upload('lc2', connection('lc2'), file('base'), undefined);
    expect(await Promise.all([one, two])).toEqual(['id-lc1', 'id-lc2']);
    expect(reads).toEqual(['/local/base for lc1, lc2']);
    // lc3's own file: no one else needs it.
    expect(await shared.upload('lc3', connection('lc3'), file('other'), undefined)).toBe('id-lc3');
    expect(reads).toEqual(['/local/base for lc1, lc2', '/local/other for lc3']);
  });

  it('does not wait for a controller that stopped before asking, nor for one that had not started', async () => {
    const { reads, shared } = recording();
    shared.enter('lc1');
    shared.enter('lc2');
    shared.planned('lc1', [file('base')]);
    shared.planned('lc2', [file('base')]);
    const one = shared.upload('lc1', connection('lc1'), file('base'), undefined);
    // lc2 failed (its connection dropped) before its upload phase.
    shared.leave('lc2');
    expect(await one).toBe('id-lc1');
    // lc3 starts after that reading: it reads for itself.
    shared.enter('lc3');
    shared.planned('lc3', [file('base')]);
    expect(await shared.upload('lc3', connection('lc3'), file('base'), undefined)).toBe('id-lc3');
    expect(reads).toEqual(['/local/base for lc1', '/local/base for lc3']);
  });

  it("gives each controller its own result: one's failure is not the other's", async () => {
    const shared = new SharedUploads(() => undefined, {
      one: async () => 'unused',
      many: async (targets) => targets.map((t) => (t.connection.controller.name === 'lc2' ? new DeployerError('REMOTE_UPLOAD_FAILED', 'lc2: no space left') : 'id-lc1')),
    });
    shared.enter('lc1');
    shared.enter('lc2');
    const [one, two] = await Promise.allSettled([shared.upload('lc1', connection('lc1'), file('base'), undefined), shared.upload('lc2', connection('lc2'), file('base'), undefined)]);
    expect(one).toEqual({ status: 'fulfilled', value: 'id-lc1' });
    expect(two).toMatchObject({ status: 'rejected', reason: { message: 'lc2: no space left' } });
  });
});

describe('a deploy to three controllers that share a base image', () => {
  let fakes: FakeController[] = [];
  let local: string;
  beforeAll(async () => {
    local = mkdtempSync(join(tmpdir(), 'vmctx-shared-uploads-'));
    fakes = await Promise.all([1, 2, 3].map(() => FakeController.start()));
    for (const fake of fakes) {
      fake.trustHostKey();
      putLink(fake, 'br0', 'bridge', true);
    }
  });
  afterAll(async () => {
    await Promise.all(fakes.map((f) => f.close()));
    rmSync(local, { recursive: true, force: true });
  });

  it('reads it once for all three, and each controller gets it whole', async () => {
    const controllers: ControllerConfig[] = fakes.map((f, i) => f.controller({ name: `lc${i + 1}`, where: `controllers[${i}]` }));
    const deployment: Deployment = { name: DEMO.name, id: DEMO.id!, file: join(local, 'deployment.yaml'), controllers, images: [], vms: [], hostPaths: [], trustTemplates: false };
    const base = 'a base image that three controllers need\n'.repeat(1000);
    const artifacts = controllers.map((controller) => vmArtifacts({ name: `${controller.name}-web`, local, controller, base }));
    const events: DeployEvent[] = [];
    const report = await runDeploy(deployment, artifacts, { events: (e) => events.push(e), wait: false, waitTimeoutMs: 1000 });
    expect(report.controllers.flatMap((c) => c.vms.map((v) => v.status))).toEqual(['created', 'created', 'created']);
    const notes = events.filter((e) => e.type === 'note' && / read once for /.test(e.message)).map((e) => (e as { message: string }).message);
    expect(notes).toEqual([`${artifacts[0]!.base.localPath}: read once for lc1, lc2, lc3`]);
    const sha = createHash('sha256').update(base).digest('hex');
    for (const [i, fake] of fakes.entries()) {
      const copy = readFileSync(join(fake.imageDir, artifacts[i]!.base.remotePath.split('/').pop()!));
      expect(createHash('sha256').update(copy).digest('hex'), `lc${i + 1}`).toBe(sha);
    }
  });
});
