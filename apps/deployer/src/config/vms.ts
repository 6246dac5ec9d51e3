/**
 * One VM draft (defaults applied, count numbered) to its final VmConfig: the template found or the spec
 * completed, the context read, and for IP-from-MAC the address and the MAC that encodes it.
 */
import { ipv4ToNumber, networkBounds, numberToIpv4 } from '@vmctx/contract';
import { IP_IN_MAC_DEFAULT_PREFIX, ipv4FromMac, macFromIpv4, normalizeMac, parseDomainSpec, SpecError } from '@vmctx/template-renderer';
import type { VmConfig, VmContext, VmTemplate } from './types.js';
import { whereOf, type VmDraft } from './expand.js';
import type { ResolveContext } from './options.js';
import { pathKind, resolveLocal, type PathKind } from './paths.js';
import { formatPath, type Path } from './problems.js';
import { isRecord } from './schema.js';
import { resolveVmContext, type ContextCache } from './vm-context.js';

/** Per load: what is at a template path, looked up once however many VMs use it. */
export type KindCache = Map<string, Promise<PathKind>>;

export async function resolveVm(draft: VmDraft, ctx: ResolveContext, caches: { context: ContextCache; kinds: KindCache }): Promise<VmConfig | undefined> {
  const { fields } = draft;
  const vmAt: Path = ['vms', draft.index];
  // Problems are said once per group (Problems.add drops repeats), so success is judged here, not by counting.
  let ok = true;
  for (const field of ['controller', 'image'] as const) {
    if (fields[field] !== undefined) continue;
    ctx.problems.add([...vmAt, field], 'required (here or in defaults)');
    ok = false;
  }
  const template = await resolveTemplate(draft, ctx, caches.kinds);
  const context = await resolveVmContext(draft, ctx, caches.context);
  const identity = context === undefined ? undefined : addressAndMac(draft, context, ctx);
  if (context?.kind === 'folder' && fields.isoFormat !== undefined && fields.isoFormat !== 'snooze') {
    // A folder goes on the CD as it is: Snooze's layout, which vmctx does not translate into cloud-init's seed.
    ctx.problems.add(draft.origin.isoFormat!, `a context folder is Snooze's layout as it is; isoFormat ${fields.isoFormat} needs a context file or an inline context (or isoFormat: snooze)`);
    ok = false;
  }
  if (!ok || template === undefined || context === undefined || identity === undefined) return undefined;

  return {
    name: draft.name,
    controller: fields.controller!,
    image: fields.image!,
    template,
    ...(fields.bridge === undefined ? {} : { bridge: fields.bridge }),
    ...(fields.network === undefined ? {} : { network: fields.network }),
    context,
    ...identity,
    ...(fields.domainType === undefined ? {} : { domainType: fields.domainType }),
    isoMode: fields.isoMode ?? 'cdrom',
    isoFormat: context.kind === 'folder' ? 'snooze' : (fields.isoFormat ?? 'both'),
    ...(fields.isoLabel === undefined ? {} : { isoLabel: fields.isoLabel }),
    ...(fields.restart === undefined ? {} : { restart: fields.restart }),
    where: whereOf(draft),
  };
}

async function resolveTemplate(draft: VmDraft, ctx: ResolveContext, kinds: KindCache): Promise<VmTemplate | undefined> {
  const { fields, origin } = draft;
  if (fields.template !== undefined) {
    const path = resolveLocal(fields.template, ctx.baseDir, ctx.homeDir);
    let kind = kinds.get(path);
    if (kind === undefined) kinds.set(path, (kind = pathKind(path)));
    if ((await kind) !== 'file') {
      ctx.problems.add(origin.template!, `no template file at ${path}`, 'CONFIG_TEMPLATE_NOT_FOUND', 'io');
      return undefined;
    }
    return { kind: 'native', path };
  }
  if (fields.spec === undefined) {
    ctx.problems.add(['vms', draft.index, 'template'], 'give template (a native libvirt XML) or spec (inline), here or in defaults');
    return undefined;
  }
  const specAt = origin.spec!;
  // What the VM decides is written into the spec now, so that the deployer gets a whole one: its name, and
  // the source of every interface that left it to the VM's bridge or network.
  const nics = isRecord(fields.spec['devices']) && Array.isArray(fields.spec['devices']['interfaces']) ? (fields.spec['devices']['interfaces'] as unknown[]) : [];
  let sourced = true;
  const interfaces = nics.map((nic, i) => {
    if (!isRecord(nic) || nic['source'] !== undefined) return nic;
    const source = nic['type'] === 'network' ? (fields.network === undefined ? undefined : { network: fields.network }) : fields.bridge === undefined ? undefined : { bridge: fields.bridge };
    if (source === undefined) {
      const wanted = nic['type'] === 'network' ? 'network' : 'bridge';
      ctx.problems.add([...specAt, 'devices', 'interfaces', i, 'source'], `required: this interface has no source and the VM no ${wanted} to give it`);
      sourced = false;
    }
    return { ...nic, source };
  });
  if (!sourced) return undefined;
  const filled = { ...fields.spec, name: draft.name, ...(nics.length === 0 ? {} : { devices: { ...(fields.spec['devices'] as object), interfaces } }) };
  try {
    return { kind: 'spec', spec: parseDomainSpec(filled, formatPath(specAt)) };
  } catch (error) {
    if (!(error instanceof SpecError)) throw error;
    // The shape was checked by the schema; what is left is what the VM filled in (its name, its bridge).
    for (const issue of error.issues) ctx.problems.add(specAt, `${issue.path}: ${issue.message}`);
    return undefined;
  }
}

/**
 * The VM's address and MAC. With an `ip-from-mac` context the MAC encodes the address (the context's MAC
 * prefix, else template-renderer's default), so a VM needs one of them; a count group's members then differ only
 * by MAC and share one context, hence one ISO. A Snooze folder or shared ISO may be IP-from-MAC too (the
 * guest decides), so `address` is accepted there with the default prefix.
 */
function addressAndMac(draft: VmDraft, context: VmContext, ctx: ResolveContext): { address?: string; mac?: string } | undefined {
  const vmAt: Path = ['vms', draft.index];
  const network = context.kind === 'context' ? context.context.network : undefined;
  const fixedMac = draft.mac === undefined ? undefined : normalizeMac(draft.mac);
  if (network !== undefined && network.method !== 'ip-from-mac') {
    if (draft.address === undefined) return fixedMac === undefined ? {} : { mac: fixedMac };
    ctx.problems.add([...vmAt, 'address'], `address is for IP-from-MAC, and this VM's context network is ${network.method}${network.method === 'static' ? ' (its address is network.address of the context)' : ''}`);
    return undefined;
  }
  if (network === undefined) {
    if (draft.address === undefined) return fixedMac === undefined ? {} : { mac: fixedMac };
    return { address: draft.address, mac: fixedMac ?? macFromIpv4(draft.address) };
  }

  const prefix = (network.macPrefix ?? IP_IN_MAC_DEFAULT_PREFIX).toLowerCase();
  let address = draft.address;
  if (address === undefined) {
    if (fixedMac === undefined || !fixedMac.startsWith(`${prefix}:`)) {
      const from = draft.origin.context![0] === 'defaults' ? ' (from defaults.context)' : '';
      ctx.problems.add(
        [...vmAt, 'address'],
        fixedMac === undefined
          ? `required: the VM's context network is ip-from-mac${from}, so its MAC encodes its address`
          : `required: mac ${fixedMac} does not start with the context's MAC prefix ${prefix}, so it encodes no address`,
      );
      return undefined;
    }
    address = ipv4FromMac(fixedMac);
  }
  let mac: string;
  try {
    mac = macFromIpv4(address, prefix);
  } catch (error) {
    // The context's schema takes any two hex octets; template-renderer refuses a multicast prefix.
    ctx.problems.add(draft.origin.context!, `network.macPrefix: ${(error as Error).message}`);
    return undefined;
  }
  if (fixedMac !== undefined && fixedMac !== mac) {
    ctx.problems.add([...vmAt, 'mac'], `${fixedMac} is not the IP-from-MAC MAC of ${address} (${mac}); leave mac out`);
    return undefined;
  }
  // The guest takes its address from the MAC and its prefix length from the context: a member counted past the
  // group's network, or onto its network or broadcast address, would not work.
  const bounds = networkBounds(groupStart(draft, address), network.prefix);
  const value = ipv4ToNumber(address);
  const edge = network.prefix < 31 && (value === bounds[0] || value === bounds[1]);
  if (value < bounds[0] || value > bounds[1] || edge) {
    const what = value === bounds[0] ? 'the network address' : value === bounds[1] ? 'the broadcast address' : 'outside the network';
    ctx.problems.add([...vmAt, 'address'], `${draft.name}'s address ${address} is ${what} of ${numberToIpv4(bounds[0])}/${network.prefix}`);
    return undefined;
  }
  return { address, mac };
}

/** The first address of the VM's count group (its own, for a single VM). */
function groupStart(draft: VmDraft, address: string): string {
  if (draft.member === undefined) return address;
  return numberToIpv4(ipv4ToNumber(address) - (draft.member.n - 1));
}
