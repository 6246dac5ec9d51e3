import { describe, expect, it } from 'vitest';
import { elements, firstElement, getAttr, parseXml, serializeXml, type XmlElement } from '@vmctx/template-renderer';
import { ensureConsoleLog } from './console-log.js';

const LOG = '/var/lib/vmctx/images/web-1.console.log';

function domain(devices: string): XmlElement {
  return parseXml(`<domain type="kvm">\n  <name>web-1</name>\n  <devices>\n${devices}  </devices>\n</domain>\n`, 'test');
}

function serials(tree: XmlElement): XmlElement[] {
  return elements(firstElement(tree, 'devices')!, 'serial');
}

describe('ensureConsoleLog', () => {
  it("keeps a file serial and returns the template's own path", () => {
    const tree = domain(`    <serial type="file">\n      <source path="/var/log/guest.log"/>\n      <target port="0"/>\n    </serial>\n`);
    const before = serializeXml(tree);
    expect(ensureConsoleLog(tree, LOG)).toBe('/var/log/guest.log');
    expect(serializeXml(tree)).toBe(before);
  });

  it('gives a pty serial a <log> right after its source, still a pty', () => {
    const tree = domain(`    <serial type="pty">\n      <source path="/dev/pts/3"/>\n      <target port="0"/>\n    </serial>\n    <console type="pty"/>\n`);
    expect(ensureConsoleLog(tree, LOG)).toBe(LOG);
    const [serial] = serials(tree);
    expect(getAttr(serial!, 'type')).toBe('pty');
    expect(elements(serial!).map((e) => e.name)).toEqual(['source', 'log', 'target']);
    const log = firstElement(serial!, 'log')!;
    expect(log.attrs).toEqual([['file', LOG], ['append', 'off']]);
    expect(serializeXml(tree)).toContain(`<source path="/dev/pts/3"/>\n      <log file="${LOG}" append="off"/>\n      <target port="0"/>`);
  });

  it('gives a pty serial without a source a <log> too (libvirt reads the chardev elements in any order)', () => {
    const tree = domain(`    <serial type="pty">\n      <target port="0"/>\n    </serial>\n`);
    expect(ensureConsoleLog(tree, LOG)).toBe(LOG);
    expect(elements(serials(tree)[0]!).map((e) => e.name).sort()).toEqual(['log', 'target']);
    expect(getAttr(firstElement(serials(tree)[0]!, 'log')!, 'file')).toBe(LOG);
  });

  it('keeps the <log> a pty serial already has', () => {
    const tree = domain(`    <serial type="pty">\n      <log file="/srv/own.log"/>\n      <target port="0"/>\n    </serial>\n`);
    const before = serializeXml(tree);
    expect(ensureConsoleLog(tree, LOG)).toBe('/srv/own.log');
    expect(serializeXml(tree)).toBe(before);
  });

  it('adds a pty serial with a log, and a console on it, to a domain without a serial', () => {
    const tree = domain(`    <disk type="file" device="disk"/>\n`);
    expect(ensureConsoleLog(tree, LOG)).toBe(LOG);
    const all = serials(tree);
    expect(all).toHaveLength(1);
    expect(getAttr(all[0]!, 'type')).toBe('pty');
    expect(getAttr(firstElement(all[0]!, 'log')!, 'file')).toBe(LOG);
    expect(getAttr(firstElement(all[0]!, 'target')!, 'port')).toBe('0');
    const console = firstElement(firstElement(tree, 'devices')!, 'console')!;
    expect(getAttr(console, 'type')).toBe('pty');
    expect(getAttr(firstElement(console, 'target')!, 'type')).toBe('serial');
    // The result is still one well-formed domain.
    expect(parseXml(serializeXml(tree), 'again')).toBeDefined();
  });

  it('does not add a second console when the domain has one', () => {
    const tree = domain(`    <console type="pty"><target type="virtio" port="0"/></console>\n`);
    ensureConsoleLog(tree, LOG);
    expect(elements(firstElement(tree, 'devices')!, 'console')).toHaveLength(1);
  });

  it('adds devices to a domain without any', () => {
    const tree = parseXml('<domain type="kvm"><name>x</name></domain>', 'bare');
    expect(ensureConsoleLog(tree, LOG)).toBe(LOG);
    expect(serials(tree)).toHaveLength(1);
  });
});
