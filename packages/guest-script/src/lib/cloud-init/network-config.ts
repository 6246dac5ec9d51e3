/**
 * The NoCloud `network-config` of a context: cloud-init's "Networking config Version 2", the subset of netplan's
 * format that cloud-init reads (cloud-init docs, Reference > Network configuration > Networking config Version 2;
 * netplan docs, YAML configuration, "Properties for all device types"). No top-level `network:` key: the NoCloud
 * page's own network-config example starts at `version: 2`.
 *
 * What each context field becomes, with its meaning in vmctx's script (post-install):
 * - the NIC: `mac` -> `match: {macaddress}` (any name, as find_iface); `interface` -> the ethernet's id is the
 *   name (netplan: an id without `match` is the interface name); neither -> `match: {name: 'e*'}` under the id
 *   `eth0`. cloud-init has no "first NIC": netplan configures every NIC whose name starts with `e` (on a VM with
 *   one NIC, that one), and cloud-init's other renderers take the id, eth0 (README: give `mac` or `interface`
 *   to a VM with several NICs);
 * - static: `addresses: [a.b.c.d/len]`, `gateway` -> a route to 0.0.0.0/0 (netplan deprecates gateway4; see
 *   DEFAULT_ROUTE for why not `to: default`);
 * - IP from MAC: one ethernet per member, `match: {macaddress}` and its address (the last four octets), and
 *   `set-name` where the context names the `interface` (today: that NIC, whose MAC gives the address);
 * - DHCP: `dhcp4: true`;
 * - `routes`: `to`, `via`, `metric`; a route without `via` is on the link: netplan's `scope: link`;
 * - `mtu`; `nameservers` -> `nameservers.addresses`; `search` (else `domain`: resolv.conf's last `domain` or
 *   `search` line wins, so today `search` wins over `domain`) -> `nameservers.search`.
 */
import { IP_IN_MAC_PREFIX } from '@vmctx/contract';
import type { Context, Network } from '../context.js';
import { GuestScriptError } from '../errors.js';

/** One netplan ethernet: the keys in the order they are written. */
export type Ethernet = Record<string, unknown>;

export interface NetworkConfigV2 {
  version: 2;
  ethernets: Record<string, Ethernet>;
}

/**
 * The default route's destination. netplan reads `default` and `0.0.0.0/0` alike, but cloud-init 22.4 (Debian 12's)
 * fails on `to: default` with every renderer but netplan ("Address default is not a valid ip address", seen with
 * `cloud-init devel net-convert -O sysconfig`): `0.0.0.0/0` is read by all.
 */
const DEFAULT_ROUTE = '0.0.0.0/0';

/** The address a member's MAC carries in its last four octets (template-renderer's ipv4FromMac). */
function memberAddress(mac: string, macPrefix: string, where: string): string {
  const octets = mac.toLowerCase().split(':');
  if (octets.slice(0, 2).join(':') !== macPrefix.toLowerCase()) {
    throw new GuestScriptError('GUEST_INVALID_CONTEXT', `${where}: ${mac} does not start with the group's MAC prefix ${macPrefix}: it carries no address`, where);
  }
  return octets.slice(2).map((octet) => String(parseInt(octet, 16))).join('.');
}

/** The keys every ethernet of this network shares: MTU, routes, name servers (netplan: in that order). */
function sharedKeys(net: Network): Ethernet {
  const shared: Ethernet = {};
  if (net.mtu !== undefined) shared.mtu = net.mtu;
  const routes: Array<Record<string, unknown>> = [];
  if (net.gateway !== undefined) routes.push({ to: DEFAULT_ROUTE, via: net.gateway });
  for (const route of net.routes) {
    const entry: Record<string, unknown> = { to: route.to === 'default' ? DEFAULT_ROUTE : route.to };
    if (route.via !== undefined) entry.via = route.via;
    else entry.scope = 'link';
    if (route.metric !== undefined) entry.metric = route.metric;
    routes.push(entry);
  }
  if (routes.length > 0) shared.routes = routes;
  const search = net.search.length > 0 ? net.search : net.domain !== undefined ? [net.domain] : [];
  if (net.nameservers.length > 0 || search.length > 0) {
    const nameservers: Record<string, string[]> = {};
    if (net.nameservers.length > 0) nameservers.addresses = net.nameservers;
    if (search.length > 0) nameservers.search = search;
    shared.nameservers = nameservers;
  }
  return shared;
}

/** The id and the match of the one NIC a static or DHCP context configures. */
function oneNic(net: Network): [string, Ethernet] {
  if (net.mac !== undefined) return ['vmctx0', { match: { macaddress: net.mac.toLowerCase() } }];
  if (net.interface !== undefined) return [net.interface, {}];
  return ['eth0', { match: { name: 'e*' } }];
}

function groupEthernets(net: Extract<Network, { method: 'ip-from-mac' }>, shared: Ethernet): Record<string, Ethernet> {
  if (net.members === undefined) {
    throw new GuestScriptError(
      'GUEST_INVALID_CONTEXT',
      'network.members: an IP-from-MAC context needs the MACs of its VMs for cloud-init, which cannot read an address from a MAC ' +
        '(list them under network.members, or write the CD for vmctx\'s script alone: --format snooze)',
      'network.members',
    );
  }
  if (net.mac !== undefined) {
    throw new GuestScriptError('GUEST_INVALID_CONTEXT', 'network.mac: an IP-from-MAC group names each NIC by its member MAC; drop network.mac', 'network.mac');
  }
  const prefix = net.macPrefix ?? IP_IN_MAC_PREFIX;
  const ethernets: Record<string, Ethernet> = {};
  net.members.forEach((mac, index) => {
    const where = `network.members[${index}]`;
    const ethernet: Ethernet = { match: { macaddress: mac.toLowerCase() } };
    if (net.interface !== undefined) ethernet['set-name'] = net.interface;
    ethernet.addresses = [`${memberAddress(mac, prefix, where)}/${net.prefix}`];
    ethernets[`member${index}`] = { ...ethernet, ...shared };
  });
  return ethernets;
}

/**
 * The network-config of a context, or undefined when it has no `network`: cloud-init then applies its fallback,
 * DHCP on the first NIC, which is vmctx's meaning of a context without a network.
 */
export function networkConfig(context: Context): NetworkConfigV2 | undefined {
  const net = context.network;
  if (net === undefined) return undefined;
  const shared = sharedKeys(net);
  if (net.method === 'ip-from-mac') return { version: 2, ethernets: groupEthernets(net, shared) };
  const [id, ethernet] = oneNic(net);
  if (net.method === 'static') ethernet.addresses = [net.address];
  else ethernet.dhcp4 = true;
  return { version: 2, ethernets: { [id]: { ...ethernet, ...shared } } };
}
