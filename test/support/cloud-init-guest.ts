/**
 * The contexts the lab's stock cloud-init guest (issue 20; tools/lab/guests/cloud-init.sh: Debian 12 built as
 * genericcloud is, netplan + systemd-networkd + systemd-resolved + cloud-init, nothing of vmctx) is deployed with in
 * deployer-distro, and what cloud-init prints when it is done. Three boots on one disk answer every case (each about
 * 45-150 s under TCG, so as few as possible):
 *   boot 1  the static context (address, MTU, routes with a metric, DNS, host name, key, files, two scripts): applied;
 *   boot 2  the same CD after a power-off: cloud-init sees the same instance id and applies nothing again;
 *   boot 3  an edited context (no instanceId: its hash changes): applied again at this boot, and as its network is
 *           DHCP, the lease from the controller's dnsmasq is the DHCP case too.
 */
import type { ContextInput } from '@vmctx/guest-script';
import { labStaticNetwork } from './lab-contexts.js';

/** What cloud-init prints at the end of its last stage, with the NoCloud CD it read (cc_final_message). */
export const CLOUD_FINISHED = /Cloud-init v\. \S+ finished at [^\n]*Datasource DataSourceNoCloud \[seed=\/dev\/sr0\]/;

/** Boot 1's context: every kind of network line, two files (one secret), two scripts whose order matters. */
export function cloudStaticContext(hostname: string, address: string, key: string): ContextInput {
  return {
    hostname,
    network: labStaticNetwork(`${address}/24`),
    ssh: { authorizedKeys: [key] },
    files: [
      { path: '/etc/distro-motd', content: 'configured by vmctx\n', mode: '0644' },
      { path: '/etc/distro/secret', content: 'secret\n', mode: '0600' },
    ],
    scripts: [
      { name: 'report', content: '#!/bin/sh\necho "DISTRO-SCRIPT ip=$VMCTX_IP iface=$VMCTX_INTERFACE host=$(hostname)" >/dev/console\necho first >/run/distro-first\n' },
      // The context's order: this one sees what the first wrote.
      { name: 'second', content: '#!/bin/sh\necho "DISTRO-SCRIPT-2 after=$(cat /run/distro-first)" >/dev/console\n' },
    ],
  };
}

/** Boot 3's context, the first edited: another host name, DHCP, another file content, another script. */
export function cloudEditedContext(hostname: string, key: string): ContextInput {
  return {
    hostname,
    network: { method: 'dhcp' },
    ssh: { authorizedKeys: [key] },
    files: [{ path: '/etc/distro-motd', content: 'edited by vmctx\n', mode: '0644' }],
    scripts: [{ name: 'edited', content: '#!/bin/sh\necho "DISTRO-EDITED host=$(hostname)" >/dev/console\n' }],
  };
}
