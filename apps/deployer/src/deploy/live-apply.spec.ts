/**
 * What a running domain takes live and what waits for a restart: the new definition against the live one, as
 * libvirt writes it back (memory in KiB, `<vcpu current=>`, its own additions).
 */
import { describe, expect, it } from 'vitest';
import { liveVerdict } from './live-apply.js';

const ISO = '/var/lib/vmctx/images/context-new.iso';

/** A domain as vmctx renders it (`rendered`) or libvirt gives it back running (its aliases and balloon). */
function domain(o: { memory: string; current?: string; vcpu?: string; iso?: string; machine?: string; device?: string; live?: boolean }): string {
  return `<domain type='qemu'>
  <name>web-1</name>
  ${o.memory}
  ${o.current ?? ''}
  ${o.vcpu ?? '<vcpu>1</vcpu>'}
  <os><type arch='x86_64' machine='${o.machine ?? 'pc'}'>hvm</type></os>
  <devices>
    <disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='/var/lib/vmctx/images/web-1.qcow2'${o.live ? " index='2'" : ''}/><target dev='vda' bus='virtio'/>${o.live ? "<alias name='virtio-disk0'/>" : ''}</disk>
    <disk type='file' device='${o.device ?? 'cdrom'}'><source file='${o.iso ?? ISO}'/><target dev='hdc' bus='ide'/><readonly/></disk>
  </devices>
</domain>`;
}

describe('liveVerdict', () => {
  it('a balloon raised within the running maximum and online vCPUs within theirs are live; nothing needs a restart', () => {
    const rendered = domain({ memory: "<memory unit='MiB'>256</memory>", current: "<currentMemory unit='MiB'>240</currentMemory>", vcpu: "<vcpu current='2'>2</vcpu>" });
    const live = domain({ memory: "<memory unit='KiB'>262144</memory>", current: "<currentMemory unit='KiB'>196608</currentMemory>", vcpu: "<vcpu placement='static' current='1'>2</vcpu>", machine: 'pc-i440fx-7.2', live: true });
    expect(liveVerdict(rendered, live, ISO)).toEqual({
      live: [
        { kind: 'memory', kib: 245760, said: 'memory 192 MiB → 240 MiB' },
        { kind: 'vcpus', count: 2, said: 'vCPUs 1 → 2' },
      ],
      restart: [],
    });
  });

  it('memory above the running maximum, a new maximum and a new machine type wait for a restart, said in words', () => {
    const live = domain({ memory: "<memory unit='KiB'>524288</memory>", current: "<currentMemory unit='KiB'>524288</currentMemory>", machine: 'pc-i440fx-7.2', live: true });
    expect(liveVerdict(domain({ memory: "<memory unit='MiB'>1024</memory>" }), live, ISO).restart).toEqual(['memory 512 MiB → 1024 MiB is above the maximum (512 MiB)']);
    const headroom = domain({ memory: "<memory unit='MiB'>1024</memory>", current: "<currentMemory unit='MiB'>512</currentMemory>", machine: 'q35' });
    expect(liveVerdict(headroom, live, ISO)).toEqual({ live: [], restart: ['maximum memory 512 MiB → 1024 MiB', 'machine type pc-i440fx-7.2 → q35'] });
  });

  it('a new context ISO is a CD swapped live; on a read-only disk (isoMode: disk) it waits for a restart', () => {
    const live = domain({ memory: "<memory unit='KiB'>65536</memory>", iso: '/var/lib/vmctx/images/context-old.iso', live: true });
    expect(liveVerdict(domain({ memory: "<memory unit='MiB'>64</memory>" }), live, ISO)).toEqual({ live: [{ kind: 'media', target: 'hdc', source: ISO, said: 'context CD hdc swapped' }], restart: [] });
    const disk = liveVerdict(domain({ memory: "<memory unit='MiB'>64</memory>", device: 'disk' }), domain({ memory: "<memory unit='KiB'>65536</memory>", device: 'disk', iso: '/x/old.iso', live: true }), ISO);
    expect(disk).toEqual({ live: [], restart: ['context disk hdc (a read-only disk, not a CD: its medium cannot be swapped live)'] });
  });

  it('what the running domain already has needs nothing (a hand edit of the persistent definition alone)', () => {
    const live = domain({ memory: "<memory unit='KiB'>65536</memory>", current: "<currentMemory unit='KiB'>65536</currentMemory>", vcpu: "<vcpu placement='static'>1</vcpu>", machine: 'pc-i440fx-7.2', live: true });
    expect(liveVerdict(domain({ memory: "<memory unit='MiB'>64</memory>" }), live, ISO)).toEqual({ live: [], restart: [] });
  });

  it('an element the last rendering had and this one has not waits for a restart', () => {
    const same = domain({ memory: "<memory unit='MiB'>64</memory>" });
    expect(liveVerdict(same, same, ISO, ['/domain/devices/interface: removed']).restart).toEqual(['/domain/devices/interface: removed']);
  });
});
