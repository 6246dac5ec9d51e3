/**
 * Checks across domains: the domains of one deployment against each other, and each against the domains libvirt
 * already has (a name, uuid or MAC used twice).
 */
import { parseMacOctets } from '../identity.js';
import type { LintFinding } from './catalogue.js';
import { emitter, type Facts } from './emit.js';

/** A domain libvirt already has (from `virsh list --all` / `dumpxml`), to check new ones against. */
export interface ExistingDomain {
  name: string;
  uuid?: string;
  macs?: string[];
}

/** Names, uuids and MACs used twice: within the set, and against the existing domains. */
export function lintTogether(all: Facts[], existing: readonly ExistingDomain[], findings: LintFinding[]): void {
  const byName = new Map<string, Facts>();
  const byUuid = new Map<string, Facts>();
  const byMac = new Map<string, { label: string; path: string }>();
  for (const f of all) {
    const emit = emitter(findings, f.label);
    if (f.name !== undefined) {
      const first = byName.get(f.name);
      if (first) {
        const sameUuid = f.uuid !== undefined && f.uuid === first.uuid;
        emit(
          'duplicate-name',
          '/domain/name',
          sameUuid
            ? `${first.label} is also named ${f.name}, with the same uuid: the second definition silently replaces the first`
            : `${first.label} is also named ${f.name}`,
          // Without a uuid of its own the second gets a random one from libvirt: refused all the same.
          !sameUuid && first.uuid !== undefined ? `operation failed: domain '${f.name}' already exists with uuid ${formatUuid(first.uuid)}` : undefined,
          sameUuid ? 'never' : 'define',
        );
      } else {
        byName.set(f.name, f);
      }
    }
    if (f.uuid !== undefined) {
      const first = byUuid.get(f.uuid);
      if (first && first.name !== f.name) {
        emit('duplicate-uuid', '/domain/uuid', `${first.label} (${first.name ?? '?'}) has the same uuid`, `operation failed: domain '${first.name ?? ''}' is already defined with uuid ${formatUuid(f.uuid)}`, 'define');
      } else if (!first) {
        byUuid.set(f.uuid, f);
      }
    }
    for (const { mac, path } of f.macs) {
      const first = byMac.get(mac);
      if (first) {
        emit('duplicate-mac', path, `MAC ${mac} is also used by ${first.label === f.label ? 'another NIC of this domain' : first.label} (${first.path}); on one bridge the two NICs steal each other's frames`, undefined, 'never');
      } else {
        byMac.set(mac, { label: f.label, path });
      }
    }
    for (const other of existing) {
      const otherUuid = other.uuid?.replace(/-/g, '').toLowerCase();
      if (f.name !== undefined && other.name === f.name && otherUuid !== f.uuid) {
        emit(
          'duplicate-name',
          '/domain/name',
          `a domain named ${f.name} already exists${otherUuid ? ` with another uuid` : ''}`,
          otherUuid ? `operation failed: domain '${f.name}' already exists with uuid ${formatUuid(otherUuid)}` : undefined,
          'define',
        );
      }
      if (f.uuid !== undefined && otherUuid === f.uuid && other.name !== f.name) {
        emit('duplicate-uuid', '/domain/uuid', `existing domain ${other.name} has the same uuid`, `operation failed: domain '${other.name}' is already defined with uuid ${formatUuid(f.uuid)}`, 'define');
      }
      if (other.name !== f.name) {
        for (const { mac, path } of f.macs) {
          if ((other.macs ?? []).some((m) => parseMacOctets(m)?.join() === parseMacOctets(mac)?.join())) {
            emit('duplicate-mac', path, `MAC ${mac} is already used by existing domain ${other.name}`, undefined, 'never');
          }
        }
      }
    }
  }
}

function formatUuid(hex32: string): string {
  return `${hex32.slice(0, 8)}-${hex32.slice(8, 12)}-${hex32.slice(12, 16)}-${hex32.slice(16, 20)}-${hex32.slice(20)}`;
}
