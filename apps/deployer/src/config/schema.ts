/**
 * The deployment file as written, as zod schemas: what each field may hold, with unknown keys refused. What
 * needs more than one field (a VM's controller exists, names are unique, a count group's addresses) is
 * checked after defaults and counts are applied (expand.ts, checks.ts), where the message can name both places.
 *
 * The JSON Schema for editors (deployment.schema.json) is generated from these (json-schema.ts).
 */
import { volumeLabelProblem } from '@vmctx/contract';
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

/** A context CD's volume label, by the contract's one rule (as `vmctx context iso --label` checks it). */
const volumeLabelSchema = z.string().superRefine((value, ctx) => {
  const problem = volumeLabelProblem(value);
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
  .meta({
    id: 'VmSpec',
    examples: [{ memory: { value: 512, unit: 'MiB' }, vcpu: 2, os: { arch: 'x86_64', machine: 'q35' }, devices: { interfaces: [{ type: 'bridge', model: { type: 'virtio' } }] } }],
  });

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

/**
 * A field's description and examples, as the JSON Schema carries them (`description`, `examples`): editors show
 * them, and the file's reference (docs/deployment-file.md, reference.ts) is made from them. Annotations only:
 * what a value may be is the schema's, not these.
 */
const doc = (description: string, ...examples: unknown[]) => ({ description, examples });

/** Every VM field that `defaults:` may give. */
const vmFields = {
  controller: text('controller').meta(doc('The name of a controller of `controllers`, which runs the VM. Required, here or in `defaults`.', 'lc1')),
  image: text('image').meta(doc("The name of an image of `images`: the base image of the VM's qcow2 overlay. Required, here or in `defaults`.", 'debian')),
  template: localPath('template').meta(
    doc(
      "A native libvirt domain XML file, relative to this file's folder (`~/` is the home folder). vmctx rewrites its name, UUID, MAC, disk, context CD, bridge and domain type for each VM. Exclusive with `spec`; one of the two is required, here or in `defaults`.",
      './debian1.xml',
    ),
  ),
  // Not .describe()d here: that makes a copy, and json-schema.ts finds this one by identity.
  spec: VmSpecSchema,
  bridge: bridge.meta(
    doc(
      "The host bridge the VM's interfaces are attached to: a template's bridged interfaces are rewritten to it; every interface of a spec gets it (one virtio interface is added if the spec has none). Absent: the template's or spec's own. Exclusive with `network`.",
      'br0',
    ),
  ),
  network: network.meta(
    doc(
      "A libvirt network (by name) the interfaces of a spec are attached to instead of a bridge (one virtio interface is added if the spec has none). Not with a native template, which keeps its own interfaces (DEPLOY_NETWORK_WITH_NATIVE). Exclusive with `bridge`.",
      'default',
    ),
  ),
  context: z
    .union([
      localPath('context').meta(
        doc(
          "A path relative to this file's folder (`~/` is the home folder): a context file (`.yaml`, `.yml` or `.json`, the same fields as the inline form), or a Snooze `context/` folder holding `post-install`, put on the CD as it is.",
          './contexts/web.yaml',
          './contexts/legacy',
        ),
      ),
      ContextSchema.meta(
        doc("guest-script's context, inline: what the guest configures at first boot (host name, network, SSH keys, files, scripts).", {
          hostname: 'db-1',
          network: { method: 'static', address: '198.51.100.21/24', gateway: '198.51.100.1' },
        }),
      ),
    ])
    .meta({
      id: 'VmContext',
      description:
        'What the context CD built for the VM holds: a path to a context file or a Snooze context/ folder, or a context inline. Absent, with no `iso`: no context CD, and the guest falls back to DHCP. VMs with the same context share one ISO. Exclusive with `iso`.',
    }),
  iso: remotePath('iso').meta(
    doc(
      "A context ISO already on the controller (Snooze's shared ISO), by its absolute path there: checked by `check`, attached, not built. It must lie in the controller's `imageDir`, /var/lib/libvirt/images or a `hostPaths` folder, unless `trustTemplates`. Exclusive with `context`.",
      '/var/lib/vmctx/images/shared-context.iso',
    ),
  ),
  domainType: z
    .enum(['kvm', 'qemu'])
    .meta(doc("The domain's type: `kvm`, or `qemu` (TCG, emulated) where KVM is not usable. Absent: the template's, or the spec's `type` (default `kvm`).", 'qemu')),
  isoMode: z
    .enum(['cdrom', 'disk'])
    .meta({
      ...doc('How the context ISO is attached: `cdrom` (a CD-ROM, /dev/sr0 in the guest) or `disk` (a read-only virtio disk, /dev/vdb when the overlay is vda).', 'disk'),
      default: 'cdrom',
    }),
  isoFormat: z.enum(['both', 'cloud-init', 'snooze']).meta({
    ...doc(
      "The layouts of the context CD built from a context (as `vmctx context iso --format`): `both`, cloud-init's NoCloud seed (meta-data, user-data, network-config) beside Snooze's layout for vmctx's script, so that a stock cloud image and an image with vmctx's script read the same CD; `cloud-init`, the seed alone; `snooze`, Snooze's layout alone (for an image whose cloud-init should not apply it). A context folder is Snooze's layout as it is: only `snooze` there.",
      'snooze',
    ),
    default: 'both',
  }),
  isoLabel: volumeLabelSchema.meta(
    doc(
      "The volume label of the context CD vmctx builds (as `vmctx context iso --label`). Absent: `cidata`, which cloud-init's NoCloud looks for, for a CD with the seed; `CONTEXT`, Snooze's, for `isoFormat: snooze` and a context folder. vmctx's script finds its CD by either.",
      'CONTEXT',
    ),
  ),
  restart: z.enum(['never', 'when-needed']).meta({
    ...doc(
      "What deploy does with a running VM whose update needs a restart to be taken whole (a new maximum of memory or vCPUs, memory above the running maximum, the machine type, a device): `when-needed` shuts it down (ACPI, powered off past --shutdown-timeout) and starts it; `never` leaves it running, and the report and --json say what still waits for a restart. What libvirt applies live (memory and vCPUs within the running maximum, a new context CD) needs none. `deploy --restart-if-needed` is `when-needed` for every VM.",
      'when-needed',
    ),
    default: 'never',
  }),
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
  isoFormat: vmFields.isoFormat.optional(),
  isoLabel: vmFields.isoLabel.optional(),
  restart: vmFields.restart.optional(),
};

export const DefaultsSchema = z
  .strictObject(optionalVmFields)
  .superRefine(exclusive)
  .meta(
    doc(
      "Fields applied to every VM that does not set its own. A VM that sets one field of a pair (`template`/`spec`, `bridge`/`network`, `context`/`iso`) takes neither of the pair from here.",
      { image: 'debian', template: './debian1.xml', bridge: 'br0' },
    ),
  );

export const VmSchema = z
  .strictObject({
    name: text('name').meta(
      doc(
        "The domain's name on the controller, unique in the deployment; it also names the VM's files there (`<name>.qcow2`). With `count`, the group's: `web` gives web-1..web-N, `web-{n}` puts the number where {n} is. No white space or shell characters, and nothing virsh would read as an option, a domain id or a UUID.",
        'db-1',
        'web-{n}',
      ),
    ),
    count: z
      .number()
      .int()
      .min(1)
      .max(4096)
      .optional()
      .meta(doc('How many VMs this entry makes, all with its fields (a count group); with `address`, each member takes the next address. Absent: one VM.', 4)),
    address: ipv4
      .optional()
      .meta(
        doc(
          "For IP-from-MAC: the VM's IPv4 address, which its MAC encodes (the context's `network.macPrefix`, else 02:00); a count group's first, counted up for each member, all within the context's network. Required when the context's network is `ip-from-mac` (unless `mac` encodes it); refused with a `static` or `dhcp` one. With a context folder or an `iso`, it sets the MAC with the default prefix.",
          '198.51.100.31',
        ),
      ),
    mac: mac
      .optional()
      .meta(
        doc(
          "A fixed MAC for the VM's first interface; not for a count group. Absent: derived from the deployment's and the VM's names (stable across deploys), or with IP-from-MAC the MAC that encodes `address`.",
          '52:54:00:12:34:56',
        ),
      ),
    ...optionalVmFields,
  })
  .superRefine(exclusive)
  .meta(doc('A VM, or with `count` a group of VMs; the fields it leaves out come from `defaults`.', { name: 'db-1', controller: 'lc2', image: 'debian', spec: { memory: { value: 512, unit: 'MiB' }, vcpu: 2 } }));

export const ControllerSchema = z
  .strictObject({
    name: safeName('controller').meta(doc("The controller's name in this file, unique: what a VM's `controller` names, and what reports call it.", 'lc1')),
    host: host.meta(
      doc("A host name, an address, or a Host alias of the ssh config (--ssh-config, else $VMCTX_SSH_CONFIG, else ~/.ssh/config), whose HostName, Port, User, IdentityFile, ProxyJump, UserKnownHostsFile and GlobalKnownHostsFile apply (this file's fields win).", '192.0.2.11', 'lc1.example.org'),
    ),
    port: port.optional().meta(doc("The SSH port. Default: the ssh config's Port for `host`, else 22.", 2222)),
    user: text('user').optional().meta(doc("The SSH user. Default: the ssh config's User for `host`, else the local user.", 'root')),
    identityFile: localPath('identityFile')
      .optional()
      .meta(
        doc(
          "The SSH private key, relative to this file's folder (`~/` is the home folder). Default: the first IdentityFile of the ssh config for `host` that exists, else ssh-agent ($SSH_AUTH_SOCK), then ~/.ssh/id_ed25519, id_ecdsa, id_rsa.",
          '~/.ssh/id_ed25519',
        ),
      ),
    knownHosts: localPath('knownHosts')
      .optional()
      .meta(
        doc(
          "The known_hosts file the controller's host key is checked against (with the global ones, /etc/ssh/ssh_known_hosts), and where `--accept-new` records a new key; relative to this file's folder (`~/` is the home folder). Default: the ssh config's UserKnownHostsFile for `host`, else ~/.ssh/known_hosts.",
          '~/.ssh/known_hosts',
        ),
      ),
    proxyJump: text('proxyJump')
      .optional()
      .meta(doc("A jump host, `[user@]host[:port]` or a Host alias of the ssh config (one hop: the first of a list), or `none` for none. Default: the ssh config's ProxyJump for `host`.", 'admin@bastion.example.org:22', 'none')),
    compression: z
      .enum(['auto', 'on', 'off'])
      .optional()
      .meta(
        doc(
          'Whether uploads to this controller are gzipped on the wire (and inflated there by `gzip -dc`): `auto` (the default) measures the link on each upload and compresses when it is slower than 32 MB/s and the data shrinks; `on` always where gzip is there; `off` never.',
          'auto',
        ),
      ),
    imageDir: remotePath('imageDir').meta(
      doc(
        "The folder on the controller, absolute, where vmctx puts base images, overlays, context ISOs, console logs and its record (`.vmctx/<deployment>.json`). It must exist and be writable (`check`: CHECK_IMAGE_DIR).",
        '/var/lib/vmctx/images',
      ),
    ),
  })
  .meta(doc('A libvirt host, reached over SSH.', { name: 'lc1', host: '192.0.2.11', user: 'root', imageDir: '/var/lib/vmctx/images' }));

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
    name: safeName('image').meta(
      doc("The image's name in this file, unique: what a VM's `image` names; on a controller the image is `<imageDir>/<name>-<sha256:16>.<format>`.", 'debian'),
    ),
    path: localPath('path')
      .optional()
      .meta(doc("A local raw or qcow2 file, relative to this file's folder (`~/` is the home folder). Exclusive with `url`.", './debian-base.raw')),
    url: httpUrl
      .optional()
      .meta(doc('An http(s) URL of a raw or qcow2 image, fetched once into the local cache (resumed if cut short). Needs `sha256`.', 'https://images.example.org/debian-12.qcow2')),
    sha256: z
      .string()
      .regex(/^[0-9a-fA-F]{64}$/, 'a sha256 is 64 hex digits')
      .optional()
      .meta(
        doc(
          "The image's sha256 (as `sha256sum` prints it), with `url`: the download is used only if it matches.",
          'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
        ),
      ),
    fetch: z
      .enum(['local', 'controller'])
      .optional()
      .meta(
        doc(
          "With `url`, who fetches it: `local` (the default) fetches it here once and uploads it to each controller; `controller` has each controller that lacks it fetch it itself with curl or wget (`check`: CHECK_UPLOAD_TOOLS), verified there against `sha256` and continued if cut, so that this machine's uplink is not the limit. Here only the image's header is read (for the overlays).",
          'controller',
        ),
      ),
  })
  .superRefine((image, ctx) => {
    const add = (path: string[], message: string) => ctx.addIssue({ code: 'custom', path, message });
    if (image.path !== undefined && image.url !== undefined) add(['url'], 'give path or url, not both');
    else if (image.path === undefined && image.url === undefined) add([], 'give path (a local file) or url and sha256');
    else if (image.url !== undefined && image.sha256 === undefined) add(['sha256'], 'required with url: the download is verified against it');
    else if (image.path !== undefined && image.sha256 !== undefined) add(['sha256'], 'sha256 goes with url; a local file is used as it is');
    if (image.path !== undefined && image.fetch !== undefined) add(['fetch'], 'fetch goes with url; a local file is uploaded');
  })
  .meta(
    doc('A base image the VMs\' overlays are made on: a local `path`, or a `url` with its `sha256`. Sent once to each controller that uses it.', {
      name: 'debian',
      path: './debian-base.raw',
    }),
  );

export const DeploymentFileSchema = z
  .strictObject({
    /** Editors read a JSON file's `$schema`; accepted so that JSON deployments can point at the schema. */
    $schema: z
      .string()
      .optional()
      .meta(doc("For editors: the JSON Schema of this file (a JSON deployment's `$schema`; in YAML, a `# yaml-language-server: $schema=...` comment does it). Ignored by vmctx.", '../deployment.schema.json')),
    name: safeName('deployment')
      .optional()
      .meta(
        doc(
          "The deployment's name: it owns its domains (each domain's owner mark, the record `<imageDir>/.vmctx/<name>.json` on each controller, the derived UUIDs and MACs). Default: the file's name without its extension.",
          'example-cluster',
        ),
      ),
    defaults: DefaultsSchema.optional(),
    hostPaths: z
      .array(hostFolder)
      .optional()
      .meta({
        ...doc(
          "Folders on the controllers whose files a template, spec or iso: may name (a kernel, a firmware, a disk, a serial log), besides each controller's imageDir and /var/lib/libvirt/images; any other host path is refused unless trustTemplates. Absolute, no `..`, not `/`.",
          ['/var/cache/vmctx/lab', '/usr/share/OVMF'],
        ),
        default: [],
      }),
    trustTemplates: z
      .boolean()
      .optional()
      .meta({
        ...doc(
          "true: the templates may name any host path and use what gives root on the controller (qemu:commandline, emulator, hostdev, lun, block disks, filesystem passthrough); each use is still reported as a warning. Default false: refused.",
          false,
        ),
        default: false,
      }),
    controllers: z
      .array(ControllerSchema)
      .min(1, 'list at least one controller')
      .meta(
        doc('The libvirt hosts the VMs run on, each reached over one SSH connection, worked on in parallel. At least one.', [
          { name: 'lc1', host: '192.0.2.11', user: 'root', imageDir: '/var/lib/vmctx/images' },
          { name: 'lc2', host: 'lc2.example.org', imageDir: '/var/lib/vmctx/images' },
        ]),
      ),
    images: z
      .array(ImageSchema)
      .meta(
        doc('The base images the VMs use.', [
          { name: 'debian', path: './debian-base.raw' },
          { name: 'alpine', url: 'https://images.example.org/alpine.qcow2', sha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' },
        ]),
      ),
    vms: z
      .array(VmSchema)
      .min(1, 'list at least one VM')
      .meta(
        doc('The VMs: one entry each, or a count group. At least one.', [
          { name: 'db-1', controller: 'lc2', context: './contexts/db.yaml' },
          { name: 'web-{n}', count: 4, controller: 'lc1', address: '198.51.100.31', context: { network: { method: 'ip-from-mac', prefix: 24 } } },
        ]),
      ),
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
