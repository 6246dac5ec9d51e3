/** Refusing: the error for a key that is not known, as ssh says it, with what to do. */
import { quoteArg } from '@vmctx/contract';
import { DeployerError } from '../../errors.js';
import { knownHostsName } from './match.js';
import type { HostKeyCheck, Presented } from './types.js';
import { keyTypeLabel } from '../host-key.js';

/* ------------------------------------------------------------------------------------------------------------
 * Refusing: the message of ssh for each case, with what to do.
 * ---------------------------------------------------------------------------------------------------------- */

export type HostKeyErrorCode = 'SSH_HOST_KEY_UNKNOWN' | 'SSH_HOST_KEY_CHANGED' | 'SSH_HOST_KEY_REVOKED';

function malformedNote(result: Presented): string {
  return result.files
    .map(({ file }) => {
      const malformed = result.malformed.filter((m) => m.file === file);
      if (malformed.length === 0) return '';
      const shown = malformed.slice(0, 5).map((m) => `\n  line ${m.line}: ${m.reason}`);
      const more = malformed.length > 5 ? `\n  and ${malformed.length - 5} more` : '';
      return `\nNote: ${file} has lines that ssh skips too (one may be the entry you meant):${shown.join('')}${more}`;
    })
    .join('');
}

/** "not in the user's file (why), nor in its other files, nor in the global ones (which exist or not)". */
function whereLooked(result: Presented): string {
  const [user, ...rest] = result.files;
  const named = (files: Presented['files']) => files.map(({ file, missing }) => (missing ? `${file} (missing)` : file)).join(', ');
  const more = rest.slice(0, result.userFiles - 1);
  const globals = rest.slice(result.userFiles - 1);
  const own = `${result.file} (${user?.missing ? 'which does not exist yet' : 'which lists no key for it'})`;
  return `${own}${more.length > 0 ? `, nor in ${named(more)}` : ''}${globals.length > 0 ? `, nor in the global ${named(globals)}` : ''}`;
}

/**
 * The error to throw when a controller's host key is not known. Nothing was sent to the controller: the
 * connection is closed during the key exchange.
 */
export function hostKeyError(
  result: Exclude<HostKeyCheck, { status: 'known' }>,
  controllerName: string,
  host: string,
  port: number,
): DeployerError {
  const name = knownHostsName(host, port);
  const key = `${keyTypeLabel(result.keyType)} key ${result.fingerprint}`;
  const file = quoteArg(result.file);
  const state = 'Connection closed before login; nothing was done on the controller.';
  switch (result.status) {
    case 'unknown': {
      // The fingerprint again in the lines after the first, which check prints whole below its table: the table cuts a
      // word wider than its column, and a cut fingerprint cannot be compared.
      return new DeployerError(
        'SSH_HOST_KEY_UNKNOWN',
        `${controllerName}: the host key of ${name} is not known: it presented ${key}, not in ${whereLooked(result)}. ${state}\n` +
          `Check that fingerprint, ${result.fingerprint}, on the controller (ssh-keygen -lf /etc/ssh/ssh_host_${keyFileStem(result.keyType)}_key.pub), then either ` +
          `rerun with --accept-new to record it, or record it yourself:\n  ssh-keyscan -p ${port} ${quoteArg(host)} >> ${file}` +
          malformedNote(result),
        { where: controllerName },
      );
    }
    case 'mismatch': {
      const listed = result.expected.map((e) => `\n  ${e.file}:${e.line}: ${keyTypeLabel(e.keyType)} key ${e.fingerprint}`);
      // Every file that lists another key must lose it (a global one needs whoever administers it).
      const holding = [...new Set(result.expected.map((e) => e.file))];
      const fixes = holding.map((f) => `\n  ssh-keygen -R ${quoteArg(name)} -f ${quoteArg(f)}`).join('');
      return new DeployerError(
        'SSH_HOST_KEY_CHANGED',
        `${controllerName}: REMOTE HOST IDENTIFICATION HAS CHANGED for ${name}: it presented ${key}, but the known keys are:${listed.join('')}\n` +
          'Someone could be intercepting the connection (man-in-the-middle), or the host key was replaced. ' +
          `${state} A changed key is never accepted, not even with --accept-new.\n` +
          `Once you trust the change (check the fingerprint on the controller), remove the old key and connect again with --accept-new:` +
          fixes,
        { where: controllerName },
      );
    }
    case 'revoked': {
      const lines = result.revokedAt.map(({ file: revokedIn, line }) => `${revokedIn}:${line}`).join(', ');
      return new DeployerError(
        'SSH_HOST_KEY_REVOKED',
        `${controllerName}: ${name} presented ${key}, which is marked @revoked (${lines}): a stolen key may be used to ` +
          `impersonate this host. ${state}\nThe controller needs a new host key; a revoked key is never accepted.`,
        { where: controllerName },
      );
    }
  }
}

/** The file name part of sshd's default host key for a type (`/etc/ssh/ssh_host_<stem>_key`). */
function keyFileStem(type: string): string {
  if (type === 'ssh-ed25519') return 'ed25519';
  if (type === 'ssh-rsa') return 'rsa';
  if (type.startsWith('ecdsa-')) return 'ecdsa';
  if (type === 'ssh-dss') return 'dsa';
  return '*';
}
