/** Recording a new host key (`--accept-new`): one line appended to the user's first file. */
import { lstat, open } from 'node:fs/promises';
import { dirname } from 'node:path';
import { makeFolder } from '@vmctx/contract';
import { DeployerError } from '../../errors.js';
import { invalidKeyReason, openSshKeyText } from '../host-key.js';
import { knownHostsName } from './match.js';

/* ------------------------------------------------------------------------------------------------------------
 * Recording: hostfile.c `add_host_to_hostfile` / `write_host_entry` (unhashed, no address, lower case).
 * ---------------------------------------------------------------------------------------------------------- */

/** Characters a host name must not hold to be written as a plain (not pattern) name. */
const NOT_IN_HOST = /[\s,*?!#[\]|@]/;

/** The line `recordHostKey` appends for a host and its key (without the newline). */
export function knownHostsLine(host: string, port: number, key: Buffer): string {
  if (host.length === 0 || NOT_IN_HOST.test(host) || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new DeployerError('SSH_HOST_KEY_BAD_HOST', `cannot record a host key for host ${JSON.stringify(host)} port ${port}: not a plain host name and port`, {
      where: host,
    });
  }
  const reason = invalidKeyReason(key);
  if (reason !== undefined) {
    throw new DeployerError('SSH_HOST_KEY_INVALID', `${host}:${port} presented a host key that is not one: ${reason}`, { where: `${host}:${port}` });
  }
  return `${knownHostsName(host, port)} ${openSshKeyText(key)}`;
}

/**
 * Appends the line for `host`, `port` and `key` to `knownHostsFile` (the user's file, as ssh's accept-new does;
 * never a global one), creating the file (0600) and its folder (0700) when missing: one write, then fsync (and
 * fsync of the folder when the file is new). Other lines are never rewritten; a last line without its newline
 * gets one first. Only for a host `checkHostKey` found unknown (`--accept-new`): a changed key is never recorded.
 */
export async function recordHostKey(knownHostsFile: string, host: string, port: number, key: Buffer): Promise<{ file: string; text: string }> {
  const text = knownHostsLine(host, port, key);
  const fail = (what: string, error: unknown): DeployerError =>
    new DeployerError('SSH_HOST_KEY_RECORD_FAILED', `cannot record the host key of ${knownHostsName(host, port)} in ${knownHostsFile}: ${what}: ${(error as Error).message}; the file is as it was`, {
      where: knownHostsFile,
      cause: error,
    });
  const folder = dirname(knownHostsFile);
  try {
    await makeFolder(folder, 0o700);
  } catch (error) {
    throw fail(`creating ${folder}`, error);
  }
  const isNew = await lstat(knownHostsFile).then(
    () => false,
    (error: NodeJS.ErrnoException) => error.code === 'ENOENT',
  );
  let handle;
  try {
    handle = await open(knownHostsFile, 'a+', 0o600);
  } catch (error) {
    throw fail('opening it', error);
  }
  try {
    const { size } = await handle.stat();
    let prefix = '';
    if (size > 0) {
      const last = Buffer.alloc(1);
      await handle.read(last, 0, 1, size - 1);
      if (last[0] !== 0x0a) prefix = '\n';
    }
    const data = Buffer.from(`${prefix}${text}\n`, 'utf8');
    // O_APPEND: the kernel puts the whole write at the end, even if another writer appended meanwhile.
    const { bytesWritten } = await handle.write(data, 0, data.length);
    if (bytesWritten !== data.length) throw new Error(`short write (${bytesWritten} of ${data.length} bytes)`);
    await handle.sync();
  } catch (error) {
    throw fail('appending', error);
  } finally {
    await handle.close();
  }
  if (isNew) {
    // The new directory entry is durable only once its folder is synced.
    const dir = await open(folder, 'r').catch(() => undefined);
    await dir?.sync().catch(() => undefined);
    await dir?.close();
  }
  return { file: knownHostsFile, text };
}
