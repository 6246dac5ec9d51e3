/**
 * Dotted-quad IPv4 arithmetic, one copy for every package: guest-script checks a context's addresses and derives
 * the netmask, network and broadcast that Snooze's `common/network` spells out; the deployer counts a count
 * group's addresses up from the first and keeps them inside the network.
 */

/** Strict dotted quad: four decimal octets 0-255 without leading zeros (which some parsers read as octal). */
export const IPV4_PATTERN = /^(?:(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])$/;

export function isIpv4(text: string): boolean {
  return IPV4_PATTERN.test(text);
}

export function ipv4ToNumber(ip: string): number {
  return ip.split('.').reduce((acc, octet) => acc * 256 + Number(octet), 0);
}

export function numberToIpv4(value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join('.');
}

export function prefixToNetmask(prefix: number): string {
  return numberToIpv4(prefix === 0 ? 0 : 2 ** 32 - 2 ** (32 - prefix));
}

/** The prefix length of a contiguous netmask, or undefined if the mask has holes (255.0.255.0). */
export function netmaskToPrefix(mask: string): number | undefined {
  if (!isIpv4(mask)) return undefined;
  const value = ipv4ToNumber(mask);
  for (let prefix = 0; prefix <= 32; prefix += 1) {
    if (ipv4ToNumber(prefixToNetmask(prefix)) === value) return prefix;
  }
  return undefined;
}

export function networkAddress(ip: string, prefix: number): string {
  const size = 2 ** (32 - prefix);
  return numberToIpv4(Math.floor(ipv4ToNumber(ip) / size) * size);
}

/** The first and last address of the network of `ip`/`prefix`, as numbers. */
export function networkBounds(ip: string, prefix: number): [number, number] {
  const size = 2 ** (32 - prefix);
  const first = Math.floor(ipv4ToNumber(ip) / size) * size;
  return [first, first + size - 1];
}

export function broadcastAddress(ip: string, prefix: number): string {
  const size = 2 ** (32 - prefix);
  return numberToIpv4(Math.floor(ipv4ToNumber(ip) / size) * size + size - 1);
}

/** Whether `ip` lies in `network/prefix`. */
export function inSubnet(ip: string, network: string, prefix: number): boolean {
  return networkAddress(ip, prefix) === networkAddress(network, prefix);
}
