import { describe, expect, it } from 'vitest';
import { cdromBus, freeTarget, isQ35 } from './disk-targets.js';

describe('disk targets', () => {
  it.each([
    ['q35', true],
    ['pc-q35-7.2', true],
    ['pc', false],
    ['pc-i440fx-7.2', false],
    [undefined, false],
    ['notq35x', false],
  ])('isQ35(%j) is %j', (machine, expected) => expect(isQ35(machine)).toBe(expected));

  it('puts a cdrom on sata for q35, ide otherwise, scsi on aarch64', () => {
    expect(cdromBus('x86_64', 'pc-q35-7.2')).toBe('sata');
    expect(cdromBus('x86_64', undefined)).toBe('ide');
    expect(cdromBus('aarch64', 'virt')).toBe('scsi');
  });

  it('takes the first free target, hdc first on ide', () => {
    expect(freeTarget('virtio', ['vda'])).toBe('vdb');
    expect(freeTarget('sata', ['vda', 'sda'])).toBe('sdb');
    expect(freeTarget('ide', ['hda'])).toBe('hdc');
    expect(freeTarget('ide', ['hdc'])).toBe('hdd');
    expect(() => freeTarget('ide', ['hda', 'hdb', 'hdc', 'hdd'])).toThrow(/no free ide disk target/);
  });
});
