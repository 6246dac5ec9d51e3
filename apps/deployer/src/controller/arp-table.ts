/**
 * The controller's ARP table (/proc/net/arp), for the address of a guest on a bridge whose DHCP server is not
 * libvirt's: the table maps each neighbour's MAC to the IPv4 address it answered from. libvirt reads the same
 * table for `virsh domifaddr --source arp`, but libvirt 9.0 (Debian 12) fails on it on recent kernels ("internal
 * error: wrong nlmsg len", seen on the lab), so the table is read as the kernel prints it. A guest the controller
 * has not exchanged a packet with lately is not in it: the address is then unknown, not wrong.
 */
import type { RemoteCommands } from './command-batch.js';

/** Lowercase MAC to IPv4 address, complete entries only (ATF_COM, flag 0x2, in linux/if_arp.h). */
export async function arpTable(connection: RemoteCommands): Promise<Map<string, string>> {
  const table = new Map<string, string>();
  const result = await connection.exec(['cat', '/proc/net/arp']);
  if (result.code !== 0) return table;
  // "IP address  HW type  Flags  HW address  Mask  Device", one neighbour per line after the header.
  for (const line of result.stdout.split('\n').slice(1)) {
    const [ip, , flags, mac] = line.trim().split(/\s+/);
    if (!ip || !mac || !/^\d{1,3}(\.\d{1,3}){3}$/.test(ip) || !/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/i.test(mac)) continue;
    if ((Number.parseInt(flags ?? '0', 16) & 0x2) === 0) continue;
    table.set(mac.toLowerCase(), ip);
  }
  return table;
}
