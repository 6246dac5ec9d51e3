/**
 * The deployment as the rest of the deployer sees it, after the file was read, checked, its paths resolved
 * against the file's folder, its defaults applied and its `count` groups expanded. Every value is final:
 * nothing downstream reads the file again or guesses a default.
 */
import type { ContextInput } from '@vmctx/guest-script';
import type { DomainSpecInput } from '@vmctx/template-renderer';

export interface Deployment {
  /** The deployment's name: the file's `name:`, else the file's base name without extension. Owns the domains. */
  name: string;
  /**
   * What tells it from another deployment file of the same name (deploy/deployment-id.ts), kept beside the file;
   * absent until its first deploy. Set by the commands, not by the loader.
   */
  id?: string;
  /** The file it came from, absolute. */
  file: string;
  controllers: ControllerConfig[];
  images: ImageConfig[];
  /** Expanded: one entry per VM, groups already numbered `name-1`, `name-2`, ... */
  vms: VmConfig[];
  /**
   * Folders on the controllers (absolute, normalised) whose files a domain may name, besides each controller's
   * imageDir and /var/lib/libvirt/images (`hostPaths:`; config/host-paths.ts).
   */
  hostPaths: string[];
  /** `trustTemplates: true`: host paths outside those folders and root powers are warned about, not refused. */
  trustTemplates: boolean;
}

export interface ControllerConfig {
  name: string;
  /** Host name, address, or an alias of ~/.ssh/config (already resolved into host/port/user/identity). */
  host: string;
  port: number;
  user: string;
  /** Absolute; absent: ssh-agent ($SSH_AUTH_SOCK), then ~/.ssh/id_ed25519, id_ecdsa, id_rsa. */
  identityFile?: string;
  /**
   * Absolute; default ~/.ssh/known_hosts. The user's known_hosts file: the deployment file's `knownHosts`, else the
   * first of the ssh config's UserKnownHostsFile. Read first, and the one `--accept-new` writes.
   */
  knownHosts: string;
  /** The other files of UserKnownHostsFile, absolute: read after knownHosts, never written. */
  moreKnownHosts?: string[];
  /** The ssh config's GlobalKnownHostsFile, absolute; absent: ssh's (/etc/ssh/ssh_known_hosts, ssh_known_hosts2). */
  globalKnownHosts?: string[];
  /** Absolute path on the controller where base images, overlays and ISOs go. */
  imageDir: string;
  /** `user@host:port` of a jump host (ssh_config's ProxyJump), one hop. */
  proxyJump?: { host: string; port: number; user: string; identityFile?: string };
  /** Uploads gzipped on the wire: `auto` (absent) where the link is slow (controller/frame-compression.ts). */
  compression?: 'auto' | 'on' | 'off';
  /** Where in the file this controller was declared, for messages: `controllers[1]`. */
  where: string;
}

/**
 * A base image: a local file (`path`), or a file fetched by URL (`url` and `sha256`, `path` empty).
 *
 * A URL image has no path here because where its file lands depends on the artifact cache the command uses
 * (`--cache`), which the deployment file does not know: the build fetches it (artifacts/fetch-image.ts) into
 * `<cache>/objects/<sha256>.img` and gives that path as the base artifact's `localPath`. Code after the build
 * reads `VmArtifacts.base.localPath`, never `ImageConfig.path`.
 */
export interface ImageConfig {
  name: string;
  /** Local file, absolute; empty for a URL image. */
  path: string;
  /** An http(s) URL, when the image is fetched; then sha256 is set too. */
  url?: string;
  /** The sha256 (lowercase hex) the fetched file must have; set with url. */
  sha256?: string;
  /** `controller`: each controller fetches the URL itself (controller/fetch.ts); absent: fetched here, then uploaded. */
  fetch?: 'controller';
  where: string;
}

/** How a VM gets its context. */
export type VmContext =
  /** Built by vmctx: guest-script's context (inline, or read from a context YAML). */
  | { kind: 'context'; context: ContextInput; source: string }
  /** A Snooze-style `context/` folder (holding post-install), put on the ISO as it is. Absolute path. */
  | { kind: 'folder'; path: string }
  /** A context ISO already on the controller (Snooze's shared ISO): checked, not built. */
  | { kind: 'remote-iso'; path: string }
  /** No context CD: the guest falls back to DHCP. */
  | { kind: 'none' };

export type VmTemplate =
  /** A native libvirt template, absolute local path; template-renderer imports and rewrites it. */
  | { kind: 'native'; path: string }
  /** template-renderer's spec form, inline. Name, disks, context and bridge are filled in by the deployer. */
  | { kind: 'spec'; spec: DomainSpecInput };

export interface VmConfig {
  /** The domain's name on the controller. */
  name: string;
  controller: string;
  image: string;
  template: VmTemplate;
  /** The bridge of every bridged interface. Absent: the template's own. */
  bridge?: string;
  /** A libvirt network instead of a bridge (`<interface type='network'>`). */
  network?: string;
  context: VmContext;
  /** Fixed MAC of the first NIC. Set for IP-from-MAC VMs from their address; else derived from (deployment, name). */
  mac?: string;
  /** The IPv4 address this VM is given by IP-from-MAC (its MAC encodes it), when the context is `ip-from-mac`. */
  address?: string;
  /** `qemu` (TCG) where KVM is not usable; absent: the template's. */
  domainType?: 'kvm' | 'qemu';
  /** How the context ISO is attached. */
  isoMode: 'cdrom' | 'disk';
  /** The layouts of a built context CD (`isoFormat`): both (the default), cloud-init's seed, or Snooze's; snooze for a folder. */
  isoFormat: 'both' | 'cloud-init' | 'snooze';
  /** The volume label of a built context CD (`isoLabel`); absent: cidata for a CD with the seed, CONTEXT otherwise. */
  isoLabel?: string;
  /**
   * `restart:` what deploy does with a running VM whose update needs a restart to be taken whole (a new maximum,
   * the machine type...): `when-needed` shuts it down and starts it; `never` (absent) leaves it running, and the
   * report says what still waits for a restart.
   */
  restart?: 'never' | 'when-needed';
  /** Where in the file this VM was declared: `vms[2]` or `vms[2] (web-3 of count 4)`. */
  where: string;
}
