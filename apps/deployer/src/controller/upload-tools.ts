/**
 * What an upload needs of a controller (sh/upload-tools.sh), checked by preflight: the sha256 tool the controller
 * verifies with (openssl dgst where present: 1.3 GB/s against sha256sum's 340 MB/s on the lab machine, issue 22),
 * a `dd` that counts and seeks in bytes, and `truncate` (sh/upload-receive.sh writes the frames with them).
 */
import type { RemoteCommands } from './command-batch.js';
import type { Finding } from './finding.js';
import { readAnswer, UploadTools } from '../sh/answers.js';
import { UPLOAD_TOOLS_SH } from '../sh/sh.generated.js';

export type UploadToolsState = ReturnType<typeof UploadTools.parse>;

export async function uploadTools(connection: RemoteCommands): Promise<UploadToolsState> {
  const result = await connection.exec(['sh', '-c', UPLOAD_TOOLS_SH, 'vmctx-upload-tools']);
  const answer = readAnswer(UploadTools, result.stdout.trim());
  if (result.code !== 0 || !answer.ok) throw new Error(`sh/upload-tools.sh exited ${result.code}${answer.ok ? '' : `, printing ${answer.why}`}${result.stderr.trim() ? `: ${result.stderr.trim()}` : ''}`);
  return answer.value;
}

/**
 * The finding: which sha256 tool uploads are verified with, and which tool fetches images there; an error when one
 * is missing and a file is to be uploaded (or fetched there: `fetch: controller`).
 */
export function uploadToolsFinding(controller: string, tools: UploadToolsState | Error, uploadFiles: number, fetchFiles = 0): Finding {
  const object = 'upload tools';
  const severity = uploadFiles + fetchFiles > 0 ? 'error' : 'warning';
  if (tools instanceof Error) return { controller, object, code: 'CHECK_UPLOAD_TOOLS', severity, message: `the upload tools could not be checked: ${tools.message}` };
  const missing = [...(tools.sha256 === 'none' ? ['openssl or sha256sum'] : []), ...tools.missing];
  if (missing.length > 0) {
    return {
      controller,
      object,
      code: 'CHECK_UPLOAD_TOOLS',
      severity,
      message: `uploads there need what is missing: ${missing.join('; ')}`,
      fix: 'install coreutils (dd, truncate, mktemp, mkfifo, sha256sum) and openssl on the controller',
    };
  }
  if (fetchFiles > 0 && tools.fetch === 'none') {
    return { controller, object, code: 'CHECK_UPLOAD_TOOLS', severity: 'error', message: `${fetchFiles} image(s) with fetch: controller, and neither curl nor wget is there`, fix: 'install curl on the controller, or fetch the image here (fetch: local)' };
  }
  const by = tools.sha256 === 'openssl' ? 'openssl dgst -sha256' : 'sha256sum (openssl is not there: about 4x slower, install it for faster uploads)';
  const fetching = fetchFiles > 0 ? `; images are fetched there by ${tools.fetch}` : '';
  return { controller, object, code: 'CHECK_UPLOAD_TOOLS', severity: 'ok', message: `uploads are written by dd and verified by ${by}${fetching}` };
}
