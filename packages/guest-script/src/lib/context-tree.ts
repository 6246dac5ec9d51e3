/**
 * The file tree of a context CD, in Snooze's layout plus vmctx's folders:
 *
 *   post-install          the script the guest runs (0755)
 *   instance-id           what makes the CD new to a guest (0444)
 *   common/network        KEY='value' lines (0444)
 *   common/routes         ifupdown "up" lines (0444)
 *   ssh/authorized_keys   (0444: public keys)
 *   files/N, files/N.meta the files to write and their path, mode and owner (0400: may be secrets)
 *   scripts/NN-name       user scripts (0500)
 *
 * The names are the context CD contract's (@vmctx/contract). The modes are those the CD's Rock Ridge entries carry: on the mounted CD only root can read what may
 * be secret, and post-install gives each file its own mode in the guest.
 */
import { CONTEXT_FILES, CONTEXT_FOLDERS } from '@vmctx/contract';
import { createHash } from 'node:crypto';
import { contentBytes, type Context } from './context.js';
import type { FileMap } from './file-map.js';
import { formatKeyValue } from './key-value.js';
import { networkFile, routesFile } from './network-file.js';
import { postInstallScript } from './post-install.js';

/**
 * The instance id: the context's own, or `ctx-` and 16 hex digits of the SHA-256 of its content, and of the
 * operator's cloud-config files when it names some (`extra`: their texts), so that an edit of either is new to
 * the guest.
 */
export function instanceIdOf(context: Context, extra: readonly string[] = []): string {
  if (context.instanceId !== undefined) return context.instanceId;
  const { instanceId: _ignored, ...rest } = context;
  const hash = createHash('sha256').update(canonicalJson(rest));
  for (const text of extra) hash.update('\0').update(text);
  return `ctx-${hash.digest('hex').slice(0, 16)}`;
}

/** JSON with sorted object keys, so that the same context always hashes the same. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** The Snooze-layout tree; `instanceId` when the caller computed it (with the operator's files, instanceIdOf). */
export function buildContextTree(context: Context, instanceId?: string): FileMap {
  const id = instanceId ?? instanceIdOf(context);
  const tree: FileMap = {
    [CONTEXT_FILES.postInstall]: { data: postInstallScript(), mode: 0o755 },
    [CONTEXT_FILES.instanceId]: { data: `${id}\n`, mode: 0o444 },
    [CONTEXT_FILES.network]: { data: networkFile(context, id), mode: 0o444 },
    [CONTEXT_FILES.routes]: { data: routesFile(context), mode: 0o444 },
  };
  if (context.ssh !== undefined) {
    tree[CONTEXT_FILES.authorizedKeys] = { data: context.ssh.authorizedKeys.map((k) => `${k}\n`).join(''), mode: 0o444 };
  }
  const width = Math.max(3, String(context.files.length).length);
  context.files.forEach((file, index) => {
    const name = `${CONTEXT_FOLDERS.files}/${String(index + 1).padStart(width, '0')}`;
    const meta: Record<string, string> = { FILE_PATH: file.path, FILE_MODE: file.mode, FILE_OWNER: file.owner };
    if (file.group !== undefined) meta.FILE_GROUP = file.group;
    tree[name] = { data: contentBytes(file), mode: 0o400 };
    tree[`${name}.meta`] = { data: formatKeyValue(meta), mode: 0o400 };
  });
  const scriptWidth = Math.max(2, String(context.scripts.length).length);
  context.scripts.forEach((script, index) => {
    tree[`${CONTEXT_FOLDERS.scripts}/${String(index + 1).padStart(scriptWidth, '0')}-${script.name}`] = { data: contentBytes(script), mode: 0o500 };
  });
  return tree;
}
