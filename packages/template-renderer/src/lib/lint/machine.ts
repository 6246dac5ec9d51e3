/**
 * The machine type: what the domain asks of it (IDE, SMM TSEG, an intel IOMMU, a PCI root, a floppy or parallel
 * port) and what libvirt checks of the whole domain at define (memory, boot order, controller indexes).
 */
import { hasBuiltinIde, isQ35 } from '../disk-targets.js';
import { domainArch, domainMachine, targetBus } from '../domain-xml.js';
import { elements, firstElement, getAttr, type XmlElement } from '../xml-tree.js';
import type { Emit } from './emit.js';

/** What the domain asks of its machine type, and what libvirt checks of the whole domain at define. */
export function lintMachine(root: XmlElement, emit: Emit): void {
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
