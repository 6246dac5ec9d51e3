/** What a known_hosts file holds, and what checking a key against it decides (the types the other parts share). */

export type HostKeyMarker = 'none' | 'cert-authority' | 'revoked';

/** The host field of a line: comma-separated patterns, or one hashed name (`|1|salt|hmac`). */
export type HostField =
  | { readonly kind: 'patterns'; readonly patterns: string }
  | { readonly kind: 'hashed'; readonly salt: Buffer; readonly text: string };

export interface KnownHostsEntry {
  /** 1-based, as OpenSSH counts lines in its messages. */
  readonly line: number;
  readonly marker: HostKeyMarker;
  readonly hosts: HostField;
  /** The key type name of the key blob (`ssh-ed25519`...). */
  readonly keyType: string;
  /** The wire-format key blob (RFC 4253 section 6.6). */
  readonly key: Buffer;
  readonly fingerprint: string;
  /** The line as written, for messages. */
  readonly text: string;
}

export interface MalformedLine {
  readonly line: number;
  readonly reason: string;
  readonly text: string;
}

export interface KnownHosts {
  readonly file: string;
  /** The file does not exist: every host is unknown. */
  readonly missing: boolean;
  readonly entries: readonly KnownHostsEntry[];
  readonly malformed: readonly MalformedLine[];
}

/** A line of a known_hosts file. */
export interface Located {
  readonly file: string;
  readonly line: number;
}

export interface ListedKey extends Located {
  readonly keyType: string;
  readonly fingerprint: string;
}

/**
 * ssh's GlobalKnownHostsFile when ssh_config does not set it (ssh_config(5); pathnames.h): read after the user's
 * file, never written.
 */
export const GLOBAL_KNOWN_HOSTS_FILES: readonly string[] = ['/etc/ssh/ssh_known_hosts', '/etc/ssh/ssh_known_hosts2'];

export interface Presented {
  /** The user's file: the first one read, and the one `recordHostKey` appends to. */
  readonly file: string;
  /** Every file read, in the order ssh reads them: the user's, then the global ones. */
  readonly files: readonly { readonly file: string; readonly missing: boolean }[];
  /** How many of `files` are the user's (UserKnownHostsFile); the rest are global. */
  readonly userFiles: number;
  /** The name looked up: `host`, or `[host]:port` when the port is not 22. */
  readonly name: string;
  readonly keyType: string;
  readonly fingerprint: string;
  /** Lines of the files that OpenSSH would skip too; a message names them, as one may be the entry meant. */
  readonly malformed: readonly (MalformedLine & { readonly file: string })[];
  /** The user's file does not exist. */
  readonly missing: boolean;
}

export type HostKeyCheck =
  | (Presented & { readonly status: 'known' } & Located)
  | (Presented & { readonly status: 'unknown' })
  /** Keys are listed for the host and none is this one. */
  | (Presented & { readonly status: 'mismatch'; readonly expected: readonly ListedKey[] })
  /** An `@revoked` line of a pattern that matches the host holds this key: refused whatever else is listed. */
  | (Presented & { readonly status: 'revoked'; readonly revokedAt: readonly Located[] });

/** The start of a hashed host field (`|1|salt|hmac`, hostfile.c HASH_MAGIC). */
export const HASH_MAGIC = '|1|';
