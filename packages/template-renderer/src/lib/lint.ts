/**
 * Lints: what `virsh define` or `virsh start` would refuse, found before anything reaches a controller.
 * Each finding has a stable `code`, libvirt's own words where libvirt has any (`libvirt`, as virsh prints it
 * after "error: "), when libvirt would say it (`when`), and a `fix`.
 */
import { hasBuiltinIde, isQ35 } from './disk-targets.js';
import { domainNameProblem } from './domain-name.js';
import { diskSourcePath, domainArch, domainMachine, targetBus } from './domain-xml.js';
import { shellRiskyNameProblem } from './lint-shell-name.js';
import { isLocallyAdministeredMac, macProblem, normalizeMac, parseMacOctets } from './identity.js';
import { CONTEXT_DISK_ALIAS, renderDomainTree, type RenderOptions } from './render.js';
import { bridgeNameSchema, hostPathSchema, type DomainSpec } from './spec.js';
import { elements, firstElement, getAttr, parseXml, textOf, type XmlElement } from './xml-tree.js';

export type LintCode =
  | 'cdrom-on-virtio'
  | 'duplicate-name'
  | 'duplicate-uuid'
  | 'duplicate-mac'
  | 'invalid-name'
  | 'risky-name'
  | 'shell-risky-name'
  | 'invalid-uuid'
  | 'malformed-mac'
  | 'multicast-mac'
  | 'mac-not-local'
  | 'backing-format-missing'
  | 'empty-bridge'
  | 'invalid-bridge-name'
  | 'empty-path'
  | 'invalid-path'
  | 'target-dev-clash'
  | 'cpu-needs-kvm'
  | 'clock-sync-attribute'
  | 'block-disk-not-device'
  | 'qcow2-read-as-raw'
  | 'ide-on-machine-without-ide'
  | 'shared-qcow2'
  | 'disk-format-unsupported'
  | 'disk-target-invalid'
  | 'lun-not-block'
  | 'disk-address-mismatch'
  | 'memory-missing'
  | 'boot-order-conflict'
  | 'duplicate-controller-index'
  | 'pci-root-model'
  | 'device-not-on-machine'
  // What a domain makes the controller's libvirt do as root (host-access.ts; not run by lintDomains).
  | 'host-path-not-allowed'
  | 'qemu-passthrough'
  | 'custom-emulator'
  | 'host-device'
  | 'host-block-device'
  | 'host-filesystem'
  | 'host-script'
  | 'unconfined-domain';

export type LintSeverity = 'error' | 'warning';

export interface LintFinding {
  code: LintCode;
  severity: LintSeverity;
  /** Which domain: a file name or a place in a deployment (`vms[2]`). */
  label: string;
  /** Where in its domain XML. */
  path: string;
  message: string;
  /** What libvirt says, verbatim, when it refuses this; absent when libvirt accepts it silently. */
  libvirt?: string;
  /** When libvirt says it: at `virsh define`, at `virsh start`, or never (the trouble comes later). */
  when: 'define' | 'start' | 'never';
  fix: string;
}

/** The catalogue: each lint's severity and fix, for documentation and `vmctx template lint --list`. */
export const LINTS: Record<LintCode, { severity: LintSeverity; summary: string; fix: string }> = {
  'cdrom-on-virtio': {
    severity: 'error',
    summary: 'a cdrom on bus virtio',
    fix: "attach the ISO as a cdrom on bus='sata' (q35) or bus='ide' (i440fx), seen as /dev/sr0, or as device='disk' with <readonly/> on virtio (vmctx template import repairs it)",
  },
  'duplicate-name': {
    severity: 'error',
    summary: 'two domains with one name',
    fix: 'give each VM its own name; to redefine an existing domain keep its uuid',
  },
  'duplicate-uuid': {
    severity: 'error',
    summary: 'two domains with one uuid',
    fix: 'leave the uuid out and give a deployment, so each VM gets its own derived uuid',
  },
  'duplicate-mac': {
    severity: 'error',
    summary: 'two NICs with one MAC',
    fix: 'leave the MACs out and give a deployment, so each NIC gets its own derived MAC',
  },
  'invalid-name': { severity: 'error', summary: 'a name libvirt refuses', fix: "use a non-empty name without '/'" },
  'risky-name': {
    severity: 'warning',
    summary: 'a name libvirt accepts but virsh or file names mishandle',
    fix: 'use letters, digits, ".", "-" and "_", not only digits, at most 64 bytes',
  },
  'shell-risky-name': {
    severity: 'warning',
    summary: 'a name a command line misreads: a leading "-" (an option to virsh) or a shell character',
    fix: 'start the name with a letter or digit and use letters, digits, ".", "-" and "_" (virsh, ssh and scripts then need no quoting)',
  },
  'invalid-uuid': { severity: 'error', summary: 'a malformed uuid', fix: 'use 8-4-4-4-12 hex digits, or leave the uuid out' },
  'malformed-mac': { severity: 'error', summary: 'a MAC libvirt cannot parse', fix: 'write six hex octets like 52:54:00:12:34:56, or leave it out' },
  'multicast-mac': {
    severity: 'error',
    summary: 'a multicast MAC',
    fix: 'clear bit 0 of the first octet (e.g. 02:... instead of 03:...), or leave it out',
  },
  'mac-not-local': {
    severity: 'warning',
    summary: 'a MAC from a vendor range',
    fix: 'use a locally administered MAC (second hex digit 2, 6, a or e) or 52:54:00:..., as derived MACs are',
  },
  'backing-format-missing': {
    severity: 'error',
    summary: 'an overlay whose backing format is not recorded',
    fix: 'record the backing format: qemu-img create -F raw -b BASE ..., disk-builder does; in XML add <format type=.../> to <backingStore>',
  },
  'empty-bridge': { severity: 'error', summary: 'a bridge left empty', fix: 'set <source bridge=.../> to a bridge that exists on every controller (e.g. virbr0)' },
  'empty-path': { severity: 'error', summary: 'a disk, kernel or log path left empty', fix: 'set the path as seen on the controller' },
  'invalid-bridge-name': {
    severity: 'error',
    summary: 'a bridge name no Linux interface has (shell characters, quotes, <>, white space, non-ASCII, over 15 bytes)',
    fix: "name a bridge that exists on every controller: 1 to 15 letters, digits, '_', '.', '-' (e.g. virbr0); the rule a spec's bridge and vmctx template import --bridge follow",
  },
  'invalid-path': {
    severity: 'error',
    summary: 'a disk, kernel, log or emulator path that is not absolute, is "/" alone, or holds a control character',
    fix: 'write the absolute path on the controller, on one line (libvirt resolves a relative path against its own working directory); the rule a spec and vmctx template import --disk/--iso/--emulator follow',
  },
  'target-dev-clash': { severity: 'error', summary: 'two disks on one target', fix: 'give each disk its own target dev' },
  'cpu-needs-kvm': {
    severity: 'error',
    summary: "<cpu mode='host-passthrough'> in a TCG (type='qemu') domain",
    fix: "use <cpu mode='maximum'/> (or host-model) with type='qemu', or type='kvm' on a host with KVM (vmctx template import --domain-type qemu repairs it)",
  },
  'clock-sync-attribute': {
    severity: 'warning',
    summary: '<clock sync=...>, which libvirt ignores',
    fix: "write <clock offset='localtime'/> (vmctx template import repairs it)",
  },
  'block-disk-not-device': {
    severity: 'error',
    summary: "a <disk type='block'> whose source is a file, not a device",
    fix: "make it <disk type='file'> with <source file=.../> (vmctx template import does, for the overlay and the context ISO)",
  },
  'qcow2-read-as-raw': {
    severity: 'error',
    summary: 'a .qcow2 image without <driver type="qcow2">, which libvirt opens as raw',
    fix: "write <driver name='qemu' type='qcow2'/> (vmctx template import does, for the overlay)",
  },
  'ide-on-machine-without-ide': {
    severity: 'error',
    summary: 'a disk or controller on IDE where the machine has none (only i440fx, malta, sun4u and g3beige have it)',
    fix: "put a cdrom on bus='scsi' with <controller type='scsi' model='virtio-scsi'/> (sata on q35), or attach the ISO as a read-only virtio disk (vmctx template import moves the cdrom)",
  },
  'shared-qcow2': {
    severity: 'error',
    summary: 'a writable <shareable/> disk in a format that cannot be shared (qcow2)',
    fix: 'remove <shareable/> (an overlay is one VM\'s own; vmctx template import does), or share a raw image',
  },
  'disk-format-unsupported': {
    severity: 'error',
    summary: "<driver type='cow'>, 'dir' or 'iso', formats QEMU does not open",
    fix: "use type='raw' for an ISO or a raw image, qcow2 for an overlay, and <disk type='dir'> with type='fat' for a folder",
  },
  'disk-target-invalid': {
    severity: 'error',
    summary: 'a disk without a target, or with a partition (vdb1) as its target',
    fix: "give each disk <target dev='vdX' bus=.../> naming a whole disk",
  },
  'lun-not-block': {
    severity: 'error',
    summary: "<disk device='lun'> on a file",
    fix: "use device='disk' for an image file; a lun passes through a host block device or iSCSI LUN",
  },
  'disk-address-mismatch': {
    severity: 'error',
    summary: 'an ide, sata, scsi or floppy disk with an address that is not a drive address',
    fix: "remove the <address> (libvirt assigns one) or write <address type='drive' .../>",
  },
  'memory-missing': { severity: 'error', summary: 'a domain without <memory>', fix: "write <memory unit='MiB'>512</memory>" },
  'boot-order-conflict': {
    severity: 'error',
    summary: "<os><boot dev=.../> and a device's <boot order=.../> together",
    fix: 'keep one: the <os><boot> list, or a <boot order> on each bootable device',
  },
  'duplicate-controller-index': {
    severity: 'error',
    summary: 'two controllers of one type with the same index',
    fix: 'give each controller of a type its own index, or remove the duplicate',
  },
  'pci-root-model': {
    severity: 'error',
    summary: "a PCI root controller of the wrong model for the machine (q35 has pcie-root, i440fx pci-root)",
    fix: "write <controller type='pci' index='0' model='pcie-root'/> on q35, model='pci-root' on i440fx, or leave it out",
  },
  'device-not-on-machine': {
    severity: 'error',
    summary: 'a device or feature the machine type does not have (intel IOMMU or SMM TSEG off q35, parallel port on s390x or pseries, floppy on pseries)',
    fix: 'remove the device, or use a machine type that has it (q35 for an intel IOMMU and TSEG)',
  },
  'host-path-not-allowed': {
    severity: 'error',
    summary: "a host path libvirt opens as root (disk, kernel, initrd, loader, nvram, serial file, log...) outside the allowed folders, relative, or with '..'",
    fix: "put the file in the controller's image folder or /var/lib/libvirt/images, or list its folder under hostPaths: in the deployment file; trustTemplates: true lets it through with a warning",
  },
  'qemu-passthrough': {
    severity: 'error',
    summary: '<qemu:commandline>, <qemu:capabilities> or <qemu:override>: QEMU arguments libvirt does not check',
    fix: 'say it in libvirt XML instead; a template that needs them must be trusted (trustTemplates: true)',
  },
  'custom-emulator': {
    severity: 'error',
    summary: "an <emulator> that is not a distribution's QEMU (/usr/bin/qemu-system-ARCH, /usr/bin/qemu-kvm, /usr/bin/kvm, /usr/libexec/qemu-kvm)",
    fix: "remove <emulator> so libvirt picks the host's QEMU (vmctx template import --no-emulator), or name the host's own; trustTemplates: true lets it through with a warning",
  },
  'host-device': {
    severity: 'error',
    summary: "a device of the controller given to the guest: <hostdev>, <interface type='hostdev'>, <disk type='nvme'>, a TPM or input device passed through",
    fix: 'remove it; a VM that needs a host device needs a trusted deployment (trustTemplates: true)',
  },
  'host-block-device': {
    severity: 'error',
    summary: "a block device of the controller given to the guest: <disk type='block'>, <disk device='lun'>",
    fix: "use an image file (<disk type='file'>) in the image folder; a raw host disk needs a trusted deployment (trustTemplates: true)",
  },
  'host-filesystem': {
    severity: 'error',
    summary: "a folder or device of the controller shared with the guest: <filesystem type='mount'> (virtiofs, 9p), bind or block",
    fix: 'give the guest its files on the context CD or in its image; sharing a host folder needs a trusted deployment (trustTemplates: true)',
  },
  'host-script': {
    severity: 'error',
    summary: "an interface <script> or <downscript>, which libvirt runs as root",
    fix: "remove it and use a bridge (<interface type='bridge'>); a script needs a trusted deployment (trustTemplates: true)",
  },
  'unconfined-domain': {
    severity: 'error',
    summary: "a domain <seclabel type='none'> or type='static': QEMU unconfined, or run as the user the label names (0:0 is root)",
    fix: "remove <seclabel> (libvirt gives each domain its own dynamic label); a fixed label needs a trusted deployment (trustTemplates: true)",
  },
};

/** A domain libvirt already has (from `virsh list --all` / `dumpxml`), to check new ones against. */
export interface ExistingDomain {
  name: string;
  uuid?: string;
  macs?: string[];
}

export type Lintable = { label: string } & ({ xml: string | XmlElement } | { spec: DomainSpec });

export interface LintOptions extends RenderOptions {
  existing?: ExistingDomain[];
}

interface Facts {
  label: string;
  name?: string;
  uuid?: string;
  macs: { mac: string; path: string }[];
}

type Emit = (code: LintCode, path: string, message: string, libvirt: string | undefined, when: LintFinding['when']) => void;

function emitter(findings: LintFinding[], label: string): Emit {
  return (code, path, message, libvirt, when) =>
    findings.push({ code, severity: LINTS[code].severity, label, path, message, ...(libvirt !== undefined ? { libvirt } : {}), when, fix: LINTS[code].fix });
}

/** Lints a set of domains meant to be defined together (a deployment), and each on its own. */
export function lintDomains(items: readonly Lintable[], options: LintOptions = {}): LintFinding[] {
  const findings: LintFinding[] = [];
  const facts = items.map((item) => {
    const emit = emitter(findings, item.label);
    let root: XmlElement;
    if ('spec' in item) {
      lintSpecOnly(item.spec, emit);
      root = renderDomainTree(item.spec, options);
    } else {
      root = typeof item.xml === 'string' ? parseXml(item.xml, item.label) : item.xml;
    }
    return lintOne(root, item.label, emit);
  });
  lintTogether(facts, options.existing ?? [], findings);
  return findings;
}

/** Lints one domain XML document on its own. */
export function lintDomainXml(xml: string | XmlElement, label = 'template'): LintFinding[] {
  return lintDomains([{ label, xml }]);
}

/** What only a spec knows: the overlay's backing file, which render does not write. */
function lintSpecOnly(spec: DomainSpec, emit: Emit): void {
  spec.devices.disks.forEach((disk, i) => {
    if (disk.driver.type === 'qcow2' && disk.backing && disk.backing.format === undefined) {
      emit(
        'backing-format-missing',
        `devices.disks[${i}].backing`,
        `overlay ${disk.source.file} names backing file ${disk.backing.file ?? '(unknown)'} without its format; libvirt will not guess it (it could be told to open a raw image as qcow2)`,
        `format of backing image '${disk.backing.file ?? ''}' of image '${disk.source.file}' was not specified in the image metadata (See https://libvirt.org/kbase/backing_chains.html for troubleshooting)`,
        'start',
      );
    }
  });
}

function lintOne(root: XmlElement, label: string, emit: Emit): Facts {
  const facts: Facts = { label, macs: [] };
  const nameEl = firstElement(root, 'name');
  const name = nameEl ? textOf(nameEl) : undefined;
  if (name === undefined || name.trim() === '') {
    emit('invalid-name', '/domain/name', 'the domain has no name', 'missing name information', 'define');
  } else {
    facts.name = name.trim();
    if (facts.name.includes('/')) {
      emit('invalid-name', '/domain/name', `name ${JSON.stringify(facts.name)} contains '/'`, `XML error: name ${facts.name} cannot contain '/'`, 'define');
    } else {
      const problem = domainNameProblem(name);
      if (problem) emit('risky-name', '/domain/name', problem, undefined, 'never');
      const shell = shellRiskyNameProblem(facts.name);
      if (shell) emit('shell-risky-name', '/domain/name', shell, undefined, 'never');
    }
  }
  const uuidEl = firstElement(root, 'uuid');
  if (uuidEl) {
    const uuid = textOf(uuidEl).trim();
    // libvirt's virUUIDParse also takes 32 hex digits without dashes (and dashes anywhere between pairs).
    if (!/^([0-9a-fA-F]{2}-?){15}[0-9a-fA-F]{2}$/.test(uuid)) {
      emit('invalid-uuid', '/domain/uuid', `uuid ${JSON.stringify(uuid)} is not a UUID`, 'internal error: malformed uuid element', 'define');
    } else {
      facts.uuid = uuid.replace(/-/g, '').toLowerCase();
    }
  }
  const clock = firstElement(root, 'clock');
  if (clock && getAttr(clock, 'sync') !== undefined) {
    emit(
      'clock-sync-attribute',
      '/domain/clock',
      `<clock sync='${getAttr(clock, 'sync')}'> is not libvirt XML: libvirt ignores it (the clock stays ${getAttr(clock, 'offset') ?? 'utc'}) and virt-xml-validate refuses it`,
      undefined,
      'never',
    );
  }
  const cpu = firstElement(root, 'cpu');
  if (cpu && getAttr(root, 'type') === 'qemu' && getAttr(cpu, 'mode') === 'host-passthrough') {
    const arch = domainArch(root) ?? 'x86_64';
    emit(
      'cpu-needs-kvm',
      '/domain/cpu',
      'host-passthrough needs KVM; a TCG domain has no host CPU to pass through',
      `unsupported configuration: CPU mode 'host-passthrough' for ${arch} qemu domain on ${arch} host is not supported by hypervisor`,
      'start',
    );
  }
  lintBinaries(root, emit);
  lintMachine(root, emit);
  const devices = firstElement(root, 'devices');
  if (devices) {
    lintDisks(devices, emit);
    lintInterfaces(devices, emit, facts);
    lintChardevs(devices, emit);
  }
  return facts;
}

/** The kernel, initrd and emulator: present but empty, or not a path a spec could hold. */
function lintBinaries(root: XmlElement, emit: Emit): void {
  const os = firstElement(root, 'os');
  for (const what of ['kernel', 'initrd'] as const) {
    const el = os && firstElement(os, what);
    if (el && textOf(el).trim() === '') {
      emit('empty-path', `/domain/os/${what}`, `<${what}> is empty`, undefined, 'start');
    } else if (el) {
      lintPath(textOf(el), what, `/domain/os/${what}`, emit);
    }
  }
  const devices = firstElement(root, 'devices');
  const emulator = devices && firstElement(devices, 'emulator');
  if (emulator && textOf(emulator) !== '') {
    const binary = textOf(emulator);
    // libvirt's qemu driver stats the binary at define (virQEMUCapsNewForBinaryInternal), from its working directory.
    lintPath(binary, 'emulator', '/domain/devices/emulator', emit, `Cannot check QEMU binary ${binary}: No such file or directory`);
  }
}

/**
 * A path in the template held to the rule a spec's paths and import's --disk, --iso and --emulator follow
 * (spec.ts hostPathSchema): absolute, not "/" alone, no control character. `libvirt` is what libvirt says at
 * define when it refuses it there (the emulator); other paths fail when the domain starts.
 */
function lintPath(value: string, what: string, path: string, emit: Emit, libvirt?: string): void {
  const result = hostPathSchema(what).safeParse(value);
  if (result.success) return;
  emit('invalid-path', path, `${what} ${JSON.stringify(value)}: ${result.error.issues[0]!.message}`, libvirt, libvirt === undefined ? 'start' : 'define');
}

function lintDisks(devices: XmlElement, emit: Emit): void {
  const byTarget = new Map<string, string>();
  elements(devices, 'disk').forEach((disk, i) => {
    const path = `/domain/devices/disk[${i + 1}]`;
    const device = getAttr(disk, 'device') ?? 'disk';
    const type = getAttr(disk, 'type') ?? 'file';
    const target = firstElement(disk, 'target');
    const dev = target ? getAttr(target, 'dev') : undefined;
    const bus = target ? getAttr(target, 'bus') : undefined;
    const file = diskSourcePath(disk);
    const isContext = elements(disk, 'alias').some((a) => getAttr(a, 'name') === CONTEXT_DISK_ALIAS);
    lintDiskImage(disk, path, emit);
    if (device === 'cdrom' && (bus === 'virtio' || (bus === undefined && dev?.startsWith('vd')))) {
      emit(
        'cdrom-on-virtio',
        `${path}/target`,
        `cdrom ${dev ?? ''} is on bus virtio, which has no removable media`,
        `unsupported configuration: disk type of '${dev ?? ''}' does not support ejectable media`,
        'define',
      );
    }
    if ((type === 'file' || type === 'block') && file !== undefined && file !== '') {
      lintPath(file, `${device} source ${type === 'file' ? 'file' : 'dev'}`, `${path}/source`, emit);
    }
    if ((type === 'file' || type === 'block') && (file === undefined || file === '')) {
      if (device === 'disk') {
        emit('empty-path', `${path}/source`, `disk ${dev ?? ''} has no source ${type === 'file' ? 'file' : 'dev'}`, `missing source information for device ${dev ?? ''}`, 'define');
      } else if (isContext) {
        emit('empty-path', `${path}/source`, `the context ISO's ${device} ${dev ?? ''} has no source file: the guest gets an empty drive and falls back to DHCP`, undefined, 'never');
      }
    }
    if (dev) {
      const other = byTarget.get(dev);
      if (other !== undefined) {
        emit('target-dev-clash', `${path}/target`, `two disks use target ${dev}`, `XML error: target '${dev}' duplicated for disk sources '${other}' and '${file ?? ''}'`, 'define');
      } else {
        byTarget.set(dev, file ?? '');
      }
    }
    for (const backing of elements(disk, 'backingStore')) {
      // An empty <backingStore/> says "no backing file"; one with a source needs a format.
      if (firstElement(backing, 'source') && !firstElement(backing, 'format')) {
        emit(
          'backing-format-missing',
          `${path}/backingStore`,
          `disk ${dev ?? ''} names a backing file without its format`,
          'XML error: missing disk backing store format',
          'define',
        );
      }
    }
  });
}

const FORMAT_REFUSED: Record<string, string> = {
  cow: "unsupported configuration: 'cow' storage format is not supported",
  dir: "unsupported configuration: 'directory' storage format is not directly supported by QEMU, use 'dir' disk type instead",
  iso: "unsupported configuration: storage format 'iso' is not directly supported by QEMU, use 'raw' instead",
};

/** libvirt's virDiskNameParse: a name with a trailing partition number. */
const PARTITION_TARGET = /^(?:hd|sd|vd|xvd|ubd)[a-z]+[0-9]+$/;

/** One disk's source, format, target and address: what libvirt's disk validation and QEMU's open refuse. */
function lintDiskImage(disk: XmlElement, path: string, emit: Emit): void {
  const device = getAttr(disk, 'device') ?? 'disk';
  const type = getAttr(disk, 'type') ?? 'file';
  const target = firstElement(disk, 'target');
  const dev = target ? getAttr(target, 'dev') : undefined;
  const bus = target ? targetBus(target) : undefined;
  const driver = firstElement(disk, 'driver');
  const format = driver ? getAttr(driver, 'type') : undefined;
  const sourcePath = diskSourcePath(disk);
  if (type === 'block' && sourcePath && !sourcePath.startsWith('/dev/')) {
    emit(
      'block-disk-not-device',
      `${path}/source`,
      `${device} ${dev ?? ''} is type='block' but its source ${sourcePath} is not under /dev: QEMU opens a block ${device} with its ${device === 'cdrom' ? 'host_cdrom' : 'host_device'} driver, which refuses a regular file`,
      device === 'cdrom' ? undefined : `'host_device' driver requires '${sourcePath}' to be either a character or block device`,
      'start',
    );
  }
  if (device !== 'cdrom' && device !== 'floppy' && sourcePath && /\.qcow2?$/i.test(sourcePath) && format !== 'qcow2' && format !== 'qcow') {
    emit(
      'qcow2-read-as-raw',
      driver ? `${path}/driver` : path,
      `${sourcePath} is a qcow2 image but the disk's driver says ${format === undefined ? 'no type, so libvirt opens it as raw' : `type='${format}'`}: the guest sees a qcow2 header instead of its disk, and a write destroys the image`,
      undefined,
      'never',
    );
  }
  if (format !== undefined && FORMAT_REFUSED[format]) {
    emit('disk-format-unsupported', `${path}/driver`, `<driver type='${format}'> is not a format QEMU opens`, FORMAT_REFUSED[format], 'define');
  }
  if (firstElement(disk, 'shareable') && !firstElement(disk, 'readonly') && format !== undefined && format !== 'raw' && FORMAT_REFUSED[format] === undefined) {
    emit(
      'shared-qcow2',
      `${path}/shareable`,
      `disk ${dev ?? ''} is shareable and writable in format ${format}, which two VMs cannot write at once`,
      `unsupported configuration: shared access for disk '${dev ?? ''}' requires use of supported storage format`,
      'define',
    );
  }
  if (!target || dev === undefined) {
    emit('disk-target-invalid', path, `the ${device} has no target dev`, `missing target information for device ${sourcePath ?? ''}`, 'define');
  } else if (PARTITION_TARGET.test(dev)) {
    emit('disk-target-invalid', `${path}/target`, `target ${dev} names a partition, not a disk`, `unsupported configuration: invalid disk target '${dev}', partitions can't appear in disk targets`, 'define');
  }
  if (device === 'lun' && (type === 'file' || type === 'dir')) {
    emit('lun-not-block', path, `lun ${dev ?? ''} is a ${type}, not a block device`, "unsupported configuration: disk device='lun' is only valid for block type disk source", 'define');
  }
  const address = firstElement(disk, 'address');
  const addressType = address ? getAttr(address, 'type') : undefined;
  if (addressType !== undefined && addressType !== 'drive' && bus !== undefined && ['ide', 'fdc', 'scsi', 'sata'].includes(bus)) {
    emit(
      'disk-address-mismatch',
      `${path}/address`,
      `disk ${dev ?? ''} on bus ${bus} has a ${addressType} address; disks on ${bus} take a drive address`,
      `unsupported configuration: Invalid address type '${addressType}' for the disk '${dev ?? ''}' with the bus type '${bus}'`,
      'define',
    );
  }
}

/** What the domain asks of its machine type, and what libvirt checks of the whole domain at define. */
function lintMachine(root: XmlElement, emit: Emit): void {
  const os = firstElement(root, 'os');
  const arch = domainArch(root);
  const machine = domainMachine(root);
  const x86 = arch === undefined || arch === 'x86_64' || arch === 'i686';
  const q35 = x86 && isQ35(machine);
  const pseries = (arch === 'ppc64' || arch === 'ppc64le') && (machine === undefined || machine.startsWith('pseries'));
  const s390 = arch === 's390' || arch === 's390x';
  const cells = firstElement(firstElement(root, 'cpu') ?? root, 'numa');
  if (!firstElement(root, 'memory') && !(cells && elements(cells, 'cell').some((c) => getAttr(c, 'memory') !== undefined))) {
    emit('memory-missing', '/domain', 'the domain has no <memory>', 'XML error: Memory size must be specified via <memory> or in the <numa> configuration', 'define');
  }
  const devices = firstElement(root, 'devices');
  if (os && elements(os, 'boot').length && devices && devices.children.some((d) => d.kind === 'element' && firstElement(d, 'boot') !== undefined)) {
    emit('boot-order-conflict', '/domain/os/boot', 'the domain has both <os><boot dev=.../> and a device with <boot order=.../>', 'unsupported configuration: per-device boot elements cannot be used together with os/boot elements', 'define');
  }
  const smm = firstElement(firstElement(root, 'features') ?? root, 'smm');
  if (smm && firstElement(smm, 'tseg') && x86 && !q35) {
    emit('device-not-on-machine', '/domain/features/smm/tseg', `SMM TSEG is a q35 feature; this machine is ${machine ?? 'pc (i440fx)'}`, 'unsupported configuration: SMM TSEG is only supported with q35 machine type', 'define');
  }
  if (!devices) return;
  const noIde = !hasBuiltinIde(arch, machine);
  elements(devices, 'disk').forEach((disk, i) => {
    const target = firstElement(disk, 'target');
    const bus = target ? targetBus(target) : undefined;
    if (bus === 'ide' && noIde) {
      emit(
        'ide-on-machine-without-ide',
        `/domain/devices/disk[${i + 1}]/target`,
        `${getAttr(disk, 'device') ?? 'disk'} ${getAttr(target!, 'dev') ?? ''} is on IDE, which this ${arch ?? 'x86_64'} ${machine ?? 'default'} machine does not have`,
        'unsupported configuration: IDE controllers are unsupported for this QEMU binary or machine type',
        'define',
      );
    }
    if (pseries && getAttr(disk, 'device') === 'floppy') {
      emit('device-not-on-machine', `/domain/devices/disk[${i + 1}]`, 'a pseries machine has no floppy drive', 'unsupported configuration: PowerPC pseries machines do not support floppy device', 'start');
    }
  });
  const seen = new Map<string, number>();
  elements(devices, 'controller').forEach((c, i) => {
    const type = getAttr(c, 'type') ?? '';
    const index = getAttr(c, 'index');
    const path = `/domain/devices/controller[${i + 1}]`;
    if (type === 'ide' && noIde && (index === undefined || index === '0')) {
      emit('ide-on-machine-without-ide', path, `an IDE controller on this ${arch ?? 'x86_64'} ${machine ?? 'default'} machine, which has none`, 'unsupported configuration: IDE controllers are unsupported for this QEMU binary or machine type', 'define');
    }
    if (index !== undefined && /^[0-9]+$/.test(index)) {
      const key = `${type}|${Number(index)}`;
      // libvirt allows USB controllers to share an index (ich9 companions: virDomainDefRejectDuplicateControllers).
      if (seen.has(key) && type !== 'usb') emit('duplicate-controller-index', path, `controllers ${seen.get(key)} and ${i + 1} are both ${type} index ${index}`, `XML error: Multiple '${type}' controllers with index '${Number(index)}'`, 'define');
      else seen.set(key, i + 1);
      const model = getAttr(c, 'model');
      const want = q35 ? 'pcie-root' : x86 && hasBuiltinIde(arch, machine) ? 'pci-root' : undefined;
      if (type === 'pci' && Number(index) === 0 && model !== undefined && want !== undefined && (model === 'pci-root' || model === 'pcie-root') && model !== want) {
        emit(
          'pci-root-model',
          path,
          `the ${machine ?? 'pc'} machine's PCI root is ${want}, not ${model}`,
          `XML error: The PCI controller with index='0' must be model='${want}' for this machine type, but model='${model}' was found instead`,
          'define',
        );
      }
    }
  });
  elements(devices, 'iommu').forEach((iommu, i) => {
    if (getAttr(iommu, 'model') === 'intel' && !q35) {
      emit('device-not-on-machine', `/domain/devices/iommu[${i + 1}]`, `an intel IOMMU needs a q35 machine; this one is ${machine ?? 'default'}`, "unsupported configuration: IOMMU device: 'intel' is only supported with Q35 machines", 'define');
    }
  });
  if (s390 || pseries) {
    elements(devices, 'parallel').forEach((_, i) => {
      emit('device-not-on-machine', `/domain/devices/parallel[${i + 1}]`, `a ${s390 ? 's390x' : 'pseries'} machine has no parallel port`, 'unsupported configuration: parallel ports are not supported', 'define');
    });
  }
}

function lintInterfaces(devices: XmlElement, emit: Emit, facts: Facts): void {
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

function lintChardevs(devices: XmlElement, emit: Emit): void {
  for (const kind of ['serial', 'console'] as const) {
    elements(devices, kind).forEach((chr, i) => {
      if (getAttr(chr, 'type') !== 'file') return;
      const path = `/domain/devices/${kind}[${i + 1}]`;
      const source = firstElement(chr, 'source');
      const file = source ? getAttr(source, 'path') : undefined;
      if (file === undefined) {
        emit('empty-path', `${path}/source`, `${kind} type='file' has no source path`, 'internal error: Missing source path attribute for char device', 'define');
      } else if (file.trim() === '') {
        emit('empty-path', `${path}/source`, `${kind} type='file' has an empty source path`, undefined, 'start');
      } else {
        lintPath(file, `${kind} log path`, `${path}/source`, emit);
      }
    });
  }
}

function lintTogether(all: Facts[], existing: readonly ExistingDomain[], findings: LintFinding[]): void {
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

/** True when any finding is an error (what `vmctx template lint` exits non-zero on). */
export function hasErrors(findings: readonly LintFinding[]): boolean {
  return findings.some((f) => f.severity === 'error');
}

/** One finding as people read it. */
export function formatFinding(f: LintFinding): string {
  const lines = [`${f.severity} ${f.code}: ${f.label} ${f.path}: ${f.message}`];
  if (f.libvirt !== undefined) lines.push(`  libvirt (at ${f.when}): ${f.libvirt}`);
  lines.push(`  fix: ${f.fix}`);
  return lines.join('\n');
}
