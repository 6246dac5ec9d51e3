/**
 * One context ISO and its checksum, reproducibly: the same context gives the same bytes on any machine. What
 * `vmctx context iso` does (by default both layouts, cloud-init's NoCloud seed and Snooze's, label cidata), with three differences that make the output a function of the context alone: the
 * epoch is fixed (0 unless given; never the clock or SOURCE_DATE_EPOCH), a folder's file modes are taken as git
 * keeps them (0755 when any execute bit is set, else 0644; not the checkout's umask), and a `.sha256` is written
 * beside the ISO.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';

/**
 * @typedef {object} ContextIsoOptions  the options of `vmctx context iso`
 * @property {string} input  a context file (YAML or JSON) or a Snooze-style context/ folder
 * @property {string} output  the ISO to write; its checksum goes to `<output>.sha256`
 * @property {'both' | 'cloud-init' | 'snooze'} [format]  the CD's layouts: cloud-init's NoCloud seed, Snooze's layout
 *   for vmctx's script, or both; default both for a context file, snooze for a folder (taken as it is)
 * @property {string} [label]  volume label; default cidata for a CD with the NoCloud seed (cloud-init's NoCloud looks
 *   for it), CONTEXT for Snooze's layout alone
 * @property {number} [epoch]  seconds since 1970 for every date in the image; default 0
 */

/**
 * @typedef {object} ContextIso
 * @property {string} path  the ISO written (as given in `output`)
 * @property {number} bytes  its size
 * @property {string} sha256  its checksum, hex
 * @property {string[]} problems  what the guest would find wrong with a folder (no post-install, ...)
 */

/**
 * Writes `output` and `output.sha256` (sha256sum's format, so `sha256sum -c` checks it beside the ISO).
 * @param {ContextIsoOptions} options
 * @param {string} [cwd]  what relative paths are relative to; default the process's
 * @returns {Promise<ContextIso>}
 */
export async function buildContextIso(options, cwd = process.cwd()) {
  const epoch = options.epoch ?? 0;
  if (!Number.isInteger(epoch) || epoch < 0) throw new Error(`epoch ${String(epoch)} is not a whole number of seconds since 1970`);
  const [{ readContextSource }, { writeIsoFromFiles }] = await Promise.all([import('@vmctx/guest-script'), import('@vmctx/iso-builder')]);
  const input = resolve(cwd, options.input);
  const output = resolve(cwd, options.output);
  // A missing input is readContextSource's to report (GUEST_INVALID_CONTEXT, with its path).
  const folder = await stat(input).then((info) => info.isDirectory(), () => false);
  // The CD `vmctx context iso` writes (issue 20): both layouts for a context file unless told, a folder as it is.
  const format = options.format ?? (folder ? 'snooze' : 'both');
  const { files, problems, label } = await readContextSource(input, { format });
  await mkdir(dirname(output), { recursive: true });
  const stats = await writeIsoFromFiles(folder ? gitModes(files) : files, output, { epoch, env: {}, label: options.label ?? label });
  const sha256 = await sha256Of(output);
  await writeAtomically(`${output}.sha256`, `${sha256}  ${basename(output)}\n`);
  return { path: options.output, bytes: stats.bytes, sha256, problems };
}

/**
 * File modes as git records them: 0755 when any execute bit is set, else 0644 (a folder's files only; a
 * generated tree's modes, such as 0400 for secrets, are the tree's own and left alone).
 * @template {Record<string, { data: string | Uint8Array, mode: number }>} T
 * @param {T} files
 * @returns {T}
 */
export function gitModes(files) {
  /** @type {Record<string, { data: string | Uint8Array, mode: number }>} */
  const out = {};
  for (const [path, entry] of Object.entries(files)) out[path] = { data: entry.data, mode: entry.mode & 0o111 ? 0o755 : 0o644 };
  return /** @type {T} */ (out);
}

/**
 * @param {string} path
 * @returns {Promise<string>}
 */
async function sha256Of(path) {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(/** @type {Buffer} */ (chunk));
  return hash.digest('hex');
}

/**
 * @param {string} path
 * @param {string} text
 */
async function writeAtomically(path, text) {
  const temp = `${path}.${process.pid}.tmp`;
  try {
    await writeFile(temp, text);
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

/**
 * The line a build prints: path, size in bytes, sha256, tab-separated (as `vmctx context iso` prints it).
 * @param {Pick<ContextIso, 'path' | 'bytes' | 'sha256'>} iso
 */
export function isoLine(iso) {
  return `${iso.path}\t${iso.bytes}\t${iso.sha256}`;
}
