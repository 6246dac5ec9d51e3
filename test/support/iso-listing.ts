/**
 * What the lab guest's `lab.inspect` prints for an image (one line per entry: "type mode uid gid size sha256 path[ ->
 * target]"), and what it must print for a source folder: iso-builder images compared entry by entry with their source.
 */
import { createHash } from 'node:crypto';
import { lstatSync } from 'node:fs';
import { join } from 'node:path';
import { walkTree } from '../iso-builder/trees.js';

export const sha256 = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');

/** What lab-inspect prints for a source tree, sorted. */
export function expectedListing(source: string): string[] {
  const lines: string[] = [];
  const root = lstatSync(source);
  lines.push(`d ${(root.mode & 0o7777).toString(8)} ${root.uid} ${root.gid} 0 - .`);
  for (const [path, found] of walkTree(source)) {
    const st = lstatSync(join(source, path));
    const mode = found.mode.toString(8);
    if (found.type === 'd') lines.push(`d ${mode} ${st.uid} ${st.gid} 0 - ./${path}`);
    else if (found.type === 'l') lines.push(`l 777 ${st.uid} ${st.gid} * - ./${path} -> ${found.target}`);
    else lines.push(`f ${mode} ${st.uid} ${st.gid} ${st.size} ${sha256(found.data as Buffer)} ./${path}`);
  }
  return lines.sort();
}

/** The listing of `device` in a console log, sorted. */
export function listingOf(serial: string, device: string): string[] {
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
