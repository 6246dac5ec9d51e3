/**
 * What a native template's rewrite takes (NativeRewrite) and what a repair or rewrite reports (TemplateWarning),
 * shared by the repairs, the rewrites and the entry point (native.ts).
 */
import { TemplateError } from '../errors.js';
import type { MacScheme } from '../identity.js';

export interface NativeRewrite {
  /** The instance's domain name. Omitted: the template's. */
  name?: string;
  /** The instance's UUID. Omitted: derived from (deployment, name) if a deployment is given, else removed. */
  uuid?: string;
  /** Derive a missing UUID and MACs from (deployment, name), so a redeploy keeps them. */
  deployment?: string;
  macScheme?: MacScheme;
  /** One MAC per `<interface>`, in order. Missing ones are derived (with a deployment) or removed. */
  macs?: string[];
  /**
   * One path per `<disk device='disk'>` that is not the context ISO, in order. Each such disk becomes
   * `type='file'`; a path ending in `.qcow2` is a qcow2 overlay, whose disk gets `<driver type='qcow2'>` (see rewriteDisk).
   */
  disks?: string[];
  /** The context ISO: set on the template's cdrom (or context disk), or attached as a cdrom if it has none; `null` removes the template's context CD (a VM without one falls back to DHCP). */
  iso?: string | null;
  /** How the ISO is attached when it must be: `cdrom` (sata/ide, /dev/sr0, default) or a read-only virtio `disk`. */
  isoMode?: 'cdrom' | 'disk';
  /** The bridge of every bridged `<interface>`, or one per bridged interface in order. */
  bridge?: string | string[];
  /** The emulator binary; `null` removes `<emulator>` so libvirt picks the host's own. */
  emulator?: string | null;
  /** The domain type: `qemu` where KVM is not usable (the lab). */
  domainType?: 'kvm' | 'qemu';
}

/** What a repair or rewrite changed; `code` is stable, `message` says what and why. */
export interface TemplateWarning {
  code:
    | 'clock-sync-repaired'
    | 'cdrom-on-virtio-repaired'
    | 'cdrom-bus-repaired'
    | 'scsi-controller-added'
    | 'overlay-repaired'
    | 'iso-disk-repaired'
    | 'cpu-mode-repaired'
    | 'uuid-removed'
    | 'mac-removed'
    | 'iso-attached'
    | 'iso-removed'
    | 'backing-store-removed'
    | 'interface-type-changed';
  path: string;
  message: string;
}

/** A rewrite that cannot be applied: the template lacks what it names, or a value is refused. */
export function fail(message: string, path?: string): never {
  throw new TemplateError('TEMPLATE_REWRITE_FAILED', message, path);
}
