import { describe, expect, it } from 'vitest';
import { domainSpecFromXml } from './spec-from-xml.js';

const head = '<name>vm</name><memory>1</memory>';

describe('domainSpecFromXml', () => {
  it('reads what a spec holds, with defaults for what the XML leaves out', () => {
    expect(domainSpecFromXml(`<domain type="qemu">\n  ${head}\n</domain>`)).toMatchObject({ type: 'qemu', name: 'vm', memory: { value: 1, unit: 'KiB' }, vcpu: 1 });
  });

  it.each([
    ['an unknown element', `<domain>${head}<graphics type="vnc"/></domain>`, /element <graphics> at \/domain\/graphics has no place in a VM spec; import this XML as a native template/],
    ['an unknown attribute', `<domain>${head}<vcpu placement="static">1</vcpu></domain>`, /attribute placement at \/domain\/vcpu\/@placement/],
    ['an unknown device', `<domain>${head}<devices><video/></devices></domain>`, /element <video> at \/domain\/devices\/video/],
    ['a block disk', `<domain>${head}<devices><disk type="block" device="disk"/></devices></domain>`, /disk type "block" at \/domain\/devices\/disk\[1\]\/@type/],
    ['two names', `<domain>${head}<name>x</name></domain>`, /a second <name> at \/domain\/name\[2\]/],
    ['a non-domain root', '<network/>', /root element is <network>, not <domain>/],
    ['an invalid value', `<domain>${head}<vcpu>0</vcpu></domain>`, /✖ Too small.*\n  → at vcpu/],
  ])('refuses %s by name', (_what, xml, message) => {
    expect(() => domainSpecFromXml(xml)).toThrow(message);
  });

  it('keeps a context target that render would not have chosen', () => {
    const xml = `<domain>${head}<devices><disk type="file" device="cdrom"><source file="/c.iso"/><target dev="hdd" bus="ide"/><readonly/><alias name="ua-vmctx-context"/></disk></devices></domain>`;
    expect(domainSpecFromXml(xml).devices.context).toEqual({ source: { file: '/c.iso' }, mode: 'cdrom', target: { dev: 'hdd', bus: 'ide' } });
    expect(domainSpecFromXml(xml.replace('hdd', 'hdc')).devices.context).toEqual({ source: { file: '/c.iso' }, mode: 'cdrom' });
  });
});
