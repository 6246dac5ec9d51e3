/**
 * Checks across entries, after defaults and counts: names unique and usable, references known, no two VMs
 * with one MAC or one address. Each message names both places, since the fix may be at either.
 */
import type { VmConfig } from './types.js';
import { whereOf, type VmDraft } from './expand.js';
import type { Path, Problems } from './problems.js';
import { vmNameProblem } from './vm-names.js';

/** A repeated `name` among `entries` (controllers or images), reported at the later one. */
export function checkUniqueNames(section: 'controllers' | 'images', entries: { name: string }[], problems: Problems): void {
  const seen = new Map<string, number>();
  entries.forEach((entry, index) => {
    const earlier = seen.get(entry.name);
    if (earlier === undefined) seen.set(entry.name, index);
    else problems.add([section, index, 'name'], `${section === 'controllers' ? 'controller' : 'image'} name "${entry.name}" is also ${section}[${earlier}]`, 'CONFIG_DUPLICATE_NAME');
  });
}

/** VM names as libvirt and virsh will see them (vm-names.ts), one domain each. */
export function checkVmNames(drafts: VmDraft[], problems: Problems): void {
  const seen = new Map<string, VmDraft>();
  for (const draft of drafts) {
    const at: Path = ['vms', draft.index, 'name'];
    // A {n} left in a name without count is said once, by expandVms.
    const problem = draft.name.includes('{n}') ? undefined : vmNameProblem(draft.name);
    if (problem !== undefined) problems.add(at, problem, 'CONFIG_INVALID_NAME');
    const earlier = seen.get(draft.name);
    if (earlier === undefined) seen.set(draft.name, draft);
    else problems.add(at, `VM name "${draft.name}"${draft.member ? ` (${whereOf(draft)})` : ''} is also ${whereOf(earlier)}`, 'CONFIG_DUPLICATE_NAME');
  }
}

/** Every VM's controller and image exist; the message lists the ones that do. */
export function checkReferences(drafts: VmDraft[], controllers: string[], images: string[], problems: Problems): void {
  for (const draft of drafts) {
    const { controller, image } = draft.fields;
    if (controller !== undefined && !controllers.includes(controller)) {
      problems.add(draft.origin.controller!, `no controller "${controller}"; known: ${known(controllers)}`, 'CONFIG_UNKNOWN_CONTROLLER');
    }
    if (image !== undefined && !images.includes(image)) {
      problems.add(draft.origin.image!, `no image "${image}"; known: ${known(images)}`, 'CONFIG_UNKNOWN_IMAGE');
    }
  }
}

function known(names: string[]): string {
  return names.length === 0 ? 'none' : names.join(', ');
}

/**
 * No two VMs with one MAC (libvirt would start both, and the bridge would deliver to one) or one address
 * (IP-from-MAC's, or a static context's). A count group whose context has a static address gives it to every
 * member: said once, for the group.
 */
export function checkIdentities(resolved: { draft: VmDraft; vm: VmConfig }[], problems: Problems): void {
  const macs = new Map<string, VmDraft>();
  const addresses = new Map<string, VmDraft>();
  for (const { draft, vm } of resolved) {
    // A group sharing one fixed MAC (hence one address) was reported once by expandVms.
    if (draft.member !== undefined && draft.member.count > 1 && draft.mac !== undefined) continue;
    if (vm.mac !== undefined) {
      const earlier = macs.get(vm.mac);
      if (earlier === undefined) macs.set(vm.mac, draft);
      else problems.add(['vms', draft.index, draft.mac === undefined ? 'address' : 'mac'], `MAC ${vm.mac} of ${vm.name} is also ${earlier.name}'s (${whereOf(earlier)})`, 'CONFIG_DUPLICATE_MAC');
    }
    const address = addressOf(vm);
    if (address === undefined) continue;
    const earlier = addresses.get(address.ip);
    if (earlier === undefined) addresses.set(address.ip, draft);
    else if (earlier.index === draft.index && address.static) {
      problems.add(['vms', draft.index, 'count'], `the ${draft.member?.count} VMs of this group would all take the context's static address ${address.ip}; use an ip-from-mac network with address, or one entry per VM`, 'CONFIG_DUPLICATE_ADDRESS');
    } else {
      problems.add(address.static ? draft.origin.context! : ['vms', draft.index, 'address'], `address ${address.ip} of ${vm.name} is also ${earlier.name}'s (${whereOf(earlier)})`, 'CONFIG_DUPLICATE_ADDRESS');
    }
  }
}

function addressOf(vm: VmConfig): { ip: string; static: boolean } | undefined {
  if (vm.address !== undefined) return { ip: vm.address, static: false };
  const network = vm.context.kind === 'context' ? vm.context.context.network : undefined;
  if (network?.method === 'static') return { ip: network.address.split('/')[0]!, static: true };
  return undefined;
}
