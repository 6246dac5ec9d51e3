import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { broadcastAddress, inSubnet, ipv4ToNumber, isIpv4, netmaskToPrefix, networkAddress, networkBounds, numberToIpv4, prefixToNetmask } from './ipv4.js';

describe('ipv4', () => {
  it('spells out what Snooze writes', () => {
    expect(prefixToNetmask(24)).toBe('255.255.255.0');
    expect(prefixToNetmask(0)).toBe('0.0.0.0');
    expect(prefixToNetmask(32)).toBe('255.255.255.255');
    expect(networkAddress('192.168.122.17', 24)).toBe('192.168.122.0');
    expect(broadcastAddress('192.168.122.17', 24)).toBe('192.168.122.255');
    expect(broadcastAddress('198.51.100.10', 25)).toBe('198.51.100.127');
    expect(inSubnet('198.51.100.1', '198.51.100.10', 24)).toBe(true);
    expect(inSubnet('198.51.101.1', '198.51.100.10', 24)).toBe(false);
  });

  it('reads contiguous netmasks only', () => {
    expect(netmaskToPrefix('255.255.254.0')).toBe(23);
    expect(netmaskToPrefix('255.0.255.0')).toBeUndefined();
    expect(netmaskToPrefix('nonsense')).toBeUndefined();
  });

  it('refuses what is not a strict dotted quad', () => {
    for (const bad of ['1.2.3', '1.2.3.4.5', '256.1.1.1', '01.2.3.4', '1.2.3.4 ', '1.2.3.-4', '']) expect(isIpv4(bad)).toBe(false);
  });

  it('turns every prefix into a mask and back', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 32 }), (prefix) => netmaskToPrefix(prefixToNetmask(prefix)) === prefix));
  });

  it('puts every address between its network and broadcast addresses', () => {
    fc.assert(
      fc.property(fc.ipV4(), fc.integer({ min: 0, max: 32 }), (ip, prefix) => {
        const n = (s: string) => s.split('.').reduce((a, o) => a * 256 + Number(o), 0);
        return n(networkAddress(ip, prefix)) <= n(ip) && n(ip) <= n(broadcastAddress(ip, prefix));
      }),
    );
  });
});

describe('ipv4 numbers, for counting addresses up', () => {
  it('turns an address into its number and back, and bounds its network', () => {
    expect(ipv4ToNumber('198.51.100.10')).toBe(0xc633640a);
    expect(numberToIpv4(0xc633640a)).toBe('198.51.100.10');
    expect(networkBounds('198.51.100.10', 24).map(numberToIpv4)).toEqual(['198.51.100.0', '198.51.100.255']);
    expect(networkBounds('10.1.2.3', 0)).toEqual([0, 2 ** 32 - 1]);
    fc.assert(fc.property(fc.ipV4(), (ip) => numberToIpv4(ipv4ToNumber(ip)) === ip));
  });
});
