/**
 * Where the guest's serial console is written on the controller, so that the deployer can tell when the guest
 * says it was contextualized (guest-script logs "post-install done" or "falling back to DHCP" to the console).
 *
 * The template's console is kept usable: a `file` serial already writes a log, which is used as it is; a pty
 * serial gets a `<log file>` beside it (libvirt formatdomain "Logging": QEMU copies the pty's output there),
 * so `virsh console` still works; a domain without a serial gets a pty serial with a log.
 */
import { elements, firstElement, getAttr, insertElement, newElement, type XmlElement } from '@vmctx/template-renderer';

export function ensureConsoleLog(domain: XmlElement, logPath: string): string {
  let devices = firstElement(domain, 'devices');
  if (!devices) {
    devices = newElement('devices');
    insertElement(domain, devices);
  }
  const serial = elements(devices, 'serial')[0];
  if (serial && getAttr(serial, 'type') === 'file') {
    const path = getAttr(firstElement(serial, 'source') ?? serial, 'path');
    if (path) return path;
  }
  if (serial) {
    const log = firstElement(serial, 'log');
    const existing = log ? getAttr(log, 'file') : undefined;
    if (existing) return existing;
    insertElement(serial, newElement('log', [['file', logPath], ['append', 'off']]), firstElement(serial, 'source'));
    return logPath;
  }
  const added = newElement('serial', [['type', 'pty']], [newElement('log', [['file', logPath], ['append', 'off']]), newElement('target', [['port', '0']])]);
  insertElement(devices, added);
  if (!firstElement(devices, 'console')) {
    insertElement(devices, newElement('console', [['type', 'pty']], [newElement('target', [['type', 'serial'], ['port', '0']])]), added);
  }
  return logPath;
}
