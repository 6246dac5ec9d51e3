/**
 * The IPv4 arithmetic a count group needs (its members' addresses counted up from the first). guest-script has
 * the same helpers in its lib/ipv4.ts but does not export them; this stays this small until it does.
 */
export function ipv4ToNumber(ip: string): number {
  return ip.split('.').reduce((acc, octet) => acc * 256 + Number(octet), 0);
}

export function numberToIpv4(value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join('.');
}

/** The first and last address of the network of `ip`/`prefix`. */
export function networkBounds(ip: string, prefix: number): [number, number] {
  const size = 2 ** (32 - prefix);
  const first = Math.floor(ipv4ToNumber(ip) / size) * size;
  return [first, first + size - 1];
}
