/**
 * Network interfaces: each MAC (malformed, multicast, from a vendor range; kept in the facts for the checks across
 * domains) and each bridge (missing, empty, or a name no Linux interface has).
 */
import { isLocallyAdministeredMac, macProblem, normalizeMac, parseMacOctets } from '../identity.js';
import { bridgeNameSchema } from '../spec.js';
import { elements, firstElement, getAttr, type XmlElement } from '../xml-tree.js';
import type { Emit, Facts } from './emit.js';

/** Every `<interface>`: its MAC and, for a bridged one, its bridge. */
export function lintInterfaces(devices: XmlElement, emit: Emit, facts: Facts): void {
  elements(devices, 'interface').forEach((nic, i) => {
    const path = `/domain/devices/interface[${i + 1}]`;
    const macEl = firstElement(nic, 'mac');
    const address = macEl ? getAttr(macEl, 'address') : undefined;
    if (address !== undefined) {
      const problem = macProblem(address);
      if (problem?.startsWith('unable')) {
        emit('malformed-mac', `${path}/mac`, `MAC ${JSON.stringify(address)} is not six hex octets`, `XML error: ${problem}`, 'define');
      } else if (problem) {
        emit('multicast-mac', `${path}/mac`, `MAC ${address} has the group bit (bit 0 of the first octet) set`, `XML error: ${problem}`, 'define');
      } else {
        const mac = normalizeMac(address);
        facts.macs.push({ mac, path: `${path}/mac` });
        if (!isLocallyAdministeredMac(mac) && !mac.startsWith('52:54:00:')) {
          const oui = parseMacOctets(mac)!.slice(0, 3).map((o) => o.toString(16).padStart(2, '0')).join(':');
          emit('mac-not-local', `${path}/mac`, `MAC ${mac} is in vendor range ${oui}, which a real NIC on the network may use`, undefined, 'never');
        }
      }
    }
    if (getAttr(nic, 'type') === 'bridge') {
      const source = firstElement(nic, 'source');
      const bridge = source ? getAttr(source, 'bridge') : undefined;
      if (!source) {
        emit('empty-bridge', path, "interface type='bridge' has no <source>", "XML error: interface type='bridge' requires a 'source' element", 'define');
      } else if (bridge === undefined) {
        emit('empty-bridge', `${path}/source`, "interface type='bridge' has no bridge", "XML error: Missing required attribute 'bridge' in element 'source'", 'define');
      } else if (bridge.trim() === '') {
        emit('empty-bridge', `${path}/source`, 'the bridge name is empty: virsh define accepts it, virsh start cannot plug the NIC anywhere', undefined, 'start');
      } else {
        // The rule a spec's bridge and import's --bridge follow (spec.ts bridgeNameSchema).
        const result = bridgeNameSchema.safeParse(bridge);
        if (!result.success) {
          emit('invalid-bridge-name', `${path}/source`, `bridge ${JSON.stringify(bridge)}: ${result.error.issues[0]!.message}; virsh define takes it, virsh start finds no such interface`, undefined, 'start');
        }
      }
    }
  });
}
