/**
 * The deployment file's bytes to text, before anything parses them: bounded in size, and strictly UTF-8.
 *
 * Size: the line-keeping YAML reader costs about 40 times the text (80 MB of inline context took 3.2 GB and
 * 22 s), so the file is refused over MAX_DEPLOYMENT_BYTES from its size before it is read, and what is read is
 * bounded too (a file that grows meanwhile, a pipe, /dev/zero: their size says nothing).
 * Encoding: Node's 'utf8' decoding puts U+FFFD for bytes that are not UTF-8, silently; a VM named with them would
 * become a domain name nobody typed. The file is decoded strictly, and refused at its first bad byte.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { DeploymentError } from './problems.js';
import { DeployerError } from '../errors.js';

/**
 * The most bytes a deployment file may have. Inline contexts are small text; a large file content belongs in a
 * context file or folder (`context: ./ctx.yaml`), which guest-script bounds on its own (MAX_CONTEXT_BYTES).
 */
export const MAX_DEPLOYMENT_BYTES = 16 * 2 ** 20;

const CHUNK_BYTES = 2 ** 20;

/** The file's text: CONFIG_UNREADABLE (io) when it cannot be read, CONFIG_TOO_LARGE or CONFIG_NOT_UTF8 (input). */
export async function readDeploymentText(file: string): Promise<string> {
  return decodeDeploymentText(await readBounded(file), file);
}

async function readBounded(file: string): Promise<Buffer> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(file, 'r');
    const stats = await handle.stat();
    if (stats.isFile() && stats.size > MAX_DEPLOYMENT_BYTES) throw tooLarge(file, `${stats.size} bytes`, 'refused before reading it');
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      // One byte past the limit at most: enough to know it is over.
      const want = Math.min(CHUNK_BYTES, MAX_DEPLOYMENT_BYTES + 1 - total);
      const chunk = Buffer.allocUnsafe(want);
      const { bytesRead } = await handle.read(chunk, 0, want, null);
      if (bytesRead === 0) break;
      chunks.push(chunk.subarray(0, bytesRead));
      total += bytesRead;
      if (total > MAX_DEPLOYMENT_BYTES) throw tooLarge(file, `more than ${MAX_DEPLOYMENT_BYTES} bytes`, 'refused after reading that much (it is not a regular file, or it grew)');
    }
    return Buffer.concat(chunks, total);
  } catch (error) {
    if (error instanceof DeploymentError) throw error;
    throw new DeployerError('CONFIG_UNREADABLE', `${file}: cannot read the deployment file: ${(error as Error).message}`, { where: file, cause: error });
  } finally {
    await handle?.close();
  }
}

function tooLarge(file: string, size: string, when: string): DeploymentError {
  const message = `${size}, more than a deployment file may have (${MAX_DEPLOYMENT_BYTES} bytes, ${MAX_DEPLOYMENT_BYTES / 2 ** 20} MiB); ${when}: put large file contents in a context file or folder (context: ./ctx.yaml)`;
  return new DeploymentError([{ path: '', message, code: 'CONFIG_TOO_LARGE', kind: 'input' }], file);
}

/**
 * `bytes` as UTF-8 (a byte order mark kept, as the YAML reader expects it), or CONFIG_NOT_UTF8 at the first byte
 * that is not: its offset, line and column.
 */
export function decodeDeploymentText(bytes: Uint8Array, file: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    const at = firstInvalidUtf8(bytes)!;
    const shown = [...bytes.subarray(at.offset, at.offset + 4)].map((b) => `0x${b.toString(16).padStart(2, '0')}`).join(' ');
    const message = `not UTF-8: byte ${at.offset} (${shown}...), line ${at.line} column ${at.column}, is not part of a UTF-8 character; save the file as UTF-8`;
    throw new DeploymentError([{ path: '', line: at.line, message, code: 'CONFIG_NOT_UTF8', kind: 'input' }], file);
  }
}

/**
 * Where the first byte that is not UTF-8 is, found with the standard decoder itself: decoding with replacement
 * turns every valid sequence before it into exactly its character, so the first U+FFFD that was not written as
 * U+FFFD in the file (EF BF BD) starts at the bad byte. Undefined when the bytes are UTF-8.
 */
export function firstInvalidUtf8(bytes: Uint8Array): { offset: number; line: number; column: number } | undefined {
  const text = new TextDecoder('utf-8', { ignoreBOM: true }).decode(bytes);
  let offset = 0;
  let from = 0;
  for (let i = text.indexOf('\ufffd'); i >= 0; i = text.indexOf('\ufffd', i + 1)) {
    offset += Buffer.byteLength(text.slice(from, i));
    from = i;
    if (bytes[offset] === 0xef && bytes[offset + 1] === 0xbf && bytes[offset + 2] === 0xbd) continue;
    const before = text.slice(0, i);
    const lineStart = before.lastIndexOf('\n') + 1;
    return { offset, line: (before.match(/\n/g)?.length ?? 0) + 1, column: [...before.slice(lineStart)].length + 1 };
  }
  return undefined;
}
