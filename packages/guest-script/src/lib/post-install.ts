/**
 * The `post-install` a generated CD carries. It is the same text for every context: all values come from the
 * data files next to it (common/network, common/routes, ssh/, files/, scripts/), so no context value is ever
 * pasted into shell code, and it checks each value again before using it (a hand-edited common/network gets
 * the same scrutiny as ours). It also reads Snooze's common/network (no IP: the address is in the MAC).
 *
 * Order: network (now with iproute2 or busybox `ip`, and persistently for ifupdown and systemd-networkd),
 * host name, resolv.conf, SSH keys, files, then the user's scripts with the network up.
 * Exit status 0 when the network and the host name were applied; otherwise 1, and the contextualization script
 * runs it again at next boot. A failing user script is reported, not retried.
 *
 * VMCTX_ROOT (tests only) prefixes every path in the guest's file system it reads or writes, so the script can
 * run on any machine with stub commands first in PATH.
 *
 * The script is sh/post-install.sh and the files it sources (one concern a file: checks, IPv4, the interface,
 * routes, ifupdown, systemd-networkd, the network, host name, DNS, SSH keys, files, user scripts), embedded by
 * scripts/embed-sh.mjs.
 */
import { POST_INSTALL_SH } from './sh.generated.js';

/** Every key post-install reads from common/network: Snooze's and ours (sh/post-install.sh clears and exports each). */
export const NETWORK_KEYS = [
  // Snooze's keys (context/common/network of snooze-deploy-grid5000).
  'GATEWAY',
  'NETWORK',
  'BROADCAST',
  'NETMASK',
  'NAMESERVER',
  'DOMAIN',
  'SEARCH',
  // Ours.
  'METHOD',
  'IP',
  'PREFIX',
  'IFACE',
  'MAC',
  'MAC_PREFIX',
  'MTU',
  'NAMESERVERS',
  'HOSTNAME',
  'HOSTNAME_PREFIX',
  'SSH_USER',
  'AUTHORIZED_KEYS',
  'INSTANCE_ID',
] as const;

/** The text of post-install: sh/post-install.sh and the files it sources. */
export function postInstallScript(): string {
  return POST_INSTALL_SH[0];
}
