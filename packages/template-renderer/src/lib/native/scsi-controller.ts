/**
 * The virtio-scsi controller a cdrom on bus scsi needs: added by a repair that moves a cdrom there and by a rewrite
 * that attaches the context ISO there.
 */
import { elements, getAttr, insertElement, newElement, type XmlElement } from '../xml-tree.js';
import type { TemplateWarning } from './types.js';

/** Adds a virtio-scsi controller (after the last disk or controller) unless the domain has a scsi controller. */
export function ensureScsiController(devices: XmlElement): TemplateWarning[] {
  if (elements(devices, 'controller').some((c) => getAttr(c, 'type') === 'scsi')) return [];
  const controller = newElement('controller', [['type', 'scsi'], ['index', '0'], ['model', 'virtio-scsi']]);
  insertElement(devices, controller, elements(devices, 'controller').at(-1) ?? elements(devices, 'disk').at(-1));
  return [
    {
      code: 'scsi-controller-added',
      path: `/domain/devices/controller[${elements(devices, 'controller').indexOf(controller) + 1}]`,
      message: "added <controller type='scsi' model='virtio-scsi'/> for the cdrom on bus 'scsi': libvirt would otherwise add an implicit one whose model (lsilogic on many machines) the guest may have no driver for",
    },
  ];
}
