/**
 * A base image fetched by the controller from its URL (`fetch: controller`, issue 22: fetched where it is), instead
 * of being uploaded from here: the operator's uplink is not the limit, and the image is never downloaded here (its
 * header alone is read, for the overlay: artifacts/probe-image.ts). sh/fetch-receive.sh does it with curl or wget,
 * as an upload is received: to the temporary name of an upload of the same bytes (upload.ts partialPath), verified
 * against the sha256 published with the URL, then published under its final name; a cut fetch continues from what
 * arrived.
 */
import type { ControllerConnection } from './connection.js';
import { partialPath } from './upload.js';
import { FileIdentity, readAnswer, ResumeFrom } from '../sh/answers.js';
import { FETCH_RECEIVE_SH } from '../sh/sh.generated.js';
import { DeployerError } from '../errors.js';

export interface FetchOptions {
  /** The sha256 the URL's file must have (the image's `sha256`). */
  sha256: string;
  size: number;
  /** Octal mode of the final file. */
  mode?: string;
}

/** Has the controller fetch `url` to `remotePath`; returns the file's identity there. */
export async function fetchOnController(connection: ControllerConnection, url: string, remotePath: string, options: FetchOptions): Promise<string> {
  const lc = connection.controller.name;
  const temp = partialPath(remotePath, options.sha256);
  const result = await connection
    .exec(['sh', '-c', FETCH_RECEIVE_SH, 'vmctx-fetch', temp, options.sha256, remotePath, options.mode ?? '0600', String(options.size), url])
    .catch((error: Error) => {
      throw new DeployerError('REMOTE_FETCH_FAILED', `${lc}: fetching ${url} to ${remotePath} failed: ${error.message}`, { where: lc, cause: error });
    });
  const lines = result.stdout.trim().split('\n');
  const resumed = ResumeFrom.safeParse(lines[0]);
  const from = resumed.success && resumed.data.from > 0 ? ` (continued at ${resumed.data.from})` : '';
  const said = result.stderr.trim();
  switch (result.code) {
    case 0: {
      const identity = readAnswer(FileIdentity, lines.at(-1) ?? '');
      if (!identity.ok) throw new DeployerError('REMOTE_FETCH_FAILED', `${lc}: ${remotePath} fetched and verified, but its identity reads ${identity.why}`, { where: lc });
      return identity.value;
    }
    case 3:
      throw new DeployerError('REMOTE_UPLOAD_UNVERIFIED', `${lc}: ${remotePath} fetched from ${url}${from} but not verified (${said}, expected ${options.sha256}); removed`, { where: lc });
    case 6:
      throw new DeployerError('REMOTE_FETCH_FAILED', `${lc}: ${remotePath} appeared on the controller during the fetch; it was left as it is, and the fetch removed`, { where: lc });
    case 7:
      throw new DeployerError('REMOTE_FETCH_FAILED', `${lc}: fetching ${url} to ${remotePath} failed${from}: ${said}`, { where: lc });
    case 8:
      throw new DeployerError('REMOTE_FETCH_FAILED', `${lc}: ${said}: install curl there, or fetch the image here (fetch: local)`, { where: lc });
    default:
      throw new DeployerError('REMOTE_FETCH_FAILED', `${lc}: fetching ${url} to ${remotePath} exited ${result.code}${said ? `: ${said}` : ''}; the partial file was removed`, { where: lc });
  }
}
