/**
 * `common/network` and `common/routes` of a context, in Snooze's formats so that its own post-install could read
 * them too: KEY='value' lines (via key-value.ts, always single-quoted) and ifupdown `up` lines.
 */
import { broadcastAddress, IP_IN_MAC_PREFIX, networkAddress, prefixToNetmask } from '@vmctx/contract';
import type { Context } from './context.js';
import { formatKeyValue } from './key-value.js';

/** The context CD contract's IP-in-MAC prefix (OpenNebula's MAC_PREFIX), the one template-renderer writes. */
export const DEFAULT_MAC_PREFIX = IP_IN_MAC_PREFIX;

/** The KEY=VALUE entries of `common/network` (Snooze's keys first, then ours), for a context and its id. */
export function networkEntries(context: Context, instanceId: string): Record<string, string> {
  const net = context.network;
  const entries: Record<string, string> = {};
  if (net === undefined) {
    entries.METHOD = 'dhcp';
  } else {
    let ip = '';
    let prefix: number | undefined;
    if (net.method === 'static') {
      const [address, length] = net.address.split('/') as [string, string];
      ip = address;
      prefix = Number(length);
    } else if (net.method === 'ip-from-mac') {
      prefix = net.prefix;
    }
    // Snooze's keys. NETWORK and BROADCAST need the address, which IP-from-MAC guests only learn from their MAC.
    entries.GATEWAY = net.gateway ?? '';
    entries.NETWORK = ip !== '' && prefix !== undefined ? networkAddress(ip, prefix) : '';
    entries.BROADCAST = ip !== '' && prefix !== undefined ? broadcastAddress(ip, prefix) : '';
    entries.NETMASK = prefix !== undefined ? prefixToNetmask(prefix) : '';
    entries.NAMESERVER = net.nameservers[0] ?? '';
    entries.DOMAIN = net.domain ?? '';
    entries.SEARCH = net.search.join(' ');
    // Ours.
    entries.METHOD = net.method;
    entries.IP = ip;
    entries.PREFIX = prefix !== undefined ? String(prefix) : '';
    entries.NAMESERVERS = net.nameservers.join(' ');
    if (net.interface !== undefined) entries.IFACE = net.interface;
    if (net.mac !== undefined) entries.MAC = net.mac.toLowerCase();
    if (net.mtu !== undefined) entries.MTU = String(net.mtu);
    if (net.method === 'ip-from-mac') {
      entries.MAC_PREFIX = (net.macPrefix ?? DEFAULT_MAC_PREFIX).toLowerCase();
      entries.HOSTNAME_PREFIX = net.hostnamePrefix;
    }
  }
  if (context.hostname !== undefined) entries.HOSTNAME = context.hostname;
  if (context.ssh !== undefined) entries.SSH_USER = context.ssh.user;
  entries.INSTANCE_ID = instanceId;
  return entries;
}

export function networkFile(context: Context, instanceId: string): string {
  return `# vmctx context: sourced by post-install (Snooze's keys, then vmctx's).\n${formatKeyValue(networkEntries(context, instanceId))}`;
}

/**
 * `common/routes`: one ifupdown `up` line per route, as Snooze pastes them into /etc/network/interfaces.
 * No `dev`: the interface is only known in the guest (post-install adds it).
 */
export function routesFile(context: Context): string {
  const routes = context.network?.routes ?? [];
  const lines = routes.map((route) => {
    const words = ['up', 'ip', 'route', 'add', route.to];
    if (route.via !== undefined) words.push('via', route.via);
    if (route.metric !== undefined) words.push('metric', String(route.metric));
    return `${words.join(' ')}\n`;
  });
  return lines.join('');
}
