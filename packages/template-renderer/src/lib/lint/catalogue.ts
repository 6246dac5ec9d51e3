/**
 * The catalogue of lints: each finding's stable code, its severity, a summary and the fix (for documentation and
 * `vmctx template lint --list`), and the shape of a finding. The rules that raise them are in the modules beside
 * this one, by what they check; host-access.ts raises the host-access codes.
 */
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
