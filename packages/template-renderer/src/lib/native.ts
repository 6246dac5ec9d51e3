/**
 * Native templates: any libvirt domain XML, read into xml-tree.ts's ordered tree and written back unchanged
 * except where the deployer owns the value (name, UUID, MACs, disk and ISO paths, bridge) and where the template
 * would be refused or misread by libvirt (repairs, each reported as a warning that says what changed and why).
 *
 * Elements and attributes this module does not know pass through as they are, in their order.
 *
 * This module reads a template and runs the two passes; native/repair.ts holds the repairs, native/rewrite.ts the
 * rewrite (with native/interfaces.ts and native/disks.ts for those elements).
 */
import { TemplateError } from './errors.js';
import { findIsoDisk } from './native/disks.js';
import { repairTemplate } from './native/repair.js';
import { rewriteTemplate } from './native/rewrite.js';
import type { NativeRewrite, TemplateWarning } from './native/types.js';
import { firstElement, parseXml, serializeXml, type XmlElement } from './xml-tree.js';

export { findIsoDisk } from './native/disks.js';
export { repairTemplate } from './native/repair.js';
export { rewriteTemplate } from './native/rewrite.js';
export type { NativeRewrite, TemplateWarning } from './native/types.js';

export interface ImportedTemplate {
  xml: string;
  tree: XmlElement;
  warnings: TemplateWarning[];
}

/** Parses a native template, refusing anything whose root is not `<domain>`. */
export function parseNativeTemplate(xml: string, source = 'template'): XmlElement {
  const root = parseXml(xml, source);
  if (root.name !== 'domain') {
    throw new TemplateError('TEMPLATE_NOT_A_DOMAIN', `${source}: root element is <${root.name}>, not <domain>`, `/${root.name}`);
  }
  return root;
}

/** Reads, repairs and rewrites a native template for one instance. */
export function importNativeTemplate(xml: string, rewrite: NativeRewrite = {}, source = 'template'): ImportedTemplate {
  const tree = parseNativeTemplate(xml, source);
  // Found before the repairs, which may turn a virtio cdrom into a disk.
  const devices = firstElement(tree, 'devices');
  const isoDisk = devices && findIsoDisk(devices);
  const warnings = [...repairTemplate(tree, rewrite.isoMode, rewrite.domainType), ...rewriteTemplate(tree, rewrite, isoDisk)];
  return { xml: serializeXml(tree), tree, warnings };
}
