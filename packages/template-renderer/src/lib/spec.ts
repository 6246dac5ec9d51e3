/**
 * The VM spec: a zod schema with the shape of libvirt's domain XML (one object per element, attribute and
 * element names kept, as libvirt-go-xml-module's domain.go does), for the part of it a contextualized VM needs.
 * Anything else (graphics, controllers, NUMA, ...) goes through native templates (native.ts).
 *
 * https://libvirt.org/formatdomain.html is the reference for every field below.
 */
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { domainNameProblem } from './domain-name.js';
import { TemplateError } from './errors.js';
import { macProblem } from './identity.js';
import { firstNonXmlChar } from './xml-tree.js';

/**
 * Free text that goes into the XML. XML 1.0 cannot carry most control characters at all, and parsers turn
 * tab, CR and newline in attributes into spaces, so they are refused here rather than silently changed.
 */
const xmlText = () =>
  z.string().superRefine((s, ctx) => {
    // eslint-disable-next-line no-control-regex
    const control = /[\u0000-\u001f]/.exec(s)?.[0] ?? firstNonXmlChar(s);
    if (control !== undefined) {
      const code = `U+${control.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
      ctx.addIssue({ code: 'custom', message: `contains character ${code}, which cannot be written to domain XML unchanged` });
    }
  });

const nonEmpty = (what: string) => xmlText().min(1, `${what} is empty`);

/** By label; the labels are a handful of fixed words (kernel, emulator, `disk source file`, ...). */
const hostPathSchemas = new Map<string, z.ZodType<string>>();

/**
 * A path on the controller. libvirt resolves relative paths against its own working directory: refuse them
 * (libvirt's schema, basictypes.rng absFilePath, wants "/" and at least one more character, on one line).
 * The one rule for every path that reaches domain XML: a spec's, a native template's rewrite (native.ts) and a
 * template's own (lint.ts's invalid-path).
 */
export function hostPathSchema(what: string): z.ZodType<string> {
  // One schema per label, made once: lint checks every path of every template, and a zod schema costs far more
  // to build than to run (a 100-VM deployment spent more time building these than the rest of its lint).
  let schema = hostPathSchemas.get(what);
  if (schema === undefined) {
    schema = nonEmpty(what).refine((s) => /^\/./.test(s), { message: `${what} must be an absolute path on the controller` });
    hostPathSchemas.set(what, schema);
  }
  return schema;
}
const hostPath = hostPathSchema;

/** What libvirt's RNG schema allows (domaincommon.rng), so that virt-xml-validate passes what we render. */
const machineName = () =>
  nonEmpty('machine').regex(/^[a-zA-Z0-9_.-]+$/, "not a machine type (letters, digits, '_', '.', '-'; e.g. q35, pc-i440fx-7.2)");
const timeZoneName = () => nonEmpty('timezone').regex(/^[a-zA-Z0-9_.+\-/]+$/, 'not a time zone name like Europe/Paris');
/**
 * A Linux interface name (dev_valid_name: at most 15 bytes, no '/', ':' or white space); ASCII here. The one rule
 * for a bridge: a spec's, a native template's rewrite (native.ts) and a template's own (lint.ts's invalid-bridge-name).
 */
export const bridgeNameSchema = nonEmpty('bridge')
  .regex(/^[a-zA-Z0-9_.-]{1,15}$/, "not a bridge name (1 to 15 letters, digits, '_', '.', '-', as Linux allows)")
  .refine((s) => s !== '.' && s !== '..', { message: "'.' and '..' are not interface names" });

export const domainNameSchema = xmlText().superRefine((name, ctx) => {
  const problem = domainNameProblem(name);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

export const uuidSchema = z
  .string()
  .regex(/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/, 'not a UUID (expected 8-4-4-4-12 hex digits)');

export const macAddressSchema = z.string().superRefine((mac, ctx) => {
  const problem = macProblem(mac);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

/** formatdomain.html#memory-allocation: the unit names libvirt accepts. */
export const memoryUnits = ['b', 'bytes', 'KB', 'k', 'KiB', 'MB', 'M', 'MiB', 'GB', 'G', 'GiB', 'TB', 'T', 'TiB'] as const;

export const memorySchema = z.strictObject({
  value: z.number().int().positive(),
  unit: z.enum(memoryUnits).default('KiB'),
});

/** formatdomain.html#operating-system-booting: BIOS boot order, or direct kernel boot. */
export const osSchema = z.strictObject({
  /** `<type arch=...>hvm</type>`. */
  arch: z.enum(['x86_64', 'i686', 'aarch64']).default('x86_64'),
  /** `<type machine=...>`: e.g. `q35`, `pc` (i440fx), `pc-q35-7.2`. Omitted: libvirt's default (pc on x86_64). */
  machine: machineName().optional(),
  kernel: hostPath('kernel').optional(),
  initrd: hostPath('initrd').optional(),
  cmdline: xmlText().optional(),
  boot: z.array(z.enum(['hd', 'cdrom', 'network', 'fd'])).min(1, 'list at least one boot device, or leave boot out').optional(),
});

export const featureNames = ['acpi', 'apic', 'pae'] as const;

/** formatdomain.html#time-keeping. */
export const clockSchema = z
  .strictObject({
    offset: z.enum(['utc', 'localtime', 'timezone']).default('utc'),
    timezone: timeZoneName().optional(),
  })
  .refine((c) => (c.offset === 'timezone') === (c.timezone !== undefined), {
    message: "timezone is required with offset 'timezone' and only allowed with it",
    path: ['timezone'],
  });

export const diskTargetSchema = z.strictObject({
  /** The name libvirt gives the device; the guest may name it otherwise (a sata cdrom `sda` is /dev/sr0). */
  dev: z.string().regex(/^(vd|sd|hd|xvd)[a-z]{1,3}$/, "not a disk target (expected vdX, sdX, hdX or xvdX, e.g. 'vda')"),
  bus: z.enum(['virtio', 'sata', 'scsi', 'ide', 'usb']),
});

/** formatdomain.html#hard-drives-floppy-disks-cdroms: a file-backed disk or cdrom. */
export const diskSchema = z.strictObject({
  device: z.enum(['disk', 'cdrom']).default('disk'),
  driver: z.strictObject({
    name: z.literal('qemu').default('qemu'),
    /** `qcow2` for the per-VM overlay. */
    type: z.enum(['qcow2', 'raw']),
  }),
  source: z.strictObject({ file: hostPath('disk source file') }),
  target: diskTargetSchema,
  readonly: z.boolean().default(false),
  /**
   * The overlay's backing file as recorded in its qcow2 header (disk-builder writes it). Not rendered (libvirt
   * reads it from the image); the lints check it, since libvirt refuses an overlay whose backing format is not
   * recorded.
   */
  backing: z
    .strictObject({
      file: hostPath('backing file').optional(),
      format: z.enum(['raw', 'qcow2']).optional(),
    })
    .optional(),
});

/**
 * The context ISO: a cdrom on sata (q35) or ide (i440fx), seen by the guest as /dev/sr0, or a read-only
 * virtio disk (`mode: disk`), /dev/vdb when the overlay is vda, as the seed's guest script expects. Rendered
 * as a disk with the user alias `ua-vmctx-context`, by which it is found again in the XML.
 */
export const contextSchema = z.strictObject({
  source: z.strictObject({ file: hostPath('context ISO file') }),
  mode: z.enum(['cdrom', 'disk']).default('cdrom'),
  /** Chosen from the machine type and the other disks when omitted. */
  target: diskTargetSchema.optional(),
});

const interfaceCommon = {
  /** Derived from (deployment, name) when omitted and a deployment is given; otherwise libvirt picks one. */
  mac: z.strictObject({ address: macAddressSchema }).optional(),
  model: z.strictObject({ type: z.enum(['virtio', 'e1000', 'e1000e', 'rtl8139']) }).optional(),
};

/** formatdomain.html#network-interfaces. */
export const interfaceSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('bridge'), source: z.strictObject({ bridge: bridgeNameSchema }), ...interfaceCommon }),
  z.strictObject({ type: z.literal('network'), source: z.strictObject({ network: nonEmpty('network') }), ...interfaceCommon }),
]);

const chrTarget = z.strictObject({ port: z.number().int().min(0).max(3).default(0) });

/** formatdomain.html#serial-port: a pty, or a file the guest's console is written to (what the lab reads). */
export const serialSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('pty'), target: chrTarget.optional() }),
  z.strictObject({ type: z.literal('file'), source: z.strictObject({ path: hostPath('serial log path') }), target: chrTarget.optional() }),
]);

const consoleTarget = z.strictObject({ type: z.enum(['serial', 'virtio']).default('serial'), port: z.number().int().min(0).max(3).default(0) });

/** formatdomain.html#console. */
export const consoleSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('pty'), target: consoleTarget.optional() }),
  z.strictObject({ type: z.literal('file'), source: z.strictObject({ path: hostPath('console log path') }), target: consoleTarget.optional() }),
]);

export const devicesSchema = z.strictObject({
  emulator: hostPath('emulator').optional(),
  disks: z.array(diskSchema).default([]),
  context: contextSchema.optional(),
  interfaces: z.array(interfaceSchema).default([]),
  serials: z.array(serialSchema).default([]),
  consoles: z.array(consoleSchema).default([]),
});

const lifecycle = ['destroy', 'restart', 'preserve', 'rename-restart'] as const;

/** `<domain>`: the root. */
export const domainSpecSchema = z.strictObject({
  /** `kvm` on real hosts; `qemu` (TCG emulation) where KVM is missing or unusable, as in the lab. */
  type: z.enum(['kvm', 'qemu']).default('kvm'),
  name: domainNameSchema,
  /** Derived from (deployment, name) when omitted and a deployment is given; otherwise libvirt picks one. */
  uuid: uuidSchema.optional(),
  /** One line (libvirt's schema: objectNameWithSlash). */
  title: nonEmpty('title').optional(),
  description: xmlText().optional(),
  /** `<memory>`: the guest's memory, and the most it may grow to while it runs when `currentMemory` is less. */
  memory: memorySchema,
  /**
   * `<currentMemory>`: what the guest gets at its start (the balloon), at most `memory`; the rest can be given to it
   * while it runs (virsh setmem --live), without a restart. Omitted: all of `memory` from the start.
   */
  currentMemory: memorySchema.optional(),
  /** `<vcpu>`: the vCPUs, and the most that may be online while it runs when `currentVcpu` is less. */
  vcpu: z.number().int().min(1).max(4096).default(1),
  /** `<vcpu current=...>`: the vCPUs online at its start, at most `vcpu`; more go online live (virsh setvcpus --live). */
  currentVcpu: z.number().int().min(1).max(4096).optional(),
  os: osSchema.default({ arch: 'x86_64' }),
  features: z.array(z.enum(featureNames)).optional(),
  cpu: z.strictObject({ mode: z.enum(['host-passthrough', 'host-model', 'maximum']) }).optional(),
  clock: clockSchema.default({ offset: 'utc' }),
  on_poweroff: z.enum(lifecycle).default('destroy'),
  on_reboot: z.enum(lifecycle).default('restart'),
  on_crash: z.enum([...lifecycle, 'coredump-destroy', 'coredump-restart']).default('destroy'),
  devices: devicesSchema.default({ disks: [], interfaces: [], serials: [], consoles: [] }),
}).superRefine((spec, ctx) => {
  // libvirt refuses a vcpu current above the count ("requested vcpus is greater than max allowable vcpus") and lowers a
  // currentMemory above the memory to it without a word: both are mistakes in a spec.
  if (spec.currentVcpu !== undefined && spec.currentVcpu > spec.vcpu) {
    ctx.addIssue({ code: 'custom', path: ['currentVcpu'], message: `at most vcpu (${spec.vcpu}): the vCPUs online at the start are some of them` });
  }
  if (spec.currentMemory !== undefined && memoryBytes(spec.currentMemory) > memoryBytes(spec.memory)) {
    ctx.addIssue({ code: 'custom', path: ['currentMemory'], message: `at most memory (${spec.memory.value} ${spec.memory.unit}): the memory at the start is some of it` });
  }
});

/** formatdomain.html#memory-allocation: bytes in one of each unit (b, KB, MB... powers of 1000; k, KiB, M... of 1024). */
const UNIT_BYTES: Record<(typeof memoryUnits)[number], number> = {
  b: 1, bytes: 1, KB: 1e3, k: 1024, KiB: 1024, MB: 1e6, M: 2 ** 20, MiB: 2 ** 20, GB: 1e9, G: 2 ** 30, GiB: 2 ** 30, TB: 1e12, T: 2 ** 40, TiB: 2 ** 40,
};

/** A memory amount in bytes. */
export function memoryBytes(memory: { value: number; unit: (typeof memoryUnits)[number] }): number {
  return memory.value * UNIT_BYTES[memory.unit];
}

/** A VM spec after parsing: defaults filled in. */
export type DomainSpec = z.output<typeof domainSpecSchema>;
/** A VM spec as written by people (YAML/JSON): defaulted fields may be left out. */
export type DomainSpecInput = z.input<typeof domainSpecSchema>;
export type DiskSpec = DomainSpec['devices']['disks'][number];
export type ContextSpec = NonNullable<DomainSpec['devices']['context']>;
export type InterfaceSpec = DomainSpec['devices']['interfaces'][number];
export type SerialSpec = DomainSpec['devices']['serials'][number];
export type ConsoleSpec = DomainSpec['devices']['consoles'][number];
export type DiskTarget = z.output<typeof diskTargetSchema>;

/** `a.b[2].c` from a zod path, with `prefix` (e.g. `vms[2]`) in front. */
export function formatPath(path: readonly PropertyKey[], prefix = ''): string {
  let out = prefix;
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out;
}

export interface SpecIssue {
  path: string;
  message: string;
}

/** A spec that does not parse; `issues` say what and where, the message lists them zod-style. */
export class SpecError extends TemplateError {
  constructor(
    readonly issues: SpecIssue[],
    source: string,
  ) {
    super(
      'TEMPLATE_INVALID_SPEC',
      `${source} is not a valid VM spec:\n${issues.map((i) => `✖ ${i.message}${i.path ? `\n  → at ${i.path}` : ''}`).join('\n')}`,
      issues[0]?.path,
    );
  }
}

/**
 * Parses a VM spec (from YAML or JSON, already read into a value). `at` is where it sits in a larger
 * document (e.g. `vms[2]`), so errors point at `vms[2].devices.interfaces[0].mac.address`.
 */
export function parseDomainSpec(input: unknown, at = '', source = 'VM spec'): DomainSpec {
  const result = domainSpecSchema.safeParse(input);
  if (result.success) return result.data;
  throw new SpecError(
    result.error.issues.map((issue) => ({ path: formatPath(issue.path, at), message: issue.message })),
    source,
  );
}

/**
 * Parses a VM spec from its YAML text (JSON is YAML too), as guest-script's parseContextYaml does for a context.
 * Duplicate keys are refused, and YAML aliases may expand at most 100 times (no "billion laughs").
 */
export function parseDomainSpecYaml(text: string, source = 'VM spec', at = ''): DomainSpec {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new TemplateError('TEMPLATE_SPEC_SYNTAX', `${source} is not valid YAML: ${doc.errors.map((e) => e.message).join('\n')}`, at || undefined);
  }
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 100 });
  } catch (error) {
    throw new TemplateError('TEMPLATE_SPEC_SYNTAX', `${source}: ${(error as Error).message}`, { where: at || undefined, cause: error });
  }
  return parseDomainSpec(value, at, source);
}

/** The JSON Schema (draft 2020-12) of a VM spec as people write it, for editors and YAML language servers. */
export function domainSpecJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(domainSpecSchema, { io: 'input', unrepresentable: 'any' }),
    title: 'vmctx VM spec (libvirt domain)',
  };
}
