import { IP_IN_MAC_PREFIX } from '@vmctx/contract';
import { describe, expect, it } from 'vitest';
import { parseContext } from './context.js';
import { parseKeyValue } from './key-value.js';
import { DEFAULT_MAC_PREFIX, networkEntries, networkFile, routesFile } from './network-file.js';
import { NETWORK_KEYS } from './post-install.js';

describe('common/network', () => {
  it("writes Snooze's keys and ours for a static address", () => {
    const context = parseContext({
      hostname: 'web-1',
      network: { method: 'static', address: '192.168.122.17/24', gateway: '192.168.122.1', nameservers: ['192.168.122.1', '192.0.2.53'], search: ['a.org', 'b.org'], domain: 'a.org', mtu: 1400, mac: '52:54:00:AB:CD:EF' },
      ssh: { user: 'debian', authorizedKeys: ['ssh-ed25519 AAAA x'] },
    });
    expect(parseKeyValue(networkFile(context, 'id-1'))).toEqual({
      GATEWAY: '192.168.122.1',
      NETWORK: '192.168.122.0',
      BROADCAST: '192.168.122.255',
      NETMASK: '255.255.255.0',
      NAMESERVER: '192.168.122.1',
      DOMAIN: 'a.org',
      SEARCH: 'a.org b.org',
      METHOD: 'static',
      IP: '192.168.122.17',
      PREFIX: '24',
      NAMESERVERS: '192.168.122.1 192.0.2.53',
      MAC: '52:54:00:ab:cd:ef',
      MTU: '1400',
      HOSTNAME: 'web-1',
      SSH_USER: 'debian',
      INSTANCE_ID: 'id-1',
    });
  });

  it('leaves the address to the guest in IP-from-MAC mode, with the context CD contract\'s prefix by default', () => {
    const entries = networkEntries(parseContext({ network: { method: 'ip-from-mac', prefix: 16, gateway: '198.51.0.1' } }), 'x');
    expect(entries).toMatchObject({ METHOD: 'ip-from-mac', IP: '', NETWORK: '', NETMASK: '255.255.0.0', PREFIX: '16', MAC_PREFIX: '02:00', HOSTNAME_PREFIX: 'vm-' });
    expect(DEFAULT_MAC_PREFIX).toBe(IP_IN_MAC_PREFIX);
  });

  it('asks for DHCP when the context has no network', () => {
    expect(networkEntries(parseContext({}), 'x')).toEqual({ METHOD: 'dhcp', INSTANCE_ID: 'x' });
  });

  it('only writes keys post-install reads', () => {
    const all = parseContext({ hostname: 'h', network: { method: 'ip-from-mac', prefix: 24, interface: 'eth0', mac: '02:00:01:02:03:04', mtu: 1500 }, ssh: { authorizedKeys: ['ssh-rsa AAAA'] } });
    for (const key of Object.keys(networkEntries(all, 'x'))) expect(NETWORK_KEYS).toContain(key);
  });
});

describe('common/routes', () => {
  it('writes one ifupdown up line per route', () => {
    const context = parseContext({
      network: { method: 'static', address: '198.51.100.10/24', routes: [{ to: '203.0.113.0/24', via: '198.51.100.254' }, { to: 'default', via: '198.51.100.1', metric: 5 }, { to: '192.0.2.0/24' }] },
    });
    expect(routesFile(context)).toBe('up ip route add 203.0.113.0/24 via 198.51.100.254\nup ip route add default via 198.51.100.1 metric 5\nup ip route add 192.0.2.0/24\n');
    expect(routesFile(parseContext({}))).toBe('');
  });
});
