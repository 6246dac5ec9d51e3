/**
 * Which fields of a domain changed between two renderings by vmctx (the one recorded at the last deploy and
 * the one just built): element paths with their old and new values, attribute order and white space
 * ignored. Both sides come from the same renderer, so no libvirt defaults need explaining away.
 */
import { elements, getAttr, parseXml, textOf, type XmlElement } from '@vmctx/template-renderer';

export function domainXmlChanges(before: string, after: string, limit = 5): string[] {
  const out: string[] = [];
  walk(parseXml(before, 'recorded domain'), parseXml(after, 'built domain'), '/domain', out);
  return out.length > limit ? [...out.slice(0, limit), `and ${out.length - limit} more`] : out;
}

function walk(a: XmlElement, b: XmlElement, path: string, out: string[]): void {
  const attrs = new Set([...a.attrs.map(([k]) => k), ...b.attrs.map(([k]) => k)]);
  for (const name of [...attrs].sort()) {
    const x = getAttr(a, name);
    const y = getAttr(b, name);
    if (x !== y) out.push(`${path}@${name}: ${x ?? '(none)'} → ${y ?? '(none)'}`);
  }
  const text = (e: XmlElement) => textOf(e).trim();
  if (text(a) !== text(b)) out.push(`${path}: ${text(a) || '(empty)'} → ${text(b) || '(empty)'}`);
  const ka = elements(a);
  const kb = elements(b);
  const names = [...new Set([...ka.map((e) => e.name), ...kb.map((e) => e.name)])];
  for (const name of names) {
    const xs = ka.filter((e) => e.name === name);
    const ys = kb.filter((e) => e.name === name);
    for (let i = 0; i < Math.max(xs.length, ys.length); i++) {
      const p = `${path}/${name}${xs.length > 1 || ys.length > 1 ? `[${i + 1}]` : ''}`;
      const x = xs[i];
      const y = ys[i];
      if (x && y) walk(x, y, p, out);
      else out.push(x ? `${p}: removed` : `${p}: added`);
    }
  }
}
