/**
 * A domain XML (or spec) file read as text, refused by its size before it is read: reading a file whole gave Node's
 * "Invalid string length" (no code, no path) from 512 MiB and ERR_FS_FILE_TOO_LARGE (no path) from 2 GiB. Here, the
 * command line's `template` commands and the deployer's build both read templates through this one function, beside
 * the limit it enforces (xml-tree.ts MAX_TEMPLATE_BYTES, virsh define's).
 */
import { open } from 'node:fs/promises';
import { TemplateError } from './errors.js';
import { MAX_TEMPLATE_BYTES } from './xml-tree.js';

/**
 * The text of `path`, at most `limit` bytes (TEMPLATE_TOO_LARGE with the path beyond). A file that is not there or
 * cannot be read throws Node's own error (ENOENT...), for the caller to say what a missing template means; a FIFO or
 * device is read up to the limit and no further.
 */
export async function readTemplateFile(path: string, limit: number = MAX_TEMPLATE_BYTES): Promise<string> {
  const tooLarge = (size: string) => new TemplateError('TEMPLATE_TOO_LARGE', `${path} is ${size}; virsh define reads at most ${limit / 2 ** 20} MiB of domain XML`, path);
  const handle = await open(path, 'r');
  try {
    const info = await handle.stat();
    if (info.isFile() && info.size > limit) throw tooLarge(`${(info.size / 2 ** 20).toFixed(1)} MiB`);
    // Read to the end, in chunks, however big the file says it is: a FIFO says 0, and a file may grow meanwhile.
    const chunks: Buffer[] = [];
    let length = 0;
    for (;;) {
      const chunk = Buffer.alloc(64 * 1024);
      const { bytesRead } = await handle.read(chunk, 0, chunk.length, null);
      if (bytesRead === 0) break;
      length += bytesRead;
      if (length > limit) throw tooLarge(`over ${limit / 2 ** 20} MiB`);
      chunks.push(chunk.subarray(0, bytesRead));
    }
    return Buffer.concat(chunks, length).toString('utf8');
  } finally {
    await handle.close();
  }
}
