/**
 * disk-builder on the lab: overlays written here, in TypeScript, for the lab base image as it is named on the
 * controller (the base is not on this machine at that path), uploaded, and booted by libvirt. The guest writes
 * a mark to its disk (`lab.mark=`), syncs and is stopped, and the mark is in the overlay and not in the base, whose
 * sha256 is unchanged.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createOverlay, inspectImage } from '@vmctx/disk-builder';
import { bootGuest, controller, type Guest, labEnv, type LabController, readGuestFile, ssh, sshOk, upload } from './support/lab.js';

const env = labEnv();
const work = mkdtempSync(join(tmpdir(), 'disk-builder-lab-'));
const guests: Guest[] = [];
const written: Array<[LabController, string]> = [];

afterAll(async () => {
  await Promise.all(guests.map((g) => g.destroy()));
  await Promise.all(written.map(([lc, path]) => ssh(env, lc, ['rm', '-f', path, path.replace(/\.qcow2$/, '.serial.log')])));
  rmSync(work, { recursive: true, force: true });
});

async function baseSha256(lc: LabController): Promise<string> {
  return (await sshOk(env, lc, ['sha256sum', env.guest.baseImageOnController])).split(' ')[0]!;
}

describe('a guest boots from an overlay written by disk-builder', () => {
  it.concurrent.each([
    { lc: 'lc1', name: 'disk-builder-abs', relative: false, clusterBits: 16 },
    { lc: 'lc2', name: 'disk-builder-rel', relative: true, clusterBits: 21 },
  ])('$name on $lc: writes land in the overlay, the base is untouched', async ({ lc: lcName, name, relative, clusterBits }) => {
    const lc = controller(env, lcName);
    const remote = `${lc.images}/${name}.qcow2`;
    const base = env.guest.baseImageOnController;
    // The backing path is the path on the controller; relative, it is resolved against the overlay's folder.
    const backingFile = relative ? base.slice(base.lastIndexOf('/') + 1) : base;
    expect(relative ? `${lc.images}/${backingFile}` : backingFile).toBe(base);

    const local = join(work, `${name}.qcow2`);
    await createOverlay({ path: local, backingFile, backingFormat: env.guest.baseFormat, virtualSize: env.guest.baseVirtualSize, clusterBits });
    expect(await inspectImage(local)).toMatchObject({ format: 'qcow2', virtualSize: env.guest.baseVirtualSize, backing: { file: backingFile, format: 'raw' } });
    written.push([lc, remote]);
    await upload(env, lc, local, remote);

    // The controller's qemu-img agrees that the image and its chain are sound.
    const check = JSON.parse(await sshOk(env, lc, ['qemu-img', 'check', '--output=json', remote])) as Record<string, number>;
    expect(check['check-errors']).toBe(0);
    const chain = JSON.parse(await sshOk(env, lc, ['qemu-img', 'info', '--output=json', '--backing-chain', remote])) as Array<Record<string, unknown>>;
    expect(chain.map((i) => [i.format, i['virtual-size']])).toEqual([['qcow2', env.guest.baseVirtualSize], ['raw', env.guest.baseVirtualSize]]);
    expect(chain[0]?.['full-backing-filename']).toBe(base);

    const before = await baseSha256(lc);
    const mark = `${name}-${randomBytes(6).toString('hex')}`;
    const guest = await bootGuest(env, lc, { name, disk: remote, cmdline: `lab.mark=${mark} lab.poweroff` });
    guests.push(guest);
    await guest.waitForSerial(new RegExp(`LAB-MARK-WRITTEN ${mark}`), 240_000);
    // rcS syncs before printing LAB-POWEROFF; the reference domain has no ACPI, so `poweroff` does not end
    // the domain: stop it from outside once the guest's writes are on disk.
    await guest.waitForSerial(/LAB-POWEROFF/);
    await guest.destroy(); // virsh destroy returns once qemu has exited; the overlay is closed

    expect((await readGuestFile(env, lc, remote, '/var/lib/lab-mark')).trim()).toBe(mark);
    expect(await readGuestFile(env, lc, base, '/var/lib/lab-mark', 'raw')).not.toContain(mark);
    expect(await baseSha256(lc)).toBe(before);
    const after = JSON.parse(await sshOk(env, lc, ['qemu-img', 'check', '--output=json', remote])) as Record<string, number>;
    expect(after['check-errors']).toBe(0);
    expect(after['allocated-clusters']).toBeGreaterThan(0); // the guest's writes were allocated in the overlay
  });
});
