/**
 * What a deployment created on a controller, recorded there beside the images
 * (`<imageDir>/.vmctx/<deployment>.json`), so that `plan`, `status` and `destroy` work from any machine with the
 * same deployment file. Written atomically (temporary file, then rename) after each deploy. Only what is listed
 * here, or a domain carrying the deployment's mark, is ever removed by `destroy`.
 */
import { posix } from 'node:path';
import { VmctxError } from '@vmctx/contract';
import { z } from 'zod';
import type { ControllerConnection } from '../controller/connection.js';
import type { RemoteCommands } from '../controller/command-batch.js';

const VmRecord = z.object({
  uuid: z.string(),
  macs: z.array(z.string()),
  /** sha256 of each artifact the domain was made from (base, overlay, iso, domain). */
  artifacts: z.record(z.string(), z.string()),
  /** Files of this VM alone: its overlay and console log. */
  files: z.array(z.string()),
  /** Shared files it uses: its base image and context ISO (removed when no domain uses them any more). */
  shared: z.array(z.string()),
  /** The domain XML as vmctx rendered it (before libvirt's defaults), for field-level plans. */
  xml: z.string(),
  address: z.string().optional(),
});

const StateFile = z.object({
  version: z.literal(1),
  deployment: z.string(),
  controller: z.string(),
  updatedAt: z.string(),
  vms: z.record(z.string(), VmRecord),
});

export type VmRecord = z.infer<typeof VmRecord>;
export type ControllerStateFile = z.infer<typeof StateFile>;

export function statePath(imageDir: string, deployment: string): string {
  return posix.join(imageDir, '.vmctx', `${deployment}.json`);
}

export function emptyState(deployment: string, controller: string): ControllerStateFile {
  return { version: 1, deployment, controller, updatedAt: new Date(0).toISOString(), vms: {} };
}

export async function readState(connection: RemoteCommands, deployment: string): Promise<ControllerStateFile> {
  const lc = connection.controller;
  const path = statePath(lc.imageDir, deployment);
  const result = await connection.exec(['sh', '-c', 'test -f "$1" || exit 9; cat -- "$1"', 'vmctx-state', path]);
  if (result.code === 9) return emptyState(deployment, lc.name);
  if (result.code !== 0) throw new VmctxError('REMOTE_STATE_UNREADABLE', 'remote', `${lc.name}: cannot read ${path}: ${result.stderr.trim()}`, { where: lc.name });
  let parsed: unknown;
  try {
    parsed = JSON.parse(result.stdout);
  } catch (error) {
    throw new VmctxError('REMOTE_STATE_CORRUPT', 'remote', `${lc.name}: ${path} is not JSON (${(error as Error).message}); move it away to start over`, { where: lc.name });
  }
  const state = StateFile.safeParse(parsed);
  if (!state.success) throw new VmctxError('REMOTE_STATE_CORRUPT', 'remote', `${lc.name}: ${path} is not a vmctx state file (${state.error.issues[0]?.message}); move it away to start over`, { where: lc.name });
  return state.data;
}

// Temporary file beside the target, then rename: a reader never sees half a state file.
const WRITE_STATE = 'mkdir -p -- "$1" && umask 077 && cat >"$2" && mv -f -- "$2" "$3"';
const REMOVE_STATE = 'rm -f -- "$2"; rmdir -- "$1" 2>/dev/null; true';

export async function writeState(connection: ControllerConnection, state: ControllerStateFile): Promise<void> {
  const lc = connection.controller;
  const path = statePath(lc.imageDir, state.deployment);
  if (Object.keys(state.vms).length === 0) {
    await connection.run(['sh', '-c', REMOVE_STATE, 'vmctx-state', posix.dirname(path), path]);
    return;
  }
  const text = `${JSON.stringify({ ...state, updatedAt: new Date().toISOString() }, null, 2)}\n`;
  await connection.run(['sh', '-c', WRITE_STATE, 'vmctx-state', posix.dirname(path), `${path}.tmp`, path], { stdin: text });
}
