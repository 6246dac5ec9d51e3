/**
 * The deployment file as written, as zod schemas: what each field may hold, with unknown keys refused. What
 * needs more than one field (a VM's controller exists, names are unique, a count group's addresses) is
 * checked after defaults and counts are applied (expand.ts, checks.ts), where the message can name both places.
 *
 * The JSON Schema for editors (deployment.schema.json) is generated from these (json-schema.ts).
 */
import { ContextSchema } from '@vmctx/guest-script';
import { domainSpecSchema, macProblem } from '@vmctx/template-renderer';
import { z } from 'zod';

/**
 * Names that become file names on the controllers, go into UUID derivation and into the domains' metadata:
 * kept to characters that need no quoting anywhere.
 */
export const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
const safeName = (what: string) =>
  z.string().regex(SAFE_NAME, `a ${what} name is 1 to 63 letters, digits, '.', '_' or '-', starting with a letter or digit`);

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;
const text = (what: string) =>
  z
    .string()
    .min(1, `${what} is empty`)
    .refine((s) => !CONTROL.test(s), { message: `${what} contains a control character` });

/** A local path, relative to the deployment file's folder; `~/` is the user's home. */
const localPath = (what: string) => text(what);

/** A path on a controller: absolute, since nothing says which folder a relative one would be taken from. */
const remotePath = (what: string) => text(what).refine((s) => s.startsWith('/'), { message: `${what} must be an absolute path on the controller` });

/** Strict dotted quad, no leading zeros (some parsers read them as octal). */
export const IPV4 = /^(?:(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])$/;
const ipv4 = z.string().regex(IPV4, 'expected a dotted-quad IPv4 address such as 198.51.100.31 (no prefix length)');

const mac = z.string().superRefine((value, ctx) => {
  const problem = macProblem(value);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

/** Linux's dev_valid_name, as template-renderer checks a bridge (at most 15 bytes, no '/', ':' or space). */
const bridge = z
  .string()
  .regex(/^[a-zA-Z0-9_.-]{1,15}$/, "not a bridge name (1 to 15 letters, digits, '_', '.', '-', as Linux allows)")
  .refine((s) => s !== '.' && s !== '..', { message: "'.' and '..' are not interface names" });

/**
 * A folder on the controllers whose files a domain may name (hostPaths): absolute, not `/` (that is what
 * trustTemplates says), no `..`.
 */
const hostFolder = remotePath('hostPaths entry')
  .refine((s) => !s.split('/').includes('..'), { message: "a hostPaths folder has no '..' segment" })
  .refine((s) => !/^\/+$/.test(s), { message: "'/' would let a template name every file of the controller: set trustTemplates: true instead" });

const network = text('network').refine((s) => !s.includes('/'), { message: "a libvirt network name has no '/'" });

/** `host`, or an ssh-config alias: one word, since it is passed on as a host name or looked up as an alias. */
const host = text('host').refine((s) => !/\s/.test(s), { message: 'a host has no white space' });

const port = z.number().int().min(1).max(65535);

/**
 * template-renderer's VM spec, as people write it for a VM: the domain's name is the VM's (so `name` is left
 * out), and an interface may leave its `source` to the VM's `bridge` or `network`. Everything else is checked
 * here with the spec's own schema, so that a wrong memory unit is reported at `vms[1].spec.memory.unit`.
 */
export const VmSpecSchema = z
  .record(z.string(), z.unknown())
  .superRefine((spec, ctx) => {
  if ('name' in spec) {
    ctx.addIssue({ code: 'custom', path: ['name'], message: "the domain is named as the VM: leave the spec's name out" });
  }
  const result = domainSpecSchema.safeParse(withPlaceholders(spec));
  // Passed on as they are (code included), so that an unknown key in the spec reads like one elsewhere.
  if (!result.success) for (const issue of result.error.issues) ctx.addIssue({ ...issue } as z.core.$ZodRawIssue);
  })
  // An id puts it once under the JSON Schema's $defs, for defaults and vms both.
  .meta({ id: 'VmSpec' });

/** The spec with what the VM gives filled by stand-ins, to check the rest; the value kept is the user's. */
function withPlaceholders(spec: Record<string, unknown>): unknown {
  const devices = spec['devices'];
  const filled: Record<string, unknown> = { ...spec, name: 'vm' };
  if (isRecord(devices) && Array.isArray(devices['interfaces'])) {
    filled['devices'] = {
      ...devices,
      interfaces: devices['interfaces'].map((nic: unknown) =>
        isRecord(nic) && nic['source'] === undefined ? { ...nic, source: nic['type'] === 'network' ? { network: 'default' } : { bridge: 'br0' } } : nic,
      ),
    };
  }
  return filled;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Every VM field that `defaults:` may give. */
const vmFields = {
  controller: text('controller').describe('The name of a controller of `controllers`.'),
  image: text('image').describe('The name of an image of `images`.'),
  template: localPath('template').describe('A native libvirt domain XML, relative to this file. Exclusive with spec.'),
  // Not .describe()d here: that makes a copy, and json-schema.ts finds this one by identity.
  spec: VmSpecSchema,
  bridge: bridge.describe("The bridge of every bridged interface; absent: the template's. Exclusive with network."),
  network: network.describe('A libvirt network instead of a bridge. Exclusive with bridge.'),
  context: z.union([localPath('context'), ContextSchema]).meta({
    id: 'VmContext',
    description: "guest-script's context inline, or a path to a context YAML/JSON file or to a context/ folder holding post-install.",
  }),
  iso: remotePath('iso').describe('A context ISO already on the controller (a shared ISO): checked, not built. Exclusive with context.'),
  domainType: z.enum(['kvm', 'qemu']).describe("qemu (TCG) where KVM is not usable; absent: the template's."),
  isoMode: z.enum(['cdrom', 'disk']).describe('How the context ISO is attached (default cdrom).'),
};

/** Fields of which a VM (or the defaults) gives at most one; a VM's choice of one replaces the defaults' other. */
export const EXCLUSIVE = [
  ['template', 'spec'],
  ['bridge', 'network'],
  ['context', 'iso'],
] as const;

function exclusive(value: Record<string, unknown>, ctx: z.RefinementCtx): void {
  for (const [a, b] of EXCLUSIVE) {
    if (value[a] !== undefined && value[b] !== undefined) ctx.addIssue({ code: 'custom', path: [b], message: `give ${a} or ${b}, not both` });
  }
}

const optionalVmFields = {
  controller: vmFields.controller.optional(),
  image: vmFields.image.optional(),
  template: vmFields.template.optional(),
  spec: vmFields.spec.optional(),
  bridge: vmFields.bridge.optional(),
  network: vmFields.network.optional(),
  context: vmFields.context.optional(),
  iso: vmFields.iso.optional(),
  domainType: vmFields.domainType.optional(),
  isoMode: vmFields.isoMode.optional(),
};

export const DefaultsSchema = z.strictObject(optionalVmFields).superRefine(exclusive).describe('Fields applied to every VM that does not set its own.');

export const VmSchema = z
  .strictObject({
    name: text('name').describe("The domain's name; with count, the group's: `web` gives web-1..web-N, `web-{n}` puts the number where {n} is."),
    count: z.number().int().min(1).max(4096).optional().describe('How many VMs this entry makes.'),
    address: ipv4.optional().describe("The IPv4 address given by IP-from-MAC (its MAC encodes it); a group's first, then counted up."),
    mac: mac.optional().describe('A fixed MAC for the first NIC.'),
    ...optionalVmFields,
  })
  .superRefine(exclusive);

export const ControllerSchema = z.strictObject({
  name: safeName('controller'),
  host: host.describe('A host name, an address, or an alias of ~/.ssh/config.'),
  port: port.optional().describe('Default: ssh config, else 22.'),
  user: text('user').optional().describe('Default: ssh config, else the current user.'),
  identityFile: localPath('identityFile').optional().describe('Default: ssh config, else ssh-agent, else ~/.ssh/id_*.'),
  knownHosts: localPath('knownHosts').optional().describe('Default: ~/.ssh/known_hosts.'),
  proxyJump: text('proxyJump').optional().describe('`[user@]host[:port]` (first hop only), or `none`. Default: ssh config.'),
  imageDir: remotePath('imageDir').describe('Where base images, overlays and ISOs go on the controller.'),
});

/** `http://` or `https://` and a host; the only schemes the deployer fetches from. */
const httpUrl = text('url')
  .regex(/^https?:\/\//, 'an image URL starts with http:// or https://')
  // Said once: a value that does not start right is not also "not a URL".
  .refine((s) => !/^https?:\/\//.test(s) || (URL.canParse(s) && new URL(s).hostname !== ''), { message: 'not a URL' });

/**
 * A base image: a local `path`, or a `url` with the image's `sha256` (fetched once into the local cache,
 * verified before use: artifacts/fetch-image.ts). One object with a refinement rather than a union of two, so
 * that a mistake is named at its key (`images[0].sha256: required with url`) and not as "Invalid input".
 */
export const ImageSchema = z
  .strictObject({
    name: safeName('image'),
    path: localPath('path').optional().describe('A local raw or qcow2 file, relative to this file. Exclusive with url.'),
    url: httpUrl.optional().describe('An http(s) URL of a raw or qcow2 image, fetched once into the local cache (resumed if cut short). Needs sha256.'),
    sha256: z
      .string()
      .regex(/^[0-9a-fA-F]{64}$/, 'a sha256 is 64 hex digits')
      .optional()
      .describe("The image's sha256 (as `sha256sum` prints it), with url: the download is used only if it matches."),
  })
  .superRefine((image, ctx) => {
    const add = (path: string[], message: string) => ctx.addIssue({ code: 'custom', path, message });
    if (image.path !== undefined && image.url !== undefined) add(['url'], 'give path or url, not both');
    else if (image.path === undefined && image.url === undefined) add([], 'give path (a local file) or url and sha256');
    else if (image.url !== undefined && image.sha256 === undefined) add(['sha256'], 'required with url: the download is verified against it');
    else if (image.path !== undefined && image.sha256 !== undefined) add(['sha256'], 'sha256 goes with url; a local file is used as it is');
  });

export const DeploymentFileSchema = z
  .strictObject({
    /** Editors read a JSON file's `$schema`; accepted so that JSON deployments can point at the schema. */
    $schema: z.string().optional(),
    name: safeName('deployment').optional().describe("The deployment's name (owns its domains); default: the file's name without extension."),
    defaults: DefaultsSchema.optional(),
    hostPaths: z
      .array(hostFolder)
      .optional()
      .describe(
        "Folders on the controllers whose files a template, spec or iso: may name (a kernel, a firmware, a disk, a serial log), besides each controller's imageDir and /var/lib/libvirt/images; any other host path is refused unless trustTemplates.",
      ),
    trustTemplates: z
      .boolean()
      .optional()
      .describe(
        "true: the templates may name any host path and use what gives root on the controller (qemu:commandline, emulator, hostdev, lun, block disks, filesystem passthrough); each use is still reported as a warning. Default false: refused.",
      ),
    controllers: z.array(ControllerSchema).min(1, 'list at least one controller'),
    images: z.array(ImageSchema),
    vms: z.array(VmSchema).min(1, 'list at least one VM'),
  })
  .describe('A vmctx deployment: controllers (libvirt hosts over SSH), base images, and the VMs to run on them.');

export type DeploymentFile = z.output<typeof DeploymentFileSchema>;
export type VmEntry = z.output<typeof VmSchema>;
export type DefaultsEntry = z.output<typeof DefaultsSchema>;
export type ControllerEntry = z.output<typeof ControllerSchema>;
export type ImageEntry = z.output<typeof ImageSchema>;
/** The VM fields that defaults may give. */
export type VmField = keyof typeof optionalVmFields;
export const VM_FIELDS = Object.keys(optionalVmFields) as VmField[];
