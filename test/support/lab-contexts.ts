/**
 * Contexts the guest suites (guest-script on the busybox guest, guest-distros on the Debian guests) boot alike, so
 * that both check one meaning of "a static context" and "a CD without post-install" on the lab's network.
 */
import type { ContextInput, FileMap } from '@vmctx/guest-script';

/**
 * A static network on the lab's bridge (198.51.100.1 is the controller's end): an MTU other than 1500, a route
 * without and one with a metric, two name servers, a search list and a domain, so every kind of line is written.
 */
export function labStaticNetwork(address: string): NonNullable<ContextInput['network']> {
  return {
    method: 'static',
    address,
    gateway: '198.51.100.1',
    mtu: 1400,
    routes: [{ to: '203.0.113.0/24', via: '198.51.100.1' }, { to: '192.0.2.0/25', via: '198.51.100.1', metric: 7 }],
    nameservers: ['198.51.100.1', '198.51.100.2'],
    search: ['lab.example'],
    domain: 'lab.example',
  };
}

/** A context CD without post-install (a Snooze-style CD missing its script): the guest falls back to DHCP. */
export const NO_POST_INSTALL_CD: FileMap = {
  'common/network': { data: "GATEWAY='198.51.100.1'\n", mode: 0o444 },
  README: { data: 'no post-install here\n', mode: 0o444 },
};
