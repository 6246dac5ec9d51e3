/**
 * Whether a domain as libvirt holds it (`virsh dumpxml --inactive`) still says what vmctx rendered: every element,
 * attribute and text vmctx wrote must be there with the same meaning. What libvirt adds on define (PCI addresses,
 * implicit controllers, aliases, models, `placement='static'`...) is its default, not a change, and is ignored;
 * so are attribute order and white space. A hand edit (`virsh edit`, `virsh setmem --config`) shows as the fields
 * it changed. The owner mark in `<metadata>` is compared by its digests elsewhere, not here.
 */
import { childAttr, elements, getAttr, parseXml, textOf, type XmlElement } from '@vmctx/template-renderer';

/** Paths with the rendered value and libvirt's, at most `limit` of them (then "and N more"). */
export function domainDrift(rendered: string, defined: string, limit = 5): string[] {
  const out = differences(parseXml(rendered, 'rendered domain'), parseXml(defined, 'defined domain'), '/domain');
  return out.length > limit ? [...out.slice(0, limit), `and ${out.length - limit} more`] : out;
}

function differences(want: XmlElement, have: XmlElement, path: string): string[] {
  const out: string[] = [];
  for (const [name, value] of want.attrs) {
    // Namespace declarations move to where libvirt puts them; they carry no setting.
    if (name === 'xmlns' || name.startsWith('xmlns:')) continue;
    const got = getAttr(have, name);
    if (got === undefined && libvirtOmits(want, name, value)) continue;
    if (got === undefined) out.push(`${path}@${name}: ${value} → (none)`);
    else if (!sameAttr(want.name, name, value, got)) out.push(`${path}@${name}: ${value} → ${got}`);
  }
  const wantText = ownText(want);
  if (wantText !== '' && !sameText(want, have)) out.push(`${path}: ${shown(want)} → ${shown(have) || '(empty)'}`);
  const available = elements(have);
  for (const child of elements(want)) {
    if (child.name === 'metadata' || mirrorsSerial(child, want)) continue;
    const candidates = available.filter((c) => c.name === child.name);
    const p = `${path}/${child.name}${key(child)}`;
    if (candidates.length === 0) {
      out.push(`${p}: (none)`);
      continue;
    }
    // Siblings of one name (disks, interfaces, controllers) are matched by content, not position: libvirt sorts
    // and inserts its own. The closest one answers; an exact one, when there is one, answers with nothing.
    let best = candidates[0]!;
    let bestDiff = differences(child, best, p);
    for (const c of candidates.slice(1)) {
      if (bestDiff.length === 0) break;
      const d = differences(child, c, p);
      if (d.length < bestDiff.length) [best, bestDiff] = [c, d];
    }
    available.splice(available.indexOf(best), 1);
    out.push(...bestDiff);
  }
  return out;
}

/**
 * What libvirt leaves out of its definition because it says nothing more: `current` on `<vcpu>` when every vCPU is
 * online (`<vcpu current='2'>2</vcpu>` comes back as `<vcpu placement='static'>2</vcpu>`; fixtures/drift
 * vcpus-all-online, libvirt 9.0), as a spec's `currentVcpu` equal to its `vcpu` or a live growth to the maximum gives.
 */
function libvirtOmits(e: XmlElement, attr: string, value: string): boolean {
  return e.name === 'vcpu' && attr === 'current' && value.trim() === textOf(e).trim();
}

/**
 * A `<console>` of target type serial (the default) next to a `<serial>` is, to libvirt, the first serial port
 * again: its definition comes back as a copy of that port whatever was written (formatdomain, "Console").
 */
function mirrorsSerial(e: XmlElement, parent: XmlElement): boolean {
  if (e.name !== 'console' || elements(parent, 'serial').length === 0) return false;
  const type = childAttr(e, 'target', 'type');
  return type === undefined || type === 'serial';
}

/** A short name for one of several siblings: a disk by its target, an interface by its MAC. */
function key(e: XmlElement): string {
  const id = childAttr(e, 'target', 'dev') ?? childAttr(e, 'mac', 'address') ?? getAttr(e, 'type');
  return id ? `[${id}]` : '';
}

// libvirt's scaled integers (docs/formatdomain: "unit" of memory and sizes), to bytes.
const UNIT: Record<string, number> = { b: 1, bytes: 1, k: 1024, kib: 1024, kb: 1000, m: 1024 ** 2, mib: 1024 ** 2, mb: 1e6, g: 1024 ** 3, gib: 1024 ** 3, gb: 1e9, t: 1024 ** 4, tib: 1024 ** 4, tb: 1e12 };

function sameText(want: XmlElement, have: XmlElement): boolean {
  const a = ownText(want);
  const b = ownText(have);
  if (a === b) return true;
  if (want.name === 'uuid') return a.toLowerCase() === b.toLowerCase();
  // <memory unit='MiB'>512</memory> comes back as <memory unit='KiB'>524288</memory>.
  const bytes = (e: XmlElement, text: string) => {
    const unit = (getAttr(e, 'unit') ?? (e.name.toLowerCase().includes('memory') ? 'KiB' : 'b')).toLowerCase();
    return /^\d+$/.test(text) && UNIT[unit] !== undefined ? Number(text) * UNIT[unit]! : undefined;
  };
  const x = bytes(want, a);
  return x !== undefined && x === bytes(have, b);
}

function sameAttr(element: string, name: string, want: string, have: string): boolean {
  if (want === have) return true;
  // Case-free identities: MAC addresses, UUIDs.
  if (want.toLowerCase() === have.toLowerCase() && /^[0-9a-f:-]+$/i.test(want)) return true;
  // Numbers as libvirt writes them: slot='3' comes back as slot='0x03'.
  const number = /^(0x[0-9a-f]+|\d+)$/i;
  if (number.test(want) && number.test(have) && Number(want) === Number(have)) return true;
  // A memory size's unit is compared with its value (sameText), not alone.
  if (name === 'unit') return true;
  // Machine type aliases are expanded to the versioned machine (pc → pc-i440fx-7.2, q35 → pc-q35-7.2, virt → virt-7.2).
  if (element === 'type' && name === 'machine') {
    const expanded = want === 'pc' ? 'pc-i440fx' : want === 'q35' ? 'pc-q35' : want;
    return have.startsWith(`${expanded}-`);
  }
  return false;
}

function ownText(e: XmlElement): string {
  return textOf(e).trim();
}

function shown(e: XmlElement): string {
  const unit = getAttr(e, 'unit');
  return `${ownText(e)}${unit ? ` ${unit}` : ''}`;
}
