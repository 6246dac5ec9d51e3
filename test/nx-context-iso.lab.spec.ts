/**
 * @vmctx/nx-context-iso on the lab: the ISO that `nx run context-web:context-iso` builds in a copy of examples/ci
 * is uploaded (the deployer's upload: temporary name, sha256 checked, rename), a lab guest with vmctx's
 * contextualization script (`nxiso-1`, on lc1) boots with it as its cdrom, and its kernel mounts it: the
 * context's post-install runs, applies the context's static address and runs its `report` script, which prints a
 * line to the console. The checksum on the controller is the one Nx wrote beside the ISO.
 */
import { readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createOverlay } from '@vmctx/disk-builder';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootGuest, controller, type Guest, labEnv, sshOk, upload } from './support/lab.js';
import { buildBuilders, copyExample, nx } from './support/nx-workspace.js';
import { makeVmctxBaseImage } from './support/vmctx-base.js';

const env = labEnv();
const lc = controller(env, 'lc1');
const NAME = 'nxiso-1';
const BASE = 'nxiso-base.raw';
let workspace: string;
let guest: Guest | undefined;

beforeAll(async () => {
  buildBuilders();
  workspace = copyExample('nx-context-iso-lab-');
  const base = await makeVmctxBaseImage(env, workspace, BASE);
  await upload(env, lc, base, `${lc.images}/${BASE}`);
}, 300_000);

afterAll(async () => {
  await guest?.destroy();
  await sshOk(env, lc, ['rm', '-f', `${lc.images}/${NAME}.qcow2`, `${lc.images}/${NAME}.iso`, `${lc.images}/${BASE}`]).catch(() => undefined);
  if (workspace) rmSync(dirname(workspace), { recursive: true, force: true });
});

describe('a context ISO built by Nx, in a lab guest', () => {
  it("is mounted by the guest's kernel and its post-install runs", async () => {
    const run = nx(workspace, ['run', 'context-web:context-iso']);
    expect(run.tasks['context-web:context-iso']).toBe('built');
    const iso = join(workspace, 'dist/contexts/web.iso');
    const sha256 = readFileSync(`${iso}.sha256`, 'utf8').split(' ')[0]!;

    const overlay = join(workspace, `${NAME}.qcow2`);
    await createOverlay({ path: overlay, backingFile: `${lc.images}/${BASE}`, backingFormat: 'raw', virtualSize: env.guest.baseVirtualSize });
    await upload(env, lc, overlay, `${lc.images}/${NAME}.qcow2`);
    await upload(env, lc, iso, `${lc.images}/${NAME}.iso`);
    expect((await sshOk(env, lc, ['sha256sum', `${lc.images}/${NAME}.iso`])).split(' ')[0]).toBe(sha256);

    guest = await bootGuest(env, lc, { name: NAME, disk: `${lc.images}/${NAME}.qcow2`, iso: `${lc.images}/${NAME}.iso` });
    const [line] = await guest.waitForSerial(/NXISO-WEB post-install ran: ip=(\S*) host=(\S*)/, 400_000);
    expect(line).toMatch(/ip=198\.51\.100\.10 host=web-1/);
    await guest.waitForSerial(/vmctx: contextualization finished/, 120_000);
  });
});
