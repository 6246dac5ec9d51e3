/**
 * From the VM entries as written to one draft per VM: `defaults:` applied and `count` groups numbered. Each
 * field remembers where it came from (`vms[2].image` or `defaults.image`), so that a problem with a value
 * points at the line that wrote it.
 */
import { ipv4ToNumber, numberToIpv4 } from '@vmctx/contract';
import type { Path, Problems } from './problems.js';
import { EXCLUSIVE, VM_FIELDS, type DefaultsEntry, type VmEntry, type VmField } from './schema.js';

export type VmFields = Omit<VmEntry, 'name' | 'count' | 'address' | 'mac'>;

export interface VmDraft {
  /** Index in `vms`. */
  index: number;
  /** Its place in a count group; absent for a single VM. */
  member?: { n: number; count: number };
  name: string;
  fields: VmFields;
  /** Where each given field was written. */
  origin: Partial<Record<VmField, Path>>;
  address?: string;
  mac?: string;
}

/** The placeholder of a group's number in its name: `web-{n}`. */
const PLACEHOLDER = '{n}';

export function expandVms(entries: VmEntry[], defaults: DefaultsEntry | undefined, problems: Problems): VmDraft[] {
  return entries.flatMap((entry, index) => {
    const { fields, origin } = withDefaults(entry, index, defaults);
    const count = entry.count;
    if (count === undefined) {
      if (entry.name.includes(PLACEHOLDER)) problems.add(['vms', index, 'name'], `"${entry.name}" holds ${PLACEHOLDER} but the VM has no count`);
      return [{ index, name: entry.name, fields, origin, ...pick(entry) }];
    }
    if (entry.mac !== undefined && count > 1) {
      problems.add(['vms', index, 'mac'], `one fixed MAC cannot serve the ${count} VMs of a count group; give address (IP-from-MAC) or leave mac out`);
    }
    const first = entry.address === undefined ? undefined : ipv4ToNumber(entry.address);
    if (first !== undefined && first + count - 1 > 2 ** 32 - 1) {
      problems.add(['vms', index, 'address'], `${count} addresses from ${entry.address} run past 255.255.255.255`);
    }
    return Array.from({ length: count }, (_, k) => {
      const n = k + 1;
      const name = entry.name.includes(PLACEHOLDER) ? entry.name.split(PLACEHOLDER).join(String(n)) : `${entry.name}-${n}`;
      const address = first === undefined ? undefined : numberToIpv4((first + k) % 2 ** 32);
      return {
        index,
        member: { n, count },
        name,
        fields,
        origin,
        ...(address === undefined ? {} : { address }),
        ...(entry.mac === undefined ? {} : { mac: entry.mac }),
      };
    });
  });
}

function pick(entry: VmEntry): { address?: string; mac?: string } {
  return { ...(entry.address === undefined ? {} : { address: entry.address }), ...(entry.mac === undefined ? {} : { mac: entry.mac }) };
}

/**
 * A VM's own field wins; a field it leaves out comes from the defaults, unless the VM chose the other one of an
 * exclusive pair (a VM with `spec` does not inherit the defaults' `template`).
 */
function withDefaults(entry: VmEntry, index: number, defaults: DefaultsEntry | undefined): { fields: VmFields; origin: Partial<Record<VmField, Path>> } {
  const fields: Record<string, unknown> = {};
  const origin: Partial<Record<VmField, Path>> = {};
  for (const field of VM_FIELDS) {
    if (entry[field] !== undefined) {
      fields[field] = entry[field];
      origin[field] = ['vms', index, field];
      continue;
    }
    const pair = EXCLUSIVE.find((p) => (p as readonly string[]).includes(field));
    const other = pair?.find((f) => f !== field);
    if (other !== undefined && entry[other] !== undefined) continue;
    if (defaults?.[field] !== undefined) {
      fields[field] = defaults[field];
      origin[field] = ['defaults', field];
    }
  }
  return { fields: fields as VmFields, origin };
}

/** `vms[2]` or `vms[2] (web-3 of count 4)`: how messages and VmConfig.where name a draft. */
export function whereOf(draft: VmDraft): string {
  return draft.member === undefined ? `vms[${draft.index}]` : `vms[${draft.index}] (${draft.name} of count ${draft.member.count})`;
}
