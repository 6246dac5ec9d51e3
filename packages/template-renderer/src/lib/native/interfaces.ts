/**
 * The rewrite of a template's `<interface>` elements: each one's MAC (given, derived from the deployment, or
 * removed) and the bridge of each bridged one.
 */
import { deriveMac, normalizeMac } from '../identity.js';
import { elements, firstElement, getAttr, insertElement, insertElementFirst, newElement, removeElement, setAttr, type XmlElement } from '../xml-tree.js';
import { fail, type NativeRewrite, type TemplateWarning } from './types.js';

/** Sets each interface's MAC and bridge as `rewrite` says; a MAC no instance may share is removed, with a warning. */
export function rewriteInterfaces(devices: XmlElement, rewrite: NativeRewrite, needName: () => string): TemplateWarning[] {
  const warnings: TemplateWarning[] = [];
  const nics = elements(devices, 'interface');
  if (rewrite.macs && rewrite.macs.length > nics.length) {
    fail(`${rewrite.macs.length} MACs given for ${nics.length} <interface> elements`, '/domain/devices/interface');
  }
  const bridges = typeof rewrite.bridge === 'string' ? undefined : rewrite.bridge;
  const bridged = nics.filter((n) => ['bridge', 'network'].includes(getAttr(n, 'type') ?? ''));
  if (bridges && bridges.length > bridged.length) {
    fail(`${bridges.length} bridges given for ${bridged.length} bridged <interface> elements`, '/domain/devices/interface');
  }
  nics.forEach((nic, i) => {
    const path = `/domain/devices/interface[${i + 1}]`;
    const given = rewrite.macs?.[i];
    const mac =
      given !== undefined
        ? normalizeMac(given)
        : rewrite.deployment !== undefined
          ? deriveMac(rewrite.deployment, needName(), { nic: i, scheme: rewrite.macScheme })
          : undefined;
    const macEl = firstElement(nic, 'mac');
    if (mac !== undefined) {
      if (macEl) setAttr(macEl, 'address', mac);
      else insertElementFirst(nic, newElement('mac', [['address', mac]]));
    } else if (macEl) {
      removeElement(nic, macEl);
      warnings.push({
        code: 'mac-removed',
        path: `${path}/mac`,
        message: `removed the template's MAC ${getAttr(macEl, 'address') ?? ''}: every instance would share it and two NICs with one MAC on a bridge steal each other's frames; libvirt generates one (give --mac or a deployment to keep it stable)`,
      });
    }
    const index = bridged.indexOf(nic);
    const bridge = index < 0 ? undefined : typeof rewrite.bridge === 'string' ? rewrite.bridge : bridges?.[index];
    if (bridge === undefined) return;
    if (getAttr(nic, 'type') === 'network') {
      setAttr(nic, 'type', 'bridge');
      warnings.push({ code: 'interface-type-changed', path, message: `<interface type='network'> made type='bridge' on bridge ${bridge}, as asked` });
    }
    let source = firstElement(nic, 'source');
    if (!source) {
      source = newElement('source');
      insertElement(nic, source, firstElement(nic, 'mac'));
    }
    // portgroup and portid belong to a libvirt network; on a bridge the schema refuses them.
    source.attrs = [['bridge', bridge], ...source.attrs.filter(([k]) => !['bridge', 'network', 'portgroup', 'portid'].includes(k))];
  });
  return warnings;
}
