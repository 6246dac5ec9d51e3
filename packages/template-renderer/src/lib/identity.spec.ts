import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  deriveIdentity,
  deriveMac,
  deriveUuid,
  ipv4FromMac,
  isLocallyAdministeredMac,
  isMulticastMac,
  macFromIpv4,
  normalizeMac,
  uuidV5,
  VMCTX_UUID_NAMESPACE,
} from './identity.js';

const NS_DNS = '6ba7b810-9dad-11d1-80b4-00c04fd430c8';
const NS_URL = '6ba7b811-9dad-11d1-80b4-00c04fd430c8';

describe('uuidV5', () => {
  it('matches the RFC 9562 appendix A.4 test vector', () => {
    expect(uuidV5(NS_DNS, 'www.example.com')).toBe('2ed6657d-e927-568b-95e1-2665a8aea6a2');
  });
  it('our name space is the v5 UUID of urn:vmctx:domain', () => {
    expect(uuidV5(NS_URL, 'urn:vmctx:domain')).toBe(VMCTX_UUID_NAMESPACE);
  });
});

describe('deriveUuid', () => {
  it('is stable across calls and differs per VM and per deployment', () => {
    const a = deriveUuid('lab', 'debian1');
    expect(deriveUuid('lab', 'debian1')).toBe(a);
    expect(deriveUuid('lab', 'debian2')).not.toBe(a);
    expect(deriveUuid('prod', 'debian1')).not.toBe(a);
    expect(a).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
  it('cannot be confused by a separator inside the names', () => {
    expect(deriveUuid('a/b', 'c')).not.toBe(deriveUuid('a', 'b/c'));
  });
  it('refuses empty names', () => {
    expect(() => deriveUuid('', 'x')).toThrow(expect.objectContaining({ code: 'TEMPLATE_INVALID_IDENTITY' }));
    expect(() => deriveUuid('x', '')).toThrow(/VM name is empty/);
  });
});

describe('deriveMac', () => {
  it('is unicast and locally administered, stable, and per NIC', () => {
    const m0 = deriveMac('lab', 'debian1');
    expect(m0).toMatch(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
    expect(isMulticastMac(m0)).toBe(false);
    expect(isLocallyAdministeredMac(m0)).toBe(true);
    expect(deriveMac('lab', 'debian1', { nic: 0 })).toBe(m0);
    expect(deriveMac('lab', 'debian1', { nic: 1 })).not.toBe(m0);
  });
  it('uses 52:54:00 in the qemu scheme', () => {
    expect(deriveMac('lab', 'debian1', { scheme: 'qemu' })).toMatch(/^52:54:00:/);
  });
  it('refuses a negative NIC index', () => {
    expect(() => deriveMac('lab', 'x', { nic: -1 })).toThrow(/NIC index -1/);
  });
  it('property: any names give a unicast, locally administered MAC', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), fc.string({ minLength: 1 }), fc.nat(16), (d, n, nic) => {
        const mac = deriveMac(d, n, { nic });
        return !isMulticastMac(mac) && isLocallyAdministeredMac(mac);
      }),
    );
  });
  it('gives 2000 VMs 2000 distinct MACs and UUIDs', () => {
    const ids = Array.from({ length: 2000 }, (_, i) => deriveIdentity('big', `vm${i}`, 2));
    expect(new Set(ids.flatMap((id) => id.macs)).size).toBe(4000);
    expect(new Set(ids.map((id) => id.uuid)).size).toBe(2000);
  });
});

describe('IP-in-MAC', () => {
  it('puts the address in the last four octets, zero padded', () => {
    expect(macFromIpv4('198.51.100.11')).toBe('02:00:c6:33:64:0b');
    expect(macFromIpv4('192.168.122.11', '54:56')).toBe('54:56:c0:a8:7a:0b');
  });
  it('decodes what it encodes, and Snooze\'s unpadded MACs too', () => {
    expect(ipv4FromMac('02:00:c6:33:64:0b')).toBe('198.51.100.11');
    expect(ipv4FromMac('54:56:c0:a8:7a:b')).toBe('192.168.122.11');
  });
  it('property: decode(encode(ip)) = ip', () => {
    fc.assert(
      fc.property(fc.ipV4(), (ip) => ipv4FromMac(macFromIpv4(ip)) === ip),
    );
  });
  it('refuses bad addresses and a multicast prefix', () => {
    expect(() => macFromIpv4('256.1.1.1')).toThrow(expect.objectContaining({ code: 'TEMPLATE_INVALID_IPV4' }));
    expect(() => macFromIpv4('1.2.3')).toThrow(/not a dotted-quad/);
    expect(() => macFromIpv4('1.2.3.4', '01:00')).toThrow(/multicast/);
    expect(() => macFromIpv4('1.2.3.4', '0200')).toThrow(/prefix/);
    expect(() => ipv4FromMac('nonsense')).toThrow(expect.objectContaining({ code: 'TEMPLATE_INVALID_MAC' }));
  });
});

describe('normalizeMac', () => {
  it('lower-cases and pads', () => {
    expect(normalizeMac('00:16:c0:A8:7a:1')).toBe('00:16:c0:a8:7a:01');
  });
  it.each(['', '00:16:c0:a8:7a', '00-16-c0-a8-7a-11', 'zz:16:c0:a8:7a:11', '001:16:c0:a8:7a:11'])('refuses %j', (s) => {
    expect(() => normalizeMac(s)).toThrow(expect.objectContaining({ code: 'TEMPLATE_INVALID_MAC' }));
  });
});
