/**
 * Host key checking as OpenSSH's ssh does it (OpenSSH 9.x: hostfile.c, match.c, sshconnect.c
 * `check_host_key`), for the ssh2 client, which hands its host verifier the server's key blob.
 *
 * Read, then decide, then (only for `--accept-new` and only for an unknown host) append:
 * - `parseKnownHosts`: every line form of sshd(8) "SSH_KNOWN_HOSTS FILE FORMAT"; malformed lines are skipped
 *   as OpenSSH skips them, and kept with their line number and reason so that a message can name them;
 * - `checkKnownHosts` / `checkHostKey`: known, unknown, changed (mismatch) or revoked, from the user's files
 *   (UserKnownHostsFile) and the global ones (GlobalKnownHostsFile) read as one list, as ssh reads them;
 * - `recordHostKey`: one line appended to the user's (first) file with one write and fsync, as
 *   `ssh -o StrictHostKeyChecking=accept-new` writes it (never to a global file);
 * - `hostKeyError`: the DeployerError for a key that is not known, with its fix.
 */
export * from './known-hosts/types.js';
export * from './known-hosts/parse.js';
export * from './known-hosts/match.js';
export * from './known-hosts/decide.js';
export * from './known-hosts/record.js';
export * from './known-hosts/refuse.js';
