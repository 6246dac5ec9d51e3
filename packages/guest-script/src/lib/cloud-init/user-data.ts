/**
 * The NoCloud `user-data` of a context: a `#cloud-config` (cloud-init docs, Explanation > User-data formats >
 * Cloud config data), each key the module docs name (Reference > Module reference), with the meaning the field has
 * in vmctx's script (post-install):
 * - host name: Set Hostname's `hostname` (as given) and `fqdn` (a dotted name) with
 *   `prefer_fqdn_over_hostname: true` (post-install writes the name as given to /etc/hostname); Update Etc Hosts'
 *   `manage_etc_hosts: localhost` (only the 127.0.1.1 line, as post-install does);
 * - SSH keys: Users and Groups' `users`, `default` first (the image's own user stays as the image made it) then
 *   the context's user with `ssh_authorized_keys`; SSH's `disable_root: false` so that root's keys have no
 *   forced-command prefix. cloud-init creates a user the image lacks (locked password), where post-install says it
 *   is missing;
 * - files: Write Files' `path`, `content` (text) or `encoding: b64`, `permissions`, `owner` (`user[:group]`, as
 *   chown), and `defer: true` when the owner or group is not root (written in the final stage, after Users and
 *   Groups has made the users the image creates at first boot);
 * - scripts: Write Files puts the CD's `common/network` and `scripts/` under /var/lib/vmctx/context/INSTANCE-ID
 *   (0700) with the runner sh/cloud-init-scripts.sh, and Runcmd removes the other instances' folders and runs it (final stage, after the network): the scripts run in
 *   order, from that folder, with the environment post-install gives them. The runner also names an IP-from-MAC
 *   guest without `hostname` (HOSTNAME_PREFIX and its address), which the shared meta-data cannot.
 */
import { CONTEXT_FILES, CONTEXT_FOLDERS } from '@vmctx/contract';
import { contentBytes, type Context, type FileSpec } from '../context.js';
import { networkFile } from '../network-file.js';
import { CLOUD_INIT_SCRIPTS_SH } from '../sh.generated.js';

/** Where the user-data puts what the runner reads: the CD's layout, so that the scripts find what they found there. */
export const CLOUD_INIT_CONTEXT_DIR = '/var/lib/vmctx/context';
/** The runner's name in the instance's folder, CLOUD_INIT_CONTEXT_DIR/INSTANCE-ID. */
export const CLOUD_INIT_RUNNER = 'run-scripts';

/**
 * Each instance's scripts in a folder of its own: Write Files only adds, so with one folder for all, the runner of
 * an edited context also ran the scripts the earlier context left there (the lab's cloud-init guest ran 01-report
 * and 02-second of its first context again beside the edited one's 01-edited). The runcmd removes the other
 * instances' folders (and the scripts and keys they hold) before the runner runs.
 */
function instanceDir(instanceId: string): string {
  return `${CLOUD_INIT_CONTEXT_DIR}/${instanceId}`;
}

export type CloudConfig = Record<string, unknown>;

/** Write Files takes `0644` as an octal string; the context allows `644` too. */
function permissions(mode: string): string {
  return mode.length === 3 ? `0${mode}` : mode;
}

function isRoot(name: string | undefined): boolean {
  return name === undefined || name === 'root' || name === '0';
}

/**
 * One Write Files entry: text as `content`; as base64 (`encoding: b64`) what the context gave in base64 (the
 * operator said binary, even where the bytes happen to be text) and anything that is not UTF-8.
 */
function writeFile(path: string, data: Buffer, mode: string, base64: boolean, owner = 'root', group?: string): Record<string, unknown> {
  const entry: Record<string, unknown> = { path };
  const text = data.toString('utf8');
  if (!base64 && Buffer.from(text, 'utf8').equals(data)) entry.content = text;
  else Object.assign(entry, { encoding: 'b64', content: data.toString('base64') });
  entry.owner = group === undefined ? owner : `${owner}:${group}`;
  entry.permissions = permissions(mode);
  if (!isRoot(owner) || !isRoot(group)) entry.defer = true;
  return entry;
}

function fileEntry(file: FileSpec): Record<string, unknown> {
  return writeFile(file.path, contentBytes(file), file.mode, file.contentBase64 !== undefined, file.owner, file.group);
}

/**
 * A dotted name goes as given in `hostname` too, not its first label: cloud-init 22.4 sets the host name once
 * before it reads user-data, from meta-data's local-hostname cut to its first label, and records it in
 * /var/lib/cloud/data/set-hostname; Set Hostname then sees the same hostname and fqdn as recorded and skips,
 * prefer_fqdn_over_hostname or not (the lab's Debian 12 cloud-init guest kept "ci-1" for ci-1.lab.example). A
 * `hostname` that differs from the recorded one is set, and is what /etc/hostname holds, as post-install writes it.
 */
function hostNameKeys(hostname: string): CloudConfig {
  if (!hostname.includes('.')) return { hostname, manage_etc_hosts: 'localhost' };
  return { hostname, fqdn: hostname, prefer_fqdn_over_hostname: true, manage_etc_hosts: 'localhost' };
}

/** Whether the runner has work: scripts to run, or an IP-from-MAC guest to name. */
function needsRunner(context: Context): boolean {
  return context.scripts.length > 0 || (context.network?.method === 'ip-from-mac' && context.hostname === undefined);
}

/** The runner and what it reads, as Write Files entries (root only: scripts may hold secrets). */
function runnerFiles(context: Context, instanceId: string): Array<Record<string, unknown>> {
  const files = [
    writeFile(`${instanceDir(instanceId)}/${CONTEXT_FILES.network}`, Buffer.from(networkFile(context, instanceId)), '0600', false),
    writeFile(`${instanceDir(instanceId)}/${CLOUD_INIT_RUNNER}`, Buffer.from(CLOUD_INIT_SCRIPTS_SH[0]), '0700', false),
  ];
  const width = Math.max(2, String(context.scripts.length).length);
  context.scripts.forEach((script, index) => {
    const path = `${instanceDir(instanceId)}/${CONTEXT_FOLDERS.scripts}/${String(index + 1).padStart(width, '0')}-${script.name}`;
    files.push(writeFile(path, contentBytes(script), '0700', script.contentBase64 !== undefined));
  });
  return files;
}

/** The cloud-config the context's fields give (no header), keys in the order cloud-init's modules run. */
export function userDataConfig(context: Context, instanceId: string): CloudConfig {
  const config: CloudConfig = {};
  if (context.hostname !== undefined) Object.assign(config, hostNameKeys(context.hostname));
  if (context.ssh !== undefined) {
    config.users = ['default', { name: context.ssh.user, ssh_authorized_keys: context.ssh.authorizedKeys }];
    config.disable_root = false;
  }
  const files = context.files.map(fileEntry);
  if (needsRunner(context)) files.push(...runnerFiles(context, instanceId));
  if (files.length > 0) config.write_files = files;
  if (needsRunner(context)) {
    const dir = instanceDir(instanceId);
    config.runcmd = [
      // Argument arrays: cloud-init runs them without a shell; the instance id is data to the sh -c below.
      ['sh', '-c', 'cd "$1" && for d in *; do [ "$d" = "$2" ] || rm -rf -- "$d"; done', 'sh', CLOUD_INIT_CONTEXT_DIR, instanceId],
      ['env', `VMCTX_CONTEXT_DIR=${dir}`, 'sh', `${dir}/${CLOUD_INIT_RUNNER}`],
    ];
  }
  return config;
}
