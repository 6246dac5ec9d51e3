/** The lab's base image with vmctx's contextualization script installed instead of the seed's. */
import { cpSync } from 'node:fs';
import { join } from 'node:path';
import { installInto } from '@vmctx/guest-script';
import { type LabEnv, makeBaseImage } from './lab.js';

/** Copies the lab's rootfs into `workDir`, installs the script with guest-script, and writes `workDir/name`. */
export async function makeVmctxBaseImage(env: LabEnv, workDir: string, name: string): Promise<string> {
  const rootfs = join(workDir, 'rootfs');
  cpSync(env.guest.rootfs, rootfs, { recursive: true, verbatimSymlinks: true });
  await installInto(rootfs);
  const image = join(workDir, name);
  makeBaseImage(rootfs, image);
  return image;
}
