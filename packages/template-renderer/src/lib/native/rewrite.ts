/**
 * Rewrites: the values the deployer owns (name, uuid, MACs, disk and ISO paths, bridge, emulator, domain type) set
 * on the template for one instance. What each field may hold is checked first, by the schemas a spec's fields use.
 */
import { z } from 'zod';
import { deriveUuid } from '../identity.js';
import { bridgeNameSchema, contextSchema, domainNameSchema, domainSpecSchema, hostPathSchema, macAddressSchema, uuidSchema } from '../spec.js';
import { firstElement, insertElement, insertElementFirst, newElement, removeElement, setAttr, setText, textOf, type XmlElement } from '../xml-tree.js';
import { findIsoDisk, rewriteDisks } from './disks.js';
import { rewriteInterfaces } from './interfaces.js';
import { fail, type NativeRewrite, type TemplateWarning } from './types.js';

/**
 * Applies `rewrite` to `root` in place. `isoDisk` is the context ISO's disk (by default the one with our
 * alias, else the first cdrom).
 */
export function rewriteTemplate(root: XmlElement, rewrite: NativeRewrite, isoDisk?: XmlElement): TemplateWarning[] {
  const warnings: TemplateWarning[] = [];
  check(rewrite);
  if (rewrite.domainType) setAttr(root, 'type', rewrite.domainType);
  const nameEl = rewrite.name !== undefined ? setLeaf(root, 'name', rewrite.name) : firstElement(root, 'name');
  const name = nameEl ? textOf(nameEl).trim() : undefined;
  const needName = () => name ?? fail('the template has no <name> and none was given', '/domain/name');

  const uuid = rewrite.uuid ?? (rewrite.deployment !== undefined ? deriveUuid(rewrite.deployment, needName()) : undefined);
  const uuidEl = firstElement(root, 'uuid');
  if (uuid !== undefined) {
    setLeaf(root, 'uuid', uuid, nameEl);
  } else if (uuidEl) {
    removeElement(root, uuidEl);
    warnings.push({
      code: 'uuid-removed',
      path: '/domain/uuid',
      message: `removed the template's uuid ${textOf(uuidEl).trim()}: every instance would share it and libvirt refuses a second domain with the same uuid; libvirt generates one (give --uuid or a deployment to keep it stable)`,
    });
  }

  const devices = firstElement(root, 'devices');
  if (!devices) {
    if (rewrite.macs?.length || rewrite.disks?.length || rewrite.iso !== undefined || rewrite.bridge !== undefined || rewrite.emulator) {
      fail('the template has no <devices> to rewrite', '/domain/devices');
    }
    return warnings;
  }
  if (rewrite.emulator !== undefined) {
    const emulator = firstElement(devices, 'emulator');
    if (rewrite.emulator === null) {
      if (emulator) removeElement(devices, emulator);
    } else if (emulator) {
      setText(emulator, rewrite.emulator);
    } else {
      // <emulator> comes first in libvirt's order.
      insertElementFirst(devices, newElement('emulator', [], [{ kind: 'text', text: rewrite.emulator }]));
    }
  }

  warnings.push(...rewriteInterfaces(devices, rewrite, needName));
  rewriteDisks(root, devices, rewrite, warnings, isoDisk ?? findIsoDisk(devices));
  return warnings;
}

/** Sets the text of `<name>` (or another leaf), creating it after `after` if the template has none. */
function setLeaf(root: XmlElement, name: string, text: string, after?: XmlElement): XmlElement {
  let el = firstElement(root, name);
  if (!el) {
    el = newElement(name);
    insertElement(root, el, after ?? firstElement(root, 'name'));
  }
  setText(el, text);
  return el;
}

/**
 * What a rewrite may set, checked by the very schemas that check a spec's fields (spec.ts), so that import takes
 * exactly what render takes (issue 12: `--bridge 'br0;$(id)'`, `--disk /`, `--emulator 'kvm; id'` were taken).
 */
const rewriteSchema = z.object({
  name: domainNameSchema.optional(),
  uuid: uuidSchema.optional(),
  macs: z.array(macAddressSchema).optional(),
  disks: z.array(hostPathSchema('disk source file')).optional(),
  iso: hostPathSchema('context ISO file').nullable().optional(),
  isoMode: contextSchema.shape.mode.unwrap().optional(),
  bridge: z.array(bridgeNameSchema).optional(),
  emulator: hostPathSchema('emulator').nullable().optional(),
  domainType: domainSpecSchema.shape.type.unwrap().optional(),
});

/** The option of `vmctx template import` that sets each field, for messages. */
const OPTION: Record<string, string> = { macs: '--mac', disks: '--disk', bridge: '--bridge', isoMode: '--iso-mode', domainType: '--domain-type' };

function check(rewrite: NativeRewrite): void {
  const bridge = typeof rewrite.bridge === 'string' ? [rewrite.bridge] : rewrite.bridge;
  const result = rewriteSchema.safeParse({ ...rewrite, bridge });
  if (result.success) return;
  const issue = result.error.issues[0]!;
  const [key, index] = issue.path as [keyof NativeRewrite, number | undefined];
  const given: unknown = key === 'bridge' ? bridge : rewrite[key];
  const value = Array.isArray(given) && index !== undefined ? given[index] : given;
  fail(`${OPTION[key] ?? `--${String(key)}`} ${JSON.stringify(value)}: ${issue.message}`);
}
