import { describe, expect, it } from 'vitest';
import { contextualizationScript, DEFAULT_DEVICES, resolveGuestScriptOptions } from './guest-script.js';

describe('contextualization script', () => {
  it('is a POSIX sh script with the defaults the issue asks for', () => {
    const script = contextualizationScript();
    expect(script.startsWith('#!/bin/sh\n')).toBe(true);
    expect(script).toContain("label=${VMCTX_LABEL:-'CONTEXT'}");
    expect(script).toContain('every_boot=${VMCTX_EVERY_BOOT:-0}');
    expect(script).toContain('limit=${VMCTX_TIMEOUT:-300}');
    expect(script).toContain('log_file=$root/var/log/contextualization.log');
    expect(script).toContain('trap release EXIT');
    expect(script).not.toMatch(/\[\[|^\s*local\s|\bfunction\b/m);
  });

  it("tries the seed's devices, CD-ROMs first", () => {
    for (const seed of ['hdb', 'sdb', 'vdb', 'xvdb', 'sr0']) expect(DEFAULT_DEVICES).toContain(seed);
    expect(DEFAULT_DEVICES[0]).toBe('sr0');
    expect(contextualizationScript()).toContain(`devices='${DEFAULT_DEVICES.join(' ')}'`);
  });

  it('writes the options it is given', () => {
    const script = contextualizationScript({ label: 'MY_CTX', everyBoot: true, timeoutSeconds: 20, dhcpTimeoutSeconds: 9, interface: 'ens3', devices: ['vdz'] });
    expect(script).toContain("label=${VMCTX_LABEL:-'MY_CTX'}");
    expect(script).toContain('every_boot=${VMCTX_EVERY_BOOT:-1}');
    expect(script).toContain('limit=${VMCTX_TIMEOUT:-20}');
    expect(script).toContain('dhcp_limit=${VMCTX_DHCP_TIMEOUT:-9}');
    expect(script).toContain("iface=${VMCTX_IFACE:-'ens3'}");
    expect(script).toContain("devices='vdz'");
  });

  it.each([
    [{ label: "CON'TEXT" }, /label/],
    [{ label: '$(reboot)' }, /label/],
    [{ label: 'A'.repeat(33) }, /label/],
    [{ timeoutSeconds: 0 }, /timeoutSeconds/],
    [{ timeoutSeconds: 1.5 }, /timeoutSeconds/],
    [{ interface: 'eth0;reboot' }, /interface/],
    [{ devices: ['../sda'] }, /devices/],
    [{ devices: [] }, /devices/],
  ])('refuses %o', (options, message) => {
    expect(() => resolveGuestScriptOptions(options)).toThrow(expect.objectContaining({ code: 'GUEST_INVALID_OPTION', message: expect.stringMatching(message) }));
  });
});
