/**
 * iso-builder on the lab: the Linux kernel of a lab guest mounts images written here (the seed's context tree
 * as an ide cdrom; awkward names, links and exec bits, a few hundred files, directories deeper than ECMA-119's
 * 8 levels written in place, and a cloud-init seed built from a file map, as read-only virtio disks) and
 * prints every entry with its mode, owner, size and sha256 (`lab.inspect`); the listing must equal the source.
 */
import { createHash } from 'node:crypto';
import { lstatSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createOverlay } from '@vmctx/disk-builder';
import { writeIsoFromDirectory, writeIsoFromFiles } from '@vmctx/iso-builder';
import { makeContextTree, makeManyFilesTree, makeNamesTree, walkTree, write } from './iso-builder/trees.js';
import { bootGuest, controller, type Guest, labEnv, ssh, upload } from './support/lab.js';

const env = labEnv();
const lc = controller(env, 'lc1');
const work = mkdtempSync(join(tmpdir(), 'iso-builder-lab-'));
const NAME = 'iso-builder-kernel';
const remote = (file: string) => `${lc.images}/${NAME}-${file}`;
let guest: Guest | undefined;

afterAll(async () => {
  await guest?.destroy();
  await ssh(env, lc, ['sh', '-c', `rm -f ${lc.images}/${NAME}-*`]);
  rmSync(work, { recursive: true, force: true });
});

/** What lab-inspect prints for a source tree: "type mode uid gid size sha256 path[ -> target]". */
function expectedListing(source: string): string[] {
  const lines: string[] = [];
  const root = lstatSync(source);
  lines.push(`d ${(root.mode & 0o7777).toString(8)} ${root.uid} ${root.gid} 0 - .`);
  for (const [path, found] of walkTree(source)) {
    const st = lstatSync(join(source, path));
    const mode = found.mode.toString(8);
    if (found.type === 'd') lines.push(`d ${mode} ${st.uid} ${st.gid} 0 - ./${path}`);
    else if (found.type === 'l') lines.push(`l 777 ${st.uid} ${st.gid} * - ./${path} -> ${found.target}`);
    else lines.push(`f ${mode} ${st.uid} ${st.gid} ${st.size} ${createHash('sha256').update(found.data as Buffer).digest('hex')} ./${path}`);
  }
  return lines.sort();
}

function listingOf(serial: string, device: string): string[] {
  const text = serial.replace(/\r/g, '');
  const begin = text.indexOf(`LAB-INSPECT-BEGIN ${device}\n`);
  const end = text.indexOf(`LAB-INSPECT-END ${device}`, begin);
  if (begin < 0 || end < 0) throw new Error(`no listing of ${device} in the serial log:\n${text.slice(-2000)}`);
  return text
    .slice(begin + `LAB-INSPECT-BEGIN ${device}\n`.length, end)
    .split('\n')
    .filter((line) => line !== '')
    // A link's size is what the kernel makes of its SL entries; compare type, mode, owner and target only.
    .map((line) => (line.startsWith('l ') ? line.replace(/^(l \d+ \d+ \d+) \d+/, '$1 *') : line))
    .sort();
}

describe('the Linux kernel reads iso-builder images', () => {
  it('lists every tree exactly as the source, with modes, owners, sizes, checksums and links', async () => {
    const trees = {
      context: join(work, 'context'),
      names: join(work, 'names'),
      many: join(work, 'many'),
      deep: join(work, 'deep'),
    };
    makeContextTree(trees.context);
    makeNamesTree(trees.names);
    makeManyFilesTree(trees.many, 300);
    mkdirSync(trees.deep);
    write(trees.deep, 'a/b/c/d/e/f/g/h/i/j/k/twelve-levels', 'deep\n', 0o755);
    const images: string[] = [];
    for (const [name, source] of Object.entries(trees)) {
      const local = join(work, `${name}.iso`);
      await writeIsoFromDirectory(source, local, { epoch: 1_700_000_000, deepDirectories: name === 'deep' ? 'allow' : 'error' });
      await upload(env, lc, local, remote(`${name}.iso`));
      images.push(remote(`${name}.iso`));
    }
    const seed = join(work, 'seed.iso');
    await writeIsoFromFiles({ 'user-data': '#cloud-config\n', 'meta-data': 'instance-id: iso-builder\n', 'bin/hello': { data: '#!/bin/sh\necho hi\n', mode: 0o755 } }, seed, {
      label: 'cidata',
      epoch: 0,
    });
    await upload(env, lc, seed, remote('seed.iso'));

    const overlay = join(work, 'disk.qcow2');
    await createOverlay({ path: overlay, backingFile: env.guest.baseImageOnController, backingFormat: env.guest.baseFormat, virtualSize: env.guest.baseVirtualSize });
    await upload(env, lc, overlay, remote('disk.qcow2'));

    guest = await bootGuest(env, lc, {
      name: NAME,
      disk: remote('disk.qcow2'),
      iso: images[0],
      extraDisks: [...images.slice(1), remote('seed.iso')],
      cmdline: 'lab.inspect lab.poweroff',
    });
    await guest.waitForSerial(/LAB-POWEROFF/, 300_000); // printed once every image was listed
    const serial = guest.serial();

    expect(listingOf(serial, '/dev/sr0')).toEqual(expectedListing(trees.context));
    // The guest's kernel names virtio disks in probe order: vda (root), then vdb, vdc, ... for the extra disks.
    expect(listingOf(serial, '/dev/vdb')).toEqual(expectedListing(trees.names));
    expect(listingOf(serial, '/dev/vdc')).toEqual(expectedListing(trees.many));
    expect(listingOf(serial, '/dev/vdd')).toEqual(expectedListing(trees.deep));
    const seedListing = listingOf(serial, '/dev/vde');
    expect(seedListing).toContain(`f 755 0 0 18 ${createHash('sha256').update('#!/bin/sh\necho hi\n').digest('hex')} ./bin/hello`);
    expect(seedListing.filter((l) => l.startsWith('f '))).toHaveLength(3);
  }, 400_000);
});
