import { describe, expect, it } from 'vitest';
import { firstElement, parseXml, serializeXml } from '@vmctx/template-renderer';
import { addOwnerMark, OWNER_NAMESPACE, readOwnerMark, type OwnerMark } from './owner-mark.js';

const DOMAIN = `<domain type="kvm">
  <name>web-1</name>
  <uuid>0b0e5d8e-2d5c-4c4e-9d61-3c1f8f0a1b2c</uuid>
  <memory unit="MiB">512</memory>
  <devices>
    <disk type="file" device="disk"><source file="/img/web-1.qcow2"/></disk>
  </devices>
</domain>
`;

const MARK: OwnerMark = {
  deployment: 'demo',
  vm: 'web-1',
  artifacts: { overlay: 'b'.repeat(64), base: 'a'.repeat(64), iso: 'c'.repeat(64), domain: 'd'.repeat(64) },
};

function marked(xml = DOMAIN, mark = MARK): string {
  const tree = parseXml(xml, 'test');
  addOwnerMark(tree, mark);
  return serializeXml(tree);
}

describe('owner mark', () => {
  it('reads back what was written, through serialize and parse', () => {
    const xml = marked();
    expect(readOwnerMark(parseXml(xml, 'again'))).toEqual(MARK);
    // Written in vmctx's namespace, artifacts sorted by kind, right after the general elements.
    expect(xml).toContain(`<metadata><vmctx:owner xmlns:vmctx="${OWNER_NAMESPACE}" deployment="demo" vm="web-1">`);
    expect([...xml.matchAll(/kind="(\w+)"/g)].map((m) => m[1])).toEqual(['base', 'domain', 'iso', 'overlay']);
    expect(xml.indexOf('<metadata>')).toBeGreaterThan(xml.indexOf('</uuid>'));
    expect(xml.indexOf('<metadata>')).toBeLessThan(xml.indexOf('<memory'));
  });

  it('is stable: marking the marked domain again gives the same bytes', () => {
    const once = marked();
    expect(marked(once)).toBe(once);
  });

  it('replaces an older vmctx mark and keeps other metadata', () => {
    const withOther = DOMAIN.replace('<memory', '<metadata>\n    <app:info xmlns:app="https://example.org/app" x="1"/>\n  </metadata>\n  <memory');
    const first = marked(withOther, { deployment: 'old', vm: 'web-1', artifacts: { base: '1'.repeat(64) } });
    const second = marked(first);
    const tree = parseXml(second, 'second');
    expect(readOwnerMark(tree)).toEqual(MARK);
    expect(second.match(/:owner /g)).toHaveLength(1);
    expect(second).toContain('<app:info xmlns:app="https://example.org/app" x="1"/>');
    expect(firstElement(tree, 'metadata')).toBeDefined();
    expect(second.match(/<metadata>/g)).toHaveLength(1);
  });

  it('reads a mark whose prefix libvirt or a person changed, by its namespace', () => {
    const xml = marked().replaceAll('vmctx:', 'ns0:').replace('xmlns:vmctx=', 'xmlns:ns0=');
    expect(xml).toContain(`xmlns:ns0="${OWNER_NAMESPACE}"`);
    expect(readOwnerMark(parseXml(xml, 'renamed'))).toEqual(MARK);
    const unprefixed = marked().replaceAll('vmctx:', '').replace('xmlns:vmctx=', 'xmlns=');
    expect(readOwnerMark(parseXml(unprefixed, 'default namespace'))).toEqual(MARK);
  });

  it('does not take an element named owner in another namespace for the mark', () => {
    const xml = marked().replace(OWNER_NAMESPACE, 'https://example.org/not-vmctx');
    expect(readOwnerMark(parseXml(xml, 'other'))).toBeUndefined();
    expect(readOwnerMark(parseXml(DOMAIN, 'none'))).toBeUndefined();
  });

  it('does not read a mark without its deployment or VM', () => {
    expect(readOwnerMark(parseXml(marked().replace(' deployment="demo"', ''), 'x'))).toBeUndefined();
    expect(readOwnerMark(parseXml(marked().replace(' vm="web-1"', ''), 'x'))).toBeUndefined();
  });

  it('puts metadata into a domain that has none after its name when there is no uuid', () => {
    const xml = marked('<domain type="kvm"><name>a</name><memory>1</memory></domain>');
    expect(xml.startsWith('<domain type="kvm"><name>a</name><metadata>')).toBe(true);
  });
});
